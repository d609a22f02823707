/**
 * How an analysis request's inputs become files this process can ingest: uploaded objects are
 * staged from the inputs bucket (claim-check), worker-local paths are checked against the
 * allowed roots, or — in process only, where the caller is this process — taken as given.
 *
 * @since 0.1.0
 */
import { stat } from "node:fs/promises"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { NatsConnection } from "nats"
import { ClaimCheckError, type DisplayRoot, type InputBucketSettings, stageInputs, type StagedInputs } from "../transport/ClaimCheck.ts"
import { checkLocalPaths } from "./LocalPaths.ts"
import type { AnalyzeMessage } from "./Requests.ts"

export interface InputResolver {
  /** The files to ingest and how the Result names them; staged files live until the scope closes. */
  readonly resolve: (request: AnalyzeMessage) => Effect.Effect<StagedInputs, ClaimCheckError, Scope.Scope>
}

/**
 * In process (the embedded engine, tests, benches): the caller is this process, so its paths
 * are read as given. Never used for requests that arrive over NATS.
 */
export const trustedPaths: InputResolver = {
  resolve: (request) =>
    Effect.gen(function*() {
      if (request.inputs !== undefined && request.inputs.length > 0) {
        return yield* new ClaimCheckError({ kind: "refused", message: "Uploaded inputs need a NATS worker; run the analysis with --nats or pass file paths." })
      }
      const paths = request.paths ?? []
      const roots: Array<DisplayRoot> = []
      for (const [i, path] of paths.entries()) {
        const isDirectory = yield* Effect.promise(() => stat(path).then((s) => s.isDirectory(), () => false))
        roots.push({ local: path, shown: request.display_paths?.[i] ?? path, kind: isDirectory ? "directory" : "file" })
      }
      return { paths, roots } satisfies StagedInputs
    })
}

/** A NATS worker: objects from the inputs bucket; local paths only under `roots` (real paths; none = off). */
export const workerInputs = (nc: NatsConnection, bucket: InputBucketSettings, roots: ReadonlyArray<string>): InputResolver => ({
  resolve: (request) =>
    request.inputs !== undefined && request.inputs.length > 0
      ? stageInputs(nc, request.inputs, bucket)
      : checkLocalPaths(request.paths ?? [], request.display_paths, roots)
})

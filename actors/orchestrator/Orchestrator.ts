/**
 * The orchestrator actor: runs one whole analysis (ingest → features → linkage → hierarchy →
 * evidence → Result v1) for files it can read, and keeps the Result in the result store
 * (NATS object store over NATS, memory in process): a Result can be larger than one NATS
 * message, so the reply carries its name and digest, not the document.
 *
 * Until the LangGraph workflow splits the analysis across the agent actors, this is the unit
 * a worker pool scales.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { type InputResolver, trustedPaths } from "../api/InputResolver.ts"
import { AnalyzeMessage, AnalyzeReply, fullConfig, inputProblem, RequestRefused, refusedForDecoding, STRICT } from "../api/Requests.ts"
import { shownPath } from "../transport/ClaimCheck.ts"
import { type AnalysisConfig, DEFAULT_CONFIG } from "../../src/config/AnalysisConfig.ts"
import { resultDigest } from "../../src/replay/Manifest.ts"
import { runAnalysis } from "../../src/pipeline/runAnalysis.ts"
import { type ReplyCache, replyCacheKey } from "./ReplyCache.ts"
import { type Handlers, protocol } from "../kernel/Actor.ts"

/** The analysis could not be done; `message` is one sentence for the user. */
export class AnalysisFailed extends Schema.TaggedError<AnalysisFailed>()("AnalysisFailed", {
  message: Schema.String,
  /** "input" for unreadable inputs (exit 2), "analysis" otherwise (exit 1). */
  kind: Schema.Literals(["input", "analysis"])
}) {}

/**
 * One analysis of files this process can read, after the message's inputs were resolved
 * (uploaded objects staged, local paths checked): what `compute` runs, here or on a thread.
 */
export const AnalyzeRequest = Schema.Struct({
  /** Paths this process reads (staged inputs, or checked worker-local paths). */
  paths: Schema.Array(Schema.String),
  /** The paths as the user gave them: the Result names inputs this way, whatever the transport. */
  display_paths: Schema.optionalKey(Schema.Array(Schema.String)),
  /** Per input: where it was read here and how the Result names it (a directory's files by prefix). */
  display_roots: Schema.optionalKey(Schema.Array(Schema.Struct({ local: Schema.String, shown: Schema.String, kind: Schema.Literals(["file", "directory"]) }))),
  config: Schema.Record(Schema.String, Schema.Unknown)
})

export { AnalyzeReply }

/**
 * The message is AnalyzeMessage (actors/api/Requests.ts): inputs by claim-check or worker-local
 * paths, a bounded config and a deadline. A message that does not decode or breaks a bound is
 * answered RequestRefused (400) before any work.
 */
export const Orchestrator = protocol("orchestrator", "1.0.0", {
  analyze: { payload: AnalyzeMessage, success: AnalyzeReply, error: Schema.Union([AnalysisFailed, RequestRefused]), invalid: refusedForDecoding }
})

/** Where finished Result documents are kept for the caller to fetch. */
export interface ResultStore {
  /**
   * Keeps the Result document `data` (of run `runId`) under its content name unless a document
   * is kept there already (an earlier run of the same analysis: same content, another run id
   * and time); the run id of the document kept, so a reply names the run its Result says.
   */
  readonly put: (name: string, data: Uint8Array, runId: string) => Effect.Effect<string>
  readonly get: (name: string) => Effect.Effect<Uint8Array | undefined>
  /** Whether `name` is stored (without reading it). */
  readonly has: (name: string) => Effect.Effect<boolean>
}

/** The run id of a Result document, read from its bytes; undefined when it has none. */
export const runIdOf = (document: Uint8Array): string | undefined => {
  try {
    const id = (JSON.parse(new TextDecoder().decode(document)) as { run?: { id?: unknown } }).run?.id
    return typeof id === "string" ? id : undefined
  } catch {
    return undefined
  }
}

export const memoryResultStore = (): ResultStore => {
  const blobs = new Map<string, Uint8Array>()
  return {
    put: (name, data, runId) =>
      Effect.sync(() => {
        const kept = blobs.get(name)
        if (kept === undefined) {
          blobs.set(name, data)
          return runId
        }
        return runIdOf(kept) ?? runId
      }),
    get: (name) => Effect.sync(() => blobs.get(name)),
    has: (name) => Effect.sync(() => blobs.has(name))
  }
}

const encoder = new TextEncoder()

/** A finished analysis: the reply and the Result v1 document it names (the bytes to store). */
export interface AnalysisDocument {
  readonly reply: AnalyzeReply
  readonly document: Uint8Array
}

/**
 * One analysis, up to the bytes of its Result document: the same code whether it runs on the
 * actor's loop or on a worker thread (actors/threads), so the Result is the same either way.
 */
export const analyzeToDocument = Effect.fn("Orchestrator.analyzeToDocument")(function*(
  request: typeof AnalyzeRequest.Type,
  onProgress?: (bytes: number, events: number) => void,
  ingestThread = true
) {
  const config = { ...DEFAULT_CONFIG, ...(request.config as Partial<AnalysisConfig>) } as AnalysisConfig
  const { result: computed } = yield* runAnalysis(request.paths, config, { onProgress, ingestThread }).pipe(
    Effect.mapError((error) => new AnalysisFailed({ message: error.message, kind: error._tag === "InputError" ? "input" : "analysis" }))
  )
  const shown = request.display_paths
  const roots = request.display_roots
  const result = roots !== undefined
    ? { ...computed, input: { ...computed.input, files: computed.input.files.map((f) => ({ ...f, path: shownPath(f.path, roots) })) } }
    : shown !== undefined && shown.length === computed.input.files.length
    ? { ...computed, input: { ...computed.input, files: computed.input.files.map((f, i) => ({ ...f, path: shown[i]! })) } }
    : computed
  const digest = resultDigest(result)
  const name = `result-${digest.slice(0, 32)}`
  const document = encoder.encode(`${JSON.stringify(result, null, 2)}\n`)
  const reply: AnalyzeReply = { run_id: result.run.id, result_digest: digest, result_object: name, sessions: result.input.sessions, campaigns: result.campaigns.length }
  return { reply, document } satisfies AnalysisDocument
})

/**
 * Decodes an analyze message through its Schema (bounds, no unknown keys) wherever it came
 * from — NATS, a durable job, in process — so a bad one is a typed refusal, never a crash.
 */
export const decodeAnalyzeMessage = (message: unknown): Effect.Effect<AnalyzeMessage, RequestRefused> =>
  Schema.decodeUnknownEffect(AnalyzeMessage)(message, STRICT).pipe(
    Effect.mapError((issue) => refusedForDecoding(issue.message)),
    Effect.flatMap((request) => {
      const problem = inputProblem(request)
      return problem === undefined ? Effect.succeed(request) : Effect.fail(new RequestRefused({ message: problem }))
    })
  )

/**
 * The orchestrator. `compute` runs the analysis: on this loop by default, or on a worker
 * thread of an AnalysisPool (actors/threads/AnalysisPool.ts) so the loop stays responsive.
 * `inputs` turns the message's inputs into files to read: a NATS worker passes
 * `workerInputs` (claim-check objects; local paths only under --allow-paths roots); the
 * default takes paths as given and serves only callers in this process.
 */
export const orchestratorBehaviour = (
  results: ResultStore,
  compute: (request: typeof AnalyzeRequest.Type) => Effect.Effect<AnalysisDocument, AnalysisFailed> = analyzeToDocument,
  inputs: InputResolver = trustedPaths,
  cache?: { readonly replies: ReplyCache; readonly resultsBucket: string }
): Effect.Effect<Handlers<typeof Orchestrator>> =>
  Effect.succeed({
    analyze: Effect.fn("Orchestrator.analyze")(function*(message: AnalyzeMessage) {
      const request = yield* decodeAnalyzeMessage(message)
      // The same uploaded inputs, configuration and engine: the stored reply, if its Result is still kept.
      const key = cache === undefined ? undefined : replyCacheKey(request, cache.resultsBucket)
      if (key !== undefined) {
        const hit = yield* cache!.replies.get(key)
        if (hit !== undefined && (yield* results.has(hit.result_object))) return hit
      }
      const reply = yield* Effect.scoped(Effect.gen(function*() {
        // Staged inputs live until this scope closes: removed once the Result is stored.
        const staged = yield* inputs.resolve(request).pipe(
          Effect.mapError((error) => error.kind === "refused" ? new RequestRefused({ message: error.message }) : new AnalysisFailed({ message: error.message, kind: "input" }))
        )
        const { reply, document } = yield* compute({ paths: [...staged.paths], display_roots: [...staged.roots], config: { ...fullConfig(request.config) } })
        // An earlier run of the same analysis keeps its document: the reply names that run.
        const kept = yield* results.put(reply.result_object, document, reply.run_id)
        return kept === reply.run_id ? reply : { ...reply, run_id: kept }
      }))
      if (key !== undefined) yield* cache!.replies.set(key, reply)
      return reply
    })
  })

/**
 * Clients of the pool: a NATS connection for a command, an analysis by request/reply
 * (inputs by claim-check, progress, cancellation) and an analysis as a durable job. Used by
 * the Analyzer layers (layers/Analyzers.ts), `replay --nats` and the store commands.
 *
 * @since 0.1.0
 */
import { randomUUID } from "node:crypto"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { NatsConnection } from "nats"
import { API_GROUP, CoordApi } from "../api/CoordApi.ts"
import { inputBucketSettings, uploadInputs } from "../transport/ClaimCheck.ts"
import { type NatsFlags, openNatsConnection, resolveNatsSettings } from "../transport/NatsConnection.ts"
import { ensureJobStream, jobQueueOptionsFromEnv, resultName, submitJob } from "../transport/JobQueue.ts"
import { natsResultStore } from "../transport/NatsResultStore.ts"
import { natsClient } from "../transport/NatsTransport.ts"
import type { AnalysisConfig } from "../../src/config/AnalysisConfig.ts"
import { AnalysisError, InputError } from "../../src/domain/errors.ts"
import { Result } from "../../src/domain/Result.ts"

/**
 * A NATS connection for the scope (URL credentials, token, .creds, TLS; flags over NATS_*
 * variables), drained (in-flight replies sent) when the scope closes.
 */
export const natsConnection = (flags: NatsFlags | string) =>
  Effect.flatMap(resolveNatsSettings(typeof flags === "string" ? { url: flags } : flags), (settings) => openNatsConnection(settings)).pipe(
    Effect.mapError((error) => new InputError({ message: error.message }))
  )

const isConnection = (nats: NatsFlags | string | NatsConnection): nats is NatsConnection => typeof nats === "object" && "publish" in nats

/** How long `analyze --nats` waits by default (and the deadline it sends). */
export const DEFAULT_CLIENT_TIMEOUT_MS = 30 * 60_000

/**
 * Runs one analysis on the NATS pool: uploads the inputs (claim-check), asks coord.v1.analyze
 * with the deadline, and fetches the Result from the object store.
 */
export const analyzeOverNats = Effect.fn("Cli.analyzeOverNats")(function*(
  /** Flags or a URL (a connection for this analysis), or a connection the caller keeps open. */
  nats: NatsFlags | string | NatsConnection,
  paths: ReadonlyArray<string>,
  config: AnalysisConfig,
  timeoutMs: number = DEFAULT_CLIENT_TIMEOUT_MS,
  /** Told the worker's progress (bytes and events read) while it analyses. */
  onProgress?: (bytes: number, events: number) => void
) {
  const nc = isConnection(nats) ? nats : yield* natsConnection(nats)
  const bucket = yield* inputBucketSettings.pipe(Effect.mapError((e) => new InputError({ message: e.message })))
  const inputs = yield* uploadInputs(nc, paths, bucket).pipe(
    Effect.mapError((e) => (e.kind === "input" ? new InputError({ message: e.message }) : new AnalysisError({ message: e.message })))
  )
  // A pool whose api role requires keys (worker --require-keys) is called with DSHIELD_API_KEY.
  const client = natsClient(nc, CoordApi, { group: API_GROUP, credential: apiCredential() })
  // Interrupted (Ctrl-C), the ask cancels the analysis on the worker.
  const reply = yield* client.ask("analyze", { inputs, config: { ...config }, timeout_ms: timeoutMs }, {
    timeoutMs,
    onProgress: onProgress === undefined ? undefined : (p) => onProgress(p.bytes, p.events)
  }).pipe(
    Effect.mapError((error) => {
      switch (error._tag) {
        case "ApiError":
          return error.code === "input" || error.code === "bad_request" ? new InputError({ message: error.message }) : new AnalysisError({ message: error.message })
        case "ActorUnavailable":
          return new AnalysisError({ message: `The analysis could not run on NATS: ${error.reason}` })
        case "ActorTimeout":
          return new AnalysisError({
            message: `The analysis did not finish within ${error.timeoutMs / 1000} s; give it longer with --timeout (workers cap it at their --max-timeout) or check the workers (dshield-coord ops status).`
          })
      }
    })
  )
  const blob = yield* natsResultStore(nc).get(reply.result_object).pipe(
    Effect.catchDefect((defect) =>
      Effect.fail(new AnalysisError({ message: `Fetching the result ${reply.result_object} from the object store failed (${String((defect as Error | undefined)?.message ?? defect)}); check the NATS user may read the coord-results bucket.` })))
  )
  if (blob === undefined) {
    return yield* new AnalysisError({ message: `The result ${reply.result_object} is missing from the NATS object store; run the analysis again.` })
  }
  const parsed = JSON.parse(new TextDecoder().decode(blob)) as unknown
  yield* Schema.decodeUnknownEffect(Result)(parsed).pipe(
    Effect.mapError(() => new AnalysisError({ message: "The worker's result does not match Result v1; check that workers run the same engine version." }))
  )
  // The document as the worker wrote it (decoding would reorder keys): same bytes as in process.
  return parsed as Result
})

/** Job-queue names, timing and limits (DSHIELD_JOB_* variables; JobQueue.jobQueueOptionsFromEnv); a bad value is a usage error. */
/** The caller's API key or "Bearer <token>" for the pool's api role, from DSHIELD_API_KEY. */
export const apiCredential = (): string | undefined => {
  const value = process.env.DSHIELD_API_KEY?.trim()
  return value === undefined || value === "" ? undefined : value
}

export const jobOptions = () => Effect.try({ try: () => jobQueueOptionsFromEnv(), catch: (error) => new InputError({ message: (error as Error).message }) })

/**
 * Runs one analysis as a durable job: submitted to the JetStream work queue, picked up by
 * any `jobs` worker (again by another if that one dies), result fetched by its analysis id.
 */
export const analyzeAsDurableJob = Effect.fn("Cli.analyzeAsDurableJob")(function*(
  nats: NatsFlags | string,
  paths: ReadonlyArray<string>,
  config: AnalysisConfig,
  /** How long this client waits for the answer (the job itself stays queued after). */
  timeoutMs: number,
  /** The job's own deadline (--timeout); without one it runs to the workers' --max-timeout. */
  jobDeadlineMs?: number
) {
  const nc = yield* natsConnection(nats)
  const jobs = yield* jobOptions()
  // The jobs workers create the queue; a client with submit-only permissions (deploy/nats
  // user `submitter`) may not, so a refusal here is not an error: publishing the job tells.
  yield* ensureJobStream(nc, jobs).pipe(Effect.ignore)
  const bucket = yield* inputBucketSettings.pipe(Effect.mapError((e) => new InputError({ message: e.message })))
  // Inputs by claim-check, as for a request: the job names the uploaded objects.
  const inputs = yield* uploadInputs(nc, paths, bucket).pipe(
    Effect.mapError((e) => (e.kind === "input" ? new InputError({ message: e.message }) : new AnalysisError({ message: e.message })))
  )
  const analysisId = randomUUID()
  yield* submitJob(nc, { analysis_id: analysisId, request: { inputs, config: { ...config }, ...(jobDeadlineMs !== undefined ? { timeout_ms: jobDeadlineMs } : {}) } }, jobs, apiCredential()).pipe(
    Effect.mapError((e) => new AnalysisError({ message: e.message }))
  )
  const results = natsResultStore(nc, jobs.results)
  const started = Date.now()
  while (Date.now() - started < timeoutMs) {
    const blob = yield* results.get(resultName(analysisId)).pipe(
      Effect.catchDefect((defect) =>
        Effect.fail(new AnalysisError({ message: `Reading the job's answer failed (${String((defect as Error | undefined)?.message ?? defect)}); start the jobs workers first and check the NATS user may read coord-results.` })))
    )
    if (blob !== undefined) {
      const reply = JSON.parse(new TextDecoder().decode(blob)) as { result_object?: string; failed?: string }
      if (reply.result_object === undefined) return yield* new AnalysisError({ message: `Job ${analysisId} failed on the worker: ${reply.failed ?? "unknown error"}` })
      const document = yield* results.get(reply.result_object)
      if (document === undefined) return yield* new AnalysisError({ message: `The result of job ${analysisId} is missing from the object store; submit it again.` })
      return JSON.parse(new TextDecoder().decode(document)) as Result
    }
    yield* Effect.sleep(250)
  }
  return yield* new AnalysisError({ message: `Job ${analysisId} has no answer after ${timeoutMs / 1000} s: no jobs worker has taken it yet, or one is still running it; check the jobs workers (dshield-coord ops status).` })
})

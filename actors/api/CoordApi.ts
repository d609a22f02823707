/**
 * The NATS request/reply API for clients (docs/nats-api.md): the micro service `coord`,
 * version 1, endpoints under `coord.v1`:
 *
 * - `coord.v1.analyze` — sessions inline (AttackSession objects) or file references → the
 *   analysis summary and the name of its Result v1 in the result store;
 * - `coord.v1.result` — a Result v1 by name (or `too_large` with where to fetch it);
 * - `coord.v1.status` — engine version and where results are kept.
 *
 * Errors are `ApiError` with a code and one sentence, in the Nats-Service-Error headers
 * with the Schema-encoded error in the body.
 *
 * @since 0.1.0
 */
import { Clock, Effect, Schema } from "effect"
import { type AnalysisConfig, DEFAULT_CONFIG } from "../../src/config/AnalysisConfig.ts"
import { AttackSession } from "../../src/domain/AttackSession.ts"
import { RESULT_SCHEMA_ID, type Result } from "../../src/domain/Result.ts"
import { resultDigest } from "../../src/replay/Manifest.ts"
import { ENGINE_VERSION } from "../../src/version.ts"
import { analyzeSessions } from "../../src/pipeline/analyzeSessions.ts"
import { assembleResult, inlineInputDigest, inlineInputSummary, runInfo } from "../../src/pipeline/assembleResult.ts"
import { runAnalysis } from "../../src/pipeline/runAnalysis.ts"
import { type Handlers, protocol } from "../kernel/Actor.ts"
import type { ResultStore } from "../orchestrator/Orchestrator.ts"
import { RESULTS_BUCKET } from "../transport/NatsResultStore.ts"

export const API_GROUP = "coord.v1"

/** Largest Result returned inline by coord.v1.result (NATS' default message limit is 1 MiB). */
export const MAX_INLINE_RESULT_BYTES = 900 * 1024

export class ApiError extends Schema.TaggedError<ApiError>()("ApiError", {
  code: Schema.Literals(["bad_request", "input", "analysis", "not_found", "too_large"]),
  message: Schema.String
}) {}

export const ApiAnalyzeRequest = Schema.Struct({
  sessions: Schema.optionalKey(Schema.Array(AttackSession)),
  paths: Schema.optionalKey(Schema.Array(Schema.String)),
  config: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown))
})

export const ApiAnalyzeReply = Schema.Struct({
  run_id: Schema.String,
  result_digest: Schema.String,
  result_object: Schema.String,
  sessions: Schema.Int,
  campaigns: Schema.Int
})

export const CoordApi = protocol("coord", "1.0.0", {
  analyze: { payload: ApiAnalyzeRequest, success: ApiAnalyzeReply, error: ApiError },
  result: { payload: Schema.Struct({ result_object: Schema.String }), success: Schema.Unknown, error: ApiError },
  status: {
    payload: Schema.Struct({}),
    success: Schema.Struct({ engine_version: Schema.String, result_schema: Schema.String, results_bucket: Schema.String }),
    error: ApiError
  }
})

const encoder = new TextEncoder()

/** Result v1 for sessions given inline (no files were read). */
const analyzeInline = (sessions: ReadonlyArray<AttackSession>, config: AnalysisConfig) =>
  Effect.gen(function*() {
    const startedAt = yield* Clock.currentTimeMillis
    const ordered = [...sessions].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.id < b.id ? -1 : 1))
    const analysis = yield* Effect.try({
      try: () => analyzeSessions(ordered, config),
      catch: (error) => new ApiError({ code: "analysis", message: `The analysis failed: ${String(error)}.` })
    })
    const finishedAt = yield* Clock.currentTimeMillis
    return assembleResult(runInfo(inlineInputDigest(ordered), config, startedAt, finishedAt), inlineInputSummary(ordered), analysis)
  })

export const coordApiBehaviour = (results: ResultStore): Effect.Effect<Handlers<typeof CoordApi>> =>
  Effect.succeed({
    analyze: Effect.fn("CoordApi.analyze")(function*(request: typeof ApiAnalyzeRequest.Type) {
      const config = { ...DEFAULT_CONFIG, ...(request.config as Partial<AnalysisConfig> | undefined) } as AnalysisConfig
      const hasSessions = request.sessions !== undefined
      const hasPaths = request.paths !== undefined && request.paths.length > 0
      if (hasSessions === hasPaths) {
        return yield* new ApiError({ code: "bad_request", message: "Give either sessions (inline) or paths (files the workers can read), not both or neither." })
      }
      const result: Result = hasSessions
        ? yield* analyzeInline(request.sessions!, config)
        : (yield* runAnalysis(request.paths!, config).pipe(
          Effect.mapError((error) => new ApiError({ code: error._tag === "InputError" ? "input" : "analysis", message: error.message }))
        )).result
      const digest = resultDigest(result)
      const name = `result-${digest.slice(0, 32)}`
      yield* results.put(name, encoder.encode(`${JSON.stringify(result, null, 2)}\n`))
      return { run_id: result.run.id, result_digest: digest, result_object: name, sessions: result.input.sessions, campaigns: result.campaigns.length }
    }),
    result: Effect.fn("CoordApi.result")(function*({ result_object }: { result_object: string }) {
      const blob = yield* results.get(result_object)
      if (blob === undefined) return yield* new ApiError({ code: "not_found", message: `No result named ${result_object}; it may have expired, run the analysis again.` })
      if (blob.length > MAX_INLINE_RESULT_BYTES) {
        return yield* new ApiError({
          code: "too_large",
          message: `Result ${result_object} is ${blob.length} bytes, over one NATS message; fetch it from the JetStream object store bucket ${RESULTS_BUCKET}, object ${result_object}.`
        })
      }
      return JSON.parse(new TextDecoder().decode(blob)) as unknown
    }),
    status: () => Effect.succeed({ engine_version: ENGINE_VERSION, result_schema: RESULT_SCHEMA_ID, results_bucket: RESULTS_BUCKET })
  })

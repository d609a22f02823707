/**
 * The NATS request/reply API for clients (docs/nats-api.md): the micro service `coord`,
 * version 1, endpoints under `coord.v1`:
 *
 * - `coord.v1.analyze` — sessions inline (AttackSession objects), inputs uploaded to the
 *   `coord-inputs` object store (claim-check), or worker-local paths where the worker allows
 *   them → the analysis summary and the name of its Result v1 in the result store;
 * - `coord.v1.result` — a Result v1 by name (or `too_large` with where to fetch it);
 * - `coord.v1.status` — engine version and where results are kept.
 *
 * Errors are `ApiError` with a code and one sentence, in the Nats-Service-Error headers
 * with the Schema-encoded error in the body. Every request decodes through its Schema with
 * bounds (actors/api/Requests.ts): a bad one is `bad_request` (400) before any work.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { AnalysisConfig } from "../../src/config/AnalysisConfig.ts"
import { AttackSession } from "../../src/domain/AttackSession.ts"
import { RESULT_SCHEMA_ID, type Result } from "../../src/domain/Result.ts"
import { resultDigest } from "../../src/replay/Manifest.ts"
import type { ActorTimeout, ActorUnavailable } from "../kernel/ActorErrors.ts"
import { ENGINE_VERSION } from "../../src/version.ts"
import { analyzeSessions } from "../../src/pipeline/analyzeSessions.ts"
import { assembleResult, inlineInputDigest, inlineInputSummary, runInfo } from "../../src/pipeline/assembleResult.ts"
import { type Handlers, protocol } from "../kernel/Actor.ts"
import { type AnalysisFailed, type AnalyzeReply, decodeAnalyzeMessage, type ResultStore } from "../orchestrator/Orchestrator.ts"
import { INPUTS_BUCKET } from "../transport/ClaimCheck.ts"
import { RESULTS_BUCKET } from "../transport/NatsResultStore.ts"
import { AnalyzeMessage, fullConfig, LIMITS, RequestRefused, STRICT } from "./Requests.ts"

export const API_GROUP = "coord.v1"

/** Largest Result returned inline by coord.v1.result (NATS' default message limit is 1 MiB). */
export const MAX_INLINE_RESULT_BYTES = 900 * 1024

export class ApiError extends Schema.TaggedError<ApiError>()("ApiError", {
  code: Schema.Literals(["bad_request", "input", "analysis", "not_found", "too_large", "unauthorized", "forbidden"]),
  message: Schema.String
}) {}

/** Exactly one of sessions, inputs and paths; see AnalyzeMessage for inputs, paths, config and timeout_ms. */
export const ApiAnalyzeRequest = Schema.Struct({
  sessions: Schema.optionalKey(Schema.Array(AttackSession).check(Schema.isMaxLength(LIMITS.sessions))),
  ...AnalyzeMessage.fields
})

const apiRefused = (status: 401 | 403, reason: string): ApiError =>
  new ApiError({ code: status === 401 ? "unauthorized" : "forbidden", message: `${reason}.` })

const apiBadRequest = (reason: string): ApiError =>
  new ApiError({ code: "bad_request", message: `The request is not valid: ${reason.replace(/\s+/g, " ").slice(0, 400)}; fix it and send it again.` })

export const ApiAnalyzeReply = Schema.Struct({
  run_id: Schema.String,
  result_digest: Schema.String,
  result_object: Schema.String,
  sessions: Schema.Int,
  campaigns: Schema.Int
})

export const CoordApi = protocol("coord", "1.0.0", {
  analyze: { payload: ApiAnalyzeRequest, success: ApiAnalyzeReply, error: ApiError, invalid: apiBadRequest, refused: apiRefused },
  result: { payload: Schema.Struct({ result_object: Schema.String.check(Schema.isMaxLength(200)) }), success: Schema.Unknown, error: ApiError, invalid: apiBadRequest, refused: apiRefused },
  status: {
    payload: Schema.Struct({}),
    success: Schema.Struct({ engine_version: Schema.String, result_schema: Schema.String, results_bucket: Schema.String, inputs_bucket: Schema.String }),
    error: ApiError,
    invalid: apiBadRequest,
    refused: apiRefused
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

/**
 * Analyses of files (uploaded inputs or worker-local paths): the orchestrator's analyze, with
 * the request's deadline. Its ActorTimeout and ActorUnavailable pass through as 504 and 503.
 */
export type AnalyzeFiles = (
  message: AnalyzeMessage
) => Effect.Effect<AnalyzeReply, AnalysisFailed | RequestRefused | ActorTimeout | ActorUnavailable>

const noFiles: AnalyzeFiles = () =>
  Effect.fail(new RequestRefused({ message: "This API instance analyses inline sessions only; send sessions, or ask a worker started with the api role." }))

export const coordApiBehaviour = (results: ResultStore, analyzeFiles: AnalyzeFiles = noFiles): Effect.Effect<Handlers<typeof CoordApi>> =>
  Effect.succeed({
    analyze: Effect.fn("CoordApi.analyze")(function*(raw: typeof ApiAnalyzeRequest.Type) {
      // Decoded again here, whoever the caller: bounds and unknown keys are refused before any work.
      const request = yield* Schema.decodeUnknownEffect(ApiAnalyzeRequest)(raw, STRICT).pipe(Effect.mapError((issue) => apiBadRequest(issue.message)))
      const { sessions, ...files } = request
      const hasFiles = (files.inputs?.length ?? 0) > 0 || (files.paths?.length ?? 0) > 0
      if ((sessions !== undefined) === hasFiles) {
        return yield* new ApiError({ code: "bad_request", message: "Give exactly one of sessions (inline), inputs (uploaded to the coord-inputs bucket) and paths (worker-local, where allowed)." })
      }
      if (sessions === undefined) {
        return yield* Effect.flatMap(decodeAnalyzeMessage(files), analyzeFiles).pipe(
          Effect.catchTags({
            RequestRefused: (e: RequestRefused) => Effect.fail(new ApiError({ code: "bad_request", message: e.message })),
            AnalysisFailed: (e: AnalysisFailed) => Effect.fail(new ApiError({ code: e.kind, message: e.message }))
          })
        ) as Effect.Effect<AnalyzeReply, ApiError>
      }
      const config: AnalysisConfig = fullConfig(request.config)
      const result: Result = yield* analyzeInline(sessions, config)
      const digest = resultDigest(result)
      const name = `result-${digest.slice(0, 32)}`
      const kept = yield* results.put(name, encoder.encode(`${JSON.stringify(result, null, 2)}\n`), result.run.id)
      return { run_id: kept, result_digest: digest, result_object: name, sessions: result.input.sessions, campaigns: result.campaigns.length }
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
    status: () => Effect.succeed({ engine_version: ENGINE_VERSION, result_schema: RESULT_SCHEMA_ID, results_bucket: RESULTS_BUCKET, inputs_bucket: INPUTS_BUCKET })
  })

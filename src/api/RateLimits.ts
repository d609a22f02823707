/**
 * Rate limits and the daily analysis quota for the engine's HTTP API, as one service the
 * server asks once per request: `check` (sliding windows per principal, per client IP and per
 * endpoint class, all allowed or none counted) and, when it accepts an analysis,
 * `consumeAnalysisQuota`. Two layers: `layerMemory` (the embedded default, per process) and
 * `layerRedis(url)` (shared by every engine process using that Redis).
 *
 * When Redis fails (error or no answer within `timeoutMs`), the limiter does NOT fail open —
 * that would let anyone who can slow Redis down switch the limits off. By default it falls
 * back to the in-memory limiter, like the Cache: still a limiter, only weaker — each process
 * counts on its own (N processes admit up to N times a limit), counts start from zero at the
 * switch, and so does the daily quota (a principal can get up to one more day's quota per
 * process while Redis is down). `status()` reports the degradation; a warning is logged when
 * it starts and a notice when Redis answers again, at which point the shared counts resume.
 * Deployments that prefer refusing service to weaker limits set `whenRedisFails: "deny"`:
 * every operation then fails with `RateLimitUnavailable`, which the server answers with 503.
 * A script that times out may still have run in Redis; that can only over-count (deny more).
 */
import { randomUUID } from "node:crypto"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { acquireRedisClient } from "../store/redisClient.ts"
import { redactUrl } from "../config/redactUrl.ts"
import { makeMemoryRateLimitBackend } from "./RateLimitMemory.ts"
import {
  type DailyQuota,
  decide,
  DEFAULT_RATE_LIMIT_POLICIES,
  principalKey,
  type QuotaDecision,
  type RateLimitBackend,
  type RateLimitDecision,
  type RateLimitPolicies,
  type RateLimitRequest,
  utcDay,
  windowsFor
} from "./RateLimitPolicy.ts"
import { makeRedisRateLimitBackend } from "./RateLimitRedis.ts"

/** The limiter cannot answer (Redis failed and `whenRedisFails` is "deny"): answer 503. */
export class RateLimitUnavailable extends Schema.TaggedError<RateLimitUnavailable>()("RateLimitUnavailable", {
  message: Schema.String
}) {}

export interface RateLimitStatus {
  readonly backend: "redis" | "memory"
  /** Redis configured but not answering: limits are per process, or requests are refused. */
  readonly degraded: boolean
  readonly detail: string
}

export interface RateLimitsService {
  readonly policies: RateLimitPolicies
  /** Counts the request against each of its windows if all have room; otherwise counts nothing. */
  readonly check: (request: RateLimitRequest) => Effect.Effect<RateLimitDecision, RateLimitUnavailable>
  /**
   * Counts one accepted analysis against `principal`'s quota for the UTC day of `nowMs`, unless
   * the quota is used up. `limit`: this principal's own quota; null or absent means
   * `policies.dailyAnalyses`. Call it when accepting the analysis, not before.
   */
  readonly consumeAnalysisQuota: (principal: string, nowMs: number, limit?: number | null) => Effect.Effect<QuotaDecision, RateLimitUnavailable>
  /** Gives back one analysis counted at `acceptedAtMs` (the analysis was not started after all). */
  readonly refundAnalysisQuota: (principal: string, acceptedAtMs: number) => Effect.Effect<void, RateLimitUnavailable>
  /** The quota's state without counting anything. */
  readonly analysisQuota: (principal: string, nowMs: number, limit?: number | null) => Effect.Effect<DailyQuota, RateLimitUnavailable>
  readonly status: () => Effect.Effect<RateLimitStatus>
}

export interface RateLimitsOptions {
  readonly policies?: RateLimitPolicies | undefined
}

export interface RedisRateLimitsOptions extends RateLimitsOptions {
  /** Prefix of every Redis key (default "dshield-coord:"). */
  readonly keyPrefix?: string | undefined
  /** How long an operation may wait for Redis before it counts as failed (default 500 ms). */
  readonly timeoutMs?: number | undefined
  /** "memory" (default): per-process limits while Redis fails. "deny": RateLimitUnavailable. */
  readonly whenRedisFails?: "memory" | "deny" | undefined
}

const DEFAULT_KEY_PREFIX = "dshield-coord:"

/** The service over one backend whose failures are already `RateLimitUnavailable`. */
const makeRateLimits = (
  backend: RateLimitBackend<RateLimitUnavailable>,
  policies: RateLimitPolicies,
  status: () => Effect.Effect<RateLimitStatus>
): RateLimitsService => {
  // A member unique to each hit across processes: time, this instance, a sequence number.
  const instance = randomUUID()
  let sequence = 0
  const quotaKey = (principal: string, nowMs: number) => {
    const day = utcDay(nowMs)
    return { key: `${principalKey(principal)}:${day.stamp}`, endsAtMs: day.endsAtMs, resetSeconds: Math.ceil((day.endsAtMs - nowMs) / 1000) }
  }
  return {
    policies,
    check: Effect.fn("RateLimits.check")(function*(request: RateLimitRequest) {
      const windows = windowsFor(policies, request)
      const outcome = yield* backend.hit(windows, request.nowMs, `${request.nowMs}:${instance}:${(sequence++).toString(36)}`)
      return decide(windows, outcome, request.nowMs)
    }),
    consumeAnalysisQuota: Effect.fn("RateLimits.consumeAnalysisQuota")(function*(principal: string, nowMs: number, limit?: number | null) {
      const quota = quotaKey(principal, nowMs)
      const max = limit ?? policies.dailyAnalyses
      const { allowed, used } = yield* backend.consumeQuota(quota.key, max, nowMs, quota.endsAtMs)
      return { allowed, used, limit: max, resetSeconds: quota.resetSeconds } satisfies QuotaDecision
    }),
    refundAnalysisQuota: Effect.fn("RateLimits.refundAnalysisQuota")(function*(principal: string, acceptedAtMs: number) {
      yield* backend.refundQuota(quotaKey(principal, acceptedAtMs).key, acceptedAtMs)
    }),
    analysisQuota: Effect.fn("RateLimits.analysisQuota")(function*(principal: string, nowMs: number, limit?: number | null) {
      const quota = quotaKey(principal, nowMs)
      const used = yield* backend.quotaUsed(quota.key, nowMs)
      return { used, limit: limit ?? policies.dailyAnalyses, resetSeconds: quota.resetSeconds } satisfies DailyQuota
    }),
    status
  }
}

/** The message of a failure; for a wrapped promise rejection, the rejection's own message. */
const errorText = (error: unknown): string => {
  const e = error as { message?: string; cause?: { message?: string } } | undefined
  return String(e?.cause?.message ?? e?.message ?? error)
}

/**
 * The Redis backend guarded as the header describes: each operation gets `timeoutMs`; on
 * failure it is answered by `memory` or refused, and the first failure (and the recovery) is
 * logged.
 */
const guardRedisBackend = (
  redis: RateLimitBackend<unknown>,
  memory: RateLimitBackend<never>,
  timeoutMs: number,
  whenRedisFails: "memory" | "deny",
  state: { lastError: string | undefined }
): RateLimitBackend<RateLimitUnavailable> => {
  const guarded = <A>(name: string, viaRedis: Effect.Effect<A, unknown>, viaMemory: Effect.Effect<A>): Effect.Effect<A, RateLimitUnavailable> =>
    viaRedis.pipe(
      Effect.timeout(timeoutMs),
      Effect.tap(() =>
        state.lastError === undefined
          ? Effect.void
          : Effect.sync(() => (state.lastError = undefined)).pipe(Effect.andThen(Effect.logInfo("Rate limits: Redis answers again; limits are shared again")))
      ),
      Effect.catch((error: unknown) => {
        const wasHealthy = state.lastError === undefined
        state.lastError = `${name}: ${errorText(error)}`
        const warn = wasHealthy
          ? Effect.logWarning(
            whenRedisFails === "memory"
              ? `Rate limits: Redis failed (${state.lastError}); enforcing per-process in-memory limits until it answers`
              : `Rate limits: Redis failed (${state.lastError}); refusing requests until it answers`
          )
          : Effect.void
        return warn.pipe(
          Effect.andThen(
            whenRedisFails === "memory"
              ? viaMemory
              : Effect.fail(new RateLimitUnavailable({ message: "Rate limiting is unavailable (Redis is not answering); try again shortly." }))
          )
        )
      })
    )
  return {
    hit: (windows, nowMs, member) => guarded("hit", redis.hit(windows, nowMs, member), memory.hit(windows, nowMs, member)),
    consumeQuota: (key, limit, nowMs, expiresAtMs) =>
      guarded("consumeQuota", redis.consumeQuota(key, limit, nowMs, expiresAtMs), memory.consumeQuota(key, limit, nowMs, expiresAtMs)),
    refundQuota: (key, nowMs) => guarded("refundQuota", redis.refundQuota(key, nowMs), memory.refundQuota(key, nowMs)),
    quotaUsed: (key, nowMs) => guarded("quotaUsed", redis.quotaUsed(key, nowMs), memory.quotaUsed(key, nowMs))
  }
}

export class RateLimits extends Context.Service<RateLimits, RateLimitsService>()("dshield-coord/api/RateLimits") {
  /** Per-process limits: the embedded default. */
  static readonly layerMemory = (options: RateLimitsOptions = {}): Layer.Layer<RateLimits> =>
    Layer.sync(RateLimits, () =>
      RateLimits.of(
        makeRateLimits(makeMemoryRateLimitBackend(), options.policies ?? DEFAULT_RATE_LIMIT_POLICIES, () =>
          Effect.succeed({ backend: "memory", degraded: false, detail: "in-memory, per process (REDIS_URL not set)" })
        )
      )
    )

  /** Limits shared through the Redis at `url`; see the header for what happens when it fails. */
  static readonly layerRedis = (url: string, options: RedisRateLimitsOptions = {}): Layer.Layer<RateLimits> =>
    Layer.effect(
      RateLimits,
      Effect.gen(function*() {
        const timeoutMs = options.timeoutMs ?? 500
        const whenRedisFails = options.whenRedisFails ?? "memory"
        const client = yield* acquireRedisClient(url, timeoutMs)
        const state: { lastError: string | undefined } = { lastError: undefined }
        const backend = guardRedisBackend(
          makeRedisRateLimitBackend(client, options.keyPrefix ?? DEFAULT_KEY_PREFIX),
          makeMemoryRateLimitBackend(),
          timeoutMs,
          whenRedisFails,
          state
        )
        const where = `Redis ${redactUrl(url)}`
        const status = (): Effect.Effect<RateLimitStatus> =>
          Effect.tryPromise(() => client.ping()).pipe(
            Effect.timeout(timeoutMs),
            Effect.map((): RateLimitStatus => ({ backend: "redis", degraded: false, detail: `${where}, shared by every engine process` })),
            Effect.catch(() =>
              Effect.succeed<RateLimitStatus>({
                backend: "redis",
                degraded: true,
                detail: `${where} not answering (${state.lastError ?? "ping failed"}); ${
                  whenRedisFails === "memory" ? "enforcing per-process in-memory limits" : "refusing rate-limited requests (503)"
                }`
              })
            )
          )
        return RateLimits.of(makeRateLimits(backend, options.policies ?? DEFAULT_RATE_LIMIT_POLICIES, status))
      })
    )
}

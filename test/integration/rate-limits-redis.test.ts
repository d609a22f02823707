import { afterAll, describe, expect, test } from "bun:test"
import * as Effect from "effect/Effect"
import Redis from "ioredis"
import { principalKey } from "../../src/api/RateLimitPolicy.ts"
import { RateLimits } from "../../src/api/RateLimits.ts"
import { policiesWith, rateLimitScenarios, T0, withLimiter } from "../unit/rateLimitScenarios.ts"
import { serviceAvailable } from "./services.ts"

const HAVE_REDIS = await serviceAvailable("Redis", 6379)
const REDIS_URL = "redis://127.0.0.1:6379"
/** Every key this run writes starts with this; all are deleted afterwards. */
const RUN_PREFIX = `dshield-coord-test:rate-limits:${process.pid}-${Date.now()}:`

const keysOfThisRun = async (redis: Redis): Promise<Array<string>> => {
  const keys: Array<string> = []
  let cursor = "0"
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", `${RUN_PREFIX}*`, "COUNT", 1000)
    cursor = next
    keys.push(...batch)
  } while (cursor !== "0")
  return keys
}

describe.skipIf(!HAVE_REDIS)("rate limits on Redis 127.0.0.1:6379", () => {
  const redis = HAVE_REDIS ? new Redis(REDIS_URL, { lazyConnect: true }) : undefined
  afterAll(async () => {
    if (redis === undefined) return
    const keys = await keysOfThisRun(redis)
    if (keys.length > 0) await redis.del(...keys)
    expect(await keysOfThisRun(redis)).toEqual([])
    redis.disconnect()
  })

  rateLimitScenarios((policies, label) => RateLimits.layerRedis(REDIS_URL, { policies, keyPrefix: `${RUN_PREFIX}${label}:` }))

  test("two engine processes (two connections) sharing Redis: still exactly 20 of 200", async () => {
    const policies = policiesWith({ perPrincipal: { limit: 20, windowMs: 1000 } })
    const layer = () => RateLimits.layerRedis(REDIS_URL, { policies, keyPrefix: `${RUN_PREFIX}shared:` })
    const allowed = await withLimiter(layer(), (one) =>
      withLimiter(layer(), async (two) => {
        const decisions = await Promise.all(
          Array.from({ length: 200 }, (_, i) => Effect.runPromise((i % 2 === 0 ? one : two).check({ principal: "shared", ip: `198.51.100.${i % 50}`, endpoint: "read", nowMs: T0 })))
        )
        return decisions.filter((d) => d.allowed).length
      }))
    expect(allowed).toBe(20)
  })

  test("in Redis: a denied request adds no member and does not extend the expiry", async () => {
    const prefix = `${RUN_PREFIX}expiry:`
    const zkey = `${prefix}ratelimit:principal:${principalKey("expiry")}`
    const r = await withLimiter(RateLimits.layerRedis(REDIS_URL, { policies: policiesWith({ perPrincipal: { limit: 20, windowMs: 1000 } }), keyPrefix: prefix }), async (limiter) => {
      const now = Date.now()
      await Promise.all(Array.from({ length: 20 }, () => Effect.runPromise(limiter.check({ principal: "expiry", endpoint: "read", nowMs: now }))))
      const ttlAfterFill = await redis!.pttl(zkey)
      await Bun.sleep(300)
      const denied = await Promise.all(Array.from({ length: 30 }, () => Effect.runPromise(limiter.check({ principal: "expiry", endpoint: "read", nowMs: now + 300 }))))
      return { ttlAfterFill, ttlAfterDenials: await redis!.pttl(zkey), members: await redis!.zcard(zkey), deniedAllowed: denied.filter((d) => d.allowed).length }
    })
    expect(r.members).toBe(20)
    expect(r.deniedAllowed).toBe(0)
    // Window 1000 ms + 1000 ms grace, set by the last allowed hit only.
    expect(r.ttlAfterFill).toBeGreaterThan(1500)
    expect(r.ttlAfterFill).toBeLessThanOrEqual(2000)
    expect(r.ttlAfterDenials).toBeLessThanOrEqual(r.ttlAfterFill - 250)
  })

  test("in Redis: the day's quota counter expires after the UTC day ends (plus grace)", async () => {
    const prefix = `${RUN_PREFIX}quota-ttl:`
    const lastSecond = Date.UTC(2025, 2, 9, 23, 59, 58, 500)
    await withLimiter(RateLimits.layerRedis(REDIS_URL, { policies: policiesWith({ dailyAnalyses: 2 }), keyPrefix: prefix }), (limiter) =>
      Effect.runPromise(limiter.consumeAnalysisQuota("ttl", lastSecond)))
    const key = `${prefix}quota:${principalKey("ttl")}:2025-03-09`
    expect(await redis!.get(key)).toBe("1")
    const ttl = await redis!.pttl(key)
    expect(ttl).toBeGreaterThan(3_600_000)
    expect(ttl).toBeLessThanOrEqual(3_600_000 + 1500)
  })

  test("status: Redis, not degraded", async () => {
    const status = await withLimiter(RateLimits.layerRedis(REDIS_URL, { keyPrefix: RUN_PREFIX }), (limiter) => Effect.runPromise(limiter.status()))
    expect(status).toEqual({ backend: "redis", degraded: false, detail: "Redis redis://127.0.0.1:6379, shared by every engine process" })
  })
})

describe("rate limits when Redis does not answer", () => {
  const down = "redis://127.0.0.1:1"
  const policies = policiesWith({ perPrincipal: { limit: 2, windowMs: 1000 } })

  test("default: per-process in-memory limits, never open; status says degraded", async () => {
    const r = await withLimiter(RateLimits.layerRedis(down, { policies, timeoutMs: 200 }), async (limiter) => {
      const allowed = []
      for (let i = 0; i < 3; i++) allowed.push((await Effect.runPromise(limiter.check({ principal: "p", endpoint: "read", nowMs: T0 }))).allowed)
      return { allowed, status: await Effect.runPromise(limiter.status()) }
    })
    expect(r.allowed).toEqual([true, true, false])
    expect(r.status.degraded).toBe(true)
    expect(r.status.detail).toContain("enforcing per-process in-memory limits")
  }, 10_000)

  test("whenRedisFails: \"deny\" refuses with RateLimitUnavailable", async () => {
    const error = await withLimiter(RateLimits.layerRedis(down, { policies, timeoutMs: 200, whenRedisFails: "deny" }), (limiter) =>
      Effect.runPromise(Effect.flip(limiter.check({ principal: "p", endpoint: "read", nowMs: T0 }))))
    expect(error._tag).toBe("RateLimitUnavailable")
    expect(error.message).toContain("Redis is not answering")
  }, 10_000)
})

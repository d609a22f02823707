import { describe, expect, test } from "bun:test"
import * as Effect from "effect/Effect"
import {
  clientIpBucket,
  decide,
  DEFAULT_RATE_LIMIT_POLICIES,
  parseRateWindow,
  principalKey,
  resolveRateLimitPolicies,
  windowsFor
} from "../../src/api/RateLimitPolicy.ts"
import { RateLimits } from "../../src/api/RateLimits.ts"
import { rateLimitScenarios, T0, withLimiter } from "./rateLimitScenarios.ts"

describe("rate limits in memory", () => {
  rateLimitScenarios((policies) => RateLimits.layerMemory({ policies }))

  test("status says per process", async () => {
    const status = await withLimiter(RateLimits.layerMemory(), (limiter) => Effect.runPromise(limiter.status()))
    expect(status).toEqual({ backend: "memory", degraded: false, detail: "in-memory, per process (REDIS_URL not set)" })
  })

  test("the defaults apply when no policies are given", async () => {
    const d = await withLimiter(RateLimits.layerMemory(), (limiter) => Effect.runPromise(limiter.check({ principal: "p", ip: "192.0.2.1", endpoint: "submit", nowMs: T0 })))
    expect(d).toEqual({ allowed: true, limit: 30, remaining: 29, resetSeconds: 60, policy: "endpoint:submit", windowMs: 60_000 })
  })
})

describe("rate-limit policy", () => {
  test("defaults", () => {
    expect(DEFAULT_RATE_LIMIT_POLICIES).toEqual({
      perPrincipal: { limit: 600, windowMs: 60_000 },
      perIp: { limit: 1200, windowMs: 60_000 },
      perEndpoint: { submit: { limit: 30, windowMs: 60_000 }, read: { limit: 300, windowMs: 60_000 } },
      dailyAnalyses: 1000
    })
  })

  test("<limit>/<window> parsing", () => {
    expect(parseRateWindow("30/m")).toEqual({ limit: 30, windowMs: 60_000 })
    expect(parseRateWindow(" 600 / 60s ")).toEqual({ limit: 600, windowMs: 60_000 })
    expect(parseRateWindow("5/500ms")).toEqual({ limit: 5, windowMs: 500 })
    expect(parseRateWindow("100/24h")).toEqual({ limit: 100, windowMs: 86_400_000 })
    for (const bad of ["0/s", "10", "10/25h", "-1/s", "ten/s", "10/0s", "10/1d"]) expect(parseRateWindow(bad)).toBeUndefined()
  })

  test("environment overrides; a malformed value is a config error naming the variable", async () => {
    const policies = await Effect.runPromise(resolveRateLimitPolicies({ DSHIELD_RATE_LIMIT_IP: "100/1m", DSHIELD_RATE_LIMIT_SUBMIT: "3/10s", DSHIELD_DAILY_ANALYSES: "50" }))
    expect(policies).toEqual({
      ...DEFAULT_RATE_LIMIT_POLICIES,
      perIp: { limit: 100, windowMs: 60_000 },
      perEndpoint: { submit: { limit: 3, windowMs: 10_000 }, read: { limit: 300, windowMs: 60_000 } },
      dailyAnalyses: 50
    })
    const error = await Effect.runPromise(Effect.flip(resolveRateLimitPolicies({ DSHIELD_RATE_LIMIT_READ: "lots" })))
    expect(error._tag).toBe("RateLimitConfigError")
    expect(error.message).toContain("DSHIELD_RATE_LIMIT_READ")
    const daily = await Effect.runPromise(Effect.flip(resolveRateLimitPolicies({ DSHIELD_DAILY_ANALYSES: "1e3" })))
    expect(daily.message).toContain("DSHIELD_DAILY_ANALYSES")
  })

  test("IPv6 clients are limited per /64; IPv4-mapped addresses as IPv4", () => {
    expect(clientIpBucket("2001:db8:1:2:3:4:5:6")).toBe("2001:db8:1:2::/64")
    expect(clientIpBucket("2001:DB8:1:2::9")).toBe("2001:db8:1:2::/64")
    expect(clientIpBucket("[2001:db8::1]")).toBe("2001:db8:0:0::/64")
    expect(clientIpBucket("fe80::1%eth0")).toBe("fe80:0:0:0::/64")
    expect(clientIpBucket("::ffff:192.0.2.1")).toBe("192.0.2.1")
    expect(clientIpBucket("64:ff9b::192.0.2.1")).toBe("64:ff9b:0:0::/64")
    expect(clientIpBucket("192.0.2.1")).toBe("192.0.2.1")
    expect(clientIpBucket("unix-socket")).toBe("unix-socket")
  })

  test("the windows a request counts against; principals are hashed", () => {
    const p = DEFAULT_RATE_LIMIT_POLICIES
    expect(windowsFor(p, { principal: "key-1", ip: "192.0.2.1", endpoint: "read", nowMs: 0 }).map((w) => [w.policy, w.key])).toEqual([
      ["principal", `principal:${principalKey("key-1")}`],
      ["ip", "ip:192.0.2.1"],
      ["endpoint:read", `endpoint:read:principal:${principalKey("key-1")}`]
    ])
    expect(windowsFor(p, { ip: "192.0.2.1", endpoint: "submit", nowMs: 0 }).map((w) => w.key)).toEqual(["ip:192.0.2.1", "endpoint:submit:ip:192.0.2.1"])
    expect(windowsFor(p, { endpoint: "submit", nowMs: 0 }).map((w) => w.key)).toEqual(["endpoint:submit:anonymous"])
    expect(principalKey("key-1")).not.toContain("key-1")
    expect(principalKey("key-1")).toHaveLength(22)
  })

  test("denied by several windows: the one that frees last is reported", () => {
    const windows = [
      { policy: "principal", key: "a", limit: 2, windowMs: 10_000 },
      { policy: "ip", key: "b", limit: 2, windowMs: 60_000 },
      { policy: "endpoint:read", key: "c", limit: 100, windowMs: 60_000 }
    ]
    const d = decide(windows, { allowed: false, tallies: [{ count: 2, freesSlotHitMs: 1000 }, { count: 2, freesSlotHitMs: 2000 }, { count: 2, freesSlotHitMs: 1000 }] }, 5000)
    expect(d).toEqual({ allowed: false, limit: 2, remaining: 0, resetSeconds: 57, retryAfterSeconds: 57, policy: "ip", windowMs: 60_000 })
  })
})

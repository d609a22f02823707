/**
 * The behaviour every rate-limit backend must show, written once and run against each
 * (test/unit/rate-limits.test.ts: memory; test/integration/rate-limits-redis.test.ts: Redis),
 * so "same semantics" is checked, not assumed. Times are injected; values are exact.
 */
import { expect, test } from "bun:test"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { type RateLimitPolicies, type RateLimitRequest, rateLimitHeaders } from "../../src/api/RateLimitPolicy.ts"
import { RateLimits, type RateLimitsService } from "../../src/api/RateLimits.ts"

/** Builds a fresh limiter (fresh keys) with `policies`; `label` names the test, for key prefixes. */
export type MakeLayer = (policies: RateLimitPolicies, label: string) => Layer.Layer<RateLimits>

const wide = { limit: 1_000_000, windowMs: 1000 }

/** Policies where only the windows given are tight; the others never deny. */
export const policiesWith = (tight: Partial<Pick<RateLimitPolicies, "perPrincipal" | "perIp">> & { submit?: RateLimitPolicies["perEndpoint"]["submit"]; dailyAnalyses?: number }): RateLimitPolicies => ({
  perPrincipal: tight.perPrincipal ?? wide,
  perIp: tight.perIp ?? wide,
  perEndpoint: { submit: tight.submit ?? wide, read: wide },
  dailyAnalyses: tight.dailyAnalyses ?? 1000
})

/** Runs `body` with the limiter from `layer`, then disposes it. */
export const withLimiter = async <A>(layer: Layer.Layer<RateLimits>, body: (limiter: RateLimitsService) => Promise<A>): Promise<A> => {
  const runtime = ManagedRuntime.make(layer)
  try {
    const limiter = await runtime.runPromise(Effect.service(RateLimits))
    return await body(limiter)
  } finally {
    await runtime.dispose()
  }
}

const run = <A, E>(effect: Effect.Effect<A, E>): Promise<A> => Effect.runPromise(effect)

/** A fixed instant well after the epoch: 2025-03-09T12:00:00Z. */
export const T0 = Date.UTC(2025, 2, 9, 12, 0, 0)

export const rateLimitScenarios = (makeLayer: MakeLayer): void => {
  test("50 concurrent clients x 4 requests against a 20-per-second window: exactly 20 allowed", async () => {
    const result = await withLimiter(makeLayer(policiesWith({ perPrincipal: { limit: 20, windowMs: 1000 } }), "burst"), async (limiter) => {
      const client = (c: number) =>
        Promise.all([0, 1, 2, 3].map(() => run(limiter.check({ principal: "burst-key", ip: `198.51.100.${c}`, endpoint: "submit", nowMs: T0 + (c % 5) }))))
      const decisions = (await Promise.all(Array.from({ length: 50 }, (_, c) => client(c)))).flat()
      return {
        total: decisions.length,
        allowed: decisions.filter((d) => d.allowed).length,
        deniedPolicies: [...new Set(decisions.filter((d) => !d.allowed).map((d) => d.policy))],
        deniedRemaining: [...new Set(decisions.filter((d) => !d.allowed).map((d) => d.remaining))],
        remainingOfAllowed: decisions.filter((d) => d.allowed).map((d) => d.remaining).sort((a, b) => a - b),
        // After the window has slid past every counted hit (the last at T0 + 4), 20 more fit.
        after: await Promise.all(Array.from({ length: 25 }, () => run(limiter.check({ principal: "burst-key", endpoint: "submit", nowMs: T0 + 1004 }))))
      }
    })
    expect(result.total).toBe(200)
    expect(result.allowed).toBe(20)
    expect(result.deniedPolicies).toEqual(["principal"])
    expect(result.deniedRemaining).toEqual([0])
    expect(result.remainingOfAllowed).toEqual(Array.from({ length: 20 }, (_, i) => i))
    expect(result.after.filter((d) => d.allowed).length).toBe(20)
  })

  test("remaining counts down 19..0, then the request is denied with Retry-After", async () => {
    const decisions = await withLimiter(makeLayer(policiesWith({ perPrincipal: { limit: 20, windowMs: 10_000 } }), "countdown"), async (limiter) => {
      const out = []
      for (let i = 0; i < 21; i++) out.push(await run(limiter.check({ principal: "countdown", endpoint: "read", nowMs: T0 + i * 100 })))
      return out
    })
    expect(decisions.slice(0, 20).map((d) => d.remaining)).toEqual(Array.from({ length: 20 }, (_, i) => 19 - i))
    expect(decisions.slice(0, 20).every((d) => d.allowed && d.limit === 20 && d.policy === "principal")).toBe(true)
    // The first hit (T0) leaves the window at T0 + 10 s: the 21st request (T0 + 2 s) waits 8 s.
    expect(decisions[20]).toEqual({ allowed: false, limit: 20, remaining: 0, resetSeconds: 8, retryAfterSeconds: 8, policy: "principal", windowMs: 10_000 })
    expect(rateLimitHeaders(decisions[20]!)).toEqual({
      "RateLimit-Limit": "20",
      "RateLimit-Remaining": "0",
      "RateLimit-Reset": "8",
      "RateLimit-Policy": "20;w=10",
      "Retry-After": "8"
    })
    // Allowed: the reset is when the oldest counted hit leaves the window.
    expect(decisions[5]!.resetSeconds).toBe(10)
    expect(rateLimitHeaders(decisions[0]!)["Retry-After"]).toBeUndefined()
  })

  test("the window slides: one freed slot admits one request, not a whole new window", async () => {
    const r = await withLimiter(makeLayer(policiesWith({ perPrincipal: { limit: 3, windowMs: 1000 } }), "slide"), async (limiter) => {
      const at = (nowMs: number) => run(limiter.check({ principal: "slide", endpoint: "read", nowMs })).then((d) => d.allowed)
      const out: Array<boolean> = []
      for (const t of [0, 100, 200, 999, 1000, 1000, 1099, 1100, 1200, 1201]) out.push(await at(T0 + t))
      return out
    })
    // Hits at 0, 100, 200 fill the window; 999 is still inside it; at 1000 the hit at 0 has left
    // (one slot), at 1100 the hit at 100 (one slot), at 1200 the hit at 200 (one slot).
    expect(r).toEqual([true, true, true, false, true, false, false, true, true, false])
  })

  test("two hits in the same millisecond both count", async () => {
    const r = await withLimiter(makeLayer(policiesWith({ perPrincipal: { limit: 2, windowMs: 1000 } }), "same-ms"), async (limiter) => {
      const req: RateLimitRequest = { principal: "same-ms", endpoint: "read", nowMs: T0 }
      return [await run(limiter.check(req)), await run(limiter.check(req)), await run(limiter.check(req))].map((d) => d.allowed)
    })
    expect(r).toEqual([true, true, false])
  })

  test("denied requests consume no slot and do not extend the block", async () => {
    const r = await withLimiter(makeLayer(policiesWith({ perPrincipal: { limit: 20, windowMs: 1000 } }), "no-consume"), async (limiter) => {
      const check = (nowMs: number) => run(limiter.check({ principal: "no-consume", endpoint: "read", nowMs }))
      const fill = await Promise.all(Array.from({ length: 20 }, () => check(T0)))
      // 100 denied requests while the window is full, the last 1 ms before it frees.
      const hammer = await Promise.all(Array.from({ length: 100 }, (_, i) => check(T0 + 500 + (i % 2) * 499)))
      const after = await Promise.all(Array.from({ length: 25 }, () => check(T0 + 1000)))
      return { fill: fill.filter((d) => d.allowed).length, hammer: hammer.filter((d) => d.allowed).length, after: after.filter((d) => d.allowed).length }
    })
    expect(r).toEqual({ fill: 20, hammer: 0, after: 20 })
  })

  test("key limit 10, IP limit 5: a request denied by the IP window does not consume the key window", async () => {
    const r = await withLimiter(makeLayer(policiesWith({ perPrincipal: { limit: 10, windowMs: 1000 }, perIp: { limit: 5, windowMs: 1000 } }), "two-policies"), async (limiter) => {
      const check = (ip: string) => run(limiter.check({ principal: "two", ip, endpoint: "submit", nowMs: T0 }))
      const fromA = []
      for (let i = 0; i < 12; i++) fromA.push(await check("203.0.113.7"))
      // Then from 8 other addresses (one request each), so only the key window can deny.
      const fromOthers = []
      for (let i = 0; i < 8; i++) fromOthers.push(await check(`203.0.113.${20 + i}`))
      return { fromA, fromOthers }
    })
    expect(r.fromA.map((d) => d.allowed)).toEqual([...Array(5).fill(true), ...Array(7).fill(false)])
    // Allowed: the IP window is the tighter one and is what the headers describe.
    expect(r.fromA[0]).toMatchObject({ policy: "ip", limit: 5, remaining: 4 })
    expect(r.fromA[5]).toMatchObject({ allowed: false, policy: "ip", limit: 5, remaining: 0, retryAfterSeconds: 1 })
    // Only the 5 allowed requests counted in the key window: 5 more fit from another address.
    expect(r.fromOthers.map((d) => d.allowed)).toEqual([...Array(5).fill(true), ...Array(3).fill(false)])
    expect(r.fromOthers[4]).toMatchObject({ allowed: true, policy: "principal", limit: 10, remaining: 0 })
    expect(r.fromOthers[5]).toMatchObject({ allowed: false, policy: "principal", limit: 10, remaining: 0, retryAfterSeconds: 1 })
  })

  test("endpoint classes have separate windows per caller", async () => {
    const r = await withLimiter(makeLayer(policiesWith({ submit: { limit: 2, windowMs: 1000 } }), "endpoints"), async (limiter) => {
      const check = (principal: string, endpoint: "submit" | "read") => run(limiter.check({ principal, endpoint, nowMs: T0 })).then((d) => [d.allowed, d.policy] as const)
      return [await check("p1", "submit"), await check("p1", "submit"), await check("p1", "submit"), await check("p1", "read"), await check("p2", "submit")]
    })
    expect(r).toEqual([[true, "endpoint:submit"], [true, "endpoint:submit"], [false, "endpoint:submit"], [true, "principal"], [true, "endpoint:submit"]])
  })

  test("daily quota: counts only accepted analyses and resets at the UTC day boundary", async () => {
    const lastSecond = Date.UTC(2025, 2, 9, 23, 59, 58, 500)
    const midnight = Date.UTC(2025, 2, 10, 0, 0, 0, 0)
    const r = await withLimiter(makeLayer(policiesWith({ dailyAnalyses: 3 }), "quota"), async (limiter) => {
      const before = await run(limiter.analysisQuota("analyst", lastSecond))
      const consumed = []
      for (let i = 0; i < 4; i++) consumed.push(await run(limiter.consumeAnalysisQuota("analyst", lastSecond)))
      const readsDoNotCount = await run(limiter.analysisQuota("analyst", lastSecond))
      // An accepted analysis that could not be started is given back.
      await run(limiter.refundAnalysisQuota("analyst", lastSecond))
      const afterRefund = await run(limiter.consumeAnalysisQuota("analyst", lastSecond))
      const otherPrincipal = await run(limiter.consumeAnalysisQuota("someone-else", lastSecond))
      const higherLimit = await run(limiter.consumeAnalysisQuota("analyst", lastSecond, 5))
      const nullMeansDefault = await run(limiter.analysisQuota("analyst", lastSecond, null))
      const nextDay = await run(limiter.analysisQuota("analyst", midnight))
      const nextDayConsumed = await run(limiter.consumeAnalysisQuota("analyst", midnight))
      return { before, consumed, readsDoNotCount, afterRefund, otherPrincipal, higherLimit, nullMeansDefault, nextDay, nextDayConsumed }
    })
    expect(r.before).toEqual({ used: 0, limit: 3, resetSeconds: 2 })
    expect(r.consumed).toEqual([
      { allowed: true, used: 1, limit: 3, resetSeconds: 2 },
      { allowed: true, used: 2, limit: 3, resetSeconds: 2 },
      { allowed: true, used: 3, limit: 3, resetSeconds: 2 },
      { allowed: false, used: 3, limit: 3, resetSeconds: 2 }
    ])
    expect(r.readsDoNotCount).toEqual({ used: 3, limit: 3, resetSeconds: 2 })
    expect(r.afterRefund).toEqual({ allowed: true, used: 3, limit: 3, resetSeconds: 2 })
    expect(r.otherPrincipal).toEqual({ allowed: true, used: 1, limit: 3, resetSeconds: 2 })
    expect(r.higherLimit).toEqual({ allowed: true, used: 4, limit: 5, resetSeconds: 2 })
    expect(r.nullMeansDefault).toEqual({ used: 4, limit: 3, resetSeconds: 2 })
    expect(r.nextDay).toEqual({ used: 0, limit: 3, resetSeconds: 86_400 })
    expect(r.nextDayConsumed).toEqual({ allowed: true, used: 1, limit: 3, resetSeconds: 86_400 })
  })

  test("concurrent quota consumption never exceeds the limit", async () => {
    const r = await withLimiter(makeLayer(policiesWith({ dailyAnalyses: 7 }), "quota-race"), async (limiter) => {
      const results = await Promise.all(Array.from({ length: 60 }, () => run(limiter.consumeAnalysisQuota("racer", T0))))
      return { allowed: results.filter((q) => q.allowed).length, used: (await run(limiter.analysisQuota("racer", T0))).used }
    })
    expect(r).toEqual({ allowed: 7, used: 7 })
  })
}

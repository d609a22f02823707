/**
 * The in-memory rate-limit backend: the embedded default, and the stand-in while Redis does
 * not answer. It keeps the same semantics as the Redis scripts — a sliding window of hit
 * times per key, a request counted in all of its windows or in none, and a per-day counter for
 * the analysis quota — for one process. Each operation runs synchronously from start to
 * end, so concurrent requests in this process see exact counts.
 */
import * as Effect from "effect/Effect"
import type { RateLimitBackend, WindowTally } from "./RateLimitPolicy.ts"

/** Every this many hits, keys whose windows have emptied are forgotten. */
const SWEEP_EVERY = 4096

/** Index of the first element of ascending `times` greater than `t`. */
const firstAfter = (times: ReadonlyArray<number>, t: number): number => {
  let low = 0
  let high = times.length
  while (low < high) {
    const mid = (low + high) >>> 1
    if (times[mid]! <= t) low = mid + 1
    else high = mid
  }
  return low
}

export const makeMemoryRateLimitBackend = (): RateLimitBackend<never> => {
  /** Hit times per key, ascending (requests may arrive with slightly out-of-order clocks). */
  const windows = new Map<string, { times: Array<number>; windowMs: number }>()
  const counters = new Map<string, { used: number; expiresAtMs: number }>()
  let hitsSinceSweep = 0

  const sweep = (nowMs: number): void => {
    for (const [key, w] of windows) if (w.times.length === 0 || w.times[w.times.length - 1]! <= nowMs - w.windowMs) windows.delete(key)
    for (const [key, c] of counters) if (c.expiresAtMs <= nowMs) counters.delete(key)
  }

  const liveCounter = (key: string, nowMs: number) => {
    const counter = counters.get(key)
    if (counter !== undefined && counter.expiresAtMs <= nowMs) {
      counters.delete(key)
      return undefined
    }
    return counter
  }

  return {
    hit: (hits, nowMs) =>
      Effect.sync(() => {
        if (++hitsSinceSweep >= SWEEP_EVERY) {
          hitsSinceSweep = 0
          sweep(nowMs)
        }
        const current = hits.map((h) => {
          const w = windows.get(h.key) ?? { times: [], windowMs: h.windowMs }
          w.windowMs = h.windowMs
          w.times.splice(0, firstAfter(w.times, nowMs - h.windowMs))
          windows.set(h.key, w)
          return w
        })
        const allowed = hits.every((h, i) => current[i]!.times.length < h.limit)
        const tallies = hits.map((h, i): WindowTally => {
          const times = current[i]!.times
          if (allowed) times.splice(firstAfter(times, nowMs), 0, nowMs)
          return { count: times.length, freesSlotHitMs: times[Math.max(0, times.length - h.limit)] }
        })
        return { allowed, tallies }
      }),
    consumeQuota: (key, limit, nowMs, expiresAtMs) =>
      Effect.sync(() => {
        const counter = liveCounter(key, nowMs) ?? { used: 0, expiresAtMs }
        counters.set(key, counter)
        if (counter.used >= limit) return { allowed: false, used: counter.used }
        counter.used += 1
        return { allowed: true, used: counter.used }
      }),
    refundQuota: (key, nowMs) =>
      Effect.sync(() => {
        const counter = liveCounter(key, nowMs)
        if (counter !== undefined && counter.used > 0) counter.used -= 1
      }),
    quotaUsed: (key, nowMs) => Effect.sync(() => liveCounter(key, nowMs)?.used ?? 0)
  }
}

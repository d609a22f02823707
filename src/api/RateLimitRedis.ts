/**
 * The Redis rate-limit backend: the same semantics as RateLimitMemory, shared by every engine
 * process that uses the same Redis. Each operation is one Lua script, which Redis runs
 * atomically, so counts stay exact however many processes and connections hit the same keys.
 *
 * Sliding windows are sorted sets of hits scored by their time. One script handles all of a
 * request's windows: it trims each, counts each, and only when every window has room adds the
 * hit to each (a unique member per hit, so two hits in one millisecond both count) and sets
 * PEXPIRE. A denied request adds nothing and extends no expiry, so a client hammering a closed
 * window does not keep it closed. Expiries are the window plus a grace period: the scores
 * (the server's clock) decide what is in a window, the expiry only clears idle keys.
 *
 * The daily quota is a counter per principal per UTC day (the day is part of the key), taken
 * only while under the limit, expiring after the day ends.
 *
 * One Redis server (or a primary behind Sentinel): a request's keys are not hash-tagged to
 * one slot, so Redis Cluster would refuse the multi-key script.
 */
import * as Effect from "effect/Effect"
import type Redis from "ioredis"
import type { HitOutcome, RateLimitBackend, WindowHit, WindowTally } from "./RateLimitPolicy.ts"

/** Kept past a window's or a day's end to absorb clock differences between engine hosts. */
const EXPIRY_GRACE_MS = 1000
const QUOTA_EXPIRY_GRACE_MS = 3_600_000

/**
 * KEYS: one sorted set per window. ARGV: nowMs, member, grace ms, then limit and windowMs for
 * each key. Returns {allowed (1/0), then per key: count, score of the hit that frees the next
 * slot or -1}.
 */
const HIT_WINDOWS_LUA = `
local now = tonumber(ARGV[1])
local member = ARGV[2]
local grace = tonumber(ARGV[3])
local counts = {}
local allowed = 1
for i = 1, #KEYS do
  local limit = tonumber(ARGV[2 + 2 * i])
  local window = tonumber(ARGV[3 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  counts[i] = redis.call('ZCARD', KEYS[i])
  if counts[i] >= limit then allowed = 0 end
end
local out = { allowed }
for i = 1, #KEYS do
  local limit = tonumber(ARGV[2 + 2 * i])
  local window = tonumber(ARGV[3 + 2 * i])
  if allowed == 1 then
    redis.call('ZADD', KEYS[i], now, member)
    redis.call('PEXPIRE', KEYS[i], window + grace)
    counts[i] = counts[i] + 1
  end
  local rank = math.max(0, counts[i] - limit)
  local frees = redis.call('ZRANGE', KEYS[i], rank, rank, 'WITHSCORES')
  out[#out + 1] = counts[i]
  out[#out + 1] = frees[2] or '-1'
end
return out
`

/** KEYS[1]: the day's counter. ARGV: limit, expiry ms. Returns {allowed (1/0), used}. */
const CONSUME_QUOTA_LUA = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used >= tonumber(ARGV[1]) then return { 0, used } end
used = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return { 1, used }
`

/** KEYS[1]: the day's counter. Takes one back, never below 0. */
const REFUND_QUOTA_LUA = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used > 0 then redis.call('DECR', KEYS[1]) end
return 0
`

interface RateLimitCommands {
  readonly rateLimitHitWindows: (numberOfKeys: number, ...keysAndArgs: Array<string | number>) => Promise<Array<number | string>>
  readonly rateLimitConsumeQuota: (key: string, limit: number, expiryMs: number) => Promise<[number, number]>
  readonly rateLimitRefundQuota: (key: string) => Promise<number>
}

/** The backend over `redis`; every key starts with `prefix`. Operations fail when Redis does. */
export const makeRedisRateLimitBackend = (redis: Redis, prefix: string): RateLimitBackend<unknown> => {
  redis.defineCommand("rateLimitHitWindows", { lua: HIT_WINDOWS_LUA })
  redis.defineCommand("rateLimitConsumeQuota", { lua: CONSUME_QUOTA_LUA, numberOfKeys: 1 })
  redis.defineCommand("rateLimitRefundQuota", { lua: REFUND_QUOTA_LUA, numberOfKeys: 1 })
  const commands = redis as unknown as RateLimitCommands
  const windowKey = (hit: WindowHit): string => `${prefix}ratelimit:${hit.key}`
  const quotaKey = (key: string): string => `${prefix}quota:${key}`
  return {
    hit: (windows, nowMs, member) =>
      Effect.tryPromise(async (): Promise<HitOutcome> => {
        const reply = await commands.rateLimitHitWindows(
          windows.length,
          ...windows.map(windowKey),
          nowMs,
          member,
          EXPIRY_GRACE_MS,
          ...windows.flatMap((w) => [w.limit, w.windowMs])
        )
        const tallies = windows.map((_, i): WindowTally => {
          const frees = Number(reply[2 + 2 * i])
          return { count: Number(reply[1 + 2 * i]), freesSlotHitMs: frees < 0 ? undefined : frees }
        })
        return { allowed: Number(reply[0]) === 1, tallies }
      }),
    consumeQuota: (key, limit, nowMs, expiresAtMs) =>
      Effect.tryPromise(async () => {
        const [allowed, used] = await commands.rateLimitConsumeQuota(quotaKey(key), limit, Math.max(1, expiresAtMs - nowMs) + QUOTA_EXPIRY_GRACE_MS)
        return { allowed: Number(allowed) === 1, used: Number(used) }
      }),
    refundQuota: (key) => Effect.tryPromise(() => commands.rateLimitRefundQuota(quotaKey(key))).pipe(Effect.asVoid),
    quotaUsed: (key) => Effect.tryPromise(() => redis.get(quotaKey(key))).pipe(Effect.map((v) => (v === null ? 0 : Number(v))))
  }
}

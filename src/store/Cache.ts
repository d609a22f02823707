/**
 * The cache and real-time layer: Redis when REDIS_URL is set, in-memory otherwise, behind one
 * interface — result cache (24 h), campaign cache (6 h), threat-intel cache (1 h), workflow
 * state (1 h), a sliding-window rate limiter, and real-time campaign tracking (active set,
 * per-campaign activity stream, alerts).
 *
 * Redis is an accelerator, never a dependency: when it stops answering, the resilient cache
 * serves from memory, reports itself degraded (for `ops status` and /health/ready) and goes
 * back to Redis when it answers again.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type Redis from "ioredis"
import { acquireRedisClient } from "./redisClient.ts"

export const TTL_SECONDS = { result: 24 * 3600, campaign: 6 * 3600, threatIntel: 3600, workflow: 3600 } as const
export type CacheKind = keyof typeof TTL_SECONDS

export interface CacheStatus {
  readonly backend: "redis" | "memory"
  /** Redis configured but not answering: serving from memory. */
  readonly degraded: boolean
  readonly detail: string
}

export interface CacheService {
  readonly get: (kind: CacheKind, key: string) => Effect.Effect<string | undefined>
  readonly set: (kind: CacheKind, key: string, value: string) => Effect.Effect<void>
  /**
   * Counts a hit against `limit` hits per sliding `windowMs`; true when allowed. Each hit is
   * its own sorted-set member, so two hits in the same millisecond both count.
   */
  readonly hit: (key: string, limit: number, windowMs: number, nowMs: number) => Effect.Effect<boolean>
  /** Marks a campaign active and appends an activity entry to its stream. */
  readonly trackActivity: (campaignId: string, entry: Record<string, string>) => Effect.Effect<void>
  readonly activeCampaigns: () => Effect.Effect<ReadonlyArray<string>>
  readonly activity: (campaignId: string, count: number) => Effect.Effect<ReadonlyArray<Record<string, string>>>
  readonly alert: (message: string) => Effect.Effect<void>
  readonly alerts: (count: number) => Effect.Effect<ReadonlyArray<string>>
  readonly status: () => Effect.Effect<CacheStatus>
}

const PREFIX = "dshield-coord:"
const STREAM_MAX = 10_000
const ALERTS_MAX = 1_000

/** In-memory implementation: the embedded default, and the fallback when Redis is down. */
export const makeMemoryCache = (): CacheService => {
  const values = new Map<string, { value: string; expiresAt: number }>()
  const windows = new Map<string, Array<number>>()
  const active = new Set<string>()
  const streams = new Map<string, Array<Record<string, string>>>()
  const alertList: Array<string> = []
  const now = (): number => performance.timeOrigin + performance.now()
  return {
    get: (kind, key) =>
      Effect.sync(() => {
        const entry = values.get(`${kind}:${key}`)
        if (entry === undefined) return undefined
        if (entry.expiresAt <= now()) {
          values.delete(`${kind}:${key}`)
          return undefined
        }
        return entry.value
      }),
    set: (kind, key, value) => Effect.sync(() => void values.set(`${kind}:${key}`, { value, expiresAt: now() + TTL_SECONDS[kind] * 1000 })),
    hit: (key, limit, windowMs, nowMs) =>
      Effect.sync(() => {
        const hits = (windows.get(key) ?? []).filter((t) => t > nowMs - windowMs)
        hits.push(nowMs)
        windows.set(key, hits)
        return hits.length <= limit
      }),
    trackActivity: (campaignId, entry) =>
      Effect.sync(() => {
        active.add(campaignId)
        const stream = streams.get(campaignId) ?? []
        stream.push(entry)
        if (stream.length > STREAM_MAX) stream.splice(0, stream.length - STREAM_MAX)
        streams.set(campaignId, stream)
      }),
    activeCampaigns: () => Effect.sync(() => [...active].sort()),
    activity: (campaignId, count) => Effect.sync(() => (streams.get(campaignId) ?? []).slice(-count)),
    alert: (message) =>
      Effect.sync(() => {
        alertList.unshift(message)
        if (alertList.length > ALERTS_MAX) alertList.length = ALERTS_MAX
      }),
    alerts: (count) => Effect.sync(() => alertList.slice(0, count)),
    status: () => Effect.succeed({ backend: "memory", degraded: false, detail: "in-memory (REDIS_URL not set)" })
  }
}

/** Redis implementation over one ioredis client; operations fail when Redis does. */
const makeRedisOperations = (redis: Redis) => {
  let sequence = 0
  const k = (s: string): string => `${PREFIX}${s}`
  return {
    get: (kind: CacheKind, key: string) => Effect.tryPromise(() => redis.get(k(`${kind}:${key}`))).pipe(Effect.map((v) => v ?? undefined)),
    set: (kind: CacheKind, key: string, value: string) =>
      Effect.tryPromise(() => redis.set(k(`${kind}:${key}`), value, "EX", TTL_SECONDS[kind])).pipe(Effect.asVoid),
    hit: (key: string, limit: number, windowMs: number, nowMs: number) =>
      Effect.tryPromise(async () => {
        const zkey = k(`rate:${key}`)
        // A unique member per hit (time + process-local sequence + process id): two hits in
        // the same millisecond are two members, not one.
        const member = `${nowMs}:${process.pid}:${sequence++}`
        const results = await redis
          .multi()
          .zremrangebyscore(zkey, 0, nowMs - windowMs)
          .zadd(zkey, nowMs, member)
          .zcard(zkey)
          .pexpire(zkey, windowMs)
          .exec()
        const count = Number(results?.[2]?.[1] ?? 0)
        return count <= limit
      }),
    trackActivity: (campaignId: string, entry: Record<string, string>) =>
      Effect.tryPromise(async () => {
        await redis
          .multi()
          .sadd(k("campaigns:active"), campaignId)
          .xadd(k(`campaign:${campaignId}:activity`), "MAXLEN", "~", STREAM_MAX, "*", ...Object.entries(entry).flat())
          .exec()
      }),
    activeCampaigns: () => Effect.tryPromise(() => redis.smembers(k("campaigns:active"))).pipe(Effect.map((m) => m.sort())),
    activity: (campaignId: string, count: number) =>
      Effect.tryPromise(() => redis.xrevrange(k(`campaign:${campaignId}:activity`), "+", "-", "COUNT", count)).pipe(
        Effect.map((entries) =>
          entries.reverse().map(([, fields]) => {
            const out: Record<string, string> = {}
            for (let i = 0; i + 1 < fields.length; i += 2) out[fields[i]!] = fields[i + 1]!
            return out
          })
        )
      ),
    alert: (message: string) =>
      Effect.tryPromise(() => redis.multi().lpush(k("alerts"), message).ltrim(k("alerts"), 0, ALERTS_MAX - 1).exec()).pipe(Effect.asVoid),
    alerts: (count: number) => Effect.tryPromise(() => redis.lrange(k("alerts"), 0, count - 1))
  }
}

export class Cache extends Context.Service<Cache, CacheService>()("dshield-coord/store/Cache") {
  static readonly memory: Layer.Layer<Cache> = Layer.sync(Cache, makeMemoryCache)

  /**
   * Redis at `url`, falling back to memory for any operation Redis does not answer within
   * `timeoutMs` — the engine keeps working and `status()` says it is degraded.
   */
  static readonly redis = (url: string, timeoutMs = 500): Layer.Layer<Cache> =>
    Layer.effect(
      Cache,
      Effect.gen(function*() {
        const client = yield* acquireRedisClient(url, timeoutMs)
        const redis = makeRedisOperations(client)
        const memory = makeMemoryCache()
        let lastError: string | undefined
        const resilient = <A>(name: string, viaRedis: Effect.Effect<A, unknown>, viaMemory: Effect.Effect<A>): Effect.Effect<A> =>
          viaRedis.pipe(
            Effect.timeout(timeoutMs),
            Effect.tap(() => Effect.sync(() => (lastError = undefined))),
            Effect.catch((error: unknown) =>
              Effect.sync(() => (lastError = `${name}: ${String((error as { message?: string }).message ?? error)}`)).pipe(Effect.andThen(viaMemory))
            )
          )
        return Cache.of({
          get: (kind, key) => resilient("get", redis.get(kind, key), memory.get(kind, key)),
          set: (kind, key, value) => resilient("set", redis.set(kind, key, value), memory.set(kind, key, value)),
          hit: (key, limit, windowMs, nowMs) => resilient("hit", redis.hit(key, limit, windowMs, nowMs), memory.hit(key, limit, windowMs, nowMs)),
          trackActivity: (id, entry) => resilient("trackActivity", redis.trackActivity(id, entry), memory.trackActivity(id, entry)),
          activeCampaigns: () => resilient("activeCampaigns", redis.activeCampaigns(), memory.activeCampaigns()),
          activity: (id, count) => resilient("activity", redis.activity(id, count), memory.activity(id, count)),
          alert: (message) => resilient("alert", redis.alert(message), memory.alert(message)),
          alerts: (count) => resilient("alerts", redis.alerts(count), memory.alerts(count)),
          status: () =>
            Effect.tryPromise(() => client.ping()).pipe(
              Effect.timeout(timeoutMs),
              Effect.map((): CacheStatus => ({ backend: "redis", degraded: false, detail: `Redis ${url.replace(/\/\/[^@]*@/, "//***@")}` })),
              Effect.catch(() =>
                Effect.succeed<CacheStatus>({
                  backend: "redis",
                  degraded: true,
                  detail: `Redis not answering (${lastError ?? "ping failed"}); serving from memory — the engine keeps working from the SQL store`
                })
              )
            )
        })
      })
    )
}

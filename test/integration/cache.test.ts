import { describe, expect, test } from "bun:test"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import { Cache } from "../../src/store/Cache.ts"
import { serviceAvailable } from "./services.ts"

const HAVE_REDIS = await serviceAvailable("Redis", 6379)
const run = <A>(layer: Layer.Layer<Cache>, body: Effect.Effect<A, never, Cache>): Promise<A> =>
  Effect.runPromise(body.pipe(Effect.provide(layer), Effect.scoped))

const unique = `t${process.pid}-${Date.now()}`

const backends: Array<readonly [string, () => Layer.Layer<Cache>, boolean]> = [
  ["in-memory", () => Cache.memory, true],
  ["Redis 127.0.0.1:6379", () => Cache.redis("redis://127.0.0.1:6379"), HAVE_REDIS]
]

for (const [name, layer, available] of backends) {
  describe.skipIf(!available)(`cache on ${name}`, () => {
    test("values round-trip per kind; a missing key is undefined", async () => {
      const r = await run(layer(), Effect.gen(function*() {
        const cache = yield* Cache
        yield* cache.set("result", `${unique}:a`, "{\"x\":1}")
        return { hit: yield* cache.get("result", `${unique}:a`), otherKind: yield* cache.get("campaign", `${unique}:a`), miss: yield* cache.get("result", `${unique}:b`) }
      }))
      expect(r).toEqual({ hit: "{\"x\":1}", otherKind: undefined, miss: undefined })
    })

    test("the sliding-window limiter counts two hits in the same millisecond as two", async () => {
      const r = await run(layer(), Effect.gen(function*() {
        const cache = yield* Cache
        const key = `${unique}:limiter`
        const t = 1_700_000_000_000
        const first = yield* cache.hit(key, 2, 1000, t)
        const second = yield* cache.hit(key, 2, 1000, t)
        const third = yield* cache.hit(key, 2, 1000, t)
        const afterWindow = yield* cache.hit(key, 2, 1000, t + 1001)
        return [first, second, third, afterWindow]
      }))
      expect(r).toEqual([true, true, false, true])
    })

    test("campaign activity: active set, per-campaign stream in order, alerts newest first", async () => {
      const r = await run(layer(), Effect.gen(function*() {
        const cache = yield* Cache
        const id = `${unique}:campaign`
        yield* cache.trackActivity(id, { session: "s1", ip: "192.0.2.1" })
        yield* cache.trackActivity(id, { session: "s2", ip: "192.0.2.2" })
        yield* cache.alert(`${unique} first`)
        yield* cache.alert(`${unique} second`)
        return {
          active: (yield* cache.activeCampaigns()).includes(id),
          activity: yield* cache.activity(id, 10),
          alerts: (yield* cache.alerts(50)).filter((a) => a.startsWith(unique))
        }
      }))
      expect(r.active).toBe(true)
      expect(r.activity).toEqual([{ session: "s1", ip: "192.0.2.1" }, { session: "s2", ip: "192.0.2.2" }])
      expect(r.alerts).toEqual([`${unique} second`, `${unique} first`])
    })
  })
}

describe("Redis down", () => {
  test("the engine keeps working from memory and says it is degraded", async () => {
    const r = await run(Cache.redis("redis://127.0.0.1:1", 200), Effect.gen(function*() {
      const cache = yield* Cache
      yield* cache.set("result", "k", "v")
      const value = yield* cache.get("result", "k")
      const allowed = yield* cache.hit("k", 1, 1000, 5)
      const status = yield* cache.status()
      return { value, allowed, status }
    }))
    expect(r.value).toBe("v")
    expect(r.allowed).toBe(true)
    expect(r.status.degraded).toBe(true)
    expect(r.status.detail).toContain("serving from memory")
  }, 20_000)
})

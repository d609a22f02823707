/**
 * The redis store actor: owns the cache (Redis, or memory) and answers typed cache
 * operations. Behind it: src/store/Cache.ts, which falls back to memory when Redis stops.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { Cache } from "../../src/store/Cache.ts"
import { type Handlers, protocol } from "../kernel/Actor.ts"

export class CacheFailed extends Schema.TaggedError<CacheFailed>()("CacheFailed", { message: Schema.String }) {}

const Kind = Schema.Literals(["result", "campaign", "threatIntel", "workflow"])

export const RedisStore = protocol("redis", "1.0.0", {
  get: { payload: Schema.Struct({ kind: Kind, key: Schema.String }), success: Schema.NullOr(Schema.String), error: CacheFailed },
  set: { payload: Schema.Struct({ kind: Kind, key: Schema.String, value: Schema.String }), success: Schema.Boolean, error: CacheFailed },
  hit: { payload: Schema.Struct({ key: Schema.String, limit: Schema.Int, windowMs: Schema.Int, nowMs: Schema.Number }), success: Schema.Boolean, error: CacheFailed },
  status: {
    payload: Schema.Struct({}),
    success: Schema.Struct({ backend: Schema.String, degraded: Schema.Boolean, detail: Schema.String }),
    error: CacheFailed
  }
})

export const redisStoreBehaviour = (cache: Layer.Layer<Cache>) =>
  Effect.gen(function*() {
    const c = Context.get(yield* Layer.build(cache), Cache)
    return {
      get: ({ kind, key }) => c.get(kind, key).pipe(Effect.map((v) => v ?? null)),
      set: ({ kind, key, value }) => c.set(kind, key, value).pipe(Effect.as(true)),
      hit: ({ key, limit, windowMs, nowMs }) => c.hit(key, limit, windowMs, nowMs),
      status: () => c.status()
    } satisfies Handlers<typeof RedisStore>
  })

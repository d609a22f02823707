/**
 * A Redis client as the engine's Redis users open it (the cache, the API's rate limits): no
 * offline queue and no retries per command — a command Redis cannot take now fails at once,
 * and its caller falls back — reconnecting in the background, closed with the scope. The
 * first `timeoutMs` are given to connecting, so the first command does not fail needlessly.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import Redis from "ioredis"

export const acquireRedisClient = (url: string, timeoutMs: number): Effect.Effect<Redis, never, Scope.Scope> =>
  Effect.gen(function*() {
    const client = yield* Effect.acquireRelease(
      Effect.sync(() =>
        new Redis(url, {
          lazyConnect: false,
          enableOfflineQueue: false,
          maxRetriesPerRequest: 0,
          connectTimeout: timeoutMs,
          retryStrategy: (times) => Math.min(times * 200, 2000)
        })
      ),
      (c) => Effect.sync(() => c.disconnect())
    )
    client.on("error", () => {
      // Connection errors surface as failed commands, which each caller handles.
    })
    yield* Effect.promise(
      () =>
        new Promise<void>((done) => {
          if (client.status === "ready") return done()
          const timer = setTimeout(done, timeoutMs)
          client.once("ready", () => {
            clearTimeout(timer)
            done()
          })
        })
    )
    return client
  })

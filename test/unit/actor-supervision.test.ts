/**
 * Supervision as a tree: each incarnation of a behaviour owns a scope that a restart,
 * a passivation or a stop closes; a behaviour that fails to build counts against the
 * restart budget and escalates instead of stalling the mailbox.
 */
import { describe, expect, test } from "bun:test"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { protocol, spawn } from "../../actors/kernel/Actor.ts"

class Refused extends Schema.TaggedError<Refused>()("Refused", { why: Schema.String }) {}

const Pooled = protocol("pooled", "1.0.0", {
  use: { payload: Schema.Number, success: Schema.Number, error: Refused },
  crash: { payload: Schema.String, success: Schema.Number, error: Refused }
})

/** A behaviour that acquires a "connection pool" in its scope, as Layer.build does. */
const pooledBehaviour = (pools: { opened: number; closed: number }, failBuilds: { n: number } = { n: 0 }) =>
  Effect.gen(function*() {
    if (failBuilds.n > 0) {
      failBuilds.n--
      return yield* Effect.die(new Error("the database refused the connection"))
    }
    yield* Effect.acquireRelease(Effect.sync(() => pools.opened++), () => Effect.sync(() => void pools.closed++))
    return {
      use: (x: number) => Effect.succeed(x + 1),
      crash: (why: string): Effect.Effect<number, Refused> => Effect.die(new Error(why))
    }
  })

const run = <A, E>(body: Effect.Effect<A, E, Scope.Scope>): Promise<A> => Effect.runPromise(Effect.scoped(body))

describe("supervision tree", () => {
  test("a restart closes the crashed incarnation's resources before building the next", async () => {
    const pools = { opened: 0, closed: 0 }
    const r = await run(Effect.gen(function*() {
      const ref = yield* spawn(Pooled, pooledBehaviour(pools), { policy: { backoffInitialMs: 1, maxRestarts: 5 } })
      yield* Effect.exit(ref.ask("crash", "boom"))
      yield* Effect.exit(ref.ask("crash", "boom again"))
      const answer = yield* ref.ask("use", 1)
      const stats = yield* ref.stats()
      return { answer, stats, during: { ...pools } }
    }))
    expect(r.answer).toBe(2)
    // Three incarnations, two of them closed by the restarts: one pool open at a time.
    expect(r.during).toEqual({ opened: 3, closed: 2 })
    expect(r.stats.restarts).toBe(2)
    expect(r.stats.lastError).toContain("boom again")
    // The scope's end closes the last one.
    expect(pools).toEqual({ opened: 3, closed: 3 })
  })

  test("passivation releases the idle incarnation's resources", async () => {
    const pools = { opened: 0, closed: 0 }
    const during = await run(Effect.gen(function*() {
      const ref = yield* spawn(Pooled, pooledBehaviour(pools), { policy: { passivateAfterMs: 20 } })
      yield* ref.ask("use", 1)
      yield* Effect.sleep(80)
      const idle = { ...pools, state: (yield* ref.stats()).state }
      yield* ref.ask("use", 1)
      return idle
    }))
    expect(during).toEqual({ opened: 1, closed: 1, state: "passive" })
    expect(pools).toEqual({ opened: 2, closed: 2 })
  })

  test("a rebuild that keeps failing spends the budget and escalates (no stalled mailbox)", async () => {
    const pools = { opened: 0, closed: 0 }
    const failBuilds = { n: 100 }
    let escalated: string | undefined
    const r = await run(Effect.gen(function*() {
      const ref = yield* spawn(Pooled, pooledBehaviour(pools, failBuilds), {
        policy: { backoffInitialMs: 1, maxRestarts: 2, withinMs: 60_000 },
        onEscalate: (reason) => Effect.sync(() => void (escalated = reason))
      })
      const answer = yield* Effect.flip(ref.ask("use", 1).pipe(Effect.timeout(5_000)))
      return { answer, stats: yield* ref.stats() }
    }))
    expect(r.stats.state).toBe("escalated")
    expect(String((r.answer as { reason?: string }).reason)).toContain("the database refused the connection")
    expect(escalated).toContain("it was stopped instead of restarted again")
    expect(pools.opened).toBe(0)
  })

  test("a rebuild that fails once, then succeeds, recovers within the budget", async () => {
    const pools = { opened: 0, closed: 0 }
    const failBuilds = { n: 0 }
    const r = await run(Effect.gen(function*() {
      const ref = yield* spawn(Pooled, pooledBehaviour(pools, failBuilds), { policy: { backoffInitialMs: 1, maxRestarts: 3 } })
      failBuilds.n = 1
      yield* Effect.exit(ref.ask("crash", "boom"))
      return { answer: yield* ref.ask("use", 41), stats: yield* ref.stats() }
    }))
    expect(r.answer).toBe(42)
    expect(r.stats.state).toBe("running")
    expect(r.stats.restarts).toBe(2)
  })
})

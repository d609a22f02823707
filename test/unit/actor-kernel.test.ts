import { describe, expect, test } from "bun:test"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import { protocol, remainingTime, RequestProgress, spawn } from "../../actors/kernel/Actor.ts"
import { backoffDelay, DEFAULT_SUPERVISION, withinBudget } from "../../actors/kernel/Supervision.ts"

class Refused extends Schema.TaggedError<Refused>()("Refused", { why: Schema.String }) {}

const Counter = protocol("counter", "1.0.0", {
  add: { payload: Schema.Number, success: Schema.Number, error: Refused },
  crash: { payload: Schema.String, success: Schema.Number, error: Refused },
  slow: { payload: Schema.Number, success: Schema.Number, error: Refused }
})

/** A behaviour with state (a running total) and a count of how often it was built. */
const counterBehaviour = (builds: { n: number }) =>
  Effect.sync(() => {
    builds.n++
    let total = 0
    return {
      add: (x: number) => (x < 0 ? Effect.fail(new Refused({ why: "negative" })) : Effect.sync(() => (total += x))),
      crash: (why: string): Effect.Effect<number, Refused> => Effect.die(new Error(why)),
      slow: (ms: number) => Effect.sleep(ms).pipe(Effect.as(total))
    }
  })

const run = <A, E>(body: Effect.Effect<A, E, import("effect").Scope.Scope>): Promise<A> => Effect.runPromise(Effect.scoped(body))

describe("supervision data", () => {
  test("backoff grows exponentially up to the cap", () => {
    const p = { ...DEFAULT_SUPERVISION, backoffInitialMs: 10, backoffFactor: 3, backoffMaxMs: 200 }
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(p, n))).toEqual([10, 30, 90, 200, 200])
  })
  test("the budget counts restarts inside the window only", () => {
    const p = { ...DEFAULT_SUPERVISION, maxRestarts: 2, withinMs: 1000 }
    expect(withinBudget(p, [100, 900], 1000)).toBe(false)
    expect(withinBudget(p, [100, 900], 1200)).toBe(true)
  })
})

describe("in-process actor", () => {
  test("replies, and a typed error is an answer, not a crash", async () => {
    const builds = { n: 0 }
    const r = await run(Effect.gen(function*() {
      const ref = yield* spawn(Counter, counterBehaviour(builds))
      const a = yield* ref.ask("add", 2)
      const b = yield* ref.ask("add", 3)
      const refused = yield* Effect.exit(ref.ask("add", -1))
      return { a, b, refused, stats: yield* ref.stats() }
    }))
    expect([r.a, r.b]).toEqual([2, 5])
    expect(Exit.isFailure(r.refused) && String(r.refused.cause)).toContain("Refused")
    expect(r.stats).toMatchObject({ state: "running", processed: 2, failed: 1, restarts: 0 })
    expect(builds.n).toBe(1)
  })

  test("a crash answers ActorUnavailable, restarts with fresh state within its budget", async () => {
    const builds = { n: 0 }
    const r = await run(Effect.gen(function*() {
      const ref = yield* spawn(Counter, counterBehaviour(builds), { policy: { backoffInitialMs: 1 } })
      yield* ref.ask("add", 10)
      const crashed = yield* Effect.exit(ref.ask("crash", "boom"))
      const after = yield* ref.ask("add", 1)
      return { crashed, after, stats: yield* ref.stats() }
    }))
    expect(Exit.isFailure(r.crashed) && String(r.crashed.cause)).toContain("ActorUnavailable")
    expect(r.after).toBe(1) // the rebuilt behaviour starts from a fresh total
    expect(r.stats).toMatchObject({ state: "running", restarts: 1 })
    expect(builds.n).toBe(2)
  })

  test("an actor that keeps crashing escalates once, with a clear reason, instead of looping", async () => {
    const builds = { n: 0 }
    const escalations: Array<string> = []
    const r = await run(Effect.gen(function*() {
      const ref = yield* spawn(Counter, counterBehaviour(builds), {
        policy: { maxRestarts: 2, withinMs: 60_000, backoffInitialMs: 1 },
        onEscalate: (reason) => Effect.sync(() => void escalations.push(reason))
      })
      for (let i = 0; i < 3; i++) yield* Effect.exit(ref.ask("crash", `boom ${i}`))
      const later = yield* Effect.exit(ref.ask("add", 1))
      return { later, stats: yield* ref.stats() }
    }))
    expect(escalations).toHaveLength(1)
    expect(escalations[0]).toContain("crashed 3 times within 60000 ms")
    expect(r.stats).toMatchObject({ state: "escalated", restarts: 2 })
    expect(Exit.isFailure(r.later)).toBe(true)
    const error = Exit.isFailure(r.later) ? Cause.findErrorOption(r.later.cause) : undefined
    expect(error?._tag === "Some" ? (error.value as { _tag: string; reason: string }) : undefined).toMatchObject({
      _tag: "ActorUnavailable",
      reason: expect.stringContaining("crashed 3 times")
    })
    expect(builds.n).toBe(3)
  })

  test("a full mailbox makes senders wait (backpressure); answers keep order", async () => {
    const builds = { n: 0 }
    const order = await run(Effect.gen(function*() {
      const ref = yield* spawn(Counter, counterBehaviour(builds), { policy: { mailboxCapacity: 1, concurrency: 1 } })
      const seen: Array<number> = []
      yield* Effect.all([1, 2, 3, 4].map((i) => ref.ask("slow", 20).pipe(Effect.tap(() => Effect.sync(() => void seen.push(i))))), { concurrency: "unbounded" })
      return seen
    }))
    expect(order).toEqual([1, 2, 3, 4])
  })

  test("no answer within the ask timeout is ActorTimeout", async () => {
    const builds = { n: 0 }
    const exit = await run(Effect.gen(function*() {
      const ref = yield* spawn(Counter, counterBehaviour(builds), { policy: { askTimeoutMs: 20 } })
      return yield* Effect.exit(ref.ask("slow", 200))
    }))
    expect(Exit.isFailure(exit) && String(exit.cause)).toContain("ActorTimeout")
  })

  test("a request's own deadline overrides the default ask timeout; expired mail is not handled; a handler past its deadline is interrupted, not crashed", async () => {
    const builds = { n: 0 }
    const r = await run(Effect.gen(function*() {
      // Default ask timeout 20 ms; this request carries a 1 s deadline and takes 150 ms.
      const ref = yield* spawn(Counter, counterBehaviour(builds), { policy: { askTimeoutMs: 20, concurrency: 1 } })
      const slow = yield* ref.ask("slow", 150, { timeoutMs: 1000 })
      // Past its deadline: interrupted and answered ActorTimeout (a typed answer: no restart).
      const late = yield* Effect.exit(ref.ask("slow", 500, { timeoutMs: 50 }))
      // Queued behind a 200 ms handler with a 30 ms deadline: answered without being run.
      const blocker = yield* Effect.forkChild(ref.ask("slow", 200, { timeoutMs: 1000 }))
      yield* Effect.sleep(10)
      const queued = yield* Effect.exit(ref.ask("add", 7, { timeoutMs: 30 }))
      yield* Fiber.join(blocker)
      const total = yield* ref.ask("add", 0, { timeoutMs: 1000 })
      const stats = yield* ref.stats()
      return { slow, late, queued, total, stats }
    }))
    expect(r.slow).toBe(0)
    expect(Exit.isFailure(r.late) && String(r.late.cause)).toContain("ActorTimeout")
    expect(Exit.isFailure(r.queued) && String(r.queued.cause)).toContain("ActorTimeout")
    expect(r.total).toBe(0)
    expect(r.stats.restarts).toBe(0)
    expect(builds.n).toBe(1)
  })

  test("a handler that asks another actor passes the rest of its request's deadline on (RequestDeadline)", async () => {
    const builds = { n: 0 }
    const Front = protocol("front", "1.0.0", { relay: { payload: Schema.Number, success: Schema.Number, error: Refused } })
    const r = await run(Effect.gen(function*() {
      // The back actor's default ask timeout is 20 ms; its work takes 150 ms.
      const back = yield* spawn(Counter, counterBehaviour(builds), { policy: { askTimeoutMs: 20 } })
      const front = yield* spawn(Front, Effect.succeed({
        relay: (ms: number) =>
          Effect.flatMap(remainingTime, (left) => back.ask("slow", ms, { timeoutMs: left })).pipe(
            Effect.catch(() => Effect.fail(new Refused({ why: "back timed out" })))
          )
      }), { policy: { askTimeoutMs: 20 } })
      const within = yield* front.ask("relay", 150, { timeoutMs: 2000 })
      const outside = yield* Effect.exit(back.ask("slow", 150))
      const noDeadline = yield* Effect.exit(remainingTime)
      return { within, outside, noDeadline }
    }))
    expect(r.within).toBe(0)
    expect(Exit.isFailure(r.outside) && String(r.outside.cause)).toContain("ActorTimeout")
    expect(Exit.isSuccess(r.noDeadline) && r.noDeadline.value).toBeUndefined()
  })

  test("an idle actor passivates and is rebuilt on the next message", async () => {
    const builds = { n: 0 }
    const r = await run(Effect.gen(function*() {
      const ref = yield* spawn(Counter, counterBehaviour(builds), { policy: { passivateAfterMs: 30 } })
      yield* ref.ask("add", 5)
      yield* Effect.sleep(100)
      const idle = yield* ref.stats()
      const after = yield* ref.ask("add", 1)
      return { idle, after }
    }))
    expect(r.idle.state).toBe("passive")
    expect(r.after).toBe(1)
    expect(builds.n).toBe(2)
  })
})

describe("cancellation and progress", () => {
  const Worker = protocol("long-work", "1.0.0", {
    work: { payload: Schema.Number, success: Schema.Number, error: Refused }
  })
  /** A handler that reports progress every 10 ms for `ms`, and records whether it was interrupted. */
  const workBehaviour = (seen: { interrupted: number; finished: number }) =>
    Effect.succeed({
      work: (ms: number) =>
        Effect.gen(function*() {
          const report = yield* Effect.service(RequestProgress)
          for (let t = 0; t < ms; t += 10) {
            report?.({ bytes: t, events: t / 10 })
            yield* Effect.sleep(10)
          }
          seen.finished++
          return ms
        }).pipe(Effect.onInterrupt(() => Effect.sync(() => void seen.interrupted++)))
    })

  test("an asker that stops waiting stops the handler; the actor goes on serving", async () => {
    const seen = { interrupted: 0, finished: 0 }
    const r = await run(Effect.gen(function*() {
      const ref = yield* spawn(Worker, workBehaviour(seen))
      const asking = yield* Effect.forkChild(ref.ask("work", 5_000))
      yield* Effect.sleep(100)
      yield* Fiber.interrupt(asking)
      yield* Effect.sleep(50)
      const next = yield* ref.ask("work", 30)
      return { next, stats: yield* ref.stats() }
    }))
    expect(seen.interrupted).toBe(1)
    expect(seen.finished).toBe(1)
    expect(r.next).toBe(30)
    expect(r.stats.state).toBe("running")
    expect(r.stats.restarts).toBe(0)
  })

  test("the handler's progress reaches the asker's onProgress", async () => {
    const reports: Array<{ bytes: number; events: number }> = []
    await run(Effect.gen(function*() {
      const ref = yield* spawn(Worker, workBehaviour({ interrupted: 0, finished: 0 }))
      return yield* ref.ask("work", 50, { onProgress: (p) => reports.push(p) })
    }))
    expect(reports.map((p) => p.events)).toEqual([0, 1, 2, 3, 4])
  })
})

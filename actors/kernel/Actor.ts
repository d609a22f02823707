/**
 * The actor kernel: an actor is a protocol (Schema-declared messages with payload, success
 * and typed error), a behaviour (an Effect that builds the handlers — and so the actor's
 * state — from scratch), and supervision given as data. This module runs actors in process
 * (the embedded default); the NATS transport serves the same protocol to remote clients.
 *
 * Failure model (Akka/OTP): a handler's typed error is a reply, not a crash. A defect
 * (a thrown exception, `Effect.die`) crashes the behaviour: the message that crashed it is
 * answered with ActorUnavailable, the behaviour is rebuilt after an exponential backoff,
 * and the mailbox continues. More restarts than the budget allows within the window and the
 * actor escalates: every waiting and future message fails with ActorUnavailable and the
 * supervisor's `onEscalate` is told why — no restart loop.
 *
 * Each incarnation of the behaviour runs in its own scope (a child of the actor's): a crash,
 * a passivation or a stop closes it, so what the behaviour acquired (connection pools,
 * `Layer.build`) is released before the next incarnation is built. A behaviour that fails
 * to build counts as a crash against the same restart budget.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import * as Tracer from "effect/Tracer"
import { ActorTimeout, ActorUnavailable } from "./ActorErrors.ts"
import { backoffDelay, DEFAULT_SUPERVISION, type SupervisionPolicy, withinBudget } from "./Supervision.ts"
import { actorErrors, actorInFlight, actorMailbox, actorMessages, actorMessageSeconds, actorRestarts, actorUp, takeActorInstance } from "../../src/metrics/engineMetrics.ts"
import { metrics } from "../../src/metrics/Registry.ts"
import { receivedSpan } from "../../src/observability/TraceContext.ts"

/** One message of a protocol: what it carries, what it answers, how it fails. */
export interface MessageSpec {
  readonly payload: Schema.Top
  readonly success: Schema.Top
  readonly error: Schema.Top
  /**
   * A payload that does not decode is answered with this typed error (a 400 over NATS)
   * instead of the transport's generic 422: for messages from clients outside the engine.
   */
  readonly invalid?: (reason: string) => unknown
  /** A request refused by the server's authorizer (401, 403) is answered with this typed error. */
  readonly refused?: (status: 401 | 403, reason: string) => unknown
}

export interface Protocol<Messages extends Record<string, MessageSpec> = Record<string, MessageSpec>> {
  /** Actor type name (also the NATS service name). */
  readonly name: string
  /** Semantic version of the protocol. */
  readonly version: string
  readonly messages: Messages
}

export const protocol = <const Messages extends Record<string, MessageSpec>>(
  name: string,
  version: string,
  messages: Messages
): Protocol<Messages> => ({ name, version, messages })

type Payload<M extends MessageSpec> = M["payload"]["Type"]
type Success<M extends MessageSpec> = M["success"]["Type"]
type Failure<M extends MessageSpec> = M["error"]["Type"]

/** The handlers of a protocol: one Effect-returning function per message. */
export type Handlers<P extends Protocol> = {
  readonly [K in keyof P["messages"]]: (payload: Payload<P["messages"][K]>) => Effect.Effect<Success<P["messages"][K]>, Failure<P["messages"][K]>>
}

export type ActorState = "running" | "restarting" | "passive" | "escalated" | "stopped"
const ACTOR_STATES: ReadonlyArray<ActorState> = ["running", "restarting", "passive", "escalated", "stopped"]

export interface ActorStats {
  readonly name: string
  readonly state: ActorState
  readonly processed: number
  readonly failed: number
  readonly restarts: number
  readonly queued: number
  /** Messages being handled now. */
  readonly inFlight?: number
  /** The last crash (or the escalation reason), one line. */
  readonly lastError?: string | undefined
}

/**
 * The deadline (epoch ms) of the message a handler is handling, if it has one: a handler that
 * asks another actor on the request's behalf passes the time left on, so the whole chain
 * works to the request's deadline rather than to each actor's default.
 */
export const RequestDeadline = Context.Reference<number | undefined>("dshield-coord/actors/RequestDeadline", { defaultValue: () => undefined })

/** What is left of the current request's deadline (ms, at least 1), or undefined when it has none. */
export const remainingTime: Effect.Effect<number | undefined> = Effect.map(
  Effect.service(RequestDeadline),
  (deadline) => (deadline === undefined ? undefined : Math.max(1, deadline - Date.now()))
)

/** Progress of the request being handled, as the handler reports it (bytes and events read). */
export interface RequestProgressReport {
  readonly bytes: number
  readonly events: number
}

/**
 * Where the handler of the current message reports its progress: the asker's `onProgress`,
 * or nothing. A handler that does long work on the request's behalf calls it now and then.
 */
export const RequestProgress = Context.Reference<((progress: RequestProgressReport) => void) | undefined>("dshield-coord/actors/RequestProgress", {
  defaultValue: () => undefined
})

/** Per-message options of an ask. */
export interface AskOptions {
  /**
   * How long this caller waits (the request's deadline), instead of the policy's default
   * `askTimeoutMs`. Mail still queued when its deadline passes is answered ActorTimeout
   * without being handled, and a handler still running at the deadline is interrupted.
   */
  readonly timeoutMs?: number | undefined
  /** Told the handler's progress reports (RequestProgress), while it works. */
  readonly onProgress?: ((progress: RequestProgressReport) => void) | undefined
}

/** A typed client of one actor, wherever it runs. */
export interface ActorRef<P extends Protocol> {
  readonly protocol: P
  readonly ask: <K extends keyof P["messages"] & string>(
    message: K,
    payload: Payload<P["messages"][K]>,
    options?: AskOptions
  ) => Effect.Effect<Success<P["messages"][K]>, Failure<P["messages"][K]> | ActorUnavailable | ActorTimeout>
  readonly stats: () => Effect.Effect<ActorStats>
}

interface Envelope {
  readonly message: string
  readonly payload: unknown
  readonly reply: Deferred.Deferred<unknown, unknown>
  /** Epoch ms after which nobody waits for the answer. */
  readonly deadline: number
  readonly timeoutMs: number
  /** Completed when the asker stops waiting (interrupted: a client that cancelled): the work stops too. */
  readonly cancelled: Deferred.Deferred<void>
  readonly onProgress: ((progress: RequestProgressReport) => void) | undefined
  /** The asker's span: the handler's span is its child (the mailbox fibers run under no request's span). */
  readonly parent: Tracer.AnySpan | undefined
}

export interface SpawnOptions {
  readonly policy?: Partial<SupervisionPolicy>
  /** Told once, when the actor escalates (its restart budget is spent). */
  readonly onEscalate?: (reason: string) => Effect.Effect<void>
  /** Clock for the restart budget (tests pass a fake one). */
  readonly now?: () => number
}

/**
 * Starts an actor in process, for the lifetime of the current scope. The behaviour Effect is
 * run to build the handlers at start, after every crash, and after passivation.
 */
export const spawn = <P extends Protocol, R>(
  proto: P,
  behaviour: Effect.Effect<Handlers<P>, never, R>,
  options: SpawnOptions = {}
): Effect.Effect<ActorRef<P>, never, R | Scope.Scope> =>
  Effect.gen(function*() {
    const policy: SupervisionPolicy = { ...DEFAULT_SUPERVISION, ...options.policy }
    const now = options.now ?? (() => Date.now())
    const context = yield* Effect.context<R>()
    const outer = yield* Scope.Scope
    const mailbox = yield* Queue.bounded<Envelope>(policy.mailboxCapacity)
    /** The scope of the current incarnation: closed on crash, passivation and stop. */
    let incarnation: Scope.Closeable | undefined
    /** One build at a time; handlers wait while the behaviour is rebuilt. */
    const building = yield* Semaphore.make(1)
    let handlers: Handlers<P> | undefined
    let state: ActorState = "restarting"
    let escalation: string | undefined
    let lastError: string | undefined
    const restarts: Array<number> = []
    let processed = 0
    let failed = 0
    let inFlight = 0
    let lastActivity = now()
    // Metrics of this instance (src/metrics): counted as it works, read at each scrape.
    const taken = takeActorInstance(proto.name)
    const instance = { actor: proto.name, instance: taken.instance }
    const stopCollecting = metrics.collect(() =>
      Effect.runPromise(Effect.map(Queue.size(mailbox), (queued) => {
        actorMailbox.set(instance, queued)
        actorInFlight.set(instance, inFlight)
        for (const s of ACTOR_STATES) actorUp.set({ ...instance, state: s }, s === state ? 1 : 0)
      }))
    )
    /** Each message's metric series, bound once per message name (the hot path formats no labels). */
    const bound = new Map<string, ReturnType<typeof bindSeries>>()
    const bindSeries = (message: string) => {
      const labels = { actor: proto.name, message }
      const outcome = (o: string) => actorMessages.bind({ ...labels, outcome: o })
      return { seconds: actorMessageSeconds.bind(labels), ok: outcome("ok"), error: outcome("error"), timeout: outcome("timeout"), cancelled: outcome("cancelled"), crash: outcome("crash") }
    }
    const seriesOf = (message: string) => {
      let series = bound.get(message)
      if (series === undefined) {
        series = bindSeries(message)
        bound.set(message, series)
      }
      return series
    }
    // Stopped, the instance leaves the gauges and gives its number back.
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        stopCollecting()
        actorMailbox.remove(instance)
        actorInFlight.remove(instance)
        for (const s of ACTOR_STATES) actorUp.remove({ ...instance, state: s })
        taken.release()
      })
    )

    const describe = (defect: unknown): string =>
      String((defect as { message?: string }).message ?? defect).split("\n")[0]!.slice(0, 300)

    /** Closes the current incarnation's scope (releasing what it acquired). */
    const release: Effect.Effect<void> = Effect.suspend(() => {
      const scope = incarnation
      incarnation = undefined
      handlers = undefined
      return scope === undefined ? Effect.void : Scope.close(scope, Exit.void)
    })

    /** Builds a new incarnation in a fresh child scope; a failed build closes it and is a defect. */
    const build: Effect.Effect<Handlers<P>, unknown> = Effect.gen(function*() {
      const scope = yield* Scope.fork(outer)
      const exit = yield* Effect.exit(behaviour.pipe(Scope.provide(scope), Effect.provideContext(context as never)) as Effect.Effect<Handlers<P>>)
      if (Exit.isFailure(exit)) {
        yield* Scope.close(scope, exit)
        return yield* Effect.fail(Cause.squash(exit.cause))
      }
      incarnation = scope
      handlers = exit.value
      return exit.value
    })

    /** The failure that made the actor escalate, in its own words (ActorUnavailable.lastFailure). */
    let escalationFailure: string | undefined
    const unavailable = (reason: string): ActorUnavailable =>
      new ActorUnavailable({ actor: proto.name, reason, ...(state === "escalated" && escalationFailure !== undefined ? { lastFailure: escalationFailure } : {}) })

    const escalate = (reason: string, crashed: Envelope | undefined, failure?: string): Effect.Effect<void> =>
      Effect.gen(function*() {
        if (state === "escalated") return
        state = "escalated"
        escalation = reason
        escalationFailure = failure
        lastError = reason
        yield* release
        if (options.onEscalate !== undefined) yield* options.onEscalate(reason)
        if (crashed !== undefined) yield* Deferred.fail(crashed.reply, unavailable(reason))
        // Everything still waiting is answered now: nobody waits for an actor that is gone.
        const waiting = yield* Queue.clear(mailbox)
        for (const envelope of waiting) yield* Deferred.fail(envelope.reply, unavailable(reason))
      })

    /**
     * After a crash (or a failed build): close the incarnation; escalate when the budget is
     * spent (answering the crashed message with the reason), else answer it "restarting",
     * wait the backoff and rebuild — a rebuild that fails is one more crash on the budget.
     * Holds the build lock throughout, so other handlers wait for the new incarnation.
     */
    const restart = (firstDefect: unknown, crashed: Envelope | undefined): Effect.Effect<void> =>
      building.withPermits(1)(Effect.gen(function*() {
        let defect = firstDefect
        let answer = crashed
        yield* release
        while (state !== "escalated" && state !== "stopped") {
          lastError = describe(defect)
          const at = now()
          if (!withinBudget(policy, restarts, at)) {
            const reason = `${proto.name} crashed ${restarts.filter((t) => t > at - policy.withinMs).length + 1} times within ${policy.withinMs} ms ` +
              `(last: ${describe(defect)}); it was stopped instead of restarted again.`
            // State first, then answers: whoever hears "unavailable" sees the actor escalated.
            return yield* escalate(reason, answer, describe(defect))
          }
          restarts.push(at)
          actorRestarts.inc(instance)
          state = "restarting"
          if (answer !== undefined) {
            yield* Deferred.fail(answer.reply, unavailable(`${proto.name} crashed handling "${answer.message}" and is restarting.`))
            answer = undefined
          }
          yield* Effect.sleep(backoffDelay(policy, restarts.length))
          if (state !== "restarting") return
          const rebuilt = yield* Effect.exit(build)
          if (Exit.isSuccess(rebuilt)) {
            state = "running"
            return
          }
          defect = Cause.squash(rebuilt.cause)
        }
      }))

    /** The handlers of the current incarnation, building one when passivated. */
    const current: Effect.Effect<Handlers<P> | undefined> = Effect.suspend(() =>
      handlers !== undefined && state === "running" ? Effect.succeed(handlers) : building.withPermits(1)(Effect.gen(function*() {
        if (state === "escalated" || state === "stopped") return undefined
        if (handlers !== undefined) return handlers
        const built = yield* Effect.exit(build)
        if (Exit.isSuccess(built)) {
          state = "running"
          return built.value
        }
        // A failed rebuild after passivation is a crash like any other.
        lastError = describe(Cause.squash(built.cause))
        return yield* Effect.die(Cause.squash(built.cause))
      }))
    )

    const handle = (envelope: Envelope): Effect.Effect<void> =>
      Effect.gen(function*() {
        if (state === "escalated" || state === "stopped") {
          return yield* Deferred.fail(envelope.reply, unavailable(escalation ?? `${proto.name} is stopped.`))
        }
        // Passivated: rebuilt here; restarting: wait for the new incarnation.
        const ready = yield* Effect.exit(current)
        if (Exit.isFailure(ready)) return yield* restart(Cause.squash(ready.cause), envelope)
        if (ready.value === undefined) {
          return yield* Deferred.fail(envelope.reply, unavailable(escalation ?? `${proto.name} is stopped.`))
        }
        const handler = (ready.value as Record<string, (p: unknown) => Effect.Effect<unknown, unknown>>)[envelope.message]
        if (handler === undefined) {
          return yield* Deferred.fail(envelope.reply, unavailable(`${proto.name} has no message "${envelope.message}".`))
        }
        if (yield* Deferred.isDone(envelope.cancelled)) {
          // Its asker cancelled while it was queued: nothing to do.
          failed++
          return
        }
        const remaining = envelope.deadline - Date.now()
        if (remaining <= 0) {
          // Its asker has given up: do not start work nobody waits for.
          failed++
          return yield* Deferred.fail(envelope.reply, new ActorTimeout({ actor: proto.name, message: envelope.message, timeoutMs: envelope.timeoutMs }))
        }
        inFlight++
        lastActivity = now()
        const startedAt = performance.now()
        const exit = yield* Effect.exit(Effect.suspend(() => handler(envelope.payload)).pipe(
          Effect.provideService(RequestDeadline, envelope.deadline),
          Effect.provideService(RequestProgress, envelope.onProgress),
          // At the deadline the handler is interrupted and the answer is a typed ActorTimeout, not a crash.
          Effect.timeoutOrElse({
            duration: remaining,
            orElse: () => Effect.fail(new ActorTimeout({ actor: proto.name, message: envelope.message, timeoutMs: envelope.timeoutMs }))
          }),
          // A cancelled request stops its work: the handler is interrupted, nobody is answered.
          (work) => Effect.raceFirst(work, Effect.andThen(Deferred.await(envelope.cancelled), Effect.interrupt)),
          // One span per message handled, under the asker's span (over NATS: the request's).
          Effect.withSpan(`actor ${proto.name}.${envelope.message}`, receivedSpan(envelope.parent, "internal", { "dshield.actor": proto.name, "dshield.actor.message": envelope.message, "dshield.actor.instance": taken.instance }))
        ))
        inFlight--
        lastActivity = now()
        const series = seriesOf(envelope.message)
        series.seconds.observe((performance.now() - startedAt) / 1000)
        if (yield* Deferred.isDone(envelope.cancelled)) {
          failed++
          series.cancelled.inc()
          return
        }
        if (Exit.isSuccess(exit)) {
          processed++
          series.ok.inc()
          return yield* Deferred.succeed(envelope.reply, exit.value)
        }
        failed++
        const error = Cause.findErrorOption(exit.cause)
        if (error._tag === "Some" && !Cause.hasDies(exit.cause)) {
          // A typed error is an answer, not a crash.
          const tag = String((error.value as { _tag?: unknown })._tag ?? "Error")
          if (tag === "ActorTimeout") series.timeout.inc()
          else series.error.inc()
          actorErrors.inc({ actor: proto.name, tag })
          return yield* Deferred.fail(envelope.reply, error.value)
        }
        series.crash.inc()
        actorErrors.inc({ actor: proto.name, tag: "crash" })
        yield* restart(Cause.squash(exit.cause), envelope)
      })

    // The first incarnation; a behaviour that cannot be built is a crash on the budget.
    const first = yield* Effect.exit(build)
    if (Exit.isSuccess(first)) state = "running"
    else yield* Effect.forkScoped(restart(Cause.squash(first.cause), undefined))

    for (let w = 0; w < policy.concurrency; w++) {
      yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.take(mailbox), handle)))
    }
    if (policy.passivateAfterMs > 0) {
      yield* Effect.forkScoped(Effect.forever(
        Effect.sleep(Math.max(1, Math.floor(policy.passivateAfterMs / 2))).pipe(
          Effect.andThen(building.withPermits(1)(Effect.suspend(() => {
            if (state === "running" && inFlight === 0 && now() - lastActivity >= policy.passivateAfterMs) {
              state = "passive"
              // The idle incarnation's resources are released with it.
              return release
            }
            return Effect.void
          })))
        )
      ))
    }
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        state = "stopped"
        yield* release
        const waiting = yield* Queue.clear(mailbox)
        for (const envelope of waiting) yield* Deferred.fail(envelope.reply, unavailable(`${proto.name} is stopped.`))
      })
    )

    const ref: ActorRef<P> = {
      protocol: proto,
      ask: (message, payload, askOptions) =>
        Effect.gen(function*() {
          if (state === "escalated" || state === "stopped") {
            return yield* unavailable(escalation ?? `${proto.name} is stopped.`)
          }
          // The request's own deadline when it carries one; the policy's default otherwise.
          const timeoutMs = askOptions?.timeoutMs ?? policy.askTimeoutMs
          const deadline = Date.now() + timeoutMs
          const reply = yield* Deferred.make<unknown, unknown>()
          const cancelled = yield* Deferred.make<void>()
          // A full mailbox makes the sender wait: backpressure instead of unbounded memory.
          const parent = Option.getOrUndefined(yield* Effect.serviceOption(Tracer.ParentSpan))
          yield* Queue.offer(mailbox, { message, payload, reply, deadline, timeoutMs, cancelled, onProgress: askOptions?.onProgress, parent })
          return yield* Deferred.await(reply).pipe(
            Effect.timeoutOrElse({
              duration: Math.max(0, deadline - Date.now()),
              orElse: () => Effect.fail(new ActorTimeout({ actor: proto.name, message, timeoutMs }))
            }),
            // The asker gave up (its fiber interrupted): the handler stops too.
            Effect.onInterrupt(() => Deferred.succeed(cancelled, undefined))
          )
        }) as never,
      stats: () =>
        Effect.gen(function*() {
          const queued = yield* Queue.size(mailbox)
          return { name: proto.name, state, processed, failed, restarts: restarts.length, queued, inFlight, lastError }
        })
    }
    return ref
  })

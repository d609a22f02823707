/**
 * The top of the supervision tree of one worker process: worker → role → instances.
 *
 * - An instance's actor escalates when its restart budget is spent; the worker then stops
 *   (draining what it can) and fails, so the process exits non-zero and its own supervisor
 *   (systemd, Kubernetes) starts a fresh one. No zombie answering 503 forever.
 * - NATS connections reconnect forever with backoff; while one is down the worker says it is
 *   not ready (stderr and `$SRV` stats). A connection that closes for good is fatal.
 * - Shutdown (SIGTERM/SIGINT interrupt the command; this runs as the scope's first
 *   finalizer): stop taking work (services stop listening, job consumers stop pulling),
 *   wait for the work in flight up to the grace period, then let the scope ack, drain and
 *   close. Work still running after the grace period is interrupted: a durable job is given
 *   back to the queue for another worker.
 *
 * @since 0.1.0
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { connect, type ConnectionOptions, type NatsConnection } from "nats"
import type { ActorRef, ActorStats, Protocol } from "./Actor.ts"

/** The worker cannot go on: a role escalated or NATS is gone for good; `message` says which. */
export class WorkerFailed extends Schema.TaggedError<WorkerFailed>()("WorkerFailed", {
  message: Schema.String
}) {}

export interface WorkerRuntimeOptions {
  /** How long shutdown waits for work in flight (default 60 s). */
  readonly graceMs?: number
  readonly quiet?: boolean
  /** Where the runtime reports readiness changes and shutdown (default stderr). */
  readonly log?: (line: string) => void
}

interface Instance {
  readonly role: string
  readonly index: number
  readonly ref: ActorRef<Protocol> | undefined
  stopIntake: Array<() => Promise<void>>
}

export interface WorkerRuntime {
  /** For `spawn`: an escalation of this instance stops the worker with a non-zero exit. */
  readonly onEscalate: (role: string, index: number) => (reason: string) => Effect.Effect<void>
  /** True once shutdown began: consumers stop taking work. */
  readonly stopping: Effect.Effect<boolean>
  /** Counts `effect` as work in flight (shutdown waits for it, up to the grace period). */
  readonly track: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** Registers an instance (for drain and stats); `stopIntake` stops it taking new work. */
  readonly register: (role: string, index: number, ref?: ActorRef<Protocol>) => {
    readonly onStop: (stopIntake: () => Promise<void>) => void
  }
  /** A NATS connection that reconnects forever; its losses make the worker not ready. */
  readonly connect: (options: ConnectionOptions) => Effect.Effect<NatsConnection, WorkerFailed, Scope.Scope>
  /** Whether every connection is up and the worker takes work. */
  readonly ready: () => boolean
  /** What `$SRV` stats report for an instance. */
  readonly statsOf: (role: string, index: number) => Promise<Record<string, unknown>>
  /**
   * For an instance that serves no NATS endpoint of its own (a job consumer): a `$SRV`-visible
   * service named after the role with one `status` endpoint, so `ops status` lists it too.
   */
  readonly serveStatus: (nc: NatsConnection, role: string, index: number) => Effect.Effect<void, never, Scope.Scope>
  /**
   * Call once every instance is up: waits until something fatal happens (then fails with it).
   * Shutdown interrupts it; the drain runs before anything the scope holds is closed.
   */
  readonly awaitFatal: Effect.Effect<never, WorkerFailed, Scope.Scope>
}

/** How long closing a connection waits for its drain before it closes it regardless. */
const CLOSE_WAIT_MS = 5_000

/** Makes the runtime for the current scope; its finalizer is the graceful drain. */
export const makeWorkerRuntime = (options: WorkerRuntimeOptions = {}): Effect.Effect<WorkerRuntime, never, Scope.Scope> =>
  Effect.gen(function*() {
    const graceMs = options.graceMs ?? 60_000
    const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`))
    const fatal = yield* Deferred.make<never, WorkerFailed>()
    const instances: Array<Instance> = []
    const down = new Set<NatsConnection>()
    let stopping = false
    let busy = 0

    const fail = (message: string): Effect.Effect<void> => Effect.asVoid(Deferred.fail(fatal, new WorkerFailed({ message })))

    // A job is both tracked (busy) and in its orchestrator's mailbox: counted once, as the
    // larger of the two counts (a stopping worker said "2 pieces" of one job).
    const inFlight = (): Effect.Effect<number> =>
      Effect.gen(function*() {
        let n = 0
        for (const instance of instances) {
          if (instance.ref === undefined) continue
          const stats: ActorStats = yield* instance.ref.stats()
          n += (stats.inFlight ?? 0) + stats.queued
        }
        return Math.max(n, busy)
      })

    /** The graceful stop; `awaitFatal` adds it as the scope's last finalizer, so it runs first. */
    const drain = Effect.gen(function*() {
      if (stopping) return
      stopping = true
      if (options.quiet !== true) log(`worker stopping: no new work; waiting up to ${Math.round(graceMs / 1000)} s for work in flight.`)
      yield* Effect.promise(() => Promise.allSettled(instances.flatMap((i) => i.stopIntake.map((stop) => stop()))))
      const deadline = Date.now() + graceMs
      while ((yield* inFlight()) > 0 && Date.now() < deadline) yield* Effect.sleep(100)
      const left = yield* inFlight()
      if (options.quiet !== true) {
        log(left === 0 ? "worker stopped: work in flight finished." : `worker stopped: ${left} piece(s) of work still running after the grace period are given back.`)
      }
      // A connection whose server is gone is closed now: what closes after this (services,
      // consumers, the connection's own drain) would otherwise wait for the server forever.
      for (const nc of down) yield* Effect.promise(() => nc.close().catch(() => undefined))
    })

    const runtime: WorkerRuntime = {
      onEscalate: (role, index) => (reason) =>
        fail(`The ${role} role (instance ${index + 1}) escalated: ${reason.replace(/\.$/, "")}; the worker exits so that its supervisor restarts it.`),
      stopping: Effect.sync(() => stopping),
      track: (effect) =>
        Effect.acquireUseRelease(Effect.sync(() => void busy++), () => effect, () => Effect.sync(() => void busy--)),
      register: (role, index, ref) => {
        const instance: Instance = { role, index, ref, stopIntake: [] }
        instances.push(instance)
        return { onStop: (stopIntake) => void instance.stopIntake.push(stopIntake) }
      },
      connect: (connectOptions) =>
        Effect.gen(function*() {
          const nc = yield* Effect.acquireRelease(
            Effect.tryPromise({
              try: () =>
                connect({
                  ...connectOptions,
                  // A lost server is waited for, however long: the worker is "not ready" meanwhile.
                  maxReconnectAttempts: -1,
                  reconnectTimeWait: 1_000,
                  reconnectJitter: 500,
                  pingInterval: 10_000
                }),
              catch: (error) =>
                new WorkerFailed({ message: `The worker cannot connect to NATS (${String((error as Error).message ?? error)}); check --nats and that nats-server is running.` })
            }),
            // Drained (what was published is delivered), within a bound: a drain waits for a
            // server that is gone; then closed either way.
            (nc) =>
              Effect.promise(async () => {
                let timer: ReturnType<typeof setTimeout> | undefined
                const bound = new Promise((done) => (timer = setTimeout(done, CLOSE_WAIT_MS)))
                // The timer is cleared once the drain is done: a pending timer keeps the process alive.
                if (!nc.isClosed()) await Promise.race([nc.drain().catch(() => undefined), bound])
                clearTimeout(timer)
                if (!nc.isClosed()) await nc.close().catch(() => undefined)
              })
          )
          // Readiness follows the connection.
          void (async () => {
            for await (const s of nc.status()) {
              if (s.type === "disconnect" && !down.has(nc)) {
                down.add(nc)
                if (options.quiet !== true) log(`worker not ready: the NATS connection was lost; reconnecting until it is back.`)
              } else if (s.type === "reconnect" && down.delete(nc)) {
                if (options.quiet !== true && down.size === 0) log("worker ready again: NATS reconnected.")
              }
            }
          })().catch(() => undefined)
          void nc.closed().then((error) => {
            if (!stopping) {
              Effect.runFork(fail(`The NATS connection closed${error ? ` (${error.message})` : ""}; the worker exits so that its supervisor restarts it.`))
            }
          })
          return nc
        }),
      ready: () => !stopping && down.size === 0,
      statsOf: async (role, index) => {
        const instance = instances.find((i) => i.role === role && i.index === index)
        const stats = instance?.ref === undefined ? undefined : await Effect.runPromise(instance.ref.stats())
        return {
          role,
          instance: index + 1,
          ready: runtime.ready(),
          draining: stopping,
          state: stats?.state ?? (stopping ? "stopping" : "running"),
          restarts: stats?.restarts ?? 0,
          last_error: stats?.lastError ?? null,
          processed: stats?.processed ?? 0,
          failed: stats?.failed ?? 0,
          in_flight: stats?.inFlight ?? 0,
          queued: stats?.queued ?? 0
        }
      },
      serveStatus: (nc, role, index) =>
        Effect.asVoid(Effect.acquireRelease(
          Effect.promise(async () => {
            const service = await nc.services.add({
              name: role,
              version: "1.0.0",
              description: `dshield-coord ${role} worker instance`,
              metadata: { engine: "dshield-coord" },
              statsHandler: () => runtime.statsOf(role, index)
            })
            service.addGroup(`coord.worker.${role}`).addEndpoint("status", {
              handler: (err, msg) => {
                if (err !== null) return
                void runtime.statsOf(role, index).then((stats) => msg.respond(new TextEncoder().encode(JSON.stringify(stats))))
              }
            })
            return service
          }),
          (service) => Effect.promise(() => service.stop().catch(() => undefined))
        )),
      awaitFatal: Effect.gen(function*() {
        // Added last, so it runs first when the scope closes: drain before anything closes.
        yield* Effect.addFinalizer(() => drain)
        return yield* Deferred.await(fatal)
      })
    }
    return runtime
  })

/**
 * `dshield-coord worker`: serves a pool of actors over NATS (roles api, orchestrator, jobs,
 * postgres and the workflow's agents). The pool's clients are in
 * actors/clients/RemoteAnalysis.ts. Connections take credentials and TLS from
 * actors/transport/NatsConnection.ts.
 */
import { randomUUID } from "node:crypto"
import { dirname, join, resolve } from "node:path"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { NatsConnection } from "nats"
import { API_GROUP, CoordApi, coordApiBehaviour } from "../../../actors/api/CoordApi.ts"
import { workerInputs } from "../../../actors/api/InputResolver.ts"
import { resolveRoots } from "../../../actors/api/LocalPaths.ts"
import { ConfidenceScorer, confidenceScorerBehaviour } from "../../../actors/confidence-scorer/ConfidenceScorer.ts"
import { ElasticsearchEnricher } from "../../../actors/elasticsearch-enricher/ElasticsearchEnricher.ts"
import { Inference, inferenceBehaviour } from "../../../actors/inference/Inference.ts"
import { type ActorRef, type Protocol, remainingTime, RequestProgress, spawn, type SpawnOptions } from "../../../actors/kernel/Actor.ts"
import { makeWorkerRuntime, type WorkerRuntime } from "../../../actors/kernel/WorkerRuntime.ts"
import { type AnalysisPool, defaultPoolSize, makeAnalysisPool } from "../../../actors/threads/AnalysisPool.ts"
import { PatternAnalyzer, patternAnalyzerBehaviour } from "../../../actors/pattern-analyzer/PatternAnalyzer.ts"
import { ToolCoordinator, toolCoordinatorBehaviour } from "../../../actors/tool-coordinator/ToolCoordinator.ts"
import { AGENT_POLICY, enricherBehaviour } from "../../workflow/analysisActors.ts"
import { decodeAnalyzeMessage, Orchestrator, orchestratorBehaviour } from "../../../actors/orchestrator/Orchestrator.ts"
import { cachedReplies } from "../../../actors/orchestrator/ReplyCache.ts"
import { bucketOpenFailure, ensureInputBucket, inputBucketSettings } from "../../../actors/transport/ClaimCheck.ts"
import { connectionOptions, type NatsFlags, redactUrl, resolveNatsSettings } from "../../../actors/transport/NatsConnection.ts"
import { consumeJobs, ensureJobStream } from "../../../actors/transport/JobQueue.ts"
import { ensurePayloadBucket, PAYLOADS_BUCKET } from "../../../actors/transport/LargePayloads.ts"
import { natsResultStore, RESULTS_BUCKET } from "../../../actors/transport/NatsResultStore.ts"
import { effectiveTimeout, serveOverNats, type ServeOptions } from "../../../actors/transport/NatsTransport.ts"
import { AnalysisError, InputError } from "../../domain/errors.ts"
import { Cache } from "../../store/Cache.ts"
import { resolveStoreConfig, type StoreConfig } from "../../config/StoreConfig.ts"
import { PostgresStore, postgresStoreBehaviour } from "../../../actors/postgres/PostgresStore.ts"
import { sqlStoreLayer } from "../../../actors/postgres/StoreActor.ts"
import { jobOptions } from "../../../actors/clients/RemoteAnalysis.ts"
import { type AgentRoleName, WORKER_ROLES } from "../workerRoles.ts"

/**
 * A worker's connection: the same settings, but reconnecting forever (the worker reports
 * itself not ready meanwhile) and fatal to the worker if it ever closes for good.
 */
const workerConnection = (flags: NatsFlags | string, runtime: WorkerRuntime) =>
  resolveNatsSettings(typeof flags === "string" ? { url: flags } : flags).pipe(
    Effect.flatMap((settings) => connectionOptions(settings, "dshield-coord-worker")),
    Effect.mapError((error) => new InputError({ message: error.message })),
    Effect.flatMap((options) => Effect.mapError(runtime.connect(options), (error) => new InputError({ message: error.message })))
  )

/** The key check of `--require-keys`: the store holding the keys, migrated, and the token key ring. */
const keyAuthorizer = (store: StoreConfig, jwtKeysFile: string | undefined) =>
  Effect.gen(function*() {
    const [{ loadMigrations, migrate }, { loadKeyRing }, { makeKeyAuthorizer }] = yield* Effect.promise(() =>
      Promise.all([import("../../store/migrate.ts"), import("../../api/auth/Tokens.ts"), import("../../../actors/api/KeyAuthorizer.ts")])
    )
    const context = yield* Layer.build(sqlStoreLayer(store)).pipe(Effect.mapError((e) => new InputError({ message: e.message })))
    yield* Effect.flatMap(loadMigrations(), migrate).pipe(Effect.provideContext(context), Effect.mapError((e) => new InputError({ message: e.message })))
    const ring = yield* Effect.try({
      try: () => loadKeyRing({ env: process.env.DSHIELD_JWT_KEYS, file: jwtKeysFile, fallbackPath: join(store.databaseUrl === undefined ? dirname(resolve(store.dataDir)) : resolve(".dshield-coord"), "jwt-keys.json") }),
      catch: (error) => new InputError({ message: `The access-token key ring cannot be read: ${(error as Error).message}` })
    })
    return makeKeyAuthorizer(context, ring)
  })

/** What a worker lets requests do: local paths (off unless roots are given) and deadlines. */
export interface WorkerServing {
  /** The database the `postgres` role serves; undefined = DATABASE_URL, else the default data directory. */
  readonly store?: StoreConfig | undefined
  /** Redis for the result cache shared by the pool; undefined = each worker's own memory. */
  readonly redisUrl?: string | undefined
  /** Directories whose files requests may name by path (`--allow-paths`); empty = uploads only. */
  readonly allowPaths: ReadonlyArray<string>
  /** Deadline of a request that names none (`--default-timeout`). */
  readonly defaultTimeoutMs: number
  /** Longest deadline a request may name (`--max-timeout`); durable jobs get this one. */
  readonly maxTimeoutMs: number
  /** The api role refuses requests without a valid API key or access token (`--require-keys`). */
  readonly requireKeys?: boolean | undefined
  /** The access-token key ring (`--jwt-keys`; else DSHIELD_JWT_KEYS, else the one beside the store). */
  readonly jwtKeysFile?: string | undefined
  /** Where /metrics is served (`--metrics-port`); not served without. */
  readonly metrics?: { readonly host: string; readonly port: number } | undefined
}

/**
 * `dshield-coord worker`: serve `pool` instances of each role until SIGTERM/SIGINT, then stop
 * taking work, finish what is in flight within `graceMs`, and exit 0. Analyses run on `pool`
 * worker threads shared by the instances (actors/threads), so `pool` analyses run at once
 * and the loop stays free for heartbeats, stats and cancellation. A role that escalates (its
 * restart budget spent) makes the worker fail, so the process exits non-zero and its
 * supervisor restarts it (actors/kernel/WorkerRuntime.ts).
 */
export const workerCommand = Effect.fn("Cli.worker")(function*(
  roles: ReadonlyArray<string>,
  pool: number | undefined,
  nats: NatsFlags | string,
  quiet: boolean,
  serving: WorkerServing = { allowPaths: [], defaultTimeoutMs: 30 * 60_000, maxTimeoutMs: 6 * 60 * 60_000 },
  graceMs: number = 60_000
) {
  const size = pool ?? defaultPoolSize()
  const runtime = yield* makeWorkerRuntime({ graceMs, quiet })
  const jobs = yield* jobOptions()
  // Every role that writes results owns the buckets with the configured limits (the TTL and byte
  // limit of DSHIELD_RESULTS_*): api and orchestrator workers set them back to the defaults,
  // and flipped them with every start against jobs workers.
  const ownedResults = { ...jobs.results, owner: true }
  const { bucket: _jobsBucket, ...resultLimits } = jobs.results ?? {}
  const ownedApiResults = { ...resultLimits, owner: true }
  // One thread per analysis that may run at once; instances share them.
  const servesAnalyses = roles.some((r) => r === "orchestrator" || r === "api" || r === "jobs")
  const threads: AnalysisPool | undefined = servesAnalyses
    ? yield* makeAnalysisPool(size, { blockMs: Number(process.env.DSHIELD_TEST_THREAD_BLOCK_MS ?? 0) })
    : undefined
  /** Supervision of one instance: its escalation stops the worker. */
  const supervised = (role: string, i: number): SpawnOptions => ({ onEscalate: runtime.onEscalate(role, i) })
  /** Serves an instance over NATS with its real state in $SRV stats; shutdown stops its intake first. */
  const serveInstance = <P extends Protocol>(nc: NatsConnection, role: string, i: number, ref: ActorRef<P>, options: ServeOptions, counted?: ActorRef<Protocol>) =>
    Effect.gen(function*() {
      const registered = runtime.register(role, i, counted ?? (ref as unknown as ActorRef<Protocol>))
      const handle = yield* serveOverNats(nc, ref, { ...options, statsData: () => runtime.statsOf(role, i) })
      registered.onStop(handle.stop)
    })
  // The result cache every orchestrator of this worker uses (Redis: shared by the whole pool);
  // a worker without one (agents, postgres) opens no cache.
  const replies = servesAnalyses
    ? cachedReplies(Context.get(yield* Layer.build(serving.redisUrl === undefined ? Cache.memory : Cache.redis(serving.redisUrl)), Cache))
    : undefined
  const cacheIn = (resultsBucket: string) => (replies === undefined ? undefined : { replies, resultsBucket })
  // The database of the postgres role; PGlite serves from one process only: one instance.
  const roleStore = serving.store ?? resolveStoreConfig({})
  const roots = yield* Effect.try({ try: () => resolveRoots(serving.allowPaths), catch: (error) => new InputError({ message: (error as Error).message }) })
  const bucket = yield* inputBucketSettings.pipe(Effect.mapError((e) => new InputError({ message: e.message })))
  const serve: ServeOptions = { defaultTimeoutMs: serving.defaultTimeoutMs, maxTimeoutMs: serving.maxTimeoutMs }
  // The api role's key check: the HTTP API's keys, tokens and roles, from the same store.
  // The key check of the api role (coord.v1 requests) and the jobs role (durable jobs).
  const authorize = serving.requireKeys === true && (roles.includes("api") || roles.includes("jobs")) ? yield* keyAuthorizer(roleStore, serving.jwtKeysFile) : undefined
  let where = typeof nats === "string" ? redactUrl(nats) : undefined
  for (const role of roles) {
    for (let i = 0; i < size; i++) {
      if (role === "postgres" && roleStore.databaseUrl === undefined && i > 0) continue
      // One connection per instance: instances behave like separate processes in the queue group.
      const nc = yield* workerConnection(nats, runtime)
      where ??= redactUrl(nc.getServer())
      if (role === "orchestrator" || role === "api" || role === "jobs") {
        // The inputs bucket exists with its TTL and byte limit before any upload is named, and
        // the bucket of messages over 1 MiB before a client sends one.
        yield* ensureInputBucket(nc, bucket).pipe(Effect.mapError((e) => new InputError({ message: e.message })))
        yield* Effect.tryPromise({
          try: () => ensurePayloadBucket(nc),
          catch: (error) => new InputError({ message: bucketOpenFailure(`${PAYLOADS_BUCKET} bucket`, error, "DSHIELD_PAYLOADS_MAX_BYTES", "the worker's") })
        })
        // The results bucket too (opening it creates it with its limits): clients may read it
        // but, with the deploy/nats permissions, not create it.
        yield* natsResultStore(nc, role === "jobs" ? ownedResults : ownedApiResults).get("result-none").pipe(
          Effect.catchDefect((defect) => Effect.fail(new InputError({ message: bucketOpenFailure("results bucket", defect, "DSHIELD_RESULTS_MAX_BYTES", "the worker's") })))
        )
      }
      // Inputs: uploaded objects (claim-check); worker-local paths only under --allow-paths roots.
      const inputs = workerInputs(nc, bucket, roots)
      // On a thread, reporting progress to whoever asked (RequestProgress: a request/reply
      // client that wants it).
      const compute = threads === undefined
        ? undefined
        : (request: Parameters<AnalysisPool["run"]>[0]) => Effect.flatMap(Effect.service(RequestProgress), (report) => threads.run(request, report))
      if (role === "orchestrator") {
        const ref = yield* spawn(Orchestrator, orchestratorBehaviour(natsResultStore(nc, ownedApiResults), compute, inputs, cacheIn(RESULTS_BUCKET)), supervised(role, i))
        yield* serveInstance(nc, role, i, ref, serve)
      } else if (role === "postgres") {
        // The store actor of the pool: one database shared by every client that asks it
        // (campaigns … --nats).
        const ref = yield* spawn(PostgresStore, postgresStoreBehaviour(sqlStoreLayer(roleStore)), { ...supervised(role, i), policy: { askTimeoutMs: 60 * 60_000 } })
        if (i === 0) {
          yield* ref.ask("migrate", {}).pipe(Effect.mapError((e) => new InputError({ message: `The postgres role cannot migrate its store: ${String((e as { message?: string }).message ?? e)}; check --database-url.` })))
        }
        yield* serveInstance(nc, role, i, ref, serve)
      } else if (AGENT_ROLES[role] !== undefined) {
        // A workflow agent actor, reached by the Live layer's clients.
        const ref = yield* AGENT_ROLES[role]!(supervised(role, i))
        yield* serveInstance(nc, role, i, ref, {})
      } else if (role === "api") {
        // The client API: coord.v1.analyze | result | status (docs/nats-api.md). Analyses of
        // files run on this instance's own orchestrator, to the request's deadline.
        const results = natsResultStore(nc, ownedApiResults)
        const orchestrator = yield* spawn(Orchestrator, orchestratorBehaviour(results, compute, inputs, cacheIn(RESULTS_BUCKET)), supervised(role, i))
        const ref = yield* spawn(CoordApi, coordApiBehaviour(results, (message) =>
          // The orchestrator works to what is left of this request's deadline (header or body),
          // and reports its progress to this request's caller.
          Effect.gen(function*() {
            const left = yield* remainingTime
            const onProgress = yield* Effect.service(RequestProgress)
            return yield* orchestrator.ask("analyze", message, { timeoutMs: left ?? effectiveTimeout(message.timeout_ms, serve), onProgress })
          })
        ), supervised(role, i))
        yield* serveInstance(nc, role, i, ref, { ...serve, group: API_GROUP, ...(authorize === undefined ? {} : { authorize }) }, orchestrator as unknown as ActorRef<Protocol>)
      } else if (role === "jobs") {
        // Durable jobs: this instance pulls from the JetStream work queue, one job at a time.
        // A job is decoded through the orchestrator's Schema; it runs to its own deadline or the
        // worker's maximum — never a default meant for interactive requests.
        // Runs on a thread: the consumer's heartbeat timer keeps firing during the analysis.
        const results = natsResultStore(nc, ownedResults)
        // The thread's progress (bytes and events read) rides on the job's claim heartbeat.
        let progress: (p: { readonly bytes: number; readonly events: number }) => void = () => undefined
        const withProgress = threads === undefined ? undefined : (request: Parameters<AnalysisPool["run"]>[0]) => threads.run(request, (p) => progress(p))
        const ref = yield* spawn(Orchestrator, orchestratorBehaviour(results, withProgress, inputs, cacheIn(jobs.results?.bucket ?? RESULTS_BUCKET)), supervised(role, i))
        runtime.register(role, i, ref as unknown as ActorRef<Protocol>)
        yield* runtime.serveStatus(nc, role, i)
        yield* ensureJobStream(nc, jobs).pipe(Effect.mapError((e) => new InputError({ message: e.message })))
        yield* Effect.forkScoped(consumeJobs(nc, results, (request, onProgress) =>
          Effect.flatMap(decodeAnalyzeMessage(request).pipe(Effect.tap(() => Effect.sync(() => void (progress = onProgress)))), (message) =>
            ref.ask("analyze", message, { timeoutMs: effectiveTimeout(message.timeout_ms, { ...serve, defaultTimeoutMs: serve.maxTimeoutMs }) })), {
          ...jobs,
          workerId: `${nc.info?.client_id ?? "worker"}-${process.pid}-${role}-${i + 1}`,
          stopping: runtime.stopping,
          track: runtime.track,
          ...(authorize === undefined ? {} : { authorize: (credential: string | undefined) => authorize("analyze", credential, `job-${randomUUID()}`) })
        }))
      }
    }
  }
  const metricsAt = serving.metrics === undefined
    ? undefined
    : yield* Effect.flatMap(Effect.promise(() => import("../../metrics/MetricsServer.ts")), ({ serveMetrics }) => serveMetrics(serving.metrics!.host, serving.metrics!.port))
  const pathsNote = roots.length === 0 ? "worker-local paths off" : `paths allowed under ${roots.join(", ")}`
  if (!quiet) {
    // Each role with the instances it really has: the postgres role on the embedded store has one.
    const served = roles.map((r) => `${r} × ${r === "postgres" && roleStore.databaseUrl === undefined ? 1 : size}`).join(", ")
    yield* Effect.sync(() =>
      process.stderr.write(`worker ready: ${served} on ${where}; ${threads?.size ?? 0} analysis thread(s); ${pathsNote}${metricsAt === undefined ? "" : `; metrics on ${metricsAt.url}`}; SIGTERM drains (grace ${Math.round(graceMs / 1000)} s) and stops.\n`)
    )
  }
  // Until shutdown (SIGTERM interrupts this; the runtime drains first) or a fatal escalation.
  return yield* runtime.awaitFatal.pipe(Effect.mapError((error) => new AnalysisError({ message: error.message })))
})

/** The workflow's agent actors (the names are in ../workerRoles.ts); the worker serves them over NATS. */
type AgentRole = (options: SpawnOptions) => Effect.Effect<ActorRef<Protocol>, never, Scope.Scope>
const agent = <P extends Protocol>(spawned: Effect.Effect<ActorRef<P>, never, Scope.Scope>) => spawned as unknown as Effect.Effect<ActorRef<Protocol>, never, Scope.Scope>
const AGENT_ROLES: Record<string, AgentRole> = {
  "pattern-analyzer": (o) => agent(spawn(PatternAnalyzer, patternAnalyzerBehaviour, { ...o, policy: AGENT_POLICY })),
  "confidence-scorer": (o) => agent(spawn(ConfidenceScorer, confidenceScorerBehaviour, { ...o, policy: AGENT_POLICY })),
  "tool-coordinator": (o) => agent(spawn(ToolCoordinator, toolCoordinatorBehaviour, { ...o, policy: AGENT_POLICY })),
  inference: (o) => agent(spawn(Inference, inferenceBehaviour, { ...o, policy: AGENT_POLICY })),
  "elasticsearch-enricher": (o) => agent(spawn(ElasticsearchEnricher, enricherBehaviour, { ...o, policy: AGENT_POLICY }))
} satisfies Record<AgentRoleName, AgentRole>

export { WORKER_ROLES }



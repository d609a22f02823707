/**
 * The Analyzer service's layers (src/pipeline/Analyzer.ts), one per place an analysis can
 * run. Each loads what it needs when it first analyses, so that choosing a layer costs
 * nothing at start-up: `analyze FILE` never loads NATS, the stores or LangGraph.
 *
 * - `inProcess`: read and analyse here, sessions streamed into the features;
 * - `threads`: the same on this process's analysis threads, off its event loop (the HTTP API);
 * - `store`: the same with the store's history, everything written in one transaction,
 *   the Result naming campaigns by their stored ids;
 * - `nats`: on the pool by request/reply (inputs by claim-check, progress, cancellation);
 * - `durable`: on the pool as a durable JetStream job;
 * - `workflow`: the LangGraph workflow over the agent actors, here or on the pool.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import type { NatsConnection } from "nats"
import type { AnalysisPool } from "../actors/threads/AnalysisPool.ts"
import type { NatsFlags } from "../actors/transport/NatsConnection.ts"
import { resolveStoreConfig, type StoreConfig } from "../src/config/StoreConfig.ts"
import { AnalysisError, InputError } from "../src/domain/errors.ts"
import type { Result } from "../src/domain/Result.ts"
import { Analyzer, type AnalyzeInputs } from "../src/pipeline/Analyzer.ts"
import { inputsReadable } from "../src/ingest/inputPaths.ts"
import { holdsDatabase, takeMadeEmpty } from "../src/store/dataDir.ts"
import { sessionWrites } from "../src/store/sessionChanges.ts"
import type { SqlStore, StoreError } from "../src/store/SqlStore.ts"
import { runAnalysis, runAnalysisWithSessions } from "../src/pipeline/runAnalysis.ts"
import type { Depth } from "../src/workflow/analysisGraph.ts"

const remote = () => import("../actors/clients/RemoteAnalysis.ts")

/** The connection given, or one opened from flags for the scope. */
const connectionFor = (nats: NatsFlags | NatsConnection) =>
  "publish" in nats ? Effect.succeed(nats) : Effect.flatMap(Effect.promise(remote), ({ natsConnection }) => natsConnection(nats))

export const inProcess: Layer.Layer<Analyzer> = Layer.succeed(Analyzer, {
  analyze: ({ paths, config, onProgress, onSession }) => Effect.map(runAnalysis(paths, config, { onProgress, onSession }), ({ result, report }) => ({ result, report }))
})

/**
 * On the analysis threads of `pool` (actors/threads): the orchestrator's code on a Worker
 * thread, so the caller's event loop keeps answering while an analysis runs.
 */
export const threads = (pool: AnalysisPool): Layer.Layer<Analyzer> =>
  Layer.succeed(Analyzer, {
    analyze: ({ paths, config, onProgress }) =>
      pool.run({ paths, config: { ...config } }, onProgress === undefined ? undefined : (p) => onProgress(p.bytes, p.events)).pipe(
        // The thread's document is Result v1 as the orchestrator wrote it.
        Effect.map(({ document }) => ({ result: JSON.parse(new TextDecoder().decode(document)) as Result })),
        Effect.mapError((failure) => (failure.kind === "input" ? new InputError({ message: failure.message }) : new AnalysisError({ message: failure.message })))
      )
  })

/**
 * An embedded store that holds no history: its directory holds no database yet (it is made
 * from the template when opened), or the command has just made it (warmEmbeddedStore).
 */
const newEmbeddedStore = (config: StoreConfig | Layer.Layer<SqlStore, StoreError>): boolean => {
  if (Layer.isLayer(config) || (config as StoreConfig).databaseUrl !== undefined) return false
  const dataDir = (config as StoreConfig).dataDir
  return takeMadeEmpty(dataDir) || !holdsDatabase(dataDir)
}

/**
 * With the store's history: the store configured (`analyze --store`), or one the caller has
 * open (the HTTP API, whose embedded PGlite a second opening would corrupt).
 */
export const store = (storeConfig: StoreConfig | Layer.Layer<SqlStore, StoreError>, dormantAfterDays: number | undefined, tenant?: string): Layer.Layer<Analyzer> =>
  Layer.succeed(Analyzer, {
    analyze: ({ paths, config, onProgress, onSession }) =>
      Effect.gen(function*() {
        const { postgresActor, storeFailure } = yield* Effect.promise(() => import("../actors/postgres/StoreActor.ts"))
        return yield* Effect.gen(function*() {
          // The store is opened, migrated and read while the input is ingested; a store that
          // does not exist yet has no history, so its analysis does not wait for it at all. A
          // new store is made only for inputs that can be read: a missing file fails in ingest
          // with its own sentence and leaves no store directory behind.
          const fresh = newEmbeddedStore(storeConfig)
          const open = Effect.gen(function*() {
            const opening = yield* Effect.forkScoped(postgresActor(storeConfig))
            const loading = yield* Effect.forkScoped(Effect.flatMap(Fiber.join(opening), (pg) =>
              pg.ask("migrate", {}).pipe(Effect.andThen(pg.ask("loadSessions", tenant === undefined ? {} : { tenant })))))
            return { opening, loading }
          })
          const early = !fresh || inputsReadable(paths) ? yield* open : undefined
          const history = fresh || early === undefined ? [] : Fiber.join(early.loading)
          const done = yield* runAnalysisWithSessions(paths, config, { history, onProgress, onSession })
          const { opening, loading } = early ?? (yield* open)
          const pg = yield* Fiber.join(opening)
          const stored = yield* Fiber.join(loading)
          // The input's sessions, joined with their stored pieces where a session straddled
          // two runs; those the store holds unchanged are not written again.
          const writes = sessionWrites(done.sessions, new Set(done.report.sessions.map((s) => s.id)), stored)
          const saved = yield* pg.ask("saveAnalysis", {
            result: done.result,
            sessions: writes.sessions,
            replaceIds: writes.replaceIds,
            dormantAfterDays,
            ...(tenant === undefined ? {} : { tenant })
          })
          // The Result the user gets names the campaigns by their stored ids.
          const { result, ...report } = saved
          return { result, report: done.report, stored: report }
        }).pipe(
          Effect.scoped,
          Effect.mapError((error) => (error._tag === "InputError" || error._tag === "AnalysisError" ? error : storeFailure(error)))
        )
      })
  })

/** On the pool by request/reply: a connection per analysis from flags, or one the caller keeps open (the HTTP API). */
export const nats = (flags: NatsFlags | NatsConnection, timeoutMs: number | undefined): Layer.Layer<Analyzer> =>
  Layer.succeed(Analyzer, {
    analyze: ({ paths, config, onProgress }) =>
      Effect.scoped(Effect.flatMap(Effect.promise(remote), ({ analyzeOverNats }) =>
        Effect.map(analyzeOverNats(flags, paths, config, timeoutMs, onProgress), (result) => ({ result }))
      ))
  })

/** How much longer than a durable job's deadline its client waits for the worker's answer. */
const DEADLINE_ANSWER_WAIT_MS = 30_000

export const durable = (flags: NatsFlags, timeoutMs: number | undefined): Layer.Layer<Analyzer> =>
  Layer.succeed(Analyzer, {
    analyze: ({ paths, config }) =>
      Effect.scoped(Effect.flatMap(Effect.promise(remote), ({ analyzeAsDurableJob }) =>
        // The job's deadline runs from when a worker takes it: the client waits a little
        // longer, so that it reads the worker's answer (done, or past its deadline).
        Effect.map(analyzeAsDurableJob(flags, paths, config, timeoutMs === undefined ? 60 * 60_000 : timeoutMs + DEADLINE_ANSWER_WAIT_MS, timeoutMs), (result) => ({ result }))
      ))
  })

export interface WorkflowOptions {
  readonly depth: Depth
  readonly thread: string | undefined
  /** Checkpoints in PostgreSQL (resume after a crash); in memory without. */
  readonly databaseUrl: string | undefined
  readonly quiet: boolean
  /** The pool's agent actors instead of this process's (a connection per analysis, or one kept open). */
  readonly nats: NatsFlags | NatsConnection | undefined
  readonly timeoutMs: number | undefined
  /** What a failure advises: resume with --thread (the CLI, the default) or submit again (the API). */
  readonly onFailure?: "resume" | "resubmit"
}

export const workflow = (options: WorkflowOptions): Layer.Layer<Analyzer> =>
  Layer.succeed(Analyzer, {
    analyze: ({ paths, config }) =>
      Effect.scoped(Effect.gen(function*() {
        const { runAnalysisWorkflow } = yield* Effect.promise(() => import("../src/workflow/runAnalysisWorkflow.ts"))
        // The agents: spawned here (Embedded), or the pool's through NATS (Live).
        const agents = options.nats === undefined
          ? (yield* Effect.promise(() => import("./Embedded.ts"))).Embedded
          : (yield* Effect.promise(() => import("./Live.ts"))).Live(yield* connectionFor(options.nats), options.timeoutMs)
        const run = yield* runAnalysisWorkflow(agents, paths, config, options.depth, options.thread, options.databaseUrl, options.quiet, options.onFailure)
        return { result: run.result, workflow: { narrative: run.narrative, exchanges: run.exchanges, tools: run.tools, indexed: run.indexed } }
      }))
  })

/** The layer an `analyze` command line asks for. */
export const forCommand = (command: {
  readonly depth: Depth | undefined
  readonly thread: string | undefined
  readonly quiet: boolean
  readonly nats: NatsFlags | undefined
  readonly durable: boolean
  readonly timeoutMs: number | undefined
  readonly store: StoreConfig | undefined
  readonly dormantDays: number | undefined
  readonly tenant?: string | undefined
}): Layer.Layer<Analyzer> =>
  command.depth !== undefined
    ? workflow({ depth: command.depth, thread: command.thread, databaseUrl: resolveStoreConfig({}).databaseUrl, quiet: command.quiet, nats: command.nats, timeoutMs: command.timeoutMs })
    : command.nats !== undefined
    ? (command.durable ? durable(command.nats, command.timeoutMs) : nats(command.nats, command.timeoutMs))
    : command.store !== undefined
    ? store(command.store, command.dormantDays, command.tenant)
    : inProcess

export type { AnalyzeInputs }

/**
 * Analyses submitted over the HTTP API: accepted at once (202), run in the background on the
 * analysis threads (actors/threads: the same code as `analyze` and the NATS orchestrator, off
 * the server's event loop, so health checks and polling answer while analyses run), their
 * state and Result kept in the store for `GET /analyze/{id}`.
 *
 * The input is written to a file in the server's work directory and read by the ordinary
 * ingest, so an API body gets exactly the treatment of a file given to `analyze`: the same
 * formats, gzip detection, hostile-line limits and reject counting.
 *
 * The queue is bounded: beyond `maxQueued` waiting analyses a submission is refused with 503
 * (retry later) instead of growing memory without limit.
 */
import { randomBytes } from "node:crypto"
import { mkdirSync } from "node:fs"
import { rm, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { Effect, Fiber, Queue, type Scope } from "effect"
import { configForDepth, DEFAULT_CONFIG } from "../config/AnalysisConfig.ts"
import type { SqlStore } from "../store/SqlStore.ts"
import { asTenant } from "./ApiRepository.ts"
import type { PrincipalShape } from "./auth/Principal.ts"
import { completeApiAnalysis, type Depth, failApiAnalysis, insertApiAnalysis, markApiAnalysisRunning } from "./TenantRepository.ts"

export type SubmittedInput =
  | { readonly kind: "sessions"; readonly body: { readonly attack_sessions: ReadonlyArray<unknown> } }
  | { readonly kind: "raw"; readonly bytes: Uint8Array; readonly format: string }

export interface Submission {
  readonly principal: PrincipalShape
  readonly depth: Depth
  readonly callbackUrl: string | undefined
  readonly input: SubmittedInput
}

export interface Progress {
  readonly stage: string
  readonly done: number
  readonly total: number
}

/** A queued or running analysis of this process, as polling sees it without the store. */
export interface LiveAnalysis {
  readonly id: string
  readonly tenant: string
  readonly depth: Depth
  readonly sessions: number
  readonly createdAt: string
  startedAt: string | null
  progress: Progress
  /** Settles when the analysis has finished and its outcome is in the store (long polls wait on it). */
  readonly finished: Promise<void>
}

export interface Finished {
  readonly id: string
  readonly tenant: string
  readonly callbackUrl: string
  readonly status: "completed" | "failed"
  readonly summary: Record<string, unknown>
}

export interface AnalysisRunner {
  /** Records and queues an analysis; its id, or undefined when the queue is full. */
  readonly submit: (s: Submission) => Effect.Effect<string | undefined, import("../store/SqlStore.ts").StoreError, SqlStore>
  /** A queued or running analysis of this process (polls are answered from it, not the store). */
  readonly live: (id: string) => LiveAnalysis | undefined
  readonly queued: () => number
}

interface Job {
  readonly id: string
  readonly tenant: string
  readonly keyId: string
  readonly depth: Depth
  readonly path: string
  readonly format: string
  readonly bytes: number
  readonly callbackUrl: string | undefined
}

/**
 * Where analyses run: N analysis threads (actors/threads/AnalysisPool.ts is the one the
 * server is given), each taking a request of the orchestrator's shape and answering the
 * Result document's bytes. Declared here so the API depends on the shape, not the actor.
 */
export interface AnalysisThreads {
  readonly size: number
  readonly run: (
    request: { readonly paths: ReadonlyArray<string>; readonly display_paths?: ReadonlyArray<string>; readonly config: Record<string, unknown> },
    onProgress?: (progress: { readonly bytes: number; readonly events: number }) => void
  ) => Effect.Effect<{ readonly reply: { readonly run_id: string; readonly sessions: number; readonly campaigns: number }; readonly document: Uint8Array }, { readonly message: string }>
}

/** A new analysis id: random, as ids of requests are (results stay deterministic). */
export const newAnalysisId = (): string => `an-${randomBytes(12).toString("hex")}`

export const makeAnalysisRunner = (options: {
  readonly pool: AnalysisThreads
  readonly workDir: string
  readonly maxQueued: number
  readonly store: import("effect").Context.Context<SqlStore>
  /** Told of every finished analysis that has a callback URL (webhook delivery). */
  readonly onFinished?: ((f: Finished) => Effect.Effect<void>) | undefined
}): Effect.Effect<AnalysisRunner, never, Scope.Scope> =>
  Effect.gen(function*() {
    mkdirSync(options.workDir, { recursive: true })
    const queue = yield* Queue.unbounded<Job>()
    const live = new Map<string, LiveAnalysis>()
    const settle = new Map<string, () => void>()
    const setProgress = (id: string, progress: Progress): void => {
      const entry = live.get(id)
      if (entry !== undefined) entry.progress = progress
    }
    let waiting = 0
    const inStore = <A, E>(effect: Effect.Effect<A, E, SqlStore>) => Effect.provideContext(effect, options.store)

    const runJob = (job: Job) =>
      Effect.gen(function*() {
        yield* inStore(asTenant(job.tenant, job.keyId, markApiAnalysisRunning(job.id)))
        const entry = live.get(job.id)
        if (entry !== undefined) entry.startedAt = new Date().toISOString()
        setProgress(job.id, { stage: "reading", done: 0, total: job.bytes })
        const config = configForDepth({ ...DEFAULT_CONFIG, format: job.format as typeof DEFAULT_CONFIG.format }, job.depth)
        const outcome = yield* Effect.result(options.pool.run(
          { paths: [job.path], display_paths: [`upload:${job.id}`], config: config as unknown as Record<string, unknown> },
          (p) => setProgress(job.id, { stage: "reading", done: p.bytes, total: job.bytes })
        ))
        setProgress(job.id, { stage: "saving", done: job.bytes, total: job.bytes })
        let summary: Record<string, unknown>
        if (outcome._tag === "Success") {
          const text = new TextDecoder().decode(outcome.success.document)
          yield* inStore(asTenant(job.tenant, job.keyId, completeApiAnalysis(job.id, text, outcome.success.reply.sessions)))
          summary = { status: "completed", run_id: outcome.success.reply.run_id, sessions: outcome.success.reply.sessions, campaigns: outcome.success.reply.campaigns }
        } else {
          const message = outcome.failure.message
          yield* inStore(asTenant(job.tenant, job.keyId, failApiAnalysis(job.id, message)))
          summary = { status: "failed", error: message }
        }
        if (job.callbackUrl !== undefined && options.onFinished !== undefined) {
          // Delivered in the background: a slow receiver never holds an analysis thread.
          yield* Effect.forkDetach(options.onFinished({
            id: job.id,
            tenant: job.tenant,
            callbackUrl: job.callbackUrl,
            status: summary.status as "completed" | "failed",
            summary: { analysis_id: job.id, ...summary }
          }))
        }
      }).pipe(
        // A crashed thread or a store failure fails this analysis, never the runner.
        Effect.catchCause((cause) =>
          Effect.logError(`analysis ${job.id} failed`, cause).pipe(
            Effect.andThen(inStore(asTenant(job.tenant, job.keyId, failApiAnalysis(job.id, "The analysis failed on the server; submit it again or report it.")))),
            Effect.ignore
          )
        ),
        Effect.ensuring(Effect.sync(() => {
          settle.get(job.id)?.()
          settle.delete(job.id)
          live.delete(job.id)
        })),
        Effect.ensuring(Effect.promise(() => rm(job.path, { force: true })))
      )

    // One runner per analysis thread: the threads are the parallelism.
    const runners: Array<Fiber.Fiber<never>> = []
    for (let i = 0; i < options.pool.size; i++) {
      runners.push(yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.take(queue), (job) => Effect.sync(() => waiting--).pipe(Effect.andThen(runJob(job)))))))
    }

    const submit: AnalysisRunner["submit"] = (s) =>
      Effect.gen(function*() {
        if (waiting >= options.maxQueued) return undefined
        const id = newAnalysisId()
        const gzip = s.input.kind === "raw" && s.input.bytes[0] === 0x1f && s.input.bytes[1] === 0x8b
        const path = join(options.workDir, `${id}${s.input.kind === "sessions" ? ".json" : gzip ? ".log.gz" : ".log"}`)
        const bytes = s.input.kind === "sessions" ? new TextEncoder().encode(JSON.stringify(s.input.body)) : s.input.bytes
        yield* Effect.promise(() => writeFile(path, bytes))
        const sessions = s.input.kind === "sessions" ? s.input.body.attack_sessions.length : 0
        yield* asTenant(s.principal.tenant, s.principal.keyId, insertApiAnalysis({
          id,
          tenant: s.principal.tenant,
          keyId: s.principal.keyId,
          depth: s.depth,
          sessions,
          callbackUrl: s.callbackUrl ?? null
        })).pipe(Effect.tapError(() => Effect.promise(() => rm(path, { force: true }))))
        waiting++
        let resolve: () => void = () => undefined
        const finished = new Promise<void>((r) => (resolve = r))
        settle.set(id, resolve)
        live.set(id, {
          finished,
          id,
          tenant: s.principal.tenant,
          depth: s.depth,
          sessions,
          createdAt: new Date().toISOString(),
          startedAt: null,
          progress: { stage: "queued", done: 0, total: bytes.length }
        })
        yield* Queue.offer(queue, {
          id,
          tenant: s.principal.tenant,
          keyId: s.principal.keyId,
          depth: s.depth,
          path,
          format: s.input.kind === "sessions" ? "sessions" : s.input.format,
          bytes: bytes.length,
          callbackUrl: s.callbackUrl
        })
        return id
      })

    return { submit, live: (id) => live.get(id), queued: () => waiting }
  })

/**
 * Analyses submitted over the HTTP API: accepted at once (202), run in the background through
 * the Analyzer service (src/pipeline/Analyzer.ts, the same service `analyze` asks), their
 * state and Result kept in the store for `GET /analyze/{id}`. Which Analyzer layer runs them
 * is the server's choice (layers/Analyzers.ts): this process's analysis threads, off the
 * event loop that answers health checks and polls, or the NATS pool; a deep analysis runs
 * the LangGraph workflow over the agent actors.
 *
 * The input is a file in the server's work directory read by the ordinary ingest, so an API
 * body gets exactly the treatment of a file given to `analyze`: the same formats, gzip
 * detection, hostile-line limits and reject counting.
 *
 * The queue is bounded: beyond `maxQueued` waiting analyses a submission is refused with 503
 * (retry later) instead of growing memory without limit.
 */
import { randomBytes } from "node:crypto"
import { mkdirSync } from "node:fs"
import { rm, writeFile } from "node:fs/promises"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Tracer from "effect/Tracer"
import { configForDepth, DEFAULT_CONFIG } from "../config/AnalysisConfig.ts"
import { type Result, serializeResult } from "../domain/Result.ts"
import type { AnalyzerService } from "../pipeline/Analyzer.ts"
import type { SqlStore } from "../store/SqlStore.ts"
import { asTenant } from "./ApiRepository.ts"
import type { PrincipalShape } from "./auth/Principal.ts"
import { analyses, analysesWaiting, analysisSeconds, ingestEvents, ingestRejected, ingestSessions } from "../metrics/engineMetrics.ts"
import { receivedSpan } from "../observability/TraceContext.ts"
import { completeApiAnalysis, type Depth, failApiAnalysis, insertApiAnalysis, markApiAnalysisRunning } from "./TenantRepository.ts"

export type SubmittedInput =
  | { readonly kind: "sessions"; readonly body: { readonly attack_sessions: ReadonlyArray<unknown> } }
  | { readonly kind: "raw"; readonly bytes: Uint8Array; readonly format: string }
  /** An object the tenant uploaded earlier: read where it lies, kept after the analysis. */
  | { readonly kind: "object"; readonly id: string; readonly path: string; readonly bytes: number; readonly format: string }

export interface Submission {
  readonly principal: PrincipalShape
  readonly depth: Depth
  /** Analysed with the tenant's stored history and written to it (campaigns tracked across runs). */
  readonly store: boolean
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
  readonly store: boolean
  readonly path: string
  /** The input file is the job's own (removed when it ends), not an upload that outlives it. */
  readonly owned: boolean
  /** How the Result names the input. */
  readonly shownAs: string
  readonly format: string
  readonly bytes: number
  readonly callbackUrl: string | undefined
  /** The submitting request's span: the analysis, run later, is traced as its child. */
  readonly parent: Tracer.AnySpan | undefined
}

/** Where analyses run: the Analyzer service for each depth, and how many run at once. */
export interface AnalysisPlaces {
  readonly analyzerFor: (depth: Depth) => AnalyzerService
  readonly concurrency: number
  /**
   * A tenant's stored analyses (the store layer, as `analyze --store --tenant`): one at a
   * time, since each reads the history the previous one wrote.
   */
  readonly storedFor: (tenant: string) => AnalyzerService
}

/**
 * A failed analysis's message as the API client reads it (in the status document and in the
 * webhook sent to its callback): the input named as the client knows it, never by the server's
 * file, and the advice in the API's terms (the format is a field or a query parameter, not a
 * command-line option).
 */
const apiMessage = (message: string, job: Pick<Job, "path" | "shownAs">): string =>
  message
    .split(job.path).join(job.shownAs)
    .replace(/pass --format ([a-z|]+)/g, (_, formats: string) => `give its format (the format field, or ?format=): ${formats.replace(/\|/g, ", ")}`)

/** The Result with its input named as the API user knows it, not by the server's file path. */
const namingInput = (result: Result, shownAs: string): Result => ({
  ...result,
  input: { ...result.input, files: result.input.files.map((f) => ({ ...f, path: shownAs })) }
})

/** A new analysis id: random, as ids of requests are (results stay deterministic). */
export const newAnalysisId = (): string => `an-${randomBytes(12).toString("hex")}`

export const makeAnalysisRunner = (options: {
  readonly places: AnalysisPlaces
  readonly workDir: string
  readonly maxQueued: number
  readonly store: import("effect").Context.Context<SqlStore>
  /** Told of every finished analysis that has a callback URL (webhook delivery). */
  readonly onFinished?: ((f: Finished) => Effect.Effect<void>) | undefined
}): Effect.Effect<AnalysisRunner, never, Scope.Scope> =>
  Effect.gen(function*() {
    mkdirSync(options.workDir, { recursive: true })
    const queue = yield* Queue.unbounded<Job>()
    const storedQueue = yield* Queue.unbounded<Job>()
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
        const startedAt = performance.now()
        const analyzer = job.store ? options.places.storedFor(job.tenant) : options.places.analyzerFor(job.depth)
        const outcome = yield* Effect.result(analyzer.analyze({
          paths: [job.path],
          config,
          onProgress: (bytes) => setProgress(job.id, { stage: "reading", done: bytes, total: job.bytes })
        }))
        setProgress(job.id, { stage: "saving", done: job.bytes, total: job.bytes })
        let summary: Record<string, unknown>
        if (outcome._tag === "Success") {
          const result = namingInput(outcome.success.result, job.shownAs)
          const { workflow, stored } = outcome.success
          const extras = workflow === undefined && stored === undefined ? null : JSON.stringify({
            ...(workflow === undefined ? {} : { workflow: { narrative: workflow.narrative ?? null, tools: workflow.tools ?? [] } }),
            ...(stored === undefined ? {} : {
              stored: {
                sessions_written: stored.sessionsWritten,
                campaigns_created: stored.campaignsCreated,
                campaigns_updated: stored.campaignsUpdated,
                campaigns_concluded: stored.campaignsConcluded
              }
            })
          })
          yield* inStore(asTenant(job.tenant, job.keyId, completeApiAnalysis(job.id, serializeResult(result), result.input.sessions, extras)))
          summary = { status: "completed", run_id: result.run.id, sessions: result.input.sessions, campaigns: result.campaigns.length }
          ingestEvents.inc({}, result.input.events)
          ingestSessions.inc({}, result.input.sessions)
          for (const [reason, n] of Object.entries(result.input.rejected)) ingestRejected.inc({ reason }, n)
        } else {
          const message = apiMessage(outcome.failure.message, job)
          yield* inStore(asTenant(job.tenant, job.keyId, failApiAnalysis(job.id, message)))
          summary = { status: "failed", error: message }
        }
        analyses.inc({ status: String(summary.status), depth: job.depth })
        analysisSeconds.observe({ depth: job.depth }, (performance.now() - startedAt) / 1000)
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
        Effect.ensuring(job.owned ? Effect.promise(() => rm(job.path, { force: true })) : Effect.void),
        // In the trace of the request that submitted it (the runner's fibers run under no request).
        Effect.withSpan("ApiAnalysis.run", receivedSpan(job.parent, "internal", { "dshield.analysis_id": job.id, "dshield.depth": job.depth, "dshield.tenant": job.tenant }))
      )

    // As many runners as analyses may run at once (the analysis threads, or the pool's share),
    // and one for stored analyses: each reads the history the one before it wrote.
    const runners: Array<Fiber.Fiber<never>> = []
    const runFrom = (from: Queue.Queue<Job>) =>
      Effect.forever(Effect.flatMap(Queue.take(from), (job) => Effect.sync(() => analysesWaiting.set({}, --waiting)).pipe(Effect.andThen(runJob(job)))))
    for (let i = 0; i < options.places.concurrency; i++) runners.push(yield* Effect.forkScoped(runFrom(queue)))
    runners.push(yield* Effect.forkScoped(runFrom(storedQueue)))

    /** The submission's input as a file the ingest reads: written for bodies, the upload's own file for objects. */
    const stageInput = (id: string, input: SubmittedInput) =>
      Effect.gen(function*() {
        if (input.kind === "object") {
          return { path: input.path, owned: false, shownAs: `upload:${input.id}`, format: input.format, bytes: input.bytes }
        }
        const gzip = input.kind === "raw" && input.bytes[0] === 0x1f && input.bytes[1] === 0x8b
        const path = join(options.workDir, `${id}${input.kind === "sessions" ? ".json" : gzip ? ".log.gz" : ".log"}`)
        const bytes = input.kind === "sessions" ? new TextEncoder().encode(JSON.stringify(input.body)) : input.bytes
        yield* Effect.promise(() => writeFile(path, bytes))
        return { path, owned: true, shownAs: `upload:${id}`, format: input.kind === "sessions" ? "sessions" : input.format, bytes: bytes.length }
      })

    const submit: AnalysisRunner["submit"] = (s) =>
      Effect.gen(function*() {
        if (waiting >= options.maxQueued) return undefined
        const id = newAnalysisId()
        const staged = yield* stageInput(id, s.input)
        const sessions = s.input.kind === "sessions" ? s.input.body.attack_sessions.length : 0
        yield* asTenant(s.principal.tenant, s.principal.keyId, insertApiAnalysis({
          id,
          tenant: s.principal.tenant,
          keyId: s.principal.keyId,
          depth: s.depth,
          sessions,
          callbackUrl: s.callbackUrl ?? null
        })).pipe(Effect.tapError(() => (staged.owned ? Effect.promise(() => rm(staged.path, { force: true })) : Effect.void)))
        analysesWaiting.set({}, ++waiting)
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
          progress: { stage: "queued", done: 0, total: staged.bytes }
        })
        const parent = Option.getOrUndefined(yield* Effect.serviceOption(Tracer.ParentSpan))
        yield* Queue.offer(s.store ? storedQueue : queue, {
          parent,
          id,
          tenant: s.principal.tenant,
          keyId: s.principal.keyId,
          depth: s.depth,
          store: s.store,
          ...staged,
          callbackUrl: s.callbackUrl
        })
        return id
      })

    return { submit, live: (id) => live.get(id), queued: () => waiting }
  })

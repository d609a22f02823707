/**
 * Analyses off the event loop: a pool of Bun Worker threads, each running one analysis at a
 * time with the orchestrator's own code (actors/threads/analysisThread.ts). While a thread
 * analyses, the actor's loop stays free: JetStream heartbeats fire, `$SRV` stats answer,
 * progress arrives, and an interrupted analysis is cancelled by terminating its thread
 * (a fresh thread takes its place).
 *
 * A pool of N threads runs N analyses in parallel; callers beyond N wait for a free thread.
 *
 * @since 0.1.0
 */
import { readdirSync, statSync } from "node:fs"
import { availableParallelism } from "node:os"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import { AnalysisFailed, type AnalysisDocument, type AnalyzeRequest } from "../orchestrator/Orchestrator.ts"
import { currentTraceCarrier, TracingExport } from "../../src/observability/TraceContext.ts"
import type { TracingSettings } from "../../src/observability/TracingSettings.ts"
import type { ThreadFlush, ThreadReply, ThreadRequest, ThreadSetup } from "./protocol.ts"

const THREAD_URL = new URL("./analysisThread.ts", import.meta.url).href

export interface AnalysisProgress {
  readonly bytes: number
  readonly events: number
}

export interface AnalysisPool {
  /** Threads in the pool: analyses that can run at once. */
  readonly size: number
  /** Runs one analysis on a free thread (waiting for one); interruption terminates the thread. */
  readonly run: (
    request: typeof AnalyzeRequest.Type,
    onProgress?: (progress: AnalysisProgress) => void
  ) => Effect.Effect<AnalysisDocument, AnalysisFailed>
  /** Analyses running now. */
  readonly busy: () => number
}

export interface AnalysisPoolOptions {
  /** Test hook: each thread blocks this long before analysing (default DSHIELD_TEST_THREAD_BLOCK_MS or 0). */
  readonly blockMs?: number
  /** Test hook: each thread crashes instead of analysing (default: DSHIELD_TEST_THREAD_CRASH=1). */
  readonly crash?: boolean
}

/** The default pool size: one thread per core. */
export const defaultPoolSize = (): number => Math.max(1, availableParallelism())

/** Inputs at least this large, analysed alone on a pool with a spare core, get an ingest thread. */
export const LARGE_INPUT_BYTES = 256 * 1024 * 1024

/** Whether an analysis reads on an ingest thread: alone, on a pool with a spare core, and large. */
export const wantsIngestThread = (at: { readonly running: number; readonly size: number; readonly cores: number; readonly bytes: number }): boolean =>
  at.running === 1 && at.size < at.cores && at.bytes >= LARGE_INPUT_BYTES

/** The bytes of the files (directories: of their files, one level deep is enough to tell "large"). */
const inputBytes = (paths: ReadonlyArray<string>): number => {
  let total = 0
  for (const path of paths) {
    try {
      const stat = statSync(path)
      if (stat.isFile()) total += stat.size
      else if (stat.isDirectory()) for (const entry of readdirSync(path)) total += statSync(join(path, entry), { throwIfNoEntry: false })?.size ?? 0
    } catch {
      // Unreadable here: the analysis will say so; it is not large.
    }
  }
  return total
}

interface Thread {
  readonly worker: Worker
  dead: boolean
}

/** A thread; told the tracing settings first, it exports its own spans (analysisThread.ts). */
const startThread = (tracing: TracingSettings | undefined): Thread => {
  const thread: Thread = { worker: new Worker(THREAD_URL), dead: false }
  if (tracing !== undefined) thread.worker.postMessage({ type: "setup", tracing } satisfies ThreadSetup)
  return thread
}

/** How long a stopping pool waits for its threads to send the spans they hold. */
const FLUSH_WAIT_MS = 3_000

/** Asks each live thread to export what it holds and waits (bounded) for the answers. */
const flushThreads = (threads: Iterable<Thread>): Promise<void> =>
  Promise.all([...threads].filter((t) => !t.dead).map((thread, i) =>
    new Promise<void>((resolve) => {
      const id = -1 - i
      const done = (): void => {
        clearTimeout(timer)
        thread.worker.removeEventListener("message", onMessage)
        resolve()
      }
      const onMessage = (event: MessageEvent<ThreadReply>): void => {
        if (event.data.type === "flushed" && event.data.id === id) done()
      }
      const timer = setTimeout(done, FLUSH_WAIT_MS)
      thread.worker.addEventListener("message", onMessage)
      thread.worker.postMessage({ type: "flush", id } satisfies ThreadFlush)
    })
  )).then(() => undefined)

/** Starts `size` threads for the lifetime of the scope (terminated when it closes). */
export const makeAnalysisPool = (size: number, options: AnalysisPoolOptions = {}): Effect.Effect<AnalysisPool, never, Scope.Scope> =>
  Effect.gen(function*() {
    // Tracing on (OTEL_* set): the threads export their spans to the same collector.
    const tracing = yield* Effect.service(TracingExport)
    const idle = yield* Queue.unbounded<Thread>()
    const all = new Set<Thread>()
    const spawnThread = (): Thread => {
      const thread = startThread(tracing)
      all.add(thread)
      return thread
    }
    for (let i = 0; i < size; i++) yield* Queue.offer(idle, spawnThread())
    yield* Effect.addFinalizer(() =>
      Effect.andThen(
        // Spans still held by a thread are sent before it is terminated.
        tracing === undefined ? Effect.void : Effect.promise(() => flushThreads(all)),
        Effect.sync(() => {
          for (const thread of all) thread.worker.terminate()
          all.clear()
        })
      )
    )
    let busy = 0
    let nextId = 0
    const blockMs = options.blockMs ?? (Number(process.env.DSHIELD_TEST_THREAD_BLOCK_MS ?? 0) || 0)
    const crash = options.crash ?? process.env.DSHIELD_TEST_THREAD_CRASH === "1"

    const runOn = (thread: Thread, request: typeof AnalyzeRequest.Type, onProgress: ((progress: AnalysisProgress) => void) | undefined, trace: ThreadRequest["trace"]) =>
      Effect.callback<AnalysisDocument, AnalysisFailed>((resume) => {
        const id = ++nextId
        const { worker } = thread
        const cleanup = (): void => {
          worker.removeEventListener("message", onMessage)
          worker.removeEventListener("error", onError)
          worker.removeEventListener("close", onClose)
        }
        const onMessage = (event: MessageEvent<ThreadReply>): void => {
          const reply = event.data
          if (reply.id !== id) return
          switch (reply.type) {
            case "progress":
              onProgress?.({ bytes: reply.bytes, events: reply.events })
              return
            case "done":
              cleanup()
              return resume(Effect.succeed({ reply: reply.reply, document: reply.document }))
            case "failed":
              cleanup()
              return resume(Effect.fail(new AnalysisFailed({ message: reply.message, kind: reply.kind })))
            case "crashed":
              cleanup()
              return resume(Effect.die(new Error(`The analysis thread crashed: ${reply.message}`)))
            case "flushed":
              return
          }
        }
        const onError = (event: ErrorEvent): void => {
          cleanup()
          thread.dead = true
          worker.terminate()
          resume(Effect.die(new Error(`The analysis thread failed: ${event.message}`)))
        }
        const onClose = (): void => {
          cleanup()
          thread.dead = true
          resume(Effect.die(new Error("The analysis thread exited during the analysis.")))
        }
        worker.addEventListener("message", onMessage)
        worker.addEventListener("error", onError)
        worker.addEventListener("close", onClose)
        const message: ThreadRequest = { id, request, ingestThread: ingestThreadFor(request), blockMs, crash, ...(trace === undefined ? {} : { trace }) }
        worker.postMessage(message)
        // Interrupted (cancelled, deadline passed, worker shutting down): stop the work itself.
        return Effect.sync(() => {
          cleanup()
          thread.dead = true
          worker.terminate()
        })
      })

    // A pool thread reads its input on its own thread (no ingest thread): with one analysis
    // per core that keeps every core busy. A large input analysed alone on a pool with fewer
    // threads than cores reads on an ingest thread too, as in process (the 1M-session set:
    // 60.7 s without it against 43.6 s in process on the 2026-12-03 machine).
    const cores = availableParallelism()
    const ingestThreadFor = (request: typeof AnalyzeRequest.Type): boolean =>
      wantsIngestThread({ running: busy, size, cores, bytes: busy === 1 && size < cores ? inputBytes(request.paths) : 0 })

    const pool: AnalysisPool = {
      size,
      busy: () => busy,
      // Waiting for a free thread stays interruptible (a cancelled request leaves the line);
      // once a thread is taken it is always given back, or replaced when it was terminated.
      // The thread's spans are children of this span (its trace context rides in the message).
      run: (request, onProgress) =>
        Effect.uninterruptibleMask((restore) =>
          Effect.flatMap(restore(Queue.take(idle)), (thread) => {
            busy++
            return restore(Effect.flatMap(tracing === undefined ? Effect.undefined : currentTraceCarrier, (trace) => runOn(thread, request, onProgress, trace))).pipe(
              Effect.ensuring(Effect.suspend(() => {
                busy--
                if (!thread.dead) return Queue.offer(idle, thread)
                all.delete(thread)
                return Queue.offer(idle, spawnThread())
              }))
            )
          })
        ).pipe(Effect.withSpan("AnalysisPool.run", { attributes: { "dshield.pool.size": size } }))
    }
    return pool
  })

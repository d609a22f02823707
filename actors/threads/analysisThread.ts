/**
 * The body of one analysis thread (a Bun Worker started by AnalysisPool): it receives an
 * analyze request, runs the orchestrator's own analysis code (`analyzeToDocument`, so the
 * Result is byte for byte the in-process one), and posts back the reply and the Result
 * document, whose bytes are transferred, not copied. Inputs are read here, by path: the
 * sessions never cross the thread boundary.
 *
 * Tracing: a pool of a tracing process sends `setup` with its export settings first; the
 * thread then loads the exporter and exports its own spans (Orchestrator.analyzeToDocument,
 * Analysis.run and its stages) to the same collector, each analysis under the span whose
 * trace context came with the request. It flushes after every analysis and on `flush`.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { analyzeToDocument } from "../orchestrator/Orchestrator.ts"
import { parentOf } from "../../src/observability/TraceContext.ts"
import type { ThreadTracing } from "../../src/observability/OtlpTracing.ts"
import type { ThreadFlush, ThreadReply, ThreadRequest, ThreadSetup } from "./protocol.ts"

declare const self: Worker

/** Progress is posted at most this often (the analysis itself reports per chunk read). */
const PROGRESS_EVERY_MS = 250

/**
 * Test hook: block this thread (a synchronous wait, as a CPU-bound analysis would) before
 * analysing, so tests can catch a job mid-flight however fast the machine is.
 */
const blockFor = (ms: number): void => {
  if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

const post = (message: ThreadReply, transfer: Array<ArrayBuffer> = []): void => self.postMessage(message, transfer)

/** This thread's exporter, when its pool traces (loaded on `setup`, not before). */
let tracing: Promise<ThreadTracing | undefined> | undefined

const setup = (message: ThreadSetup): void => {
  tracing = import("../../src/observability/OtlpTracing.ts")
    .then(({ threadTracing }) => threadTracing(message.tracing, "analysis"))
    // An exporter that cannot start leaves the analyses untraced, never failed.
    .catch(() => undefined)
}

const flush = (message: ThreadFlush): void => {
  void (tracing ?? Promise.resolve(undefined))
    .then((t) => t?.flush())
    .then(() => post({ type: "flushed", id: message.id }))
}

const analyze = (request: ThreadRequest, traced: ThreadTracing | undefined): void => {
  const { id, ingestThread, blockMs } = request
  let lastProgress = 0
  // The report held back by the throttle; posted before the answer so the caller always
  // sees where ingest ended (a short analysis could otherwise report only its first chunk).
  let heldBack: { bytes: number; events: number } | undefined
  const onProgress = (bytes: number, events: number): void => {
    const now = Date.now()
    if (now - lastProgress < PROGRESS_EVERY_MS) {
      heldBack = { bytes, events }
      return
    }
    lastProgress = now
    heldBack = undefined
    post({ type: "progress", id, bytes, events })
  }
  blockFor(blockMs)
  const parent = traced === undefined ? undefined : parentOf(request.trace)
  const analysis = analyzeToDocument(request.request, onProgress, ingestThread)
  const run = traced === undefined
    ? analysis
    : (parent === undefined ? analysis : Effect.withParentSpan(analysis, parent)).pipe(Effect.provideContext(traced.context))
  void Effect.runPromiseExit(run).then((exit) => {
    if (heldBack !== undefined) post({ type: "progress", id, ...heldBack })
    if (Exit.isSuccess(exit)) {
      const { reply, document } = exit.value
      // A fresh buffer exactly the document's size, handed over without a copy.
      const bytes = document.byteOffset === 0 && document.byteLength === document.buffer.byteLength ? document : document.slice()
      post({ type: "done", id, reply, document: bytes }, [bytes.buffer as ArrayBuffer])
    } else {
      const failure = Cause.findErrorOption(exit.cause)
      if (failure._tag === "Some") post({ type: "failed", id, message: failure.value.message, kind: failure.value.kind })
      else post({ type: "crashed", id, message: Cause.pretty(exit.cause).split("\n")[0] ?? "unknown defect" })
    }
    // The analysis's spans go to the collector now, after the caller has its answer.
    void traced?.flush()
  })
}

self.onmessage = (event: MessageEvent<ThreadRequest | ThreadSetup | ThreadFlush>) => {
  const message = event.data
  if ("type" in message) {
    if (message.type === "setup") return setup(message)
    return flush(message)
  }
  if (message.crash) throw new Error("test hook DSHIELD_TEST_THREAD_CRASH: the analysis thread crashed")
  // Untraced: analysed at once, as before tracing existed; traced: once the exporter is up.
  if (tracing === undefined) return analyze(message, undefined)
  void tracing.then((traced) => analyze(message, traced))
}

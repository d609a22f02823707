/**
 * The body of one analysis thread (a Bun Worker started by AnalysisPool): it receives an
 * analyze request, runs the orchestrator's own analysis code (`analyzeToDocument`, so the
 * Result is byte for byte the in-process one), and posts back the reply and the Result
 * document, whose bytes are transferred, not copied. Inputs are read here, by path: the
 * sessions never cross the thread boundary.
 *
 * @since 0.1.0
 */
import { Cause, Effect, Exit } from "effect"
import { analyzeToDocument } from "../orchestrator/Orchestrator.ts"
import type { ThreadReply, ThreadRequest } from "./protocol.ts"

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

self.onmessage = (event: MessageEvent<ThreadRequest>) => {
  const { id, request, ingestThread, blockMs, crash } = event.data
  if (crash) throw new Error("test hook DSHIELD_TEST_THREAD_CRASH: the analysis thread crashed")
  let lastProgress = 0
  const onProgress = (bytes: number, events: number): void => {
    const now = Date.now()
    if (now - lastProgress < PROGRESS_EVERY_MS) return
    lastProgress = now
    post({ type: "progress", id, bytes, events })
  }
  blockFor(blockMs)
  void Effect.runPromiseExit(analyzeToDocument(request, onProgress, ingestThread)).then((exit) => {
    if (Exit.isSuccess(exit)) {
      const { reply, document } = exit.value
      // A fresh buffer exactly the document's size, handed over without a copy.
      const bytes = document.byteOffset === 0 && document.byteLength === document.buffer.byteLength ? document : document.slice()
      post({ type: "done", id, reply, document: bytes }, [bytes.buffer as ArrayBuffer])
      return
    }
    const failure = Cause.findErrorOption(exit.cause)
    if (failure._tag === "Some") post({ type: "failed", id, message: failure.value.message, kind: failure.value.kind })
    else post({ type: "crashed", id, message: Cause.pretty(exit.cause).split("\n")[0] ?? "unknown defect" })
  })
}

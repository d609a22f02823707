/**
 * The messages between an AnalysisPool and its threads.
 *
 * @since 0.1.0
 */
import type { AnalyzeReply, AnalyzeRequest } from "../orchestrator/Orchestrator.ts"
import type { TraceCarrier } from "../../src/observability/TraceContext.ts"
import type { TracingSettings } from "../../src/observability/TracingSettings.ts"

export interface ThreadRequest {
  readonly id: number
  readonly request: typeof AnalyzeRequest.Type
  /**
   * Whether the analysis may read a large input on an ingest thread of its own. The pool
   * says no: its threads are the parallelism, and a second thread per analysis competed with
   * the other analyses without making a lone one faster (docs/benchmarks.md, worker pools).
   */
  readonly ingestThread: boolean
  /** Test hook: block the thread this long before analysing (0 in production). */
  readonly blockMs: number
  /** Test hook: the thread throws (an uncaught error) instead of analysing. */
  readonly crash: boolean
  /** The span the analysis runs under (W3C trace context), when the pool traces. */
  readonly trace?: TraceCarrier | undefined
}

/** Asks a thread to send the spans it holds (the pool stops); answered `flushed`. */
export interface ThreadFlush {
  readonly type: "flush"
  readonly id: number
}

/** The first message to a thread of a tracing pool: it exports its own spans to the same collector (OtlpTracing.ts). */
export interface ThreadSetup {
  readonly type: "setup"
  readonly tracing: TracingSettings
}

export type ThreadReply =
  | { readonly type: "progress"; readonly id: number; readonly bytes: number; readonly events: number }
  | { readonly type: "done"; readonly id: number; readonly reply: AnalyzeReply; readonly document: Uint8Array }
  | { readonly type: "failed"; readonly id: number; readonly message: string; readonly kind: "input" | "analysis" }
  | { readonly type: "crashed"; readonly id: number; readonly message: string }
  | { readonly type: "flushed"; readonly id: number }

/**
 * Messages between the analysis thread and its ingest thread (ingestThread.ts).
 *
 * @since 0.1.0
 */
import type { IngestOptions, IngestSummary } from "../ingest/ingest.ts"

/** Sessions per message: large enough that a message costs little, small enough to overlap. */
export const BATCH_SESSIONS = 2000

/** Batches posted and not yet read before the ingest thread waits. */
export const MAX_BATCHES_IN_FLIGHT = 8

/** Index in the shared credit counter of the batches the reader has finished with. */
export const CONSUMED = 0

export interface IngestRequest {
  readonly paths: ReadonlyArray<string>
  readonly options: Omit<IngestOptions, "onProgress">
  readonly progress: boolean
  /** A SharedArrayBuffer of one Int32: batches read so far (see CONSUMED). */
  readonly credit: SharedArrayBuffer
}

export type IngestReply =
  /** A JSON array of sessions, in (start, id) order across messages. */
  | { readonly type: "sessions"; readonly json: string }
  | { readonly type: "progress"; readonly bytes: number; readonly events: number }
  /** Every session was sent. The summary's RejectLog arrives as plain data (structured clone). */
  | { readonly type: "done"; readonly summary: IngestSummary }
  /** The input's order stopped the stream; the sessions sent are to be discarded. */
  | { readonly type: "stopped"; readonly reason: string }
  /** An IngestFailure: the input could not be read. */
  | { readonly type: "failed"; readonly message: string; readonly path: string }
  | { readonly type: "crashed"; readonly message: string }

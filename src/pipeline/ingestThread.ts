/**
 * The body of the ingest thread (a Bun Worker started by `inputFeatures`): it reads the
 * inputs with streaming ingest and posts each finished session, in order, to the thread that
 * builds features, in JSON batches. Reading and parsing run on one core while feature
 * building runs on the other.
 *
 * Flow control: the sender blocks (Atomics.wait: this thread has nothing else to do) while
 * more than MAX_BATCHES_IN_FLIGHT batches are unread, so a fast reader never piles sessions
 * up in the other thread's queue.
 *
 * @since 0.1.0
 */
import { IngestFailure, ingestStream } from "../ingest/ingest.ts"
import type { IngestReply, IngestRequest } from "./ingestProtocol.ts"
import { BATCH_SESSIONS, CONSUMED, MAX_BATCHES_IN_FLIGHT } from "./ingestProtocol.ts"

declare const self: Worker

const post = (message: IngestReply): void => self.postMessage(message)

self.onmessage = (event: MessageEvent<IngestRequest>) => {
  const { paths, options, progress, credit } = event.data
  const consumed = new Int32Array(credit)
  let sent = 0
  let batch: Array<unknown> = []
  const flush = (): void => {
    if (batch.length === 0) return
    // Wait until the reader has room (it counts batches it has finished with).
    while (sent - Atomics.load(consumed, CONSUMED) >= MAX_BATCHES_IN_FLIGHT) {
      Atomics.wait(consumed, CONSUMED, Atomics.load(consumed, CONSUMED), 1000)
    }
    post({ type: "sessions", json: JSON.stringify(batch) })
    sent++
    batch = []
  }
  let lastProgress = 0
  void ingestStream(
    paths,
    {
      ...options,
      onProgress: progress
        ? (bytes, events) => {
          const now = Date.now()
          if (now - lastProgress < 100) return
          lastProgress = now
          post({ type: "progress", bytes, events })
        }
        : undefined
    },
    (session) => {
      batch.push(session)
      if (batch.length >= BATCH_SESSIONS) flush()
    }
  ).then(
    (outcome) => {
      if (!outcome.streamed) return post({ type: "stopped", reason: outcome.reason })
      flush()
      post({ type: "done", summary: outcome.summary })
    },
    (error: unknown) =>
      post(
        error instanceof IngestFailure
          ? { type: "failed", message: error.message, path: error.path }
          : { type: "crashed", message: String(error) }
      )
  )
}

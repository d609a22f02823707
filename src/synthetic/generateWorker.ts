/**
 * Worker thread of `writeDataset`: renders its share of the blocks and posts them to the
 * main thread (transferring the buffers, no copy). It holds at most CREDITS blocks that the
 * main thread has not written yet; the main thread returns a credit per block written.
 */
import { parentPort, workerData } from "node:worker_threads"
import type { GenerateSessionsOptions } from "./generateSessions.ts"
import { renderBlocks } from "./renderBlocks.ts"

export interface WorkerInput {
  readonly options: GenerateSessionsOptions
  readonly worker: number
  readonly workers: number
  readonly credits: number
}

export type WorkerMessage =
  | { readonly kind: "block"; readonly index: number; readonly sessions: number; readonly events: number; readonly cowrie: Uint8Array; readonly labels: Uint8Array }
  | { readonly kind: "done" }

if (parentPort === null) throw new Error("generateWorker.ts runs only as a worker thread.")
const port = parentPort
const input = workerData as WorkerInput

let credits = input.credits
let wake: (() => void) | null = null
port.on("message", (n: number) => {
  credits += n
  const w = wake
  wake = null
  w?.()
})

await renderBlocks(input.options, input.worker, input.workers, async (block) => {
  while (credits === 0) await new Promise<void>((resolve) => (wake = resolve))
  credits--
  const message: WorkerMessage = { kind: "block", ...block }
  port.postMessage(message, [block.cowrie.buffer as ArrayBuffer, block.labels.buffer as ArrayBuffer])
})
// The main thread terminates this worker once it has everything.
port.postMessage({ kind: "done" } satisfies WorkerMessage)

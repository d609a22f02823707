/**
 * Writes a synthetic data set: `cowrie.json` (or `cowrie.json.gz`) with every session's
 * cowrie lines, and `labels.tsv` with the truth per session
 * (`session_id  family  variant  wave  coordinated`, coordinated as 1/0).
 *
 * Streaming end to end: sessions are rendered in blocks of 1024 (about 4 MB), on worker
 * threads for large runs, and written in order while the next blocks are rendered; only a
 * few blocks per worker are ever held, so 10M sessions need no more memory than 100k. With
 * gzip each block is one gzip member (a multi-member file, as `cat a.gz b.gz` makes; gunzip,
 * zcat and the engine read it as one stream), compressed on the thread pool. The bytes
 * depend only on the options, never on the number of workers or on timing.
 * Effect-free; the CLI wraps it.
 */
import { mkdirSync } from "node:fs"
import { type FileHandle, open } from "node:fs/promises"
import { availableParallelism } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { Worker } from "node:worker_threads"
import { gzip as gzipCallback, type ZlibOptions } from "node:zlib"
import { generateSessions } from "./generateSessions.ts"
import type { WorkerInput, WorkerMessage } from "./generateWorker.ts"
import { blockCount, type RenderedBlock, renderBlocks, sessionOptions } from "./renderBlocks.ts"

export interface GenerateOptions {
  /** Number of sessions (exactly). */
  readonly sessions: number
  /** Seed of every random choice (used modulo 2^32); same seed, same bytes. */
  readonly seed: number
  /** Output directory (created when missing). */
  readonly outDir: string
  /** Write cowrie.json.gz instead of cowrie.json. */
  readonly gzip?: boolean
  /** First possible session start, epoch ms (default 2024-04-01T00:00:00Z). */
  readonly startMs?: number
  /** Observation window in days (default 45). */
  readonly days?: number
  /**
   * Rendering threads; does not change the output. Default (`defaultWorkers`): 1 (render on
   * the calling thread) for runs under 100k sessions or machines with fewer than 4 CPUs,
   * else one per CPU but one, at most 8.
   */
  readonly workers?: number
  /** Called after every block (1024 sessions) with the sessions and events written so far. */
  readonly onProgress?: (sessions: number, events: number) => void
}

export interface GenerateSummary {
  readonly sessions: number
  readonly events: number
  /** Bytes of the cowrie file on disk (compressed size with gzip). */
  readonly bytes: number
  /** Bytes of the cowrie lines before compression. */
  readonly rawBytes: number
  readonly cowriePath: string
  readonly labelsPath: string
  readonly workers: number
}

export const LABELS_HEADER = "session_id\tfamily\tvariant\twave\tcoordinated"

const GZIP_OPTIONS: ZlibOptions = { level: 6, memLevel: 9 }
/** Blocks being compressed at once. */
const GZIP_IN_FLIGHT = 3
/** Blocks a worker may render ahead of the writer. */
const WORKER_CREDITS = 3
const PARALLEL_FROM = 100_000
const MAX_WORKERS = 8

/** The rendering threads `writeDataset` uses when `workers` is not given. */
export const defaultWorkers = (sessions: number): number => {
  const cpus = availableParallelism()
  return sessions < PARALLEL_FROM || cpus < 4 ? 1 : Math.min(cpus - 1, MAX_WORKERS)
}

const gzipAsync = promisify(gzipCallback) as (data: Uint8Array, options: ZlibOptions) => Promise<Buffer>

interface Sink {
  write(chunk: Uint8Array): Promise<void>
  close(): Promise<void>
}

/** A file written in order, one write in flight while the caller prepares the next. */
class FileSink implements Sink {
  private inflight: Promise<unknown> = Promise.resolve()
  bytes = 0

  private constructor(private readonly handle: FileHandle) {}

  static async create(path: string): Promise<FileSink> {
    return new FileSink(await open(path, "w"))
  }

  async write(chunk: Uint8Array): Promise<void> {
    await this.inflight
    this.bytes += chunk.length
    this.inflight = this.handle.write(chunk)
  }

  async close(): Promise<void> {
    try {
      await this.inflight
    } finally {
      await this.handle.close()
    }
  }
}

/** Gzips chunks on the thread pool, a few at once, and writes the members in order. */
class GzipSink implements Sink {
  private readonly queue: Array<Promise<Buffer>> = []

  constructor(private readonly file: FileSink) {}

  async write(chunk: Uint8Array): Promise<void> {
    const compressed = gzipAsync(chunk, GZIP_OPTIONS)
    compressed.catch(() => {}) // awaited in order below; never an unhandled rejection
    this.queue.push(compressed)
    while (this.queue.length > GZIP_IN_FLIGHT) await this.file.write(await this.queue.shift()!)
  }

  async close(): Promise<void> {
    try {
      while (this.queue.length > 0) await this.file.write(await this.queue.shift()!)
    } finally {
      await this.file.close()
    }
  }
}

/**
 * Renders the blocks on `count` worker threads and hands them to `write` in block order,
 * returning a credit to a worker for each of its blocks written.
 */
const renderInWorkers = async (
  options: GenerateOptions,
  count: number,
  write: (block: RenderedBlock) => Promise<void>
): Promise<void> => {
  const total = blockCount(options.sessions)
  const arrived = new Map<number, RenderedBlock>()
  let waiting: { index: number; resolve: () => void } | null = null
  let failure: Error | null = null
  let fail: (error: Error) => void = () => {}
  const failed = new Promise<never>((_, reject) => {
    fail = (error) => {
      failure ??= error
      reject(failure)
    }
  })
  failed.catch(() => {})
  const workers: Array<Worker> = []
  const done: Array<boolean> = new Array<boolean>(count).fill(false)
  let finished = false
  try {
    for (let k = 0; k < count; k++) {
      const input: WorkerInput = { options: sessionOptions(options), worker: k, workers: count, credits: WORKER_CREDITS }
      const worker = new Worker(new URL("./generateWorker.ts", import.meta.url), { workerData: input })
      worker.on("message", (m: WorkerMessage) => {
        if (m.kind === "done") {
          done[k] = true
          return
        }
        // Transferred buffers arrive as plain Uint8Arrays: view them as Buffers again (no copy).
        const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength)
        arrived.set(m.index, { ...m, cowrie: asBuffer(m.cowrie), labels: asBuffer(m.labels) })
        if (waiting !== null && waiting.index === m.index) {
          const w = waiting
          waiting = null
          w.resolve()
        }
      })
      worker.on("error", (error) => fail(error instanceof Error ? error : new Error(String(error))))
      worker.on("exit", (code) => {
        if (!finished && !done[k]) fail(new Error(`a generator worker stopped early (exit code ${code})`))
      })
      workers.push(worker)
    }
    for (let index = 0; index < total; index++) {
      if (!arrived.has(index)) {
        await Promise.race([new Promise<void>((resolve) => (waiting = { index, resolve })), failed])
      }
      const block = arrived.get(index)!
      arrived.delete(index)
      await Promise.race([write(block), failed])
      workers[index % count]!.postMessage(1)
    }
  } finally {
    finished = true
    await Promise.all(workers.map((w) => w.terminate()))
  }
}

/** Generates `sessions` sessions into `outDir`. Rejects on I/O errors (e.g. disk full). */
export const writeDataset = async (options: GenerateOptions): Promise<GenerateSummary> => {
  // Validates the options (RangeError) before anything touches the disk.
  generateSessions(options)
  const workerCount = Math.max(1, Math.min(MAX_WORKERS, Math.floor(options.workers ?? defaultWorkers(options.sessions))))
  mkdirSync(options.outDir, { recursive: true })
  const cowriePath = join(options.outDir, options.gzip === true ? "cowrie.json.gz" : "cowrie.json")
  const labelsPath = join(options.outDir, "labels.tsv")
  const cowrieFile = await FileSink.create(cowriePath)
  let labelsFile: FileSink
  try {
    labelsFile = await FileSink.create(labelsPath)
  } catch (error) {
    await cowrieFile.close()
    throw error
  }
  const cowrieSink: Sink = options.gzip === true ? new GzipSink(cowrieFile) : cowrieFile

  let rawBytes = 0
  let sessions = 0
  let events = 0
  const write = async (block: RenderedBlock): Promise<void> => {
    rawBytes += block.cowrie.length
    sessions += block.sessions
    events += block.events
    await cowrieSink.write(block.cowrie)
    await labelsFile.write(block.labels)
    options.onProgress?.(sessions, events)
  }

  let failure: unknown = undefined
  try {
    await labelsFile.write(Buffer.from(`${LABELS_HEADER}\n`))
    if (workerCount === 1) await renderBlocks(sessionOptions(options), 0, 1, write)
    else await renderInWorkers(options, workerCount, write)
  } catch (error) {
    failure = error
  }
  // Close both files even after a failed write; the first error is the one reported.
  const closed = await Promise.allSettled([cowrieSink.close(), labelsFile.close()])
  if (failure !== undefined) throw failure
  for (const c of closed) if (c.status === "rejected") throw c.reason
  if (sessions === 0) options.onProgress?.(0, 0)
  return { sessions, events, bytes: cowrieFile.bytes, rawBytes, cowriePath, labelsPath, workers: workerCount }
}

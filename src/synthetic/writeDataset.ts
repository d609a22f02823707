/**
 * Writes a synthetic data set: `cowrie.json` (or `cowrie.json.gz`) with every session's
 * cowrie lines, and `labels.tsv` with the truth per session
 * (`session_id  family  variant  wave  coordinated`, coordinated as 1/0).
 *
 * Streaming end to end: sessions come from the generator one at a time and are encoded
 * straight into 4 MiB buffers; a full buffer is written (or gzipped on the thread pool)
 * while the next one fills, with at most a few buffers in flight, so 10M sessions need no
 * more memory than 10k. With gzip, each buffer is its own gzip member (a multi-member file,
 * as `cat a.gz b.gz` makes; gunzip, zcat and the engine read it as one stream). The bytes
 * depend only on the options, never on timing. Effect-free; the CLI wraps it.
 */
import { mkdirSync } from "node:fs"
import { type FileHandle, open } from "node:fs/promises"
import { join } from "node:path"
import { promisify } from "node:util"
import { gzip as gzipCallback, type ZlibOptions } from "node:zlib"
import { ByteSink } from "./ByteSink.ts"
import { writeCowrie } from "./cowrieWriter.ts"
import { generateSessions } from "./generateSessions.ts"

export interface GenerateOptions {
  /** Number of sessions (exactly). */
  readonly sessions: number
  /** Seed of every random choice; same seed, same bytes. */
  readonly seed: number
  /** Output directory (created when missing). */
  readonly outDir: string
  /** Write cowrie.json.gz instead of cowrie.json. */
  readonly gzip?: boolean
  /** First possible session start, epoch ms (default 2024-04-01T00:00:00Z). */
  readonly startMs?: number
  /** Observation window in days (default 45). */
  readonly days?: number
  /** Called every 50k sessions (and at the end) with the sessions and events written so far. */
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
}

export const LABELS_HEADER = "session_id\tfamily\tvariant\twave\tcoordinated"

const CHUNK_BYTES = 4 << 20
/** A buffer is handed on once less than this is left (a session is a few KiB). */
const CHUNK_SLACK = 256 << 10
/** Buffers being compressed at once. */
const GZIP_IN_FLIGHT = 3
const GZIP_OPTIONS: ZlibOptions = { level: 6, memLevel: 9 }

const gzipAsync = promisify(gzipCallback) as (data: Buffer, options: ZlibOptions) => Promise<Buffer>

interface Sink {
  write(chunk: Buffer): Promise<void>
  close(): Promise<void>
}

/** A file written in order, one write in flight while the caller fills the next buffer. */
class FileSink implements Sink {
  private inflight: Promise<unknown> = Promise.resolve()
  bytes = 0

  private constructor(private readonly handle: FileHandle) {}

  static async create(path: string): Promise<FileSink> {
    return new FileSink(await open(path, "w"))
  }

  async write(chunk: Buffer): Promise<void> {
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

/** Gzips buffers on the thread pool, a few at once, and writes the members in order. */
class GzipSink implements Sink {
  private readonly queue: Array<Promise<Buffer>> = []

  constructor(private readonly file: FileSink) {}

  async write(chunk: Buffer): Promise<void> {
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

/** Generates `sessions` sessions into `outDir`. Rejects on I/O errors (e.g. disk full). */
export const writeDataset = async (options: GenerateOptions): Promise<GenerateSummary> => {
  // Validates the options (RangeError) and plans the world before anything touches the disk.
  const sessionsIterator = generateSessions(options)
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
  const cowrieOut = new ByteSink(CHUNK_BYTES)
  const labelsOut = new ByteSink(CHUNK_BYTES)
  labelsOut.str(`${LABELS_HEADER}\n`)

  let rawBytes = 0
  let sessions = 0
  let events = 0
  let failure: unknown = undefined
  try {
    for (const { session, label } of sessionsIterator) {
      events += writeCowrie(session, cowrieOut)
      if (cowrieOut.length > CHUNK_BYTES - CHUNK_SLACK) {
        rawBytes += cowrieOut.length
        await cowrieSink.write(cowrieOut.take(CHUNK_BYTES))
      }
      labelsOut.str(`${session.id}\t${label.family}\t${label.variant}\t${label.wave}\t${label.coordinated ? 1 : 0}\n`)
      if (labelsOut.length > CHUNK_BYTES - CHUNK_SLACK) await labelsFile.write(labelsOut.take(CHUNK_BYTES))
      sessions++
      if (options.onProgress !== undefined && sessions % 50_000 === 0) options.onProgress(sessions, events)
    }
    rawBytes += cowrieOut.length
    if (cowrieOut.length > 0) await cowrieSink.write(cowrieOut.take(0))
    if (labelsOut.length > 0) await labelsFile.write(labelsOut.take(0))
  } catch (error) {
    failure = error
  }
  // Close both files even after a failed write; the first error is the one reported.
  const closed = await Promise.allSettled([cowrieSink.close(), labelsFile.close()])
  if (failure !== undefined) throw failure
  for (const c of closed) if (c.status === "rejected") throw c.reason
  options.onProgress?.(sessions, events)
  return { sessions, events, bytes: cowrieFile.bytes, rawBytes, cowriePath, labelsPath }
}

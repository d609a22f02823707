/**
 * Writes a synthetic data set: `cowrie.json` (or `cowrie.json.gz`) with every session's
 * cowrie lines, and `labels.tsv` with the truth per session
 * (`session_id  family  variant  wave  coordinated`, coordinated as 1/0).
 *
 * Streaming end to end: sessions come from the generator one at a time and their lines are
 * encoded straight into 4 MiB buffers; a full buffer is written (or gzipped on the thread
 * pool) while the next one fills, with at most a few buffers in flight, so 10M sessions need
 * no more memory than 10k. With gzip, each buffer is its own gzip member (a multi-member
 * file, as `cat a.gz b.gz` makes; gunzip, zcat and the engine read it as one stream).
 * Effect-free; the CLI wraps it.
 */
import { mkdirSync } from "node:fs"
import { type FileHandle, open } from "node:fs/promises"
import { join } from "node:path"
import { promisify } from "node:util"
import { gzip as gzipCallback, type ZlibOptions } from "node:zlib"
import { appendCowrieLines } from "./cowrieWriter.ts"
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
  /** Called about every 50k sessions with the sessions and events written so far. */
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
/** Flush when less than this is left (a line rarely exceeds a few KiB). */
const CHUNK_SLACK = 256 << 10
/** Buffers being compressed at once. */
const GZIP_IN_FLIGHT = 3
const GZIP_OPTIONS: ZlibOptions = { level: 6, memLevel: 9 }

const gzipAsync = promisify(gzipCallback) as (data: Buffer, options: ZlibOptions) => Promise<Buffer>

/** A file written in order, one write in flight while the caller fills the next buffer. */
class FileSink {
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

/** Gzips buffers on the thread pool, several at once, and writes the members in order. */
class GzipSink {
  private readonly queue: Array<Promise<Buffer>> = []

  constructor(private readonly file: FileSink) {}

  async write(chunk: Buffer): Promise<void> {
    const compressed = gzipAsync(chunk, GZIP_OPTIONS)
    compressed.catch(() => {})
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

interface Sink {
  write(chunk: Buffer): Promise<void>
  close(): Promise<void>
}

/** Lines encoded straight into a fixed buffer; full buffers go to the sink. */
class LineBuffer {
  private buf = Buffer.allocUnsafe(CHUNK_BYTES)
  private used = 0
  /** Uncompressed bytes handed on so far. */
  bytes = 0

  constructor(private readonly sink: Sink) {}

  /** Appends one line and its newline; true when the buffer is nearly full. */
  add(line: string): boolean {
    // Worst case three UTF-8 bytes per UTF-16 unit, plus the newline.
    if (this.used + line.length * 3 + 1 > this.buf.length) {
      // Only a line longer than the slack gets here: give it a buffer of its own size.
      const bigger = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, this.used + line.length * 3 + 1))
      this.buf.copy(bigger, 0, 0, this.used)
      this.buf = bigger
    }
    this.used += this.buf.write(line, this.used)
    this.buf[this.used++] = 10
    return this.used > CHUNK_BYTES - CHUNK_SLACK
  }

  async flush(): Promise<void> {
    if (this.used === 0) return
    const full = this.buf.subarray(0, this.used)
    this.bytes += this.used
    this.buf = Buffer.allocUnsafe(CHUNK_BYTES)
    this.used = 0
    await this.sink.write(full)
  }
}

/** Generates `sessions` sessions into `outDir`. Rejects on I/O errors (e.g. disk full). */
export const writeDataset = async (options: GenerateOptions): Promise<GenerateSummary> => {
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
  const cowrieOut = new LineBuffer(cowrieSink)
  const labelsOut = new LineBuffer(labelsFile)
  labelsOut.add(LABELS_HEADER)

  let sessions = 0
  let events = 0
  try {
    const lines: Array<string> = []
    for (const { session, label } of generateSessions(options)) {
      lines.length = 0
      events += appendCowrieLines(session, lines)
      let full = false
      for (const line of lines) full = cowrieOut.add(line) || full
      if (full) await cowrieOut.flush()
      if (labelsOut.add(`${session.id}\t${label.family}\t${label.variant}\t${label.wave}\t${label.coordinated ? 1 : 0}`)) {
        await labelsOut.flush()
      }
      sessions++
      if (options.onProgress !== undefined && sessions % 50_000 === 0) options.onProgress(sessions, events)
    }
    await cowrieOut.flush()
    await labelsOut.flush()
  } finally {
    // Close both files even when a write failed; the first error is the one reported.
    const closed = await Promise.allSettled([cowrieSink.close(), labelsFile.close()])
    for (const c of closed) if (c.status === "rejected") throw c.reason
  }
  options.onProgress?.(sessions, events)
  return { sessions, events, bytes: cowrieFile.bytes, rawBytes: cowrieOut.bytes, cowriePath, labelsPath }
}

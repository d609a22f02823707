/**
 * Streams the lines of one input (a file or stdin), gunzipping when the bytes start with the
 * gzip magic, while hashing and counting the raw bytes for the run's input digest.
 *
 * Lines are handed to a synchronous callback in batches of one decoded chunk: no per-line
 * promise, no per-line allocation beyond the string itself.
 */
import { createHash, type Hash } from "node:crypto"
import { createReadStream } from "node:fs"
import { Readable } from "node:stream"
import { createGunzip } from "node:zlib"

/** Lines longer than this are rejected without being parsed (and without being buffered). */
export const MAX_LINE_CHARS = 1024 * 1024

const CHUNK_BYTES = 1 << 20

export interface ReadStats {
  /** Raw bytes read from the source (compressed size for .gz). */
  bytes: number
  lines: number
  gzip: boolean
  sha256: string
  /** Set when a gzip stream ended early or was corrupt; the lines before it were delivered. */
  truncated: boolean
}

export interface LineSink {
  /** Called for every line (without its line terminator), numbered from 1. */
  readonly line: (text: string, lineNo: number) => void
  /** Called for a line that exceeded MAX_LINE_CHARS; its text is not kept. */
  readonly overlong: (lineNo: number, prefix: string) => void
  /** Called as raw bytes are read, for progress reporting. */
  readonly progress?: (rawBytes: number) => void
}

/** The bytes of a source: a path, or "-" for stdin. */
export const openRaw = (path: string): Readable =>
  path === "-" ? (process.stdin as unknown as Readable) : createReadStream(path, { highWaterMark: CHUNK_BYTES })

/**
 * Yields the raw chunks of a stream while hashing them, so the digest covers exactly the
 * bytes the parser saw.
 */
async function* hashed(raw: Readable, hash: Hash, stats: ReadStats, sink: LineSink): AsyncGenerator<Uint8Array> {
  for await (const chunk of raw as AsyncIterable<Uint8Array>) {
    hash.update(chunk)
    stats.bytes += chunk.length
    sink.progress?.(stats.bytes)
    yield chunk
  }
}

/** Reads one source line by line. Never throws for bad content; I/O errors propagate. */
/**
 * The first line may be longer than MAX_LINE_CHARS, up to this: a whole JSON document on one
 * line (a compact `_search` response or request body) is read as a document, not rejected.
 */
export const MAX_FIRST_LINE_CHARS = 512 * 1024 * 1024

export const readLines = async (raw: Readable, sink: LineSink): Promise<ReadStats> => {
  const hash = createHash("sha256")
  const stats: ReadStats = { bytes: 0, lines: 0, gzip: false, sha256: "", truncated: false }
  const iterator = hashed(raw, hash, stats, sink)[Symbol.asyncIterator]()
  const first = await iterator.next()
  const firstChunk = first.done === true ? undefined : first.value
  stats.gzip = firstChunk !== undefined && firstChunk.length >= 2 && firstChunk[0] === 0x1f && firstChunk[1] === 0x8b

  async function* replay(): AsyncGenerator<Uint8Array> {
    if (firstChunk !== undefined) yield firstChunk
    while (true) {
      const next = await iterator.next()
      if (next.done === true) return
      yield next.value
    }
  }

  let decoded: AsyncIterable<Uint8Array> = replay()
  if (stats.gzip) {
    decoded = Readable.from(replay()).pipe(createGunzip({ chunkSize: CHUNK_BYTES }))
  }

  const decoder = new TextDecoder("utf-8")
  let carry = ""
  let skippingOverlong = false
  let lineNo = 0

  const emit = (text: string): void => {
    lineNo++
    const line = text.length > 0 && text.charCodeAt(text.length - 1) === 13 ? text.slice(0, -1) : text
    if (line.length > (lineNo === 1 ? MAX_FIRST_LINE_CHARS : MAX_LINE_CHARS)) sink.overlong(lineNo, line.slice(0, 120))
    else sink.line(line, lineNo)
  }

  const consume = (text: string): void => {
    let start = 0
    let nl = text.indexOf("\n")
    if (skippingOverlong) {
      if (nl < 0) return
      skippingOverlong = false
      start = nl + 1
      nl = text.indexOf("\n", start)
    } else if (carry.length > 0) {
      if (nl < 0) {
        carry += text
        if (carry.length > (lineNo === 0 ? MAX_FIRST_LINE_CHARS : MAX_LINE_CHARS)) {
          lineNo++
          sink.overlong(lineNo, carry.slice(0, 120))
          carry = ""
          skippingOverlong = true
        }
        return
      }
      emit(carry + text.slice(0, nl))
      carry = ""
      start = nl + 1
      nl = text.indexOf("\n", start)
    }
    while (nl >= 0) {
      emit(text.slice(start, nl))
      start = nl + 1
      nl = text.indexOf("\n", start)
    }
    if (start < text.length) {
      carry = text.slice(start)
      if (carry.length > (lineNo === 0 ? MAX_FIRST_LINE_CHARS : MAX_LINE_CHARS)) {
        lineNo++
        sink.overlong(lineNo, carry.slice(0, 120))
        carry = ""
        skippingOverlong = true
      }
    }
  }

  try {
    for await (const chunk of decoded) consume(decoder.decode(chunk, { stream: true }))
  } catch (error) {
    // A truncated or corrupt gzip member: keep every line decoded so far.
    if (!stats.gzip || !isZlibError(error)) throw error
    stats.truncated = true
  }
  consume(decoder.decode())
  if (carry.length > 0 && !skippingOverlong) emit(carry)
  stats.lines = lineNo
  stats.sha256 = hash.digest("hex")
  return stats
}

const isZlibError = (error: unknown): boolean => {
  if (error === null || typeof error !== "object") return false
  const code = (error as { code?: unknown }).code
  const errno = (error as { errno?: unknown }).errno
  return (typeof code === "string" && code.startsWith("Z_")) || typeof errno === "number" ||
    /unexpected end of file|incorrect header|invalid/i.test(String((error as { message?: unknown }).message))
}

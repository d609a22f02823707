/**
 * Streams the lines of one input (a file or stdin), gunzipping when the bytes start with the
 * gzip magic, while hashing and counting the raw bytes for the run's input digest.
 *
 * Lines are split on bytes, not on decoded text: a line that fits in one chunk is handed to the
 * sink as a byte range of that chunk (no copy, no string) when the sink takes bytes, and is
 * decoded only otherwise. Memory is bounded whatever the input: a line over the limit is never
 * buffered (its bytes are dropped up to its newline), and a gzip stream that inflates to one
 * endless line at an extreme ratio is a gzip bomb: reading stops there.
 */
import { createHash } from "node:crypto"
import { createReadStream } from "node:fs"
import { type FileHandle, open } from "node:fs/promises"
import { Readable } from "node:stream"
import { createGunzip, type Gunzip } from "node:zlib"

/**
 * Lines longer than this many bytes (UTF-8; 1 MiB) are rejected without being parsed and
 * without being buffered.
 */
export const MAX_LINE_CHARS = 1024 * 1024

/**
 * The first line may be longer than MAX_LINE_CHARS, up to this, when it starts with `{` or `[`:
 * a whole JSON document on one line (a compact `_search` response or request body) is read as
 * a document, not rejected.
 */
export const MAX_FIRST_LINE_CHARS = 512 * 1024 * 1024

/**
 * A gzip bomb: one line that has inflated past this many bytes at more than BOMB_RATIO bytes
 * per compressed byte. No log line is that long (lines over 1 MiB are rejected anyway), and no
 * text compresses that well unless it is built to.
 */
export const BOMB_LINE_BYTES = 32 * 1024 * 1024
export const BOMB_RATIO = 100

const CHUNK_BYTES = 1 << 20

export interface GzipBomb {
  /** The line where the bomb starts. */
  readonly line: number
  /** Bytes of that line inflated before reading stopped, and the ratio they inflated at. */
  readonly inflated: number
  readonly ratio: number
}

export interface ReadStats {
  /** Raw bytes read from the source (compressed size for .gz). */
  bytes: number
  lines: number
  gzip: boolean
  sha256: string
  /** Set when a gzip stream ended early or was corrupt; the lines before it were delivered. */
  truncated: boolean
  /** Set when reading stopped at a gzip bomb; the lines before it were delivered. */
  bomb: GzipBomb | undefined
}

export interface LineSink {
  /** Called for every line (without its line terminator), numbered from 1. */
  readonly line: (text: string, lineNo: number) => void
  /**
   * Optional fast path, tried first: the line's UTF-8 bytes [start, end) (valid only during
   * the call). Returning true means the line was handled and `line` is not called.
   */
  readonly bytes?: ((buf: Uint8Array, start: number, end: number, lineNo: number) => boolean) | undefined
  /** Called for a line that exceeded the limit, once it has ended; its text is not kept. */
  readonly overlong: (lineNo: number, prefix: string) => void
  /** Called as raw bytes are read, for progress reporting. */
  readonly progress?: (rawBytes: number) => void
}

/** The bytes of a source: a path, or "-" for stdin. */
export const openRaw = (path: string): Readable =>
  path === "-" ? (process.stdin as unknown as Readable) : createReadStream(path, { highWaterMark: CHUNK_BYTES })

/** An incremental SHA-256 of the raw input bytes. */
interface InputHash {
  update(bytes: Uint8Array): void
  digestHex(): string
}

/**
 * Bun's own hasher where it runs (about twice node:crypto's speed under Bun: 1.5 against
 * 0.7 GB/s measured on the 4.3 GB generated set, where hashing was a sixth of the ingest
 * thread's time); node:crypto elsewhere. Same digest either way.
 */
const inputHash = (): InputHash => {
  const BunHasher = (globalThis as { Bun?: { CryptoHasher: new (algorithm: "sha256") => { update(b: Uint8Array): unknown; digest(encoding: "hex"): string } } }).Bun?.CryptoHasher
  if (BunHasher !== undefined) {
    const h = new BunHasher("sha256")
    return { update: (bytes) => void h.update(bytes), digestHex: () => h.digest("hex") }
  }
  const h = createHash("sha256")
  return { update: (bytes) => void h.update(bytes), digestHex: () => h.digest("hex") }
}

/** What a file holds, as far as its size tells: the candidates contentSha256 then compares. */
export interface ContentSize {
  /** The content's length modulo 2^32: a gzip file's trailer (its last member's), a plain file's size. */
  readonly key: number
  readonly gzip: boolean
  /** The file's own size in bytes. */
  readonly bytes: number
  /** Its first bytes as stored (as many as were asked for, fewer in a shorter file). */
  readonly head: Uint8Array
}

/** True when the bytes start with the gzip magic. */
const startsGzip = (bytes: Uint8Array | undefined): boolean => bytes !== undefined && bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b

/**
 * The file's content size key and its first `headBytes` bytes (see ContentSize), from one
 * opening of the file; undefined for an empty or unreadable file.
 */
export const contentSize = async (path: string, headBytes: number): Promise<ContentSize | undefined> => {
  let file: FileHandle | undefined
  try {
    file = await open(path, "r")
    const bytes = (await file.stat()).size
    if (bytes === 0) return undefined
    const buffer = new Uint8Array(Math.max(2, headBytes))
    const head = buffer.subarray(0, (await file.read(buffer, 0, buffer.length, 0)).bytesRead)
    const gzip = bytes >= 18 && startsGzip(head)
    if (!gzip) return { key: bytes % 2 ** 32, gzip, bytes, head }
    const tail = Buffer.alloc(4)
    await file.read(tail, 0, 4, bytes - 4)
    return { key: tail.readUInt32LE(0), gzip, bytes, head }
  } catch {
    return undefined
  } finally {
    await file?.close().catch(() => undefined)
  }
}

/** The sha256 of a plain file's first `length` bytes; undefined when it cannot be read. */
export const prefixSha256 = async (path: string, length: number): Promise<string | undefined> => {
  const hash = inputHash()
  try {
    if (length > 0) for await (const chunk of createReadStream(path, { start: 0, end: length - 1 }) as AsyncIterable<Uint8Array>) hash.update(chunk)
    return hash.digestHex()
  } catch {
    return undefined
  }
}

/**
 * The sha256 of a file's content, gunzipped when it is gzip; undefined once the content passes
 * `limit` bytes (a file that inflates further cannot be the copy it is compared with, and a
 * gzip bomb is not inflated here) or when the file cannot be read.
 */
export const contentSha256 = async (path: string, gzip: boolean, limit: number): Promise<string | undefined> => {
  const hash = inputHash()
  const raw = createReadStream(path)
  const stream: Readable = gzip ? raw.pipe(createGunzip()) : raw
  let total = 0
  try {
    for await (const chunk of stream as AsyncIterable<Uint8Array>) {
      total += chunk.length
      if (total > limit) return undefined
      hash.update(chunk)
    }
    return hash.digestHex()
  } catch {
    return undefined
  } finally {
    raw.destroy()
    if (stream !== raw) stream.destroy()
  }
}

/**
 * Yields the raw chunks of a stream while hashing them, so the digest covers exactly the
 * bytes the parser saw.
 */
async function* hashed(raw: Readable, hash: InputHash, stats: ReadStats, sink: LineSink): AsyncGenerator<Uint8Array> {
  for await (const chunk of raw as AsyncIterable<Uint8Array>) {
    hash.update(chunk)
    stats.bytes += chunk.length
    sink.progress?.(stats.bytes)
    yield chunk
  }
}

const utf8 = new TextDecoder("utf-8")

/** The first 120 characters of bytes [start, end): the excerpt of a rejected line. */
export const lineExcerpt = (buf: Uint8Array, start: number, end: number): string =>
  utf8.decode(buf.subarray(start, Math.min(end, start + 480))).slice(0, 120)

/** True when the first non-blank byte of [start, end) opens a JSON object or array. */
const opensDocument = (buf: Uint8Array, start: number, end: number): boolean => {
  for (let i = start; i < end; i++) {
    const b = buf[i]!
    if (b === 32 || b === 9 || b === 13) continue
    return b === 123 || b === 91
  }
  return false
}

const isBlank = (buf: Uint8Array, start: number, end: number): boolean => {
  for (let i = start; i < end; i++) {
    const b = buf[i]!
    if (b !== 32 && b !== 9 && b !== 13 && b !== 11 && b !== 12) return false
  }
  return true
}

/** Reads one source line by line (blank and whitespace-only lines are counted, not delivered). Never throws for bad content; I/O errors propagate. */
export const readLines = async (raw: Readable, sink: LineSink): Promise<ReadStats> => {
  const hash = inputHash()
  const stats: ReadStats = { bytes: 0, lines: 0, gzip: false, sha256: "", truncated: false, bomb: undefined }
  const iterator = hashed(raw, hash, stats, sink)[Symbol.asyncIterator]()
  const first = await iterator.next()
  const firstChunk = first.done === true ? undefined : first.value
  stats.gzip = startsGzip(firstChunk)

  async function* replay(): AsyncGenerator<Uint8Array> {
    if (firstChunk !== undefined) yield firstChunk
    while (true) {
      const next = await iterator.next()
      if (next.done === true) return
      yield next.value
    }
  }

  let gunzip: Gunzip | undefined
  let decoded: AsyncIterable<Uint8Array> = replay()
  if (stats.gzip) {
    gunzip = createGunzip({ chunkSize: CHUNK_BYTES })
    decoded = Readable.from(replay()).pipe(gunzip)
  }

  const bytesSink = sink.bytes
  let lineNo = 0
  // The start of a line that spans chunks.
  let carry = new Uint8Array(64 * 1024)
  let carryLen = 0
  // Inside an over-long line: its bytes are counted and dropped up to its newline.
  let skipping = false
  let skippedPrefix = ""
  // Bytes of the current line so far (kept or dropped), and the compressed bytes consumed when it began.
  let lineBytes = 0
  let lineRawStart = 0
  let atStart = true

  const emit = (buf: Uint8Array, start: number, end: number): void => {
    lineNo++
    if (end > start && buf[end - 1] === 13) end--
    // Blank lines carry nothing and are counted, never delivered: a gzip of a billion empty
    // lines must not fill any buffer of the sink (lines kept while the format is sniffed).
    if (end === start || (buf[start]! <= 32 && isBlank(buf, start, end))) return
    if (bytesSink !== undefined && bytesSink(buf, start, end, lineNo)) return
    sink.line(utf8.decode(buf.subarray(start, end)), lineNo)
  }

  /** The limit of the line now being read, which starts with the bytes [start, end). */
  const limitFor = (buf: Uint8Array, start: number, end: number): number =>
    lineNo === 0 && opensDocument(buf, start, end) ? MAX_FIRST_LINE_CHARS : MAX_LINE_CHARS

  const append = (buf: Uint8Array, start: number, end: number): void => {
    const need = carryLen + (end - start)
    if (need > carry.length) {
      let size = carry.length * 2
      while (size < need) size *= 2
      const grown = new Uint8Array(size)
      grown.set(carry.subarray(0, carryLen))
      carry = grown
    }
    carry.set(buf.subarray(start, end), carryLen)
    carryLen = need
  }

  /**
   * Compressed bytes the inflater has consumed (zlib's bytesWritten), or, where a runtime lacks
   * it, the compressed bytes read so far (an upper bound: the ratio is then underestimated).
   */
  const consumed = (): number => {
    const written = gunzip?.bytesWritten
    return typeof written === "number" && Number.isFinite(written) ? written : stats.bytes
  }

  /** True when the current line, still open at the end of a chunk, is a gzip bomb. */
  const isBomb = (): boolean => {
    if (gunzip === undefined || lineBytes <= BOMB_LINE_BYTES) return false
    const ratio = lineBytes / Math.max(1, consumed() - lineRawStart)
    if (ratio <= BOMB_RATIO) return false
    stats.bomb = { line: lineNo + 1, inflated: lineBytes, ratio }
    return true
  }

  /** Consumes one chunk; returns false when reading must stop (a gzip bomb). */
  const consume = (chunk: Uint8Array): boolean => {
    const len = chunk.length
    let pos = 0
    if (atStart && len > 0) {
      atStart = false
      // A UTF-8 byte order mark is not part of the first line (TextDecoder drops it too).
      if (len >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) pos = 3
    }
    const chunkRaw = gunzip === undefined ? 0 : consumed()
    while (pos < len) {
      if (chunk[pos] === 10 && carryLen === 0 && !skipping) {
        // A run of empty lines (cheaply: no search, no call).
        lineNo++
        pos++
        continue
      }
      const nl = chunk.indexOf(10, pos)
      const stop = nl < 0 ? len : nl
      if (skipping) {
        lineBytes += stop - pos
        if (nl < 0) return !isBomb()
        skipping = false
        lineNo++
        sink.overlong(lineNo, skippedPrefix)
        pos = nl + 1
        continue
      }
      if (carryLen === 0) {
        if (nl >= 0 && nl - pos <= MAX_LINE_CHARS) {
          // The common case: a whole line inside this chunk.
          emit(chunk, pos, nl)
          pos = nl + 1
          continue
        }
        lineRawStart = chunkRaw
      }
      const limit = carryLen === 0 ? limitFor(chunk, pos, stop) : limitFor(carry, 0, carryLen)
      if (carryLen + (stop - pos) > limit) {
        skippedPrefix = carryLen > 0 ? lineExcerpt(carry, 0, carryLen) : lineExcerpt(chunk, pos, stop)
        lineBytes = carryLen + (stop - pos)
        carryLen = 0
        if (carry.length > 1 << 20) carry = new Uint8Array(64 * 1024)
        if (nl < 0) {
          skipping = true
          return !isBomb()
        }
        lineNo++
        sink.overlong(lineNo, skippedPrefix)
        pos = nl + 1
        continue
      }
      if (nl < 0) {
        append(chunk, pos, len)
        lineBytes = carryLen
        return !isBomb()
      }
      if (carryLen === 0) {
        emit(chunk, pos, nl)
      } else {
        append(chunk, pos, nl)
        emit(carry, 0, carryLen)
        carryLen = 0
        if (carry.length > 1 << 20) carry = new Uint8Array(64 * 1024)
      }
      pos = nl + 1
    }
    return true
  }

  try {
    for await (const chunk of decoded) {
      if (!consume(chunk)) break
    }
  } catch (error) {
    // A truncated or corrupt gzip member: keep every line decoded so far.
    if (!stats.gzip || !isZlibError(error)) throw error
    stats.truncated = true
  }
  if (stats.bomb === undefined) {
    if (skipping) {
      lineNo++
      sink.overlong(lineNo, skippedPrefix)
    } else if (carryLen > 0) {
      emit(carry, 0, carryLen)
    }
  } else {
    lineNo++
    raw.destroy()
  }
  stats.lines = lineNo
  stats.sha256 = hash.digestHex()
  return stats
}

const isZlibError = (error: unknown): boolean => {
  if (error === null || typeof error !== "object") return false
  const code = (error as { code?: unknown }).code
  const errno = (error as { errno?: unknown }).errno
  return (typeof code === "string" && code.startsWith("Z_")) || typeof errno === "number" ||
    /unexpected end of file|incorrect header|invalid/i.test(String((error as { message?: unknown }).message))
}

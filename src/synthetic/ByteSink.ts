/**
 * A growable byte buffer that text is encoded into piece by piece, without building the text
 * as a JS string first. Building multi-kilobyte strings from a hundred pieces (join or `+`)
 * and encoding them afterwards costs several times more than copying the pieces straight
 * into bytes; the cowrie writer renders millions of sessions this way.
 */
export class ByteSink {
  buf: Buffer
  /** Bytes used. */
  length = 0

  constructor(capacity = 1 << 16) {
    this.buf = Buffer.allocUnsafeSlow(Math.max(1, capacity))
  }

  /** Makes room for `n` more bytes. */
  reserve(n: number): void {
    if (this.length + n <= this.buf.length) return
    const bigger = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.length + n))
    this.buf.copy(bigger, 0, 0, this.length)
    this.buf = bigger
  }

  /** Appends a string as UTF-8 (short ASCII strings are copied by a plain loop). */
  str(s: string): void {
    const n = s.length
    this.reserve(n * 3)
    if (n > 40) {
      this.length += this.buf.write(s, this.length, "utf8")
      return
    }
    const buf = this.buf
    let o = this.length
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i)
      if (c >= 0x80) {
        this.length += buf.write(s, this.length, "utf8")
        return
      }
      buf[o++] = c
    }
    this.length = o
  }

  /**
   * Appends the inside of a JSON string literal for `s` (quotes, backslashes and control
   * characters escaped) as UTF-8. Plain ASCII is copied in one pass.
   */
  json(s: string): void {
    const n = s.length
    this.reserve(n * 6)
    const buf = this.buf
    let o = this.length
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i)
      if (c < 0x20 || c === 0x22 || c === 0x5c || c >= 0x7f) {
        this.length += buf.write(JSON.stringify(s).slice(1, -1), this.length, "utf8")
        return
      }
      buf[o++] = c
    }
    this.length = o
  }

  /** Appends pre-encoded bytes (constants). */
  bytes(b: Uint8Array): void {
    const n = b.length
    this.reserve(n)
    if (n > 64) {
      this.buf.set(b, this.length)
      this.length += n
      return
    }
    const buf = this.buf
    let o = this.length
    for (let i = 0; i < n; i++) buf[o++] = b[i]!
    this.length = o
  }

  /** Appends again the bytes at [from, to) of this buffer (text repeated within a chunk). */
  again(from: number, to: number): void {
    const n = to - from
    this.reserve(n)
    const buf = this.buf
    if (n > 64) {
      buf.copyWithin(this.length, from, to)
      this.length += n
      return
    }
    let o = this.length
    for (let i = from; i < to; i++) buf[o++] = buf[i]!
    this.length = o
  }

  /** Appends a non-negative integer (below 2^53) in decimal. */
  uint(n: number): void {
    if (n < 10) {
      this.reserve(1)
      this.buf[this.length++] = 48 + n
      return
    }
    this.reserve(16)
    const buf = this.buf
    let digits = 0
    for (let x = n; x >= 1; x = Math.floor(x / 10)) digits++
    let o = this.length + digits
    this.length = o
    for (let x = n; x >= 1; x = Math.floor(x / 10)) buf[--o] = 48 + (x % 10)
  }

  /** Skips `n` bytes to be filled later; returns where they start. */
  hole(n: number): number {
    this.reserve(n)
    const at = this.length
    this.length += n
    return at
  }

  /**
   * Hands out the bytes written so far and starts over with a fresh buffer. The bytes own
   * their ArrayBuffer (never a shared pool), so they can be transferred to another thread.
   */
  take(nextCapacity = this.buf.length): Buffer {
    const out = this.buf.subarray(0, this.length)
    this.buf = Buffer.allocUnsafeSlow(Math.max(1, nextCapacity))
    this.length = 0
    return out
  }

  /** Forgets everything (keeps the buffer). */
  clear(): void {
    this.length = 0
  }

  toString(from = 0, to = this.length): string {
    return this.buf.toString("utf8", from, to)
  }
}

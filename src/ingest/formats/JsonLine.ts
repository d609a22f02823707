/**
 * A validating JSON scanner over the bytes of one line: no recursion, no allocation per line,
 * bounded work per byte, whatever the line holds.
 *
 * It accepts exactly the texts `JSON.parse` accepts (RFC 8259 grammar; bytes of 0x80 and up
 * are read as UTF-8, invalid sequences as U+FFFD, as `TextDecoder` would) and enforces the
 * limits a hostile line would otherwise break: nesting deeper than {@link MAX_JSON_DEPTH}
 * (`too_deep`), more than {@link MAX_JSON_KEYS} object keys (`too_many_keys`), and a string
 * value over MAX_FIELD_CHARS UTF-16 units (`field_too_large`). It records the members of the
 * top-level object (key and value byte ranges), so a format reads the few fields it needs
 * without materialising the rest of the line.
 */
import { MAX_FIELD_CHARS } from "../validate.ts"

/** Deepest nesting of objects and arrays accepted in one line (the top-level object is 1). */
export const MAX_JSON_DEPTH = 64

/** Most object keys (at any depth) accepted in one line. */
export const MAX_JSON_KEYS = 10_000

/** Scan outcomes (negative); a successful scan returns the number of top-level members. */
export const SCAN_MALFORMED = -1
export const SCAN_NOT_OBJECT = -2
export const SCAN_TOO_DEEP = -3
export const SCAN_TOO_MANY_KEYS = -4
export const SCAN_FIELD_TOO_LARGE = -5

/** Flags of a scanned string: it holds an escape, it holds a byte >= 0x80. */
export const STR_ESCAPED = 1
export const STR_NON_ASCII = 2

// Byte classes inside a string: 0 plain ASCII, 1 quote, 2 backslash, 3 control, 4 >= 0x80.
const STRING_CLASS = new Uint8Array(256)
for (let b = 0; b < 32; b++) STRING_CLASS[b] = 3
STRING_CLASS[34] = 1
STRING_CLASS[92] = 2
for (let b = 128; b < 256; b++) STRING_CLASS[b] = 4

const ESCAPE_OK = new Uint8Array(256)
for (const c of "\"\\/bfnrt") ESCAPE_OK[c.charCodeAt(0)] = 1

const HEX = new Uint8Array(256)
for (const c of "0123456789abcdefABCDEF") HEX[c.charCodeAt(0)] = 1

const utf8 = new TextDecoder("utf-8")

interface Latin1Buffer {
  latin1Slice(start: number, end: number): string
}

/** The bytes [start, end) as text: Latin-1 when known ASCII (fast), UTF-8 otherwise. */
export const decodeBytes = (buf: Uint8Array, start: number, end: number, ascii: boolean): string => {
  if (ascii) {
    const fast = (buf as unknown as Partial<Latin1Buffer>).latin1Slice
    if (fast !== undefined) return fast.call(buf, start, end)
  }
  return utf8.decode(buf.subarray(start, end))
}

const skipWs = (buf: Uint8Array, i: number, end: number): number => {
  while (i < end) {
    const b = buf[i]!
    if (b === 32 || b === 9 || b === 13 || b === 10) i++
    else break
  }
  return i
}

const isDigit = (b: number | undefined): boolean => b !== undefined && b >= 48 && b <= 57

/** End of the number starting at i, or -1 when it is not a JSON number. */
const scanNumber = (buf: Uint8Array, i: number, end: number): number => {
  if (buf[i] === 45) i++
  if (i >= end) return -1
  const first = buf[i]!
  if (first === 48) i++
  else if (first >= 49 && first <= 57) {
    i++
    while (i < end && isDigit(buf[i])) i++
  } else return -1
  if (i < end && buf[i] === 46) {
    i++
    const s = i
    while (i < end && isDigit(buf[i])) i++
    if (i === s) return -1
  }
  if (i < end && (buf[i] === 101 || buf[i] === 69)) {
    i++
    if (i < end && (buf[i] === 43 || buf[i] === 45)) i++
    const s = i
    while (i < end && isDigit(buf[i])) i++
    if (i === s) return -1
  }
  return i
}

const literal = (buf: Uint8Array, i: number, end: number, text: Uint8Array): number => {
  if (i + text.length > end) return -1
  for (let k = 0; k < text.length; k++) if (buf[i + k] !== text[k]) return -1
  return i + text.length
}
const TRUE = new TextEncoder().encode("true")
const FALSE = new TextEncoder().encode("false")
const NULL = new TextEncoder().encode("null")

/**
 * One scanner per format (it keeps the member table of the last line scanned). Member `k`
 * of the top-level object has its key in [keyStart[k], keyEnd[k]) (without quotes), its
 * value in [valueStart[k], valueEnd[k]) (with quotes for strings), and `valueKind[k]` is
 * the value's first byte (`"`, `{`, `[`, `t`, `f`, `n`, or a number's first character).
 */
export class JsonLineScanner {
  readonly keyStart: Int32Array
  readonly keyEnd: Int32Array
  readonly keyFlags: Uint8Array
  readonly valueStart: Int32Array
  readonly valueEnd: Int32Array
  readonly valueKind: Uint8Array
  readonly valueFlags: Uint8Array
  private readonly stack: Uint8Array
  /** Flags of the last string scanned. */
  private flags = 0
  private members = 0
  private keys = 0

  constructor(readonly maxDepth: number = MAX_JSON_DEPTH, readonly maxKeys: number = MAX_JSON_KEYS) {
    this.keyStart = new Int32Array(maxKeys + 1)
    this.keyEnd = new Int32Array(maxKeys + 1)
    this.keyFlags = new Uint8Array(maxKeys + 1)
    this.valueStart = new Int32Array(maxKeys + 1)
    this.valueEnd = new Int32Array(maxKeys + 1)
    this.valueKind = new Uint8Array(maxKeys + 1)
    this.valueFlags = new Uint8Array(maxKeys + 1)
    this.stack = new Uint8Array(maxDepth + 1)
  }

  /** Members of the top-level object of the last successful scan. */
  get memberCount(): number {
    return this.members
  }

  /** End of the string whose opening quote is at i (just past its closing quote), or -1. */
  private string(buf: Uint8Array, i: number, end: number): number {
    i++
    let flags = 0
    for (;;) {
      // A run of plain ASCII with no bounds test per byte. Past `end` it stops at the line's
      // newline, or at the end of the buffer (undefined is not plain); having run past `end`
      // means the string is not closed within the line, which the test after the run reports.
      while (STRING_CLASS[buf[i]!] === 0) i++
      if (i >= end) return -1
      const cls = STRING_CLASS[buf[i]!]!
      if (cls === 1) {
        this.flags = flags
        return i + 1
      } else if (cls === 4) {
        flags |= STR_NON_ASCII
        i++
      } else if (cls === 2) {
        flags |= STR_ESCAPED
        if (i + 1 >= end) return -1
        const e = buf[i + 1]!
        if (e === 117) {
          if (i + 5 >= end || HEX[buf[i + 2]!] === 0 || HEX[buf[i + 3]!] === 0 || HEX[buf[i + 4]!] === 0 || HEX[buf[i + 5]!] === 0) return -1
          i += 6
        } else if (ESCAPE_OK[e] === 1) {
          i += 2
        } else return -1
      } else return -1
    }
  }

  /** Scans an object key at i (after `{` or `,` and whitespace), its colon and the whitespace after it. */
  private key(buf: Uint8Array, i: number, end: number, record: boolean): number {
    if (i >= end || buf[i] !== 34) return SCAN_MALFORMED
    const s = i
    i = this.string(buf, i, end)
    if (i < 0) return SCAN_MALFORMED
    if (++this.keys > this.maxKeys) return SCAN_TOO_MANY_KEYS
    if (record) {
      const n = this.members
      this.keyStart[n] = s + 1
      this.keyEnd[n] = i - 1
      this.keyFlags[n] = this.flags
    }
    i = skipWs(buf, i, end)
    if (i >= end || buf[i] !== 58) return SCAN_MALFORMED
    return skipWs(buf, i + 1, end)
  }

  /**
   * Scans bytes [start, end) as one JSON value. Returns the number of members of the
   * top-level object (>= 0), or a negative SCAN_* outcome. Malformed text wins over a field
   * too large, as it did when JSON.parse ran first; depth and key limits stop the scan early.
   */
  scan(buf: Uint8Array, start: number, end: number): number {
    let i = skipWs(buf, start, end)
    if (i >= end) return SCAN_MALFORMED
    const topObject = buf[i] === 123
    const stack = this.stack
    const maxDepth = this.maxDepth
    let depth = 0
    let tooLarge = false
    let memberStart = 0
    let memberKind = 0
    this.members = 0
    this.keys = 0
    for (;;) {
      // A value starts at i.
      if (i >= end) return SCAN_MALFORMED
      const c = buf[i]!
      const member = depth === 1 && topObject
      if (member) {
        memberStart = i
        memberKind = c
      }
      if (c === 34) {
        const s = i
        i = this.string(buf, i, end)
        if (i < 0) return SCAN_MALFORMED
        if (member) this.valueFlags[this.members] = this.flags
        if (i - s - 2 > MAX_FIELD_CHARS && !tooLarge && stringLength(buf, s, i, this.flags) > MAX_FIELD_CHARS) tooLarge = true
      } else if (c === 123 || c === 91) {
        if (depth >= maxDepth) return SCAN_TOO_DEEP
        stack[depth++] = c
        i = skipWs(buf, i + 1, end)
        if (i >= end) return SCAN_MALFORMED
        if (c === 123) {
          if (buf[i] === 125) {
            i++
            depth--
          } else {
            i = this.key(buf, i, end, depth === 1 && topObject)
            if (i < 0) return i
            continue
          }
        } else if (buf[i] === 93) {
          i++
          depth--
        } else continue
      } else if (c === 116) {
        i = literal(buf, i, end, TRUE)
        if (i < 0) return SCAN_MALFORMED
      } else if (c === 102) {
        i = literal(buf, i, end, FALSE)
        if (i < 0) return SCAN_MALFORMED
      } else if (c === 110) {
        i = literal(buf, i, end, NULL)
        if (i < 0) return SCAN_MALFORMED
      } else if (c === 45 || (c >= 48 && c <= 57)) {
        i = scanNumber(buf, i, end)
        if (i < 0) return SCAN_MALFORMED
      } else return SCAN_MALFORMED

      // A value ended at i: close containers until another value is due.
      for (;;) {
        if (depth === 0) {
          if (skipWs(buf, i, end) !== end) return SCAN_MALFORMED
          if (!topObject) return SCAN_NOT_OBJECT
          return tooLarge ? SCAN_FIELD_TOO_LARGE : this.members
        }
        if (depth === 1 && topObject) {
          const n = this.members++
          this.valueStart[n] = memberStart
          this.valueEnd[n] = i
          this.valueKind[n] = memberKind
        }
        i = skipWs(buf, i, end)
        if (i >= end) return SCAN_MALFORMED
        const d = buf[i]!
        const container = stack[depth - 1]!
        if (d === 44) {
          i = skipWs(buf, i + 1, end)
          if (container === 123) {
            i = this.key(buf, i, end, depth === 1 && topObject)
            if (i < 0) return i
          }
          break
        }
        if (d === (container === 123 ? 125 : 93)) {
          i++
          depth--
          continue
        }
        return SCAN_MALFORMED
      }
    }
  }

  /** The key of member k as text. */
  keyText(buf: Uint8Array, k: number): string {
    const s = this.keyStart[k]!
    const e = this.keyEnd[k]!
    const flags = this.keyFlags[k]!
    if ((flags & STR_ESCAPED) !== 0) return JSON.parse(utf8.decode(buf.subarray(s - 1, e + 1))) as string
    return decodeBytes(buf, s, e, flags === 0)
  }

  /** The value of member k exactly as JSON.parse would give it (strings, numbers, literals, containers). */
  value(buf: Uint8Array, k: number): unknown {
    const s = this.valueStart[k]!
    const e = this.valueEnd[k]!
    switch (this.valueKind[k]) {
      case 34: {
        const flags = this.valueFlags[k]!
        if ((flags & STR_ESCAPED) !== 0) return JSON.parse(utf8.decode(buf.subarray(s, e)))
        return decodeBytes(buf, s + 1, e - 1, flags === 0)
      }
      case 116:
        return true
      case 102:
        return false
      case 110:
        return null
      case 123:
      case 91:
        // Depth and size are already bounded by the scan.
        return JSON.parse(utf8.decode(buf.subarray(s, e)))
      default:
        return numberValue(buf, s, e)
    }
  }
}

/**
 * A JSON number's value: plain non-negative integers of up to 15 digits (ports, counts) are
 * read from the bytes; anything else (sign, fraction, exponent) goes through Number().
 */
const numberValue = (buf: Uint8Array, s: number, e: number): number => {
  if (e - s <= 15) {
    let v = 0
    let i = s
    for (; i < e; i++) {
      const d = buf[i]! - 48
      if (d < 0 || d > 9) break
      v = v * 10 + d
    }
    if (i === e) return v
  }
  return Number(decodeBytes(buf, s, e, true))
}

/** UTF-16 length of the string literal [s, e) (quotes included), as JSON.parse would give it. */
const stringLength = (buf: Uint8Array, s: number, e: number, flags: number): number =>
  (flags & STR_ESCAPED) !== 0
    ? (JSON.parse(utf8.decode(buf.subarray(s, e))) as string).length
    : decodeBytes(buf, s + 1, e - 1, flags === 0).length

/** Reject reason of a negative scan outcome. */
export const scanReason = (outcome: number): string => {
  switch (outcome) {
    case SCAN_NOT_OBJECT:
      return "not_an_object"
    case SCAN_TOO_DEEP:
      return "too_deep"
    case SCAN_TOO_MANY_KEYS:
      return "too_many_keys"
    case SCAN_FIELD_TOO_LARGE:
      return "field_too_large"
    default:
      return "malformed_json"
  }
}

/**
 * True when bytes [start, end) look like binary data rather than text: a NUL or other C0
 * control byte (besides tab, CR, LF, form feed, escape), a byte sequence that is not UTF-8,
 * or U+FFFD (what a decoder made of such bytes).
 * Used to name a line that failed to parse.
 */
export const looksBinary = (buf: Uint8Array, start: number, end: number): boolean => {
  let i = start
  while (i < end) {
    const b = buf[i]!
    if (b < 0x80) {
      if (b < 32 && b !== 9 && b !== 10 && b !== 13 && b !== 12 && b !== 27) return true
      if (b === 127) return true
      i++
      continue
    }
    let need: number
    let min: number
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1
      min = 0x80
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2
      min = 0x800
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3
      min = 0x10000
    } else return true
    if (i + need >= end) return true
    let cp = b & (need === 1 ? 0x1f : need === 2 ? 0x0f : 0x07)
    for (let k = 1; k <= need; k++) {
      const c = buf[i + k]!
      if ((c & 0xc0) !== 0x80) return true
      cp = (cp << 6) | (c & 0x3f)
    }
    // U+FFFD: text that was already decoded from non-UTF-8 bytes.
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp === 0xfffd) return true
    i += need + 1
  }
  return false
}

const CACHE_SLOTS = 4096
const CACHE_WIDTH = 48

/**
 * Short ASCII strings seen again and again (event ids, session ids, sensors, addresses,
 * client versions) come back as the same string instead of a new one per line: less garbage,
 * and the hash a Map computes for a string is kept on it. Direct-mapped, so a miss costs one
 * hash and one copy.
 */
export class StringCache {
  private readonly bytes = new Uint8Array(CACHE_SLOTS * CACHE_WIDTH)
  private readonly lengths = new Int32Array(CACHE_SLOTS).fill(-1)
  private readonly strings: Array<string> = new Array<string>(CACHE_SLOTS).fill("")

  /** The ASCII bytes [s, e) as a string. */
  get(buf: Uint8Array, s: number, e: number): string {
    const len = e - s
    if (len > CACHE_WIDTH) return decodeBytes(buf, s, e, true)
    let h = len | 0
    for (let i = s; i < e; i++) h = Math.imul(h ^ buf[i]!, 0x01000193)
    const slot = (h ^ (h >>> 15)) & (CACHE_SLOTS - 1)
    const base = slot * CACHE_WIDTH
    const bytes = this.bytes
    if (this.lengths[slot] === len) {
      let k = 0
      while (k < len && bytes[base + k] === buf[s + k]) k++
      if (k === len) return this.strings[slot]!
    }
    const text = decodeBytes(buf, s, e, true)
    for (let k = 0; k < len; k++) bytes[base + k] = buf[s + k]!
    this.lengths[slot] = len
    this.strings[slot] = text
    return text
  }
}

/**
 * True when a JSON text (a whole document) nests objects and arrays deeper than maxDepth.
 * Brackets inside strings do not count. A cheap pre-check before JSON.parse, whose result
 * the engine walks recursively (JSON.stringify, field checks): no recursion, no allocation.
 */
export const jsonTextTooDeep = (text: string, maxDepth: number = MAX_JSON_DEPTH): boolean => {
  let depth = 0
  const n = text.length
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i)
    if (c === 34) {
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i)
        if (d === 92) i++
        else if (d === 34) break
      }
    } else if (c === 123 || c === 91) {
      if (++depth > maxDepth) return true
    } else if (c === 125 || c === 93) {
      depth--
    }
  }
  return false
}

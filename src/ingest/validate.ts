/**
 * Field validation shared by every input format: timestamps, IP addresses, field sizes.
 * Written as small hand-rolled checks because they run once per event on the hot path.
 */
import { isIPv6 } from "node:net"

/** Largest string field accepted, in UTF-16 code units (64 KiB). */
export const MAX_FIELD_CHARS = 64 * 1024

/** Timestamps outside [1990, 2100) are impossible for honeypot logs. */
const MIN_TS = Date.UTC(1990, 0, 1)
const MAX_TS = Date.UTC(2100, 0, 1)

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

const digit = (s: Uint8Array, i: number): number => {
  const c = s[i]! - 48
  return c >= 0 && c <= 9 ? c : -1000
}
const two = (s: Uint8Array, i: number): number => digit(s, i) * 10 + digit(s, i + 1)

/** Scratch for parseIsoTimestamp's string form: timestamps are ASCII, and short. */
const isoScratch = new Uint8Array(64)

/**
 * Parses an ISO-8601 date-time ("2024-04-01T20:01:05.690463Z", "2024-04-01 20:01:05+02:00",
 * no zone = UTC) into epoch milliseconds. Returns NaN for anything malformed or impossible
 * (month 13, February 30, hour 25, year 2300).
 */
export const parseIsoTimestamp = (s: string): number => {
  const n = s.length
  if (n < 19) return Number.NaN
  const bytes = n <= isoScratch.length ? isoScratch : new Uint8Array(n)
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i)
    // No character outside ASCII belongs in a timestamp.
    if (c > 127) return Number.NaN
    bytes[i] = c
  }
  return parseIsoTimestampBytes(bytes, 0, n)
}

/** parseIsoTimestamp on the ASCII bytes [start, end) of a buffer (the ingest fast path). */
export const parseIsoTimestampBytes = (s: Uint8Array, start: number, end: number): number => {
  const len = end - start
  if (len < 19) return Number.NaN
  const o = start
  const year = digit(s, o) * 1000 + digit(s, o + 1) * 100 + two(s, o + 2)
  const month = two(s, o + 5)
  const day = two(s, o + 8)
  const hour = two(s, o + 11)
  const minute = two(s, o + 14)
  const second = two(s, o + 17)
  const sep = s[o + 10]
  if (
    year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 ||
    minute > 59 || second < 0 || second > 60 || s[o + 4] !== 45 || s[o + 7] !== 45 ||
    (sep !== 84 && sep !== 32 && sep !== 116) || s[o + 13] !== 58 || s[o + 16] !== 58
  ) return Number.NaN
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
  if (day > DAYS_IN_MONTH[month - 1]! || (month === 2 && day === 29 && !leap)) return Number.NaN
  // Outside [1989, 2100] no zone offset brings it into range: stop here (and keep the
  // integer arithmetic below on positive years).
  if (year < 1989 || year > 2100) return Number.NaN
  let i = o + 19
  let millis = 0
  if (i < end && (s[i] === 46 || s[i] === 44)) {
    i++
    // Milliseconds are the first three digits; the rest are checked and truncated.
    let scale = 100
    const begin = i
    while (i < end) {
      const d = digit(s, i)
      if (d < 0) break
      millis += d * scale
      scale = (scale / 10) | 0
      i++
    }
    if (i === begin) return Number.NaN
  }
  let offsetMinutes = 0
  if (i < end) {
    const c = s[i]!
    if (c === 90 || c === 122) {
      i++
    } else if (c === 43 || c === 45) {
      // Reads stay inside [start, end): past the end is "not a digit", as charCodeAt gave NaN.
      const oh = i + 2 < end ? two(s, i + 1) : -1
      const hasColon = i + 3 < end && s[i + 3] === 58
      const om = i + (hasColon ? 5 : 4) < end ? two(s, i + (hasColon ? 4 : 3)) : -1
      if (oh < 0 || oh > 23 || om < 0 || om > 59) return Number.NaN
      offsetMinutes = (c === 43 ? 1 : -1) * (oh * 60 + om)
      i += hasColon ? 6 : 5
    }
    if (i !== end) return Number.NaN
  }
  const ts = daysFromCivil(year, month, day) * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1000 +
    millis - offsetMinutes * 60_000
  return ts >= MIN_TS && ts < MAX_TS ? ts : Number.NaN
}

/**
 * Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil): plain
 * arithmetic, where Date.UTC was a large part of the cost of a cowrie line (and read years 0-99
 * as 1900-1999).
 */
const daysFromCivil = (year: number, month: number, day: number): number => {
  // Integer division by `| 0` is floor here: every operand is positive (year >= 1989).
  const y = month <= 2 ? year - 1 : year
  const era = (y / 400) | 0
  const yoe = y - era * 400
  const doy = (((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) | 0) + day - 1
  const doe = yoe * 365 + ((yoe / 4) | 0) - ((yoe / 100) | 0) + doy
  return era * 146_097 + doe - 719_468
}

/** Epoch seconds (integer or fractional, as number or string) to milliseconds; NaN when impossible. */
export const parseEpochSeconds = (value: number | string): number => {
  const n = typeof value === "number" ? value : /^\d{9,11}(\.\d+)?$/.test(value) ? Number(value) : Number.NaN
  const ts = Math.round(n * 1000)
  return ts >= MIN_TS && ts < MAX_TS ? ts : Number.NaN
}

/** A timestamp in any form the formats use: ISO string, epoch seconds, or epoch milliseconds. */
export const parseAnyTimestamp = (value: unknown): number => {
  if (typeof value === "string") {
    const iso = parseIsoTimestamp(value)
    return Number.isNaN(iso) ? parseEpochSeconds(value) : iso
  }
  if (typeof value === "number" && Number.isFinite(value)) {
    // Values above 1e11 are epoch milliseconds (1e11 s is the year 5138).
    return value > 1e11 ? (value >= MIN_TS && value < MAX_TS ? Math.round(value) : Number.NaN) : parseEpochSeconds(value)
  }
  return Number.NaN
}

/** ISO-8601 UTC with millisecond precision, the one time format of every output. */
export const formatTimestamp = (ts: number): string => new Date(ts).toISOString()

const isIPv4 = (s: string): boolean => {
  const n = s.length
  if (n < 7 || n > 15) return false
  let octets = 0
  let value = 0
  let digits = 0
  for (let i = 0; i <= n; i++) {
    const c = i === n ? 46 : s.charCodeAt(i)
    if (c === 46) {
      if (digits === 0 || value > 255) return false
      octets++
      value = 0
      digits = 0
    } else {
      const d = c - 48
      if (d < 0 || d > 9 || digits === 3) return false
      // A leading zero ("01") is ambiguous (octal in some parsers): reject it.
      if (digits === 1 && value === 0) return false
      value = value * 10 + d
      digits++
    }
  }
  return octets === 4
}

/**
 * The eight 16-bit groups of an IPv6 address that `isIPv6` has accepted (lower case, no zone),
 * expanding "::" and an embedded dotted IPv4 tail.
 */
const ipv6Groups = (addr: string): Array<number> => {
  let head = addr
  const tail: Array<number> = []
  const lastColon = addr.lastIndexOf(":")
  if (addr.indexOf(".", lastColon) >= 0) {
    const o = addr.slice(lastColon + 1).split(".").map(Number)
    tail.push((o[0]! << 8) | o[1]!, (o[2]! << 8) | o[3]!)
    head = addr.slice(0, lastColon + 1)
    if (!head.endsWith("::")) head = head.slice(0, -1)
  }
  const hextets = (part: string): Array<number> => (part === "" ? [] : part.split(":").map((h) => parseInt(h, 16)))
  const gap = head.indexOf("::")
  if (gap < 0) return [...hextets(head), ...tail]
  const left = hextets(head.slice(0, gap))
  const right = hextets(head.slice(gap + 2))
  return [...left, ...new Array<number>(8 - left.length - right.length - tail.length).fill(0), ...right, ...tail]
}

/** RFC 5952 text of eight groups: no leading zeros, the first longest run (>= 2) of zero groups as "::". */
const formatIpv6 = (g: ReadonlyArray<number>): string => {
  let bestStart = -1
  let bestLen = 1
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && g[j] === 0) j++
    if (j - i > bestLen) {
      bestStart = i
      bestLen = j - i
    }
    i = j
  }
  const hex = (from: number, to: number): string => g.slice(from, to).map((x) => x.toString(16)).join(":")
  return bestStart < 0 ? hex(0, 8) : `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`
}

/**
 * Canonical form of an IP address, or undefined when the string is not one.
 * IPv4 stays dotted; IPv6 is written in its RFC 5952 form (lower case, no leading zeros,
 * longest zero run compressed); an IPv4-mapped IPv6 address (::ffff:1.2.3.4, or the same in
 * hex or uncompressed) becomes the IPv4 address it carries, so one host has one spelling.
 *
 * Fix: IPv6 used to be only lower-cased, so the kernel's uncompressed spelling in ip6tables
 * lines ("SRC=2001:0db8:0000:…:0042") and cowrie's compressed one ("2001:db8::42") gave the
 * same host two identities (two sessions, two IP indicators).
 */
export const normaliseIp = (s: string): string | undefined => {
  if (isIPv4(s)) return s
  if (s.length > 45 || s.indexOf(":") < 0) return undefined
  const lower = s.toLowerCase()
  if (!isIPv6(lower)) return undefined
  const zoneAt = lower.indexOf("%")
  const groups = ipv6Groups(zoneAt < 0 ? lower : lower.slice(0, zoneAt))
  if (groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 && groups[5] === 0xffff) {
    const a = groups[6]!
    const b = groups[7]!
    return `${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`
  }
  return formatIpv6(groups) + (zoneAt < 0 ? "" : lower.slice(zoneAt))
}

/**
 * True when any string value (at any depth) of a parsed JSON value exceeds MAX_FIELD_CHARS.
 * Iterative (an explicit stack), so a value nested a million deep cannot overflow the call
 * stack.
 */
export const hasOversizedField = (value: unknown): boolean => {
  const stack: Array<unknown> = [value]
  while (stack.length > 0) {
    const v = stack.pop()
    if (typeof v === "string") {
      if (v.length > MAX_FIELD_CHARS) return true
    } else if (v !== null && typeof v === "object") {
      if (Array.isArray(v)) {
        for (let i = v.length - 1; i >= 0; i--) stack.push(v[i])
      } else {
        for (const key in v) stack.push((v as Record<string, unknown>)[key])
      }
    }
  }
  return false
}

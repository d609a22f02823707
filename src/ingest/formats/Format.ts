/**
 * What every input format provides to the ingest loop.
 */
import type { HoneypotEvent } from "../../domain/Event.ts"
import type { InputFormat } from "../../domain/Result.ts"
import { JsonLineScanner, looksBinary, SCAN_MALFORMED, scanReason } from "./JsonLine.ts"

/**
 * The outcome of parsing one line: an event, a reject reason (a short snake_case identifier
 * such as "malformed_json"), or null for a line that carries nothing (blank, comment).
 */
export type LineOutcome = HoneypotEvent | string | null

/** Reject reasons shared by every format. */
export const Reject = {
  malformedJson: "malformed_json",
  notAnObject: "not_an_object",
  missingEventId: "missing_eventid",
  missingSession: "missing_session",
  missingField: "missing_field",
  badTimestamp: "bad_timestamp",
  badIp: "bad_ip",
  badPort: "bad_port",
  fieldTooLarge: "field_too_large",
  lineTooLong: "line_too_long",
  truncatedGzip: "truncated_gzip",
  unparseableLine: "unparseable_line",
  readError: "read_error",
  /** Objects and arrays nested deeper than MAX_JSON_DEPTH. */
  tooDeep: "too_deep",
  /** More than MAX_JSON_KEYS object keys in one line. */
  tooManyKeys: "too_many_keys",
  /** Not text: NUL or other control bytes, or bytes that are not UTF-8. */
  binary: "binary",
  /** A gzip stream that inflates to one endless line at an extreme ratio; the rest of the file is not read. */
  gzipBomb: "gzip_bomb"
} as const

/**
 * A line-oriented format. `sniff` answers whether one line looks like this format
 * (used by auto-detection); `parseLine` turns one line into an event or a reject reason.
 */
export interface LineFormat {
  readonly name: InputFormat
  readonly sniff: (line: string) => boolean
  readonly parseLine: (line: string) => LineOutcome
  /**
   * The same outcome as `parseLine` for the UTF-8 bytes [start, end) of one line, without
   * decoding the whole line (the fast path of the ingest loop). Optional. The event returned
   * may be the same object on every call: use it (the session builder copies its fields)
   * before parsing the next line, never keep it.
   */
  readonly parseBytes?: (buf: Uint8Array, start: number, end: number) => LineOutcome
}

/** Ports are integers 0..65535 (cowrie logs port 0 for forwarded channels). */
export const asPort = (value: unknown): number | undefined | "bad" => {
  if (value === undefined || value === null || value === "") return undefined
  const n = typeof value === "string" ? Number(value) : value
  return typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= 65535 ? n : "bad"
}

/** A string field, or undefined when absent or not a string. */
export const str = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined)

const encoder = new TextEncoder()
let scratch = new Uint8Array(64 * 1024)
const stringScanner = new JsonLineScanner()

/**
 * The reject reason of a JSON line that is not an acceptable object, or undefined when it is
 * one: malformed JSON (`binary` when the bytes are not text), not an object, nested too deep,
 * too many keys, or a string field over 64 KiB. Never recursive, never throws.
 */
export const jsonLineProblem = (line: string): string | undefined => {
  if (scratch.length < line.length * 3) scratch = new Uint8Array(line.length * 3)
  const { written } = encoder.encodeInto(line, scratch)
  return jsonBytesProblem(stringScanner, scratch, 0, written)
}

/** As jsonLineProblem, on bytes [start, end), with the caller's scanner (whose member table it fills). */
export const jsonBytesProblem = (scanner: JsonLineScanner, buf: Uint8Array, start: number, end: number): string | undefined => {
  const n = scanner.scan(buf, start, end)
  if (n >= 0) return undefined
  return n === SCAN_MALFORMED && looksBinary(buf, start, end) ? Reject.binary : scanReason(n)
}

/**
 * One JSON-lines line as an object, or the reason it is not one (see jsonLineProblem). The
 * line is checked by the scanner before JSON.parse sees it, so a hostile line costs bounded
 * time and never overflows the stack.
 */
export const parseJsonObjectLine = (line: string): Record<string, unknown> | string => {
  const problem = jsonLineProblem(line)
  if (problem !== undefined) return problem
  return JSON.parse(line) as Record<string, unknown>
}

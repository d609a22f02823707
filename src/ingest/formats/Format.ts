/**
 * What every input format provides to the ingest loop.
 */
import type { HoneypotEvent } from "../../domain/Event.ts"
import { hasOversizedField, MAX_FIELD_CHARS } from "../validate.ts"
import type { InputFormat } from "../../domain/Result.ts"

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
  readError: "read_error"
} as const

/**
 * A line-oriented format. `sniff` answers whether one line looks like this format
 * (used by auto-detection); `parseLine` turns one line into an event or a reject reason.
 */
export interface LineFormat {
  readonly name: InputFormat
  readonly sniff: (line: string) => boolean
  readonly parseLine: (line: string) => LineOutcome
}

/** Ports are integers 0..65535 (cowrie logs port 0 for forwarded channels). */
export const asPort = (value: unknown): number | undefined | "bad" => {
  if (value === undefined || value === null || value === "") return undefined
  const n = typeof value === "string" ? Number(value) : value
  return typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= 65535 ? n : "bad"
}

/** A string field, or undefined when absent or not a string. */
export const str = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined)

/**
 * One JSON-lines line as an object, or the reason it is not one: malformed JSON, not an
 * object, or a string field over 64 KiB (checked only on lines long enough to hold one).
 */
export const parseJsonObjectLine = (line: string): Record<string, unknown> | string => {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return Reject.malformedJson
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return Reject.notAnObject
  if (line.length > MAX_FIELD_CHARS && hasOversizedField(value)) return Reject.fieldTooLarge
  return value as Record<string, unknown>
}

/**
 * One JetStream message of a sensor stream (one log line, or one JSON event) as an event, with
 * the ingest code's formats and reject reasons: the cowrie fast path on the bytes, the ECS
 * mapping, and the same checks before anything is parsed (a hostile line costs bounded time,
 * never crashes the consumer).
 *
 * Live mode needs events that carry their session id (cowrie JSON, ECS). The formats that
 * sessionise by silence gaps (firewall, web honeypot) are refused when the consumer starts;
 * with `--format auto`, a line of theirs is rejected as `unsupported_format`.
 */
import type { HoneypotEvent } from "../domain/Event.ts"
import { CowrieFormat } from "../ingest/formats/cowrie.ts"
import { EcsFormat } from "../ingest/formats/ecs.ts"
import { makeFirewallFormat } from "../ingest/formats/firewall.ts"
import { jsonBytesProblem, type LineOutcome, Reject } from "../ingest/formats/Format.ts"
import { JsonLineScanner } from "../ingest/formats/JsonLine.ts"
import { WebHoneypotFormat } from "../ingest/formats/webhoneypot.ts"
import { MAX_LINE_CHARS } from "../ingest/readLines.ts"

/** The formats live mode reads. */
export type LiveFormat = "auto" | "cowrie" | "ecs"

/** Formats that carry no session id: live mode cannot tell where their sessions end. */
export const GAP_FORMATS: ReadonlyArray<string> = ["firewall", "webhoneypot", "sessions"]

/** A line of a format live mode does not read (firewall, web honeypot) in an `auto` stream. */
export const UNSUPPORTED_FORMAT = "unsupported_format"

const utf8 = new TextDecoder("utf-8")
const scanner = new JsonLineScanner()
const firewall = makeFirewallFormat({})

/** Bytes [0, end) without the line terminator and surrounding blanks. */
const trimmedEnd = (data: Uint8Array): [number, number] => {
  let start = 0
  let end = data.length
  while (end > start && (data[end - 1] === 10 || data[end - 1] === 13 || data[end - 1] === 32 || data[end - 1] === 9)) end--
  while (start < end && (data[start] === 32 || data[start] === 9)) start++
  return [start, end]
}

const parseEcs = (data: Uint8Array, start: number, end: number): LineOutcome => {
  // The bytes are checked as bytes first, so a line that is not text is `binary` (decoding
  // would hide its bytes behind replacement characters).
  const problem = jsonBytesProblem(scanner, data, start, end)
  if (problem !== undefined) return problem
  return EcsFormat.parseLine(utf8.decode(data.subarray(start, end)))
}

/**
 * The parser of one message for a format: an event (possibly a reused object: use it before
 * the next call), a reject reason, or null for a blank message.
 */
export const messageParser = (format: LiveFormat): ((data: Uint8Array) => LineOutcome) => {
  const cowrie = CowrieFormat.parseBytes!
  return (data) => {
    const [start, end] = trimmedEnd(data)
    if (end === start) return null
    if (end - start > MAX_LINE_CHARS) return Reject.lineTooLong
    if (format === "cowrie") return cowrie(data, start, end)
    if (format === "ecs") return parseEcs(data, start, end)
    const outcome = cowrie(data, start, end)
    if (typeof outcome !== "string") return outcome
    // Not a cowrie event: an ECS document, a line of a format live mode does not read, or
    // the cowrie reason stands.
    if (outcome === Reject.binary || outcome === Reject.tooDeep || outcome === Reject.tooManyKeys || outcome === Reject.fieldTooLarge) return outcome
    const text = utf8.decode(data.subarray(start, end))
    if (EcsFormat.sniff(text)) return parseEcs(data, start, end)
    if (WebHoneypotFormat.sniff(text) || firewall.sniff(text)) return UNSUPPORTED_FORMAT
    return outcome
  }
}

/** The session an event belongs to (every event live mode accepts has one). */
export const sessionOf = (event: HoneypotEvent): string => event.sessionKey

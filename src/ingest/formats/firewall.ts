/**
 * DShield iptables firewall logs: kernel lines tagged DSHIELDINPUT with KEY=VALUE fields
 * (`… DSHIELDINPUT IN=eth0 OUT= SRC=1.2.3.4 DST=10.0.0.5 … PROTO=TCP SPT=4242 DPT=23 …`).
 *
 * Three timestamp prefixes are understood: epoch seconds (the DShield sensor's dshield.log),
 * ISO-8601 (rsyslog's high-precision format) and classic syslog "Nov 28 12:00:01", which has
 * no year: that one needs `syslogYear`, otherwise the line is rejected as
 * "timestamp_without_year" (guessing the year from the clock would break determinism).
 */
import type { HoneypotEvent } from "../../domain/Event.ts"
import { normaliseIp, parseEpochSeconds, parseIsoTimestamp } from "../validate.ts"
import { asPort, type LineFormat, type LineOutcome, Reject } from "./Format.ts"

const MONTHS: Record<string, number> = {
  Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11
}
const SYSLOG_TS = /^([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) /
const FIELD = /\b(SRC|DST|PROTO|SPT|DPT|IN)=(\S*)/g

export interface FirewallOptions {
  /** Year for classic syslog timestamps, which carry none. */
  readonly syslogYear?: number | undefined
}

const parseTimestamp = (line: string, options: FirewallOptions): number | string => {
  const space = line.indexOf(" ")
  const head = space < 0 ? line : line.slice(0, space)
  if (/^\d{9,11}(\.\d+)?$/.test(head)) return parseEpochSeconds(head)
  if (/^\d{4}-\d{2}-\d{2}T/.test(head)) return parseIsoTimestamp(head)
  const m = SYSLOG_TS.exec(line)
  if (m === null) return Number.NaN
  if (options.syslogYear === undefined) return "timestamp_without_year"
  const month = MONTHS[m[1]!]
  if (month === undefined) return Number.NaN
  const iso = `${options.syslogYear}-${String(month + 1).padStart(2, "0")}-${m[2]!.padStart(2, "0")}T${m[3]}:${m[4]}:${m[5]}Z`
  return parseIsoTimestamp(iso)
}

/** Builds the firewall format; the options only matter for yearless syslog timestamps. */
export const makeFirewallFormat = (options: FirewallOptions = {}): LineFormat => ({
  name: "firewall",
  sniff: (line) => line.includes("DSHIELDINPUT") || (/\bSRC=\S+ DST=\S+/.test(line) && /\bPROTO=/.test(line)),
  parseLine: (line): LineOutcome => {
    if (line.trim().length === 0) return null
    const fields: Record<string, string> = {}
    for (const m of line.matchAll(FIELD)) {
      if (!(m[1]! in fields)) fields[m[1]!] = m[2]!
    }
    if (fields.SRC === undefined) return Reject.unparseableLine
    const ts = parseTimestamp(line, options)
    if (typeof ts === "string") return ts
    if (Number.isNaN(ts)) return Reject.badTimestamp
    const srcIp = normaliseIp(fields.SRC)
    if (srcIp === undefined) return Reject.badIp
    const event: { -readonly [K in keyof HoneypotEvent]: HoneypotEvent[K] } = {
      kind: "firewall.packet",
      sourceEventId: "DSHIELDINPUT",
      sessionKey: srcIp,
      ts,
      srcIp,
      protocol: (fields.PROTO ?? "other").toLowerCase()
    }
    if (fields.DST !== undefined) {
      const dst = normaliseIp(fields.DST)
      if (dst === undefined) return Reject.badIp
      event.dstIp = dst
    }
    const spt = asPort(fields.SPT)
    const dpt = asPort(fields.DPT)
    if (spt === "bad" || dpt === "bad") return Reject.badPort
    if (spt !== undefined) event.srcPort = spt
    if (dpt !== undefined) event.dstPort = dpt
    if (fields.IN !== undefined && fields.IN.length > 0) event.sensor = fields.IN
    return event
  }
})

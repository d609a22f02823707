/**
 * DShield web honeypot JSON lines: `{"time", "sip", "dip", "method", "url", "data",
 * "useragent", "headers", ...}`. Requests are sessionised per source IP + user agent.
 */
import type { HoneypotEvent } from "../../domain/Event.ts"
import { normaliseIp, parseAnyTimestamp } from "../validate.ts"
import { asPort, type LineFormat, type LineOutcome, parseJsonObjectLine, Reject, str } from "./Format.ts"

/** Header lookup that tolerates any capitalisation ("User-Agent", "user-agent"). */
const header = (headers: unknown, name: string): string | undefined => {
  if (headers === null || typeof headers !== "object") return undefined
  for (const [k, v] of Object.entries(headers as Record<string, unknown>)) {
    if (k.toLowerCase() === name && typeof v === "string") return v
  }
  return undefined
}

const parseLine = (line: string): LineOutcome => {
  const o = parseJsonObjectLine(line)
  if (typeof o === "string") return o
  const sipRaw = str(o.sip)
  if (sipRaw === undefined) return Reject.missingField
  const srcIp = normaliseIp(sipRaw)
  if (srcIp === undefined) return Reject.badIp
  const ts = parseAnyTimestamp(o.time)
  if (Number.isNaN(ts)) return Reject.badTimestamp
  const userAgent = str(o.useragent) ?? header(o.headers, "user-agent") ?? ""
  const event: { -readonly [K in keyof HoneypotEvent]: HoneypotEvent[K] } = {
    kind: "web.request",
    sourceEventId: "web.request",
    sessionKey: `${srcIp}\u0000${userAgent}`,
    ts,
    srcIp,
    protocol: "http",
    method: (str(o.method) ?? "GET").toUpperCase(),
    url: str(o.url) ?? "",
    userAgent
  }
  const data = str(o.data)
  if (data !== undefined && data.length > 0) event.input = data
  const dipRaw = str(o.dip)
  if (dipRaw !== undefined && dipRaw.length > 0) {
    const dip = normaliseIp(dipRaw)
    if (dip === undefined) return Reject.badIp
    event.dstIp = dip
  }
  const dport = asPort(o.dport ?? o.dst_port)
  if (dport === "bad") return Reject.badPort
  if (dport !== undefined) event.dstPort = dport
  return event
}

/** @category formats */
export const WebHoneypotFormat: LineFormat = {
  name: "webhoneypot",
  sniff: (line) => line.includes("\"sip\"") && (line.includes("\"url\"") || line.includes("\"useragent\"")),
  parseLine
}

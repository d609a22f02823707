/**
 * Raw cowrie JSON logs (cowrie.json, one event per line), every eventid of cowrie's output
 * documentation, old (2017, `key": value` with spaces) and new layouts alike.
 */
import type { EventKind, HoneypotEvent } from "../../domain/Event.ts"
import { normaliseIp, parseIsoTimestamp } from "../validate.ts"
import { asPort, type LineFormat, type LineOutcome, parseJsonObjectLine, Reject, str } from "./Format.ts"

const KIND_BY_EVENTID: ReadonlyMap<string, EventKind> = new Map<string, EventKind>([
  ["cowrie.session.connect", "session.connect"],
  ["cowrie.session.closed", "session.closed"],
  ["cowrie.session.params", "session.params"],
  ["cowrie.client.version", "client.version"],
  ["cowrie.client.kex", "client.kex"],
  ["cowrie.client.fingerprint", "client.fingerprint"],
  ["cowrie.client.size", "client.size"],
  ["cowrie.client.var", "client.var"],
  ["cowrie.login.success", "login.success"],
  ["cowrie.login.failed", "login.failed"],
  ["cowrie.command.input", "command.input"],
  ["cowrie.command.failed", "command.failed"],
  ["cowrie.command.success", "command.success"],
  ["cowrie.session.file_download", "file.download"],
  ["cowrie.session.file_download.failed", "file.download_failed"],
  ["cowrie.session.file_upload", "file.upload"],
  ["cowrie.direct-tcpip.request", "tcpip.request"],
  ["cowrie.direct-tcpip.data", "tcpip.data"],
  ["cowrie.log.open", "log.open"],
  ["cowrie.log.closed", "log.closed"],
  ["cowrie.session.input", "command.input"],
  ["cowrie.virustotal.scanfile", "other"],
  ["cowrie.virustotal.scanurl", "other"]
])

/** The kind of a cowrie eventid; unknown eventids are "other" (kept and counted, never fatal). */
export const cowrieKind = (eventid: string): EventKind => KIND_BY_EVENTID.get(eventid) ?? "other"

const protocolOf = (value: unknown): string | undefined => {
  const s = str(value)
  return s === undefined ? undefined : s.toLowerCase()
}

/**
 * Builds a normalised event from a decoded cowrie object. Shared with the ECS format, which
 * maps its fields onto cowrie's names first.
 */
export const cowrieEventFromObject = (o: Record<string, unknown>, tsValue: unknown): LineOutcome => {
  const eventid = o.eventid
  if (typeof eventid !== "string" || eventid.length === 0) return Reject.missingEventId
  const session = o.session
  if (typeof session !== "string" || session.length === 0) return Reject.missingSession
  if (typeof tsValue !== "string") return Reject.badTimestamp
  const ts = parseIsoTimestamp(tsValue)
  if (Number.isNaN(ts)) return Reject.badTimestamp
  const kind = cowrieKind(eventid)
  const event: { -readonly [K in keyof HoneypotEvent]: HoneypotEvent[K] } = {
    kind,
    sourceEventId: eventid,
    sessionKey: session,
    ts
  }
  const sensor = str(o.sensor)
  if (sensor !== undefined) event.sensor = sensor
  const srcIpRaw = str(o.src_ip)
  if (srcIpRaw !== undefined) {
    const ip = normaliseIp(srcIpRaw)
    if (ip === undefined) return Reject.badIp
    event.srcIp = ip
  }
  switch (kind) {
    case "session.connect": {
      const srcPort = asPort(o.src_port)
      const dstPort = asPort(o.dst_port)
      if (srcPort === "bad" || dstPort === "bad") return Reject.badPort
      if (srcPort !== undefined) event.srcPort = srcPort
      if (dstPort !== undefined) event.dstPort = dstPort
      const dstRaw = str(o.dst_ip)
      if (dstRaw !== undefined) {
        const dst = normaliseIp(dstRaw)
        if (dst === undefined) return Reject.badIp
        event.dstIp = dst
      }
      const protocol = protocolOf(o.protocol)
      if (protocol !== undefined) event.protocol = protocol
      break
    }
    case "client.version":
      event.version = str(o.version)
      break
    case "client.kex":
      event.hassh = str(o.hassh)
      break
    case "client.fingerprint":
      event.username = str(o.username)
      event.key = str(o.key)
      event.fingerprint = str(o.fingerprint)
      break
    case "login.success":
    case "login.failed":
      // Old cowrie and some exporters log non-string passwords (numbers); keep their text.
      event.username = o.username === undefined || o.username === null ? "" : String(o.username)
      event.password = o.password === undefined || o.password === null ? "" : String(o.password)
      break
    case "command.input":
    case "command.failed":
    case "command.success":
      event.input = str(o.input) ?? ""
      break
    case "file.download":
    case "file.download_failed":
    case "file.upload":
      event.url = str(o.url)
      event.sha256 = str(o.shasum)?.toLowerCase()
      event.filename = str(o.destfile) ?? str(o.filename)
      break
    case "tcpip.request":
    case "tcpip.data": {
      const host = str(o.dst_ip)
      const port = asPort(o.dst_port)
      if (host !== undefined) event.forwardTarget = port === undefined || port === "bad" ? host : `${host}:${port}`
      break
    }
    default:
      break
  }
  return event
}

const parseLine = (line: string): LineOutcome => {
  const o = parseJsonObjectLine(line)
  return typeof o === "string" ? o : cowrieEventFromObject(o, o.timestamp)
}

/** @category formats */
export const CowrieFormat: LineFormat = {
  name: "cowrie",
  sniff: (line) => /"eventid"\s*:\s*"cowrie\./.test(line),
  parseLine
}

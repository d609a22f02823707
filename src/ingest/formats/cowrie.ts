/**
 * Raw cowrie JSON logs (cowrie.json, one event per line), every eventid of cowrie's output
 * documentation, old (2017, `key": value` with spaces) and new layouts alike.
 */
import type { EventKind, HoneypotEvent } from "../../domain/Event.ts"
import { normaliseIp, parseIsoTimestamp, parseIsoTimestampBytes } from "../validate.ts"
import { asPort, jsonBytesProblem, type LineFormat, type LineOutcome, parseJsonObjectLine, Reject, str } from "./Format.ts"
import { JsonLineScanner, StringCache } from "./JsonLine.ts"

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

/** The only fields cowrieEventFromObject reads; the rest of a line is validated, never materialised. */
const FIELDS = [
  "eventid", "session", "timestamp", "sensor", "src_ip", "src_port", "dst_ip", "dst_port", "protocol", "version",
  "hassh", "username", "password", "key", "fingerprint", "input", "url", "shasum", "destfile", "filename"
] as const
const TIMESTAMP = 2

const FIELD_BYTES = FIELDS.map((f) => new TextEncoder().encode(f))
const FIELD_BY_NAME = new Map<string, number>(FIELDS.map((f, i) => [f, i]))
const fieldHash = (len: number, first: number, last: number): number => ((len * 31 + first) * 31 + last) & 1023
const FIELD_TABLE = new Int8Array(1024).fill(-1)
FIELD_BYTES.forEach((b, id) => {
  const h = fieldHash(b.length, b[0]!, b[b.length - 1]!)
  if (FIELD_TABLE[h] !== -1) throw new Error(`cowrie field table collision: ${FIELDS[id]}`)
  FIELD_TABLE[h] = id
})

const scanner = new JsonLineScanner()
const cache = new StringCache()
const slots = new Int32Array(FIELDS.length)

/** The field id of member k's key, or -1 when cowrie parsing does not read it. */
const fieldOf = (buf: Uint8Array, k: number): number => {
  const s = scanner.keyStart[k]!
  const e = scanner.keyEnd[k]!
  if (scanner.keyFlags[k] !== 0) return FIELD_BY_NAME.get(scanner.keyText(buf, k)) ?? -1
  const len = e - s
  if (len === 0) return -1
  const id = FIELD_TABLE[fieldHash(len, buf[s]!, buf[e - 1]!)]!
  if (id < 0) return -1
  const name = FIELD_BYTES[id]!
  if (name.length !== len) return -1
  // The hash only picks a candidate: every byte is compared (first and last too).
  for (let i = 0; i < len; i++) if (buf[s + i] !== name[i]) return -1
  return id
}

/** The value of field id as JSON.parse would give it, or undefined when the line lacks it. */
const field = (buf: Uint8Array, id: number): unknown => {
  const k = slots[id]!
  if (k < 0) return undefined
  if (scanner.valueKind[k] === 34 && scanner.valueFlags[k] === 0) {
    return cache.get(buf, scanner.valueStart[k]! + 1, scanner.valueEnd[k]! - 1)
  }
  return scanner.value(buf, k)
}

/** Field id as a string, or undefined when absent or not a string (the fast path's `str`). */
const fieldStr = (buf: Uint8Array, id: number): string | undefined => {
  const k = slots[id]!
  if (k < 0 || scanner.valueKind[k] !== 34) return undefined
  if (scanner.valueFlags[k] === 0) return cache.get(buf, scanner.valueStart[k]! + 1, scanner.valueEnd[k]! - 1)
  return scanner.value(buf, k) as string
}

// Known eventids by their bytes, so the common case needs neither a new string nor a Map lookup.
const EVENTIDS = [...KIND_BY_EVENTID.keys()]
const EVENTID_BYTES = EVENTIDS.map((e) => new TextEncoder().encode(e))
const eventidHash = (buf: Uint8Array, s: number, e: number): number =>
  ((e - s) * 131 + buf[e - 1]! * 7 + buf[s + 8]! * 3 + buf[e - 2]!) & 1023
const EVENTID_TABLE = new Int8Array(1024).fill(-1)
EVENTID_BYTES.forEach((b, i) => {
  const h = eventidHash(b, 0, b.length)
  if (EVENTID_TABLE[h] !== -1) throw new Error(`cowrie eventid table collision: ${EVENTIDS[i]}`)
  EVENTID_TABLE[h] = i
})

/** Index into EVENTIDS of member k's value, or -1 when it is not a known eventid spelled plainly. */
const knownEventid = (buf: Uint8Array, k: number): number => {
  if (scanner.valueKind[k] !== 34 || scanner.valueFlags[k] !== 0) return -1
  const s = scanner.valueStart[k]! + 1
  const e = scanner.valueEnd[k]! - 1
  if (e - s < 10) return -1
  const i = EVENTID_TABLE[eventidHash(buf, s, e)]!
  if (i < 0) return -1
  const b = EVENTID_BYTES[i]!
  if (b.length !== e - s) return -1
  for (let j = 0; j < b.length; j++) if (buf[s + j] !== b[j]) return -1
  return i
}

/**
 * The byte-level fast path: the same outcome as parseLine (a differential test holds them
 * together, and both follow cowrieEventFromObject step by step), without decoding the line or
 * building an object for every field in it. The event object is reused by the next call, as
 * LineFormat.parseBytes allows.
 */
const scratch: { -readonly [K in keyof HoneypotEvent]: HoneypotEvent[K] } = {
  kind: "other",
  sourceEventId: "",
  sessionKey: "",
  ts: 0,
  sensor: undefined,
  srcIp: undefined,
  srcPort: undefined,
  dstIp: undefined,
  dstPort: undefined,
  protocol: undefined,
  version: undefined,
  hassh: undefined,
  username: undefined,
  password: undefined,
  key: undefined,
  fingerprint: undefined,
  input: undefined,
  url: undefined,
  sha256: undefined,
  filename: undefined,
  forwardTarget: undefined
}

/** A connection's ports, destination and protocol (one event per session: kept out of readKindFields). */
const readConnect = (buf: Uint8Array, event: typeof scratch): LineOutcome | undefined => {
  const srcPort = asPort(field(buf, 5))
  const dstPort = asPort(field(buf, 7))
  if (srcPort === "bad" || dstPort === "bad") return Reject.badPort
  if (srcPort !== undefined) event.srcPort = srcPort
  if (dstPort !== undefined) event.dstPort = dstPort
  const dstRaw = fieldStr(buf, 6)
  if (dstRaw !== undefined) {
    const dst = normaliseIp(dstRaw)
    if (dst === undefined) return Reject.badIp
    event.dstIp = dst
  }
  const protocol = fieldStr(buf, 8)
  if (protocol !== undefined) event.protocol = protocol.toLowerCase()
  return undefined
}

/**
 * The fields of one kind of event into `event`; a reject when one is malformed. Apart from
 * parseBytes so that each is compiled on its own.
 */
const readKindFields = (buf: Uint8Array, kind: EventKind, event: typeof scratch): LineOutcome | undefined => {
  switch (kind) {
    case "session.connect":
      return readConnect(buf, event)
    case "client.version":
      event.version = fieldStr(buf, 9)
      break
    case "client.kex":
      event.hassh = fieldStr(buf, 10)
      break
    case "client.fingerprint":
      event.username = fieldStr(buf, 11)
      event.key = fieldStr(buf, 13)
      event.fingerprint = fieldStr(buf, 14)
      break
    case "login.success":
    case "login.failed": {
      const username = field(buf, 11)
      const password = field(buf, 12)
      event.username = username === undefined || username === null ? "" : String(username)
      event.password = password === undefined || password === null ? "" : String(password)
      break
    }
    case "command.input":
    case "command.failed":
    case "command.success":
      event.input = fieldStr(buf, 15) ?? ""
      break
    case "file.download":
    case "file.download_failed":
    case "file.upload":
      event.url = fieldStr(buf, 16)
      event.sha256 = fieldStr(buf, 17)?.toLowerCase()
      event.filename = fieldStr(buf, 18) ?? fieldStr(buf, 19)
      break
    case "tcpip.request":
    case "tcpip.data": {
      const host = fieldStr(buf, 6)
      const port = asPort(field(buf, 7))
      if (host !== undefined) event.forwardTarget = port === undefined || port === "bad" ? host : `${host}:${port}`
      break
    }
    default:
      break
  }
  return undefined
}

// The last source address and its canonical form: consecutive lines mostly share it.
let lastIpRaw = ""
let lastIp: string | undefined = undefined
const parseBytes = (buf: Uint8Array, start: number, end: number): LineOutcome => {
  const problem = jsonBytesProblem(scanner, buf, start, end)
  if (problem !== undefined) return problem
  slots.fill(-1)
  const n = scanner.memberCount
  for (let k = 0; k < n; k++) {
    const id = fieldOf(buf, k)
    if (id >= 0) slots[id] = k
  }
  const ke = slots[0]!
  if (ke < 0) return Reject.missingEventId
  const known = knownEventid(buf, ke)
  let eventid: string
  let kind: EventKind
  if (known >= 0) {
    eventid = EVENTIDS[known]!
    kind = KIND_BY_EVENTID.get(eventid)!
  } else {
    const v = field(buf, 0)
    if (typeof v !== "string" || v.length === 0) return Reject.missingEventId
    eventid = v
    kind = cowrieKind(v)
  }
  const session = fieldStr(buf, 1)
  if (session === undefined || session.length === 0) return Reject.missingSession
  const kt = slots[TIMESTAMP]!
  if (kt < 0 || scanner.valueKind[kt] !== 34) return Reject.badTimestamp
  const ts = scanner.valueFlags[kt] === 0
    ? parseIsoTimestampBytes(buf, scanner.valueStart[kt]! + 1, scanner.valueEnd[kt]! - 1)
    : parseIsoTimestamp(scanner.value(buf, kt) as string)
  if (Number.isNaN(ts)) return Reject.badTimestamp
  // One event object for every line (see LineFormat.parseBytes): no allocation per line, and
  // one object shape for every event, so the session builder's reads stay monomorphic.
  const event = scratch
  event.kind = kind
  event.sourceEventId = eventid
  event.sessionKey = session
  event.ts = ts
  event.sensor = undefined
  event.srcIp = undefined
  event.srcPort = undefined
  event.dstIp = undefined
  event.dstPort = undefined
  event.protocol = undefined
  event.version = undefined
  event.hassh = undefined
  event.username = undefined
  event.password = undefined
  event.key = undefined
  event.fingerprint = undefined
  event.input = undefined
  event.url = undefined
  event.sha256 = undefined
  event.filename = undefined
  event.forwardTarget = undefined
  const sensor = fieldStr(buf, 3)
  if (sensor !== undefined) event.sensor = sensor
  const srcIpRaw = fieldStr(buf, 4)
  if (srcIpRaw !== undefined) {
    if (srcIpRaw !== lastIpRaw) {
      lastIpRaw = srcIpRaw
      lastIp = normaliseIp(srcIpRaw)
    }
    if (lastIp === undefined) return Reject.badIp
    event.srcIp = lastIp
  }
  const bad = readKindFields(buf, kind, event)
  if (bad !== undefined) return bad
  return event
}

/** @category formats */
export const CowrieFormat: LineFormat = {
  name: "cowrie",
  sniff: (line) => /"eventid"\s*:\s*"cowrie\./.test(line),
  parseLine,
  parseBytes
}

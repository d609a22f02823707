/**
 * Folds a stream of normalised events into attack sessions. Memory grows with the number of
 * sessions, not events: an event updates its session's accumulator and is dropped.
 *
 * Cowrie and ECS events carry a session id. Firewall and web honeypot events do not: they are
 * grouped per source (IP, or IP + user agent) and split where the source was silent longer
 * than the gap (30 minutes by default), each piece getting a stable derived id.
 */
import { createHash } from "node:crypto"
import { sshKeysAddedBy } from "../analytics/sshKeys.ts"
import type { AttackSession, Credential, SessionProtocol, Transfer } from "../domain/AttackSession.ts"
import type { HoneypotEvent } from "../domain/Event.ts"
import { formatTimestamp } from "./validate.ts"

/** Default silence that ends a firewall or web honeypot session. */
export const DEFAULT_SESSION_GAP_MS = 30 * 60 * 1000

interface Accumulator {
  id: string
  sensor: string | null
  protocol: string | null
  srcIp: string | null
  srcPort: number | null
  dstIp: string | null
  dstPort: number | null
  start: number
  end: number
  clientVersion: string | null
  hassh: string | null
  credentials: Array<Credential>
  commands: Array<string>
  downloads: Array<Transfer>
  uploads: Array<Transfer>
  forwards: Array<string>
  httpRequests: Array<string>
  userAgent: string | null
  events: number
}

const newAccumulator = (id: string, ts: number): Accumulator => ({
  id,
  sensor: null,
  protocol: null,
  srcIp: null,
  srcPort: null,
  dstIp: null,
  dstPort: null,
  start: ts,
  end: ts,
  clientVersion: null,
  hassh: null,
  credentials: [],
  commands: [],
  downloads: [],
  uploads: [],
  forwards: [],
  httpRequests: [],
  userAgent: null,
  events: 0
})

/** Which formats sessionise by silence gaps, and the id prefix of their derived ids. */
const GAP_PREFIX: Partial<Record<HoneypotEvent["kind"], string>> = {
  "firewall.packet": "fw",
  "web.request": "web"
}

const derivedId = (prefix: string, groupKey: string, firstTs: number): string =>
  `${prefix}-${createHash("sha256").update(`${groupKey}\u0000${firstTs}`).digest("hex").slice(0, 16)}`

const TELNET_PORTS = new Set([23, 2223])

const protocolOf = (acc: Accumulator): SessionProtocol => {
  const p = acc.protocol
  if (p === "ssh" || p === "telnet" || p === "http" || p === "tcp" || p === "udp" || p === "icmp") return p
  if (p === null) {
    // Old cowrie (2017) logs no protocol: telnet listens on 23/2223, everything else is SSH.
    return acc.dstPort !== null && TELNET_PORTS.has(acc.dstPort) ? "telnet" : "ssh"
  }
  return "other"
}

const MAX_FORWARDS_KEPT = 1000

export class SessionBuilder {
  private readonly sessions = new Map<string, Accumulator>()
  /** Gap-sessionised formats: the currently open session of each source group. */
  private readonly openByGroup = new Map<string, Accumulator>()

  constructor(private readonly gapMs: number = DEFAULT_SESSION_GAP_MS) {}

  get size(): number {
    return this.sessions.size
  }

  add(event: HoneypotEvent): void {
    const acc = this.accumulatorFor(event)
    acc.events++
    if (event.ts < acc.start) acc.start = event.ts
    if (event.ts > acc.end) acc.end = event.ts
    if (acc.srcIp === null && event.srcIp !== undefined) acc.srcIp = event.srcIp
    if (acc.sensor === null && event.sensor !== undefined) acc.sensor = event.sensor
    switch (event.kind) {
      case "session.connect":
        if (event.srcPort !== undefined) acc.srcPort = event.srcPort
        if (event.dstIp !== undefined) acc.dstIp = event.dstIp
        if (event.dstPort !== undefined) acc.dstPort = event.dstPort
        if (event.protocol !== undefined) acc.protocol = event.protocol
        if (event.srcIp !== undefined) acc.srcIp = event.srcIp
        break
      case "client.version":
        if (event.version !== undefined) acc.clientVersion = event.version
        break
      case "client.kex":
        if (event.hassh !== undefined) acc.hassh = event.hassh
        break
      case "login.success":
      case "login.failed":
        acc.credentials.push({
          username: event.username ?? "",
          password: event.password ?? "",
          success: event.kind === "login.success"
        })
        break
      case "command.input":
        acc.commands.push(event.input ?? "")
        break
      case "file.download":
      case "file.download_failed":
        acc.downloads.push({ url: event.url ?? null, sha256: event.sha256 ?? null, filename: event.filename ?? null })
        break
      case "file.upload":
        acc.uploads.push({ url: event.url ?? null, sha256: event.sha256 ?? null, filename: event.filename ?? null })
        break
      case "tcpip.request":
        // Proxy abusers open thousands of forwards per session; keep distinct targets, bounded.
        if (event.forwardTarget !== undefined && acc.forwards.length < MAX_FORWARDS_KEPT && !acc.forwards.includes(event.forwardTarget)) {
          acc.forwards.push(event.forwardTarget)
        }
        break
      case "web.request":
        acc.protocol = "http"
        acc.httpRequests.push(`${event.method ?? "GET"} ${event.url ?? ""}`)
        if (event.input !== undefined) acc.commands.push(event.input)
        if (event.userAgent !== undefined) acc.userAgent = event.userAgent
        if (event.dstIp !== undefined) acc.dstIp = event.dstIp
        if (event.dstPort !== undefined && acc.dstPort === null) acc.dstPort = event.dstPort
        break
      case "firewall.packet":
        if (acc.protocol === null && event.protocol !== undefined) acc.protocol = event.protocol
        if (acc.dstIp === null && event.dstIp !== undefined) acc.dstIp = event.dstIp
        if (acc.dstPort === null && event.dstPort !== undefined) acc.dstPort = event.dstPort
        if (acc.srcPort === null && event.srcPort !== undefined) acc.srcPort = event.srcPort
        break
      case "payload":
        if (event.protocol !== undefined) acc.protocol = event.protocol
        if (event.dstPort !== undefined) acc.dstPort = event.dstPort
        if (event.input !== undefined && event.input.length > 0) {
          for (const line of event.input.split(/\r?\n/)) if (line.trim().length > 0) acc.commands.push(line)
        }
        break
      default:
        break
    }
  }

  private accumulatorFor(event: HoneypotEvent): Accumulator {
    const prefix = GAP_PREFIX[event.kind]
    if (prefix === undefined) {
      let acc = this.sessions.get(event.sessionKey)
      if (acc === undefined) {
        acc = newAccumulator(event.sessionKey, event.ts)
        this.sessions.set(event.sessionKey, acc)
      }
      return acc
    }
    const group = `${prefix}\u0000${event.sessionKey}`
    const open = this.openByGroup.get(group)
    if (open !== undefined && event.ts - open.end <= this.gapMs) return open
    const acc = newAccumulator(derivedId(prefix, event.sessionKey, event.ts), event.ts)
    this.sessions.set(acc.id, acc)
    this.openByGroup.set(group, acc)
    return acc
  }

  /** The sessions built so far, sorted by start time then id (a deterministic order). */
  build(): Array<AttackSession> {
    const out: Array<AttackSession> = []
    for (const acc of this.sessions.values()) out.push(finalise(acc, protocolOf(acc)))
    out.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    return out
  }
}

const finalise = (acc: Accumulator, protocol: SessionProtocol): AttackSession => {
  const keys: Array<string> = []
  for (const command of acc.commands) {
    for (const key of sshKeysAddedBy(command)) if (!keys.includes(key)) keys.push(key)
  }
  return {
    id: acc.id,
    sensor: acc.sensor,
    protocol,
    src_ip: acc.srcIp,
    src_port: acc.srcPort,
    dst_ip: acc.dstIp,
    dst_port: acc.dstPort,
    start: formatTimestamp(acc.start),
    end: formatTimestamp(acc.end),
    client_version: acc.clientVersion,
    hassh: acc.hassh,
    credentials: acc.credentials,
    commands: acc.commands,
    downloads: acc.downloads,
    uploads: acc.uploads,
    ssh_keys_added: keys,
    tcpip_forwards: acc.forwards,
    http_requests: acc.httpRequests,
    user_agent: acc.userAgent,
    event_count: acc.events
  }
}

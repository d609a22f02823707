/**
 * Folds a stream of normalised events into attack sessions. Memory grows with the number of
 * sessions, not events: an event updates its session's accumulator and is dropped.
 *
 * Cowrie and ECS events carry a session id. Firewall and web honeypot events do not: they are
 * grouped per source (IP, or IP + user agent) and split where the source was silent longer
 * than the gap (30 minutes by default), each piece getting a stable derived id.
 *
 * Two modes:
 * - collecting (`build()`): every session is kept until the end, then all are returned in
 *   (start, id) order;
 * - streaming (a sink given): a session is handed to the sink as soon as it is finished and
 *   no session still to come can precede it, in the same (start, id) order, and dropped. A
 *   session is finished when its `session.closed` event arrives, when a later piece of its
 *   source group starts (gap rule), when it has been idle for long enough in input time, or
 *   at the end of the input. Logs are written as events happen, so this holds only a few
 *   minutes of sessions at any time. Input whose order contradicts a session already handed
 *   on (a session starting before it, an event for it arriving after it) is detected, never
 *   silently mis-sessionised: the builder stops with `outOfOrder` set, and the caller reads
 *   the input again in collecting mode.
 */
import { createHash } from "node:crypto"
import { eventHash, SeenEvents } from "./seenEvents.ts"
import { sshKeysAddedBy } from "./sshKeys.ts"
import type { AttackSession, Credential, SessionProtocol, Transfer } from "../domain/AttackSession.ts"
import type { HoneypotEvent } from "../domain/Event.ts"
import { formatTimestamp } from "./validate.ts"

/** Default silence that ends a firewall or web honeypot session. */
export const DEFAULT_SESSION_GAP_MS = 30 * 60 * 1000

/** Where a streaming builder's session is: receiving events, finished, or handed on. */
const OPEN = 0
const READY = 1

interface Accumulator {
  id: string
  /** Source group of a gap-sessionised piece (null for sessions with an id of their own). */
  group: string | null
  state: number
  /** Bumped each time the session becomes READY, so stale heap entries are recognised. */
  readyStamp: number
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
  /** Events counted so far, to drop one read again (seenEvents.ts); null until compared. */
  seen: SeenEvents | null
}

const newAccumulator = (id: string, group: string | null, ts: number): Accumulator => ({
  id,
  group,
  state: OPEN,
  readyStamp: 0,
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
  events: 0,
  seen: null
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

/** A finished session is held until the input's clock has passed its start by this much. */
export const REORDER_SLACK_MS = 15 * 60 * 1000

/**
 * A session with an id but no `session.closed`, silent this long in input time, is finished.
 * Proxy abusers keep a connection open and silent for hours before cowrie logs its close;
 * if an event still comes for a session handed on, the stream stops and the input is read
 * again whole, so this only bounds what a session without a close holds back.
 */
export const IDLE_SESSION_MS = 24 * 60 * 60 * 1000

/** Fewest events between two looks for sessions that can be handed on. */
const DRAIN_EVERY_EVENTS = 1024

/** Streaming order: by start, then id. */
const before = (aStart: number, aId: string, bStart: number, bId: string): boolean =>
  aStart < bStart || (aStart === bStart && aId < bId)

/**
 * Finished sessions waiting to be handed on, smallest (start, id) first. Keys are copied at
 * push time; an entry is stale once its session was reopened (state or stamp changed).
 */
class ReadyHeap {
  private readonly items: Array<Accumulator> = []
  private readonly stamps: Array<number> = []
  private readonly starts: Array<number> = []
  private readonly ids: Array<string> = []

  push(acc: Accumulator): void {
    const { items, stamps, starts, ids } = this
    let i = items.length
    items.push(acc)
    stamps.push(0)
    starts.push(0)
    ids.push("")
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(acc.start, acc.id, starts[parent]!, ids[parent]!)) break
      this.move(parent, i)
      i = parent
    }
    items[i] = acc
    stamps[i] = acc.readyStamp
    starts[i] = acc.start
    ids[i] = acc.id
  }

  /** The smallest entry that is still READY with the stamp it was pushed with; stale entries are dropped. */
  peek(): Accumulator | undefined {
    while (this.items.length > 0) {
      const top = this.items[0]!
      if (top.state === READY && top.readyStamp === this.stamps[0]) return top
      this.pop()
    }
    return undefined
  }

  pop(): void {
    const { items, stamps, starts, ids } = this
    const last = items.pop()!
    const lastStamp = stamps.pop()!
    const lastStart = starts.pop()!
    const lastId = ids.pop()!
    const n = items.length
    if (n === 0) return
    let i = 0
    while (true) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      const c = r < n && before(starts[r]!, ids[r]!, starts[l]!, ids[l]!) ? r : l
      if (!before(starts[c]!, ids[c]!, lastStart, lastId)) break
      this.move(c, i)
      i = c
    }
    items[i] = last
    stamps[i] = lastStamp
    starts[i] = lastStart
    ids[i] = lastId
  }

  private move(from: number, to: number): void {
    this.items[to] = this.items[from]!
    this.stamps[to] = this.stamps[from]!
    this.starts[to] = this.starts[from]!
    this.ids[to] = this.ids[from]!
  }
}

export class SessionBuilder {
  private readonly sessions = new Map<string, Accumulator>()
  /** Gap-sessionised formats: the currently open session of each source group. */
  private readonly openByGroup = new Map<string, Accumulator>()

  // Streaming mode only.
  private readonly ready = new ReadyHeap()
  /** Ids of sessions already handed on (an event for one of them contradicts the order). */
  private readonly emitted = new Set<string>()
  /** End of the last piece handed on, per source group whose open piece was handed on. */
  private readonly emittedGroupEnd = new Map<string, number>()
  private lastStart = -Infinity
  private lastId = ""
  private maxTs = -Infinity
  private sinceDrain = 0
  private handedOn = 0
  private duplicates = 0
  /** Which input the events come from (an event repeats another only from another input). */
  private input = 0
  /** Whether events are compared at all: only when the inputs are several. */
  private comparing = false
  /** Why streaming stopped (the input's order contradicts sessions already handed on); undefined while it holds. */
  outOfOrder: string | undefined = undefined

  /**
   * @param gapMs silence that ends a firewall or web honeypot session
   * @param sink streaming mode: receives each finished session, in (start, id) order
   */
  constructor(private readonly gapMs: number = DEFAULT_SESSION_GAP_MS, private readonly sink?: (session: AttackSession) => void) {}

  /** Sessions held (collecting: all of them; streaming: those not yet handed on). */
  get size(): number {
    return this.sessions.size
  }

  /** Sessions handed to the sink so far (streaming mode). */
  get streamed(): number {
    return this.handedOn
  }

  /**
   * The events that follow come from input number `index` (a file, stdin, a document);
   * `compare`: there are several inputs, so an event may repeat one of an earlier input. Give
   * the same `compare` for every input of one build.
   */
  startInput(index: number, compare: boolean): void {
    this.input = index
    this.comparing = compare
  }

  /** Events dropped because their session already had them from another input (seenEvents.ts). */
  get duplicateEvents(): number {
    return this.duplicates
  }

  add(event: HoneypotEvent): void {
    if (this.outOfOrder !== undefined) return
    // An event its session already holds from another input is dropped before it can reopen the session.
    const compared = this.comparing && GAP_PREFIX[event.kind] === undefined
    const hash = compared ? eventHash(event) : 0
    if (compared) {
      const known = this.sessions.get(event.sessionKey)
      if (known?.seen != null && known.seen.repeats(event.ts, hash, this.input, known.end)) {
        this.duplicates++
        return
      }
    }
    const acc = this.accumulatorFor(event)
    if (acc === undefined) return
    if (compared && acc.events === 0) {
      acc.seen = new SeenEvents()
      acc.seen.repeats(event.ts, hash, this.input, -Infinity)
    }
    acc.events++
    if (event.ts < acc.start) {
      if (this.sink !== undefined && !before(this.lastStart, this.lastId, event.ts, acc.id)) {
        this.stop(`an event of session ${acc.id} moves its start before a session already handed on`)
        return
      }
      acc.start = event.ts
    }
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
      case "session.closed":
        if (this.sink !== undefined && acc.group === null) this.markReady(acc)
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
    if (this.sink !== undefined) {
      if (event.ts > this.maxTs) this.maxTs = event.ts
      if (++this.sinceDrain >= DRAIN_EVERY_EVENTS && this.sinceDrain >= this.sessions.size) this.drain()
    }
  }

  /** The accumulator an event belongs to; undefined when streaming stops on it. */
  private accumulatorFor(event: HoneypotEvent): Accumulator | undefined {
    const prefix = GAP_PREFIX[event.kind]
    if (prefix === undefined) {
      let acc = this.sessions.get(event.sessionKey)
      if (acc === undefined) {
        if (this.sink !== undefined) {
          if (this.emitted.has(event.sessionKey)) return this.stop(`an event of session ${event.sessionKey} arrives after the session was handed on`)
          if (!before(this.lastStart, this.lastId, event.ts, event.sessionKey)) {
            return this.stop(`session ${event.sessionKey} starts before a session already handed on`)
          }
        }
        acc = newAccumulator(event.sessionKey, null, event.ts)
        this.sessions.set(event.sessionKey, acc)
      } else if (acc.state === READY) acc.state = OPEN
      return acc
    }
    const group = `${prefix}\u0000${event.sessionKey}`
    const open = this.openByGroup.get(group)
    if (open !== undefined && event.ts - open.end <= this.gapMs) {
      if (open.state === READY) open.state = OPEN
      return open
    }
    if (this.sink !== undefined && open === undefined) {
      const end = this.emittedGroupEnd.get(group)
      if (end !== undefined) {
        if (event.ts - end <= this.gapMs) return this.stop(`an event of source ${event.sessionKey} continues a session already handed on`)
        this.emittedGroupEnd.delete(group)
      }
    }
    const acc = newAccumulator(derivedId(prefix, event.sessionKey, event.ts), group, event.ts)
    if (this.sink !== undefined) {
      if (!before(this.lastStart, this.lastId, acc.start, acc.id)) return this.stop(`a session of source ${event.sessionKey} starts before a session already handed on`)
      // The group's previous piece is finished: later events go to the new one.
      if (open !== undefined) this.markReady(open)
    }
    this.sessions.set(acc.id, acc)
    this.openByGroup.set(group, acc)
    return acc
  }

  private stop(reason: string): undefined {
    this.outOfOrder = reason
    this.sessions.clear()
    this.openByGroup.clear()
    this.emitted.clear()
    this.emittedGroupEnd.clear()
    return undefined
  }

  private markReady(acc: Accumulator): void {
    if (acc.state === READY) return
    acc.state = READY
    acc.readyStamp++
    this.ready.push(acc)
  }

  /**
   * Streaming: marks idle sessions finished and hands on every finished session that no
   * session still open, nor one still to come, can precede.
   */
  private drain(): void {
    this.sinceDrain = 0
    let minStart = Infinity
    let minId = ""
    const idleBefore = this.maxTs - IDLE_SESSION_MS
    const groupIdleBefore = this.maxTs - this.gapMs - REORDER_SLACK_MS
    for (const acc of this.sessions.values()) {
      if (acc.state !== OPEN) continue
      if (acc.end < (acc.group === null ? idleBefore : groupIdleBefore)) {
        this.markReady(acc)
        continue
      }
      if (before(acc.start, acc.id, minStart, minId)) {
        minStart = acc.start
        minId = acc.id
      }
    }
    const settled = this.maxTs - REORDER_SLACK_MS
    for (let top = this.ready.peek(); top !== undefined && this.outOfOrder === undefined; top = this.ready.peek()) {
      if (top.start > settled || !before(top.start, top.id, minStart, minId)) break
      this.ready.pop()
      this.handOn(top)
    }
  }

  private handOn(acc: Accumulator): void {
    if (!before(this.lastStart, this.lastId, acc.start, acc.id)) {
      this.stop(`session ${acc.id} would be handed on out of order`)
      return
    }
    this.lastStart = acc.start
    this.lastId = acc.id
    this.sessions.delete(acc.id)
    if (acc.group === null) this.emitted.add(acc.id)
    else if (this.openByGroup.get(acc.group) === acc) {
      this.openByGroup.delete(acc.group)
      this.emittedGroupEnd.set(acc.group, acc.end)
    }
    this.handedOn++
    this.sink!(finalise(acc, protocolOf(acc)))
  }

  /**
   * Streaming: these sessions (ids of sessions with an id of their own) are finished because
   * the caller says so — live mode ends a session whose source has been silent for a while on
   * the wall clock. Each is handed on as soon as the order allows, like a closed session; an
   * event for it before then opens it again, one after stops streaming as any contradiction
   * does.
   */
  finish(ids: Iterable<string>): void {
    if (this.sink === undefined || this.outOfOrder !== undefined) return
    let marked = false
    for (const id of ids) {
      const acc = this.sessions.get(id)
      if (acc === undefined || acc.group !== null) continue
      this.markReady(acc)
      marked = true
    }
    if (marked) this.drain()
  }

  /**
   * Streaming: the end of the input. Hands on every session still held, in order; false
   * (and `outOfOrder` set) when streaming had stopped.
   */
  end(): boolean {
    if (this.outOfOrder !== undefined) return false
    for (const acc of this.sessions.values()) this.markReady(acc)
    for (let top = this.ready.peek(); top !== undefined && this.outOfOrder === undefined; top = this.ready.peek()) {
      this.ready.pop()
      this.handOn(top)
    }
    return this.outOfOrder === undefined
  }

  /** Collecting: the sessions built so far, sorted by start time then id (a deterministic order). */
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

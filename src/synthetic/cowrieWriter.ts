/**
 * Renders a synthetic session as the cowrie JSON lines a real sensor would have logged:
 * session.connect, client.version, client.kex (hassh and offered algorithms),
 * login.failed/success, session.params, command.input (+ command.failed for what cowrie does
 * not know), file_download (URL fetches and redirected files) or file_download.failed,
 * file_upload, log.closed, direct-tcpip.request/data and session.closed, with microsecond
 * timestamps increasing inside the session. The engine's ingest rebuilds the same
 * AttackSession from them (id, addresses, times, credentials, commands, transfers, keys,
 * forwards, event count).
 *
 * Everything random here (microseconds, tty log hashes, arch) comes from a Prng seeded by the
 * session id, so a session always renders to the same bytes.
 *
 * The hot path writes bytes straight into a ByteSink: constant JSON fragments are encoded
 * once, per-session fragments (sensor, tail) once per session and copied within the buffer.
 */
import type { AttackSession, Transfer } from "../domain/AttackSession.ts"
import { ByteSink } from "./ByteSink.ts"
import { ARCHES, kexJsonFor } from "./catalog.ts"
import { choose, Prng } from "./random.ts"

const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f-\uffff]/

/** The inside of a JSON string literal for `s` (plain ASCII skips JSON.stringify). */
const inner = (s: string): string => (NEEDS_ESCAPE.test(s) ? JSON.stringify(s).slice(1, -1) : s)

/**
 * Whether an SSH client runs each command in its own exec channel (one session.params and
 * one log.closed per command, as bots do) or types them into one shell. A property of the
 * client, so derived from its hassh.
 */
const execMode = (s: AttackSession): boolean =>
  s.protocol === "ssh" && s.hassh !== null && s.hassh.length > 0 && (s.hassh.charCodeAt(s.hassh.length - 1) & 1) === 1

const SEGMENT_SPLIT = /;|&&|\|\|/

/** Parts of a command cowrie answers with "command not found" (logged as command.failed). */
const NONE: ReadonlyArray<string> = []

const failedSegments = (command: string): ReadonlyArray<string> => {
  if (!command.includes("lockr")) return NONE
  const out: Array<string> = []
  for (const part of command.split(SEGMENT_SPLIT)) {
    const t = part.trim()
    if (t === "lockr" || t.startsWith("lockr ")) out.push(t)
  }
  return out
}

const isHttpForward = (target: string): boolean => target.endsWith(":80")

/** How many events the writer emits for a session (what the engine counts as event_count). */
export const cowrieEventCount = (s: AttackSession): number => {
  let n = 2
  if (s.protocol === "ssh") {
    if (s.client_version !== null) n++
    if (s.hassh !== null) n++
  }
  n += s.credentials.length
  if (s.commands.length > 0) {
    n += execMode(s) ? 2 * s.commands.length : 2
    n += s.commands.length
    for (const c of s.commands) n += failedSegments(c).length
  }
  n += s.downloads.length + s.uploads.length
  n += s.tcpip_forwards.length
  for (const f of s.tcpip_forwards) if (isHttpForward(f)) n++
  return n
}

// ---- time -----------------------------------------------------------------------------------

const DAY_MS = 86_400_000

const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`)

let msDay = -1
let msDayText = ""

/** Epoch milliseconds → "2024-04-01T20:01:05.690Z" (as Date#toISOString, faster). */
export const isoMillis = (ms: number): string => {
  const day = Math.floor(ms / DAY_MS)
  if (day !== msDay) {
    msDay = day
    msDayText = new Date(day * DAY_MS).toISOString().slice(0, 11)
  }
  const inDay = ms - day * DAY_MS
  const secs = Math.floor(inDay / 1000)
  const milli = inDay - secs * 1000
  const h = Math.floor(secs / 3600)
  const m = Math.floor((secs % 3600) / 60)
  return `${msDayText}${pad2(h)}:${pad2(m)}:${pad2(secs % 60)}.${milli < 10 ? "00" : milli < 100 ? "0" : ""}${milli}Z`
}

let parsedDayText = ""
let parsedDayMs = 0

const digits = (s: string, from: number, count: number): number => {
  let n = 0
  for (let i = from; i < from + count; i++) n = n * 10 + s.charCodeAt(i) - 48
  return n
}

/** "2024-04-01T20:01:05.690Z" (the domain's form) → epoch ms; Date.parse for anything else. */
const parseIsoMillis = (iso: string): number => {
  if (iso.length !== 24 || iso.charCodeAt(23) !== 90) return Date.parse(iso)
  const day = iso.slice(0, 10)
  if (day !== parsedDayText) {
    parsedDayText = day
    parsedDayMs = Date.parse(`${day}T00:00:00.000Z`)
  }
  return parsedDayMs + digits(iso, 11, 2) * 3_600_000 + digits(iso, 14, 2) * 60_000 + digits(iso, 17, 2) * 1000 + digits(iso, 20, 3)
}

const TS_WIDTH = "2024-04-01T20:01:05.690463Z".length
let tsDay = -1
const tsDayBytes = Buffer.alloc(11)

/** Writes "2024-04-01T20:01:05.690463Z" for epoch microseconds `us` at `at`. */
const writeMicros = (buf: Buffer, at: number, us: number): void => {
  const day = Math.floor(us / 86_400_000_000)
  if (day !== tsDay) {
    tsDay = day
    tsDayBytes.write(new Date(day * DAY_MS).toISOString().slice(0, 11), "latin1")
  }
  for (let i = 0; i < 11; i++) buf[at + i] = tsDayBytes[i]!
  const inDayUs = us - day * 86_400_000_000
  const secs = Math.floor(inDayUs / 1_000_000) | 0
  let micro = (inDayUs - secs * 1_000_000) | 0
  const h = (secs / 3600) | 0
  const m = ((secs - h * 3600) / 60) | 0
  const sec = secs - h * 3600 - m * 60
  buf[at + 11] = 48 + ((h / 10) | 0)
  buf[at + 12] = 48 + (h % 10)
  buf[at + 13] = 58
  buf[at + 14] = 48 + ((m / 10) | 0)
  buf[at + 15] = 48 + (m % 10)
  buf[at + 16] = 58
  buf[at + 17] = 48 + ((sec / 10) | 0)
  buf[at + 18] = 48 + (sec % 10)
  buf[at + 19] = 46
  for (let i = 25; i >= 20; i--) {
    const q = (micro / 10) | 0
    buf[at + i] = 48 + (micro - q * 10)
    micro = q
  }
  buf[at + 26] = 90
}

/** The writer's per-session seed, from the last eight hex digits of the id. */
const idSeed = (id: string): number => {
  let h = 0
  for (let i = Math.max(0, id.length - 8); i < id.length; i++) h = (Math.imul(h, 16) + (id.charCodeAt(i) & 0x4f)) >>> 0
  return h
}

// ---- rendering ------------------------------------------------------------------------------

/** Kinds of gap before an event. */
const enum Gap {
  Connect,
  Version,
  Kex,
  Login,
  Params,
  Input,
  Command,
  Failed,
  Download,
  Upload,
  LogClosed,
  Forward,
  Data,
  Closed
}

/** Typical gap before each kind of event, in milliseconds [lo, hi), indexed by Gap. */
const GAP_LO = Float64Array.from([0, 1, 20, 300, 100, 1, 50, 0.2, 300, 200, 1, 100, 10, 50])
const GAP_HI = Float64Array.from([0, 10, 80, 2500, 500, 5, 1500, 1, 3000, 1500, 60, 800, 120, 1000])

const enc = (s: string): Buffer => Buffer.from(s, "utf8")

/** Constant JSON fragments, encoded once. */
const L = {
  connect: enc('{"eventid":"cowrie.session.connect",'),
  srcPort: enc('"src_port":'),
  dstIp: enc(',"dst_ip":"'),
  dstPort: enc('","dst_port":'),
  session: enc(',"session":"'),
  protocol: enc('","protocol":"'),
  newConnection: enc('","message":"New connection: '),
  sessionTag: enc(") [session: "),
  connectEnd: enc(']",'),
  closeBrace: enc('"}\n'),
  version: enc('{"eventid":"cowrie.client.version","version":"'),
  versionMessage: enc('","message":"Remote SSH version: '),
  quoteComma: enc('",'),
  kex: enc('{"eventid":"cowrie.client.kex","hassh":"'),
  kexMessage: enc('"message":"SSH client hassh fingerprint: '),
  loginSuccess: enc('{"eventid":"cowrie.login.success","username":"'),
  loginFailed: enc('{"eventid":"cowrie.login.failed","username":"'),
  password: enc('","password":"'),
  loginMessage: enc('","message":"login attempt ['),
  succeeded: enc('] succeeded",'),
  failed: enc('] failed",'),
  params: enc('{"eventid":"cowrie.session.params","arch":"'),
  paramsEnd: enc('","message":[],'),
  input: enc('{"eventid":"cowrie.command.input","input":"'),
  cmdMessage: enc('","message":"CMD: '),
  commandFailed: enc('{"eventid":"cowrie.command.failed","input":"'),
  notFound: enc('","message":"Command not found: '),
  logClosed: enc('{"eventid":"cowrie.log.closed","ttylog":"var/lib/cowrie/tty/'),
  size: enc('","size":'),
  shasum: enc(',"shasum":"'),
  duplicateDuration: enc('","duplicate":false,"duration":'),
  closingTty: enc(',"message":"Closing TTY Log: var/lib/cowrie/tty/'),
  after: enc(" after "),
  seconds: enc(' seconds",'),
  downloadFailed: enc('{"eventid":"cowrie.session.file_download.failed",'),
  url: enc('"url":"'),
  attempt: enc('"message":"Attempt to download file(s) from URL ('),
  attemptEnd: enc(') failed",'),
  download: enc('{"eventid":"cowrie.session.file_download",'),
  duplicate: enc('"duplicate":false,'),
  outfile: enc('"outfile":"var/lib/cowrie/downloads/'),
  shasumQ: enc('","shasum":"'),
  destfile: enc('"destfile":"'),
  savedRedir: enc('"message":"Saved redir contents with SHA-256 '),
  toDownloads: enc(" to var/lib/cowrie/downloads/"),
  downloaded: enc('"message":"Downloaded URL ('),
  withSha: enc(") with SHA-256 "),
  upload: enc('{"eventid":"cowrie.session.file_upload","filename":"'),
  outfileQ: enc('","outfile":"var/lib/cowrie/downloads/'),
  sftpUploaded: enc('","message":"SFTP Uploaded file \\"'),
  uploadedTo: enc('\\" to var/lib/cowrie/downloads/'),
  tcpipRequest: enc('{"eventid":"cowrie.direct-tcpip.request","dst_ip":"'),
  dstPortQ: enc('","dst_port":'),
  comma: enc(","),
  srcPortMember: enc('"src_port":'),
  tcpipMessage: enc(',"message":"direct-tcp connection request to '),
  from127: enc(" from 127.0.0.1:"),
  tcpipData: enc('{"eventid":"cowrie.direct-tcpip.data","dst_ip":"'),
  data: enc(',"data":"'),
  forwardMessage: enc('","message":"direct-tcp forward to '),
  withData: enc(' with data \\"'),
  dataEnd: enc('\\"",'),
  closed: enc('{"eventid":"cowrie.session.closed","duration":'),
  lostAfter: enc(',"message":"Connection lost after '),
  colon: enc(":"),
  slash: enc("/"),
  space: enc(" ("),
  srcIp: enc('"src_ip":"'),
  sensor: enc('"sensor":"'),
  timestamp: enc('"timestamp":"'),
  tailIp: enc('","src_ip":"'),
  tailSession: enc('","session":"')
} as const

const kexBytes = new Map<string, Buffer>()

/** The kex members of a hassh as bytes (`"hasshAlgorithms":…,"langCS":[""],`), once per profile. */
const kexMembers = (hassh: string): Buffer | undefined => {
  let b = kexBytes.get(hassh)
  if (b === undefined) {
    const json = kexJsonFor(hassh)
    if (json === undefined) return undefined
    b = enc(`${json},`)
    kexBytes.set(hassh, b)
  }
  return b
}

const hexScratch = Buffer.alloc(32)

/** 64 lower-case hex characters (a sha256-looking value). */
const hex64 = (rng: Prng): string => {
  for (let i = 0; i < 32; i += 4) hexScratch.writeUInt32BE(rng.nextU32(), i)
  return hexScratch.toString("hex")
}

const anchorOf = (t: Transfer): string => {
  const text = t.url ?? t.filename ?? ""
  const cut = text.lastIndexOf("/")
  return cut < 0 ? text : text.slice(cut + 1)
}

/** One session being written: its sink, randomness, repeated fragments and timestamp holes. */
class SessionWriter {
  out: ByteSink = new ByteSink(16)
  rng: Prng = new Prng(0)
  /** [from, to) of `"sensor":"…","timestamp":"` in the sink. */
  private sensorFrom = 0
  private sensorTo = 0
  /** [from, to) of `","src_ip":"…","session":"…"}\n`. */
  private tailFrom = 0
  private tailTo = 0
  /** [from, to) of `","session":"…"}\n` inside the tail (lines that carry src_ip earlier). */
  private tailNoIpFrom = 0
  private readonly holes: Array<number> = []
  private readonly weights: Array<number> = []
  events = 0

  begin(out: ByteSink, rng: Prng): void {
    this.out = out
    this.rng = rng
    this.events = 0
    this.tailTo = 0
  }

  /** Writes the sensor+timestamp fragment the first time, copies it afterwards. */
  sensor(s: AttackSession): void {
    const o = this.out
    if (this.events === 0) {
      this.sensorFrom = o.length
      if (s.sensor !== null) {
        o.bytes(L.sensor)
        o.json(s.sensor)
        o.bytes(L.quoteComma)
      }
      o.bytes(L.timestamp)
      this.sensorTo = o.length
    } else {
      o.again(this.sensorFrom, this.sensorTo)
    }
  }

  /** A timestamp hole for the current event, then the event's tail. */
  stamp(gap: Gap, tail: "ip" | "noIp" | "connect", s: AttackSession): void {
    const o = this.out
    const lo = GAP_LO[gap]!
    this.holes[this.events] = o.hole(TS_WIDTH)
    this.weights[this.events] = lo + (GAP_HI[gap]! - lo) * this.rng.next()
    this.events++
    if (tail === "connect") {
      o.bytes(L.closeBrace)
      return
    }
    if (this.tailTo === 0) {
      // First tail of the session: write it, remember where.
      this.tailFrom = o.length
      if (s.src_ip !== null) {
        o.bytes(L.tailIp)
        o.json(s.src_ip)
      }
      this.tailNoIpFrom = o.length
      o.bytes(L.tailSession)
      o.json(s.id)
      o.bytes(L.closeBrace)
      this.tailTo = o.length
      if (tail === "noIp") {
        // Only this once: drop the src_ip part just written.
        const n = this.tailNoIpFrom - this.tailFrom
        o.buf.copyWithin(this.tailFrom, this.tailNoIpFrom, this.tailTo)
        o.length -= n
        this.tailTo = 0
      }
      return
    }
    if (tail === "ip") o.again(this.tailFrom, this.tailTo)
    else o.again(this.tailNoIpFrom, this.tailTo)
  }

  /** Spreads the events over [t0, t1] in proportion to their gaps and fills the holes. */
  finish(t0: number, t1: number): void {
    const n = this.events
    let total = 0
    for (let i = 1; i < n; i++) total += this.weights[i]!
    const scale = total > 0 ? (t1 - t0) / total : 0
    let cumulative = 0
    const buf = this.out.buf
    for (let i = 0; i < n; i++) {
      if (i > 0) cumulative += this.weights[i]!
      writeMicros(buf, this.holes[i]!, i === n - 1 ? t1 : t0 + Math.floor(cumulative * scale))
    }
  }
}

const w = new SessionWriter()

const logClosed = (s: AttackSession): void => {
  const o = w.out
  const rng = w.rng
  const h = hex64(rng)
  const secs = rng.int(3)
  o.bytes(L.logClosed)
  o.str(h)
  o.bytes(L.size)
  o.uint(rng.int(4096))
  o.bytes(L.shasum)
  o.str(h)
  o.bytes(L.duplicateDuration)
  o.str((secs + rng.next()).toFixed(6))
  o.bytes(L.closingTty)
  o.str(h)
  o.bytes(L.after)
  o.uint(secs)
  o.bytes(L.seconds)
  w.sensor(s)
  w.stamp(Gap.LogClosed, "ip", s)
}

const download = (s: AttackSession, t: Transfer): void => {
  const o = w.out
  if (t.sha256 === null) {
    const url = t.url === null ? "" : inner(t.url)
    o.bytes(L.downloadFailed)
    if (t.url !== null) {
      o.bytes(L.url)
      o.str(url)
      o.bytes(L.quoteComma)
    }
    o.bytes(L.attempt)
    o.str(url)
    o.bytes(L.attemptEnd)
    w.sensor(s)
    w.stamp(Gap.Download, "ip", s)
    return
  }
  const sha = t.sha256
  o.bytes(L.download)
  if (t.url === null) o.bytes(L.duplicate)
  else {
    o.bytes(L.url)
    o.json(t.url)
    o.bytes(L.quoteComma)
  }
  o.bytes(L.outfile)
  o.str(sha)
  o.bytes(L.shasumQ)
  o.str(sha)
  o.bytes(L.quoteComma)
  if (t.filename !== null) {
    o.bytes(L.destfile)
    o.json(t.filename)
    o.bytes(L.quoteComma)
  }
  if (t.url === null) o.bytes(L.savedRedir)
  else {
    o.bytes(L.downloaded)
    o.json(t.url)
    o.bytes(L.withSha)
  }
  o.str(sha)
  o.bytes(L.toDownloads)
  o.str(sha)
  o.bytes(L.quoteComma)
  w.sensor(s)
  w.stamp(Gap.Download, "ip", s)
}

const upload = (s: AttackSession, t: Transfer): void => {
  const o = w.out
  const sha = t.sha256 ?? ""
  const name = inner(t.filename ?? "")
  o.bytes(L.upload)
  o.str(name)
  o.bytes(L.outfileQ)
  o.str(sha)
  o.bytes(L.shasumQ)
  o.str(sha)
  o.bytes(L.sftpUploaded)
  o.str(name)
  o.bytes(L.uploadedTo)
  o.str(sha)
  o.bytes(L.quoteComma)
  w.sensor(s)
  w.stamp(Gap.Upload, "ip", s)
}

/**
 * Writes the session's cowrie lines, each ending in "\n", into `sink`; returns the number of
 * events. The hot path of `writeDataset`.
 */
export const writeCowrie = (s: AttackSession, sink: ByteSink): number => {
  const rng = new Prng(idSeed(s.id) ^ 0x5bd1e995)
  w.begin(sink, rng)
  const o = sink
  const ip = s.src_ip ?? ""
  const srcPort = s.src_port ?? 0
  const dstIp = s.dst_ip ?? "0.0.0.0"
  const dstPort = s.dst_port ?? 0

  o.bytes(L.connect)
  if (s.src_ip !== null) {
    o.bytes(L.srcIp)
    o.json(ip)
    o.bytes(L.quoteComma)
  }
  o.bytes(L.srcPort)
  o.uint(srcPort)
  o.bytes(L.dstIp)
  o.json(dstIp)
  o.bytes(L.dstPort)
  o.uint(dstPort)
  o.bytes(L.session)
  o.str(s.id)
  o.bytes(L.protocol)
  o.str(s.protocol)
  o.bytes(L.newConnection)
  o.json(ip)
  o.bytes(L.colon)
  o.uint(srcPort)
  o.bytes(L.space)
  o.json(dstIp)
  o.bytes(L.colon)
  o.uint(dstPort)
  o.bytes(L.sessionTag)
  o.str(s.id)
  o.bytes(L.connectEnd)
  w.sensor(s)
  w.stamp(Gap.Connect, "connect", s)

  if (s.protocol === "ssh") {
    if (s.client_version !== null) {
      o.bytes(L.version)
      o.json(s.client_version)
      o.bytes(L.versionMessage)
      o.json(s.client_version)
      o.bytes(L.quoteComma)
      w.sensor(s)
      w.stamp(Gap.Version, "ip", s)
    }
    if (s.hassh !== null) {
      const kex = kexMembers(s.hassh)
      o.bytes(L.kex)
      o.json(s.hassh)
      o.bytes(L.quoteComma)
      if (kex !== undefined) o.bytes(kex)
      o.bytes(L.kexMessage)
      o.json(s.hassh)
      o.bytes(L.quoteComma)
      w.sensor(s)
      w.stamp(Gap.Kex, "ip", s)
    }
  }
  for (const cred of s.credentials) {
    o.bytes(cred.success ? L.loginSuccess : L.loginFailed)
    o.json(cred.username)
    o.bytes(L.password)
    o.json(cred.password)
    o.bytes(L.loginMessage)
    o.json(cred.username)
    o.bytes(L.slash)
    o.json(cred.password)
    o.bytes(cred.success ? L.succeeded : L.failed)
    w.sensor(s)
    w.stamp(Gap.Login, "ip", s)
  }

  const arch = choose(rng, ARCHES)
  const params = (): void => {
    o.bytes(L.params)
    o.str(arch)
    o.bytes(L.paramsEnd)
    w.sensor(s)
    w.stamp(Gap.Params, "ip", s)
  }
  let nextDownload = 0
  let nextUpload = 0
  if (s.commands.length > 0) {
    const exec = execMode(s)
    if (!exec) params()
    for (const command of s.commands) {
      if (exec) params()
      o.bytes(L.input)
      o.json(command)
      o.bytes(L.cmdMessage)
      o.json(command)
      o.bytes(L.quoteComma)
      w.sensor(s)
      w.stamp(exec ? Gap.Input : Gap.Command, "ip", s)
      for (const seg of failedSegments(command)) {
        o.bytes(L.commandFailed)
        o.json(seg)
        o.bytes(L.notFound)
        o.json(seg)
        o.bytes(L.quoteComma)
        w.sensor(s)
        w.stamp(Gap.Failed, "ip", s)
      }
      // Files appear right after the command that fetched or wrote them, in their order.
      while (nextDownload < s.downloads.length && command.includes(anchorOf(s.downloads[nextDownload]!))) download(s, s.downloads[nextDownload++]!)
      while (nextUpload < s.uploads.length && command.includes(anchorOf(s.uploads[nextUpload]!))) upload(s, s.uploads[nextUpload++]!)
      if (exec) logClosed(s)
    }
    while (nextDownload < s.downloads.length) download(s, s.downloads[nextDownload++]!)
    while (nextUpload < s.uploads.length) upload(s, s.uploads[nextUpload++]!)
    if (!exec) logClosed(s)
  } else {
    while (nextDownload < s.downloads.length) download(s, s.downloads[nextDownload++]!)
    while (nextUpload < s.uploads.length) upload(s, s.uploads[nextUpload++]!)
  }

  for (const target of s.tcpip_forwards) {
    const colon = target.lastIndexOf(":")
    const host = inner(colon < 0 ? target : target.slice(0, colon))
    const port = colon < 0 ? 0 : Number(target.slice(colon + 1))
    const localPort = 1024 + rng.int(64000)
    o.bytes(L.tcpipRequest)
    o.str(host)
    o.bytes(L.dstPortQ)
    o.uint(port)
    o.bytes(L.comma)
    if (s.src_ip !== null) {
      o.bytes(L.srcIp)
      o.json(ip)
      o.bytes(L.quoteComma)
    }
    o.bytes(L.srcPortMember)
    o.uint(localPort)
    o.bytes(L.tcpipMessage)
    o.str(host)
    o.bytes(L.colon)
    o.uint(port)
    o.bytes(L.from127)
    o.uint(localPort)
    o.bytes(L.quoteComma)
    w.sensor(s)
    w.stamp(Gap.Forward, "noIp", s)
    if (isHttpForward(target)) {
      const data = `GET http://${host}/ HTTP/1.1\\r\\nHost: ${host}\\r\\nUser-Agent: Mozilla/5.0\\r\\nAccept: */*\\r\\n\\r\\n`
      o.bytes(L.tcpipData)
      o.str(host)
      o.bytes(L.dstPortQ)
      o.uint(port)
      o.bytes(L.data)
      o.str(data)
      o.bytes(L.forwardMessage)
      o.str(host)
      o.bytes(L.colon)
      o.uint(port)
      o.bytes(L.withData)
      o.str(data)
      o.bytes(L.dataEnd)
      w.sensor(s)
      w.stamp(Gap.Data, "ip", s)
    }
  }

  // Session length: connect at start (plus 0-999 µs), closed at end (plus 0-999 µs).
  const t0 = parseIsoMillis(s.start) * 1000 + rng.int(1000)
  const t1 = Math.max(t0, parseIsoMillis(s.end) * 1000 + rng.int(1000))
  const durationUs = t1 - t0
  o.bytes(L.closed)
  o.str((durationUs / 1e6).toFixed(6))
  o.bytes(L.lostAfter)
  o.uint(Math.floor(durationUs / 1e6))
  o.bytes(L.seconds)
  w.sensor(s)
  w.stamp(Gap.Closed, "ip", s)
  w.finish(t0, t1)
  return w.events
}

const scratch = new ByteSink()

/** The session's cowrie lines (each ending in "\n") as one string, and its event count. */
export const renderCowrie = (s: AttackSession): { readonly text: string; readonly events: number } => {
  scratch.clear()
  const events = writeCowrie(s, scratch)
  return { text: scratch.toString(), events }
}

/** One session (a generated one, with or without its label) as cowrie JSON lines (without line terminators). */
export const sessionToCowrieLines = (s: { readonly session: AttackSession }): Array<string> => {
  const { text } = renderCowrie(s.session)
  return text.slice(0, -1).split("\n")
}

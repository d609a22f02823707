/**
 * Renders a synthetic session as the cowrie JSON lines a real sensor would have logged:
 * session.connect, client.version, client.kex (hassh), login.failed/success, session.params,
 * command.input (+ command.failed for commands cowrie does not know), file_download (URL
 * fetches and redirected files) or file_download.failed, file_upload, log.closed,
 * direct-tcpip.request/data and session.closed, with microsecond timestamps increasing
 * inside the session. The engine's ingest rebuilds the same AttackSession from them.
 *
 * Everything random here (microseconds, tty log hashes, arch) is drawn from a Prng seeded by
 * the session id, so a session always renders to the same bytes.
 */
import type { AttackSession, Transfer } from "../domain/AttackSession.ts"
import { ARCHES, kexJsonFor } from "./catalog.ts"
import type { SyntheticSession } from "./generateSessions.ts"
import { choose, Prng } from "./random.ts"

const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f-\uffff]/

/** JSON string literal; the common case (plain ASCII) skips JSON.stringify. */
const q = (s: string): string => (NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`)

/** The inside of a JSON string literal (to splice into a longer literal). */
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
const failedSegments = (command: string): Array<string> => {
  if (!command.includes("lockr")) return []
  const out: Array<string> = []
  for (const part of command.split(SEGMENT_SPLIT)) {
    const t = part.trim()
    if (t === "lockr" || t.startsWith("lockr ")) out.push(t)
  }
  return out
}

const isHttpForward = (target: string): boolean => target.endsWith(":80")

/** How many events `sessionToCowrieLines` writes for a session (the engine's event_count). */
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

// ---- timestamps ---------------------------------------------------------------------------

let cachedDay = -1
let cachedDayText = ""
let cachedSecond = -1
let cachedSecondText = ""

const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`)
const PAD3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, "0"))

let parsedDayText = ""
let parsedDayMs = 0

const digits = (s: string, from: number, count: number): number => {
  let n = 0
  for (let i = from; i < from + count; i++) n = n * 10 + s.charCodeAt(i) - 48
  return n
}

/** "2024-04-01T20:01:05.690Z" (the domain's timestamp form) → epoch ms; Date.parse otherwise. */
const parseIsoMillis = (iso: string): number => {
  if (iso.length !== 24 || iso.charCodeAt(23) !== 90) return Date.parse(iso)
  const day = iso.slice(0, 10)
  if (day !== parsedDayText) {
    parsedDayText = day
    parsedDayMs = Date.parse(`${day}T00:00:00.000Z`)
  }
  return parsedDayMs + digits(iso, 11, 2) * 3_600_000 + digits(iso, 14, 2) * 60_000 + digits(iso, 17, 2) * 1000 + digits(iso, 20, 3)
}

/** The writer's per-session seed: the last eight hex digits of the id. */
const idSeed = (id: string): number => {
  let h = 0
  for (let i = Math.max(0, id.length - 8); i < id.length; i++) h = (Math.imul(h, 16) + (id.charCodeAt(i) & 0x4f)) >>> 0
  return h
}

/** Epoch microseconds → "2024-04-01T20:01:05.690463Z". */
export const isoMicros = (us: number): string => {
  const second = Math.floor(us / 1_000_000)
  if (second === cachedSecond) {
    const micro = us - second * 1_000_000
    const hi = Math.floor(micro / 1000)
    return `${cachedSecondText}${PAD3[hi]!}${PAD3[micro - hi * 1000]!}Z`
  }
  const ms = Math.floor(us / 1000)
  const day = Math.floor(ms / 86_400_000)
  if (day !== cachedDay) {
    cachedDay = day
    cachedDayText = new Date(day * 86_400_000).toISOString().slice(0, 11)
  }
  const inDayUs = us - day * 86_400_000_000
  const secs = Math.floor(inDayUs / 1_000_000)
  const micro = inDayUs - secs * 1_000_000
  const h = Math.floor(secs / 3600)
  const m = Math.floor((secs % 3600) / 60)
  const sec = secs % 60
  cachedSecond = second
  cachedSecondText = `${cachedDayText}${pad2(h)}:${pad2(m)}:${pad2(sec)}.`
  const hi = Math.floor(micro / 1000)
  return `${cachedSecondText}${PAD3[hi]!}${PAD3[micro - hi * 1000]!}Z`
}

let msDay = -1
let msDayText = ""

/** Epoch milliseconds → "2024-04-01T20:01:05.690Z" (what Date#toISOString gives, faster). */
export const isoMillis = (ms: number): string => {
  const day = Math.floor(ms / 86_400_000)
  if (day !== msDay) {
    msDay = day
    msDayText = new Date(day * 86_400_000).toISOString().slice(0, 11)
  }
  const inDay = ms - day * 86_400_000
  const secs = Math.floor(inDay / 1000)
  const milli = inDay - secs * 1000
  const h = Math.floor(secs / 3600)
  const m = Math.floor((secs % 3600) / 60)
  const sec = secs % 60
  return `${msDayText}${pad2(h)}:${pad2(m)}:${pad2(sec)}.${milli < 10 ? "00" : milli < 100 ? "0" : ""}${milli}Z`
}

// ---- rendering ----------------------------------------------------------------------------

/** Typical gap before each kind of event, in milliseconds [lo, hi). */
const GAP = {
  version: [1, 10],
  kex: [20, 80],
  login: [300, 2500],
  params: [100, 500],
  input: [1, 5],
  command: [50, 1500],
  failed: [0.2, 1],
  download: [300, 3000],
  upload: [200, 1500],
  logClosed: [1, 60],
  forward: [100, 800],
  data: [10, 120],
  closed: [50, 1000]
} as const

type GapKind = keyof typeof GAP

/** One session's events before their timestamps are known (reused between sessions). */
class Draft {
  pre: Array<string> = []
  post: Array<string> = []
  weight: Array<number> = []
  n = 0

  reset(): void {
    this.n = 0
  }

  add(rng: Prng, pre: string, post: string, gap: GapKind): void {
    const [lo, hi] = GAP[gap]
    this.pre[this.n] = pre
    this.post[this.n] = post
    this.weight[this.n] = lo + (hi - lo) * rng.next()
    this.n++
  }
}

const draft = new Draft()

const HEX_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"))

/** 64 lower-case hex characters (a sha256-looking value). */
const hex64 = (rng: Prng): string => {
  let s = ""
  for (let i = 0; i < 8; i++) {
    const w = rng.nextU32()
    s += HEX_BYTE[w >>> 24]! + HEX_BYTE[(w >>> 16) & 0xff]! + HEX_BYTE[(w >>> 8) & 0xff]! + HEX_BYTE[w & 0xff]!
  }
  return s
}

const anchorOf = (t: Transfer): string => {
  const text = t.url ?? t.filename ?? ""
  const cut = text.lastIndexOf("/")
  return cut < 0 ? text : text.slice(cut + 1)
}

/** Appends the session's cowrie lines to `out`; returns how many were appended. */
export const appendCowrieLines = (s: AttackSession, out: Array<string>): number => {
  const rng = new Prng(idSeed(s.id) ^ 0x5bd1e995)
  const id = s.id
  const ip = s.src_ip ?? ""
  const ipMember = s.src_ip === null ? "" : `"src_ip":${q(ip)},`
  const sensorTs = `${s.sensor === null ? "" : `"sensor":${q(s.sensor)},`}"timestamp":"`
  const post = s.src_ip === null ? `","session":"${id}"}` : `","src_ip":${q(ip)},"session":"${id}"}`
  const postNoIp = `","session":"${id}"}`
  const d = draft
  d.reset()

  const srcPort = s.src_port ?? 0
  const dstIp = s.dst_ip ?? "0.0.0.0"
  const dstPort = s.dst_port ?? 0
  d.add(
    rng,
    `{"eventid":"cowrie.session.connect",${ipMember}"src_port":${srcPort},"dst_ip":${q(dstIp)},"dst_port":${dstPort},"session":"${id}","protocol":"${s.protocol}",` +
      `"message":${q(`New connection: ${ip}:${srcPort} (${dstIp}:${dstPort}) [session: ${id}]`)},${sensorTs}`,
    `"}`,
    "version"
  )
  if (s.protocol === "ssh") {
    if (s.client_version !== null) {
      const v = inner(s.client_version)
      d.add(rng, `{"eventid":"cowrie.client.version","version":"${v}","message":"Remote SSH version: ${v}",${sensorTs}`, post, "version")
    }
    if (s.hassh !== null) {
      const kex = kexJsonFor(s.hassh)
      const h = inner(s.hassh)
      d.add(
        rng,
        `{"eventid":"cowrie.client.kex","hassh":"${h}",${kex === undefined ? "" : `${kex},`}"message":"SSH client hassh fingerprint: ${h}",${sensorTs}`,
        post,
        "kex"
      )
    }
  }
  for (const c of s.credentials) {
    const u = inner(c.username)
    const p = inner(c.password)
    d.add(
      rng,
      c.success
        ? `{"eventid":"cowrie.login.success","username":"${u}","password":"${p}","message":"login attempt [${u}/${p}] succeeded",${sensorTs}`
        : `{"eventid":"cowrie.login.failed","username":"${u}","password":"${p}","message":"login attempt [${u}/${p}] failed",${sensorTs}`,
      post,
      "login"
    )
  }

  const arch = choose(rng, ARCHES)
  const params = `{"eventid":"cowrie.session.params","arch":"${arch}","message":[],${sensorTs}`
  const logClosed = (): string => {
    const h = hex64(rng)
    const secs = rng.int(3)
    return `{"eventid":"cowrie.log.closed","ttylog":"var/lib/cowrie/tty/${h}","size":${rng.int(4096)},"shasum":"${h}","duplicate":false,` +
      `"duration":${(secs + rng.next()).toFixed(6)},"message":"Closing TTY Log: var/lib/cowrie/tty/${h} after ${secs} seconds",${sensorTs}`
  }
  const download = (t: Transfer): void => {
    if (t.sha256 === null) {
      d.add(
        rng,
        `{"eventid":"cowrie.session.file_download.failed",${t.url === null ? "" : `"url":${q(t.url)},`}` +
          `"message":${q(`Attempt to download file(s) from URL (${t.url ?? ""}) failed`)},${sensorTs}`,
        post,
        "download"
      )
      return
    }
    const outfile = `var/lib/cowrie/downloads/${t.sha256}`
    const dest = t.filename === null ? "" : `"destfile":${q(t.filename)},`
    d.add(
      rng,
      t.url === null
        ? `{"eventid":"cowrie.session.file_download","duplicate":false,"outfile":"${outfile}","shasum":"${t.sha256}",${dest}` +
          `"message":"Saved redir contents with SHA-256 ${t.sha256} to ${outfile}",${sensorTs}`
        : `{"eventid":"cowrie.session.file_download","url":"${inner(t.url)}","outfile":"${outfile}","shasum":"${t.sha256}",${dest}` +
          `"message":"Downloaded URL (${inner(t.url)}) with SHA-256 ${t.sha256} to ${outfile}",${sensorTs}`,
      post,
      "download"
    )
  }
  const upload = (t: Transfer): void => {
    const sha = t.sha256 ?? ""
    const name = t.filename ?? ""
    d.add(
      rng,
      `{"eventid":"cowrie.session.file_upload","filename":${q(name)},"outfile":"var/lib/cowrie/downloads/${sha}","shasum":"${sha}",` +
        `"message":${q(`SFTP Uploaded file "${name}" to var/lib/cowrie/downloads/${sha}`)},${sensorTs}`,
      post,
      "upload"
    )
  }

  let nextDownload = 0
  let nextUpload = 0
  if (s.commands.length > 0) {
    const exec = execMode(s)
    if (!exec) d.add(rng, params, post, "params")
    for (const c of s.commands) {
      if (exec) d.add(rng, params, post, "params")
      const ci = inner(c)
      d.add(rng, `{"eventid":"cowrie.command.input","input":"${ci}","message":"CMD: ${ci}",${sensorTs}`, post, exec ? "input" : "command")
      for (const seg of failedSegments(c)) {
        const si = inner(seg)
        d.add(rng, `{"eventid":"cowrie.command.failed","input":"${si}","message":"Command not found: ${si}",${sensorTs}`, post, "failed")
      }
      // Files appear right after the command that fetched or wrote them, in their order.
      while (nextDownload < s.downloads.length && c.includes(anchorOf(s.downloads[nextDownload]!))) download(s.downloads[nextDownload++]!)
      while (nextUpload < s.uploads.length && c.includes(anchorOf(s.uploads[nextUpload]!))) upload(s.uploads[nextUpload++]!)
      if (exec) d.add(rng, logClosed(), post, "logClosed")
    }
    while (nextDownload < s.downloads.length) download(s.downloads[nextDownload++]!)
    while (nextUpload < s.uploads.length) upload(s.uploads[nextUpload++]!)
    if (!exec) d.add(rng, logClosed(), post, "logClosed")
  } else {
    while (nextDownload < s.downloads.length) download(s.downloads[nextDownload++]!)
    while (nextUpload < s.uploads.length) upload(s.uploads[nextUpload++]!)
  }

  for (const target of s.tcpip_forwards) {
    const colon = target.lastIndexOf(":")
    const host = colon < 0 ? target : target.slice(0, colon)
    const port = colon < 0 ? 0 : Number(target.slice(colon + 1))
    const localPort = 1024 + rng.int(64000)
    const where = `"dst_ip":${q(host)},"dst_port":${port},`
    d.add(
      rng,
      `{"eventid":"cowrie.direct-tcpip.request",${where}${ipMember}"src_port":${localPort},` +
        `"message":${q(`direct-tcp connection request to ${host}:${port} from 127.0.0.1:${localPort}`)},${sensorTs}`,
      postNoIp,
      "forward"
    )
    if (isHttpForward(target)) {
      const data = `GET http://${host}/ HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: Mozilla/5.0\r\nAccept: */*\r\n\r\n`
      d.add(
        rng,
        `{"eventid":"cowrie.direct-tcpip.data",${where}"data":${q(data)},"message":${q(`direct-tcp forward to ${host}:${port} with data ${q(data)}`)},${sensorTs}`,
        post,
        "data"
      )
    }
  }

  // Session length: connect at start (plus 0-999 µs), closed at end (plus 0-999 µs).
  const startMs = parseIsoMillis(s.start)
  const endMs = parseIsoMillis(s.end)
  const t0 = startMs * 1000 + rng.int(1000)
  const t1 = Math.max(t0, endMs * 1000 + rng.int(1000))
  const durationUs = t1 - t0
  d.add(
    rng,
    `{"eventid":"cowrie.session.closed","duration":${(durationUs / 1e6).toFixed(6)},"message":"Connection lost after ${Math.floor(durationUs / 1e6)} seconds",${sensorTs}`,
    post,
    "closed"
  )

  // Spread the events over [t0, t1] in proportion to their typical gaps (the connect
  // event's own weight is not a gap: it starts the session).
  let total = 0
  for (let i = 1; i < d.n; i++) total += d.weight[i]!
  const scale = total > 0 ? durationUs / total : 0
  let cumulative = 0
  for (let i = 0; i < d.n; i++) {
    if (i > 0) cumulative += d.weight[i]!
    const us = i === d.n - 1 ? t1 : t0 + Math.floor(cumulative * scale)
    out.push(d.pre[i]! + isoMicros(us) + d.post[i]!)
  }
  return d.n
}

/** One session as cowrie JSON lines (without line terminators). */
export const sessionToCowrieLines = (s: SyntheticSession): Array<string> => {
  const out: Array<string> = []
  appendCowrieLines(s.session, out)
  return out
}

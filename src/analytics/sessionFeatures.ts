/**
 * Per-session features, held in compact columns (typed arrays and interned strings), built
 * by streaming sessions through a FeatureBuilder: a session is read once and dropped, so a
 * million sessions fit in memory as numbers rather than objects. Everything downstream
 * (linkage, hierarchy, evidence, the campaign report) reads only this.
 *
 * Two things need the whole data set before they can be decided: which random-looking
 * tokens recur (kit constants are kept, per-host noise is replaced) and which credential
 * pairs and client fingerprints are rare. The builder counts both while streaming and
 * applies them in `finish()`, per distinct command and per distinct pair, not per session.
 */
import type { AttackSession } from "../domain/AttackSession.ts"
import { commandRuleMask, sessionRuleMask } from "./attackTechniques.ts"
import { CREDENTIAL_MARKER_MIN_SOURCES, isPopularCredential } from "./credentials.ts"
import { droppedFilesIn } from "./droppedFiles.ts"
import { markersIn } from "./markers.ts"
import { collectGarbage, GC_HINT_EVERY } from "./memory.ts"
import { PairMap } from "./PairMap.ts"
import { parseIsoTimestamp } from "../ingest/validate.ts"
import { normalizeCommand, RandomTokenCounts } from "./normalizeCommand.ts"

/** sha256 of zero bytes: an empty download says nothing about who sent it. */
export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/** Contents any `echo > file` writes (empty, a newline, CRLF): they identify nobody. */
export const TRIVIAL_SHA256: ReadonlySet<string> = new Set([
  EMPTY_SHA256,
  "01ba4719c80b6fe911b091a7c05124b64eeece964e09c058ef8f9805daca546b",
  "7eb70257593da06f682a3ddda54a9d260d4fc514f645237f5ca74b08f8da61a6"
])

/**
 * Kinds of artefacts, strongest first (the order names a campaign). Strong kinds link
 * sessions outright; `command_sequence` links only where it does not join two identities,
 * and `client` (a rare hassh + client version) only groups otherwise unlinked sessions
 * (see linkage.ts).
 */
export const ARTEFACT_KINDS = ["ssh_key", "sha256", "url", "marker", "file", "credential", "client", "command_sequence"] as const
export type ArtefactKind = (typeof ARTEFACT_KINDS)[number]

export interface Artefact {
  readonly kind: ArtefactKind
  readonly value: string
}

/** Kinds that identify an operator's payload: two different ones are two operators. */
export const IDENTITY_KINDS: ReadonlySet<ArtefactKind> = new Set(["ssh_key", "sha256"])
/** Kinds that link without checking identities. */
export const STRONG_KINDS: ReadonlySet<ArtefactKind> = new Set(["ssh_key", "sha256", "url", "marker", "file", "credential"])

/**
 * Behaviour links need specific commands: the sum over a session's distinct normalised
 * commands of their inverse document frequency, ln(sessions with commands / sessions with
 * this command), must reach this. `uname -a; whoami` typed by everyone scores low; a kit's
 * own sequence scores high even when the kit hit thousands of hosts.
 */
export const MIN_SPECIFICITY = 6

/**
 * A password tried under this many distinct user names is a dictionary password (every
 * scanner's list pairs it with root, admin, user, …): its pairs are popular whatever the
 * lists say.
 */
export const DICTIONARY_PASSWORD_USERNAMES = 5

/** A list of small integer lists in one flat buffer (offsets + values): no object per list. */
export class IntLists {
  private offsets: Int32Array = new Int32Array(1024)
  private values: Int32Array = new Int32Array(4096)
  private count = 0
  private used = 0

  get length(): number {
    return this.count
  }

  push(list: ArrayLike<number>): void {
    if (this.count + 2 > this.offsets.length) this.offsets = grow(this.offsets, this.count + 2)
    if (this.used + list.length > this.values.length) this.values = grow(this.values, this.used + list.length)
    for (let k = 0; k < list.length; k++) this.values[this.used + k] = list[k]!
    this.used += list.length
    this.count++
    this.offsets[this.count] = this.used
  }

  /** A view of list i (valid until the next push). Allocates a view: hot loops use start/end/value. */
  get(i: number): Int32Array {
    return this.values.subarray(this.offsets[i]!, this.offsets[i + 1]!)
  }

  /** Position of list i's first value; iterate `value(k)` for k in [start(i), end(i)). */
  start(i: number): number {
    return this.offsets[i]!
  }

  end(i: number): number {
    return this.offsets[i + 1]!
  }

  value(k: number): number {
    return this.values[k]!
  }

  includes(i: number, value: number): boolean {
    for (let k = this.offsets[i]!; k < this.offsets[i + 1]!; k++) if (this.values[k] === value) return true
    return false
  }
}

const grow = (a: Int32Array, atLeast: number): Int32Array => {
  const out = new Int32Array(Math.max(atLeast, a.length * 2))
  out.set(a)
  return out
}

class Growable {
  data: Float64Array = new Float64Array(1024)
  length = 0
  push(x: number): void {
    if (this.length === this.data.length) {
      const out = new Float64Array(this.data.length * 2)
      out.set(this.data)
      this.data = out
    }
    this.data[this.length++] = x
  }
  toArray(): Float64Array {
    return this.data.slice(0, this.length)
  }
}

class GrowableInt {
  data: Int32Array = new Int32Array(1024)
  length = 0
  push(x: number): void {
    if (this.length === this.data.length) this.data = grow(this.data, this.length + 1)
    this.data[this.length++] = x
  }
  /** Adds one to slot i (growing with zeros as needed). */
  increment(i: number): number {
    if (i >= this.data.length) this.data = grow(this.data, i + 1)
    if (i >= this.length) this.length = i + 1
    return ++this.data[i]!
  }
  at(i: number): number {
    return i < this.length ? this.data[i]! : 0
  }
  set(i: number, value: number): void {
    if (i >= this.data.length) this.data = grow(this.data, i + 1)
    if (i >= this.length) this.length = i + 1
    this.data[i] = value
  }
  toArray(): Int32Array {
    return this.data.slice(0, this.length)
  }
}

/**
 * Distinct (item, member) pairs counted per item, in one numeric set: no set per item.
 * Counting an item stops at `cap` (beyond it the exact number never matters here).
 */
class DistinctCounter {
  private readonly seen = new PairMap()
  private readonly counts = new GrowableInt()
  constructor(private readonly cap: number) {}
  note(item: number, member: number): void {
    if (member < 0 || this.counts.at(item) > this.cap) return
    if (this.seen.setIfAbsent(item, member, 1)) this.counts.increment(item)
  }
  count(item: number): number {
    return this.counts.at(item)
  }
}

/** Strings to dense ids. */
export class Interner {
  private readonly ids = new Map<string, number>()
  readonly values: Array<string> = []
  id(value: string): number {
    let id = this.ids.get(value)
    if (id === undefined) {
      id = this.values.length
      this.ids.set(value, id)
      this.values.push(value)
    }
    return id
  }
  get size(): number {
    return this.values.length
  }
}

export interface SessionFeatures {
  readonly count: number
  readonly ids: ReadonlyArray<string>
  readonly startMs: Float64Array
  readonly endMs: Float64Array
  /** Source address ids into `ips`; -1 when the session has none. */
  readonly ipId: Int32Array
  readonly ips: ReadonlyArray<string>
  /** /24 for IPv4, /48 for IPv6, as ids; -1 when the session has no address. */
  readonly prefixId: Int32Array
  /** Ids into `strings` of the session's hassh, client version and user agent; -1 when absent. */
  readonly hasshId: Int32Array
  readonly clientVersionId: Int32Array
  readonly userAgentId: Int32Array
  readonly strings: ReadonlyArray<string>
  /** ATT&CK technique rules that fired, as a bit mask over attackTechniques.RULES. */
  readonly techniques: Int32Array
  /** Index into `commandSets` of the session's token set; -1 without commands. */
  readonly commandSetOf: Int32Array
  /** Distinct token-id sets (sorted ascending), shared by sessions with equal sets. */
  readonly commandSets: ReadonlyArray<Int32Array>
  /** Whether a set is specific enough to link by behaviour on the log's frequencies alone (see `MIN_SPECIFICITY`). */
  readonly setSpecific: Uint8Array
  /** Normalised command ids of each distinct set (ascending): what linkage measures spread on. */
  readonly setCommands: IntLists
  /** Normalised commands, by id. */
  readonly commands: ReadonlyArray<string>
  /** Credential pair ids each session tried, in order, each once. */
  readonly credentials: IntLists
  /** Whether a pair is in a dictionary (popular lists, common passwords, name-derived, many user names). */
  readonly pairDictionary: Uint8Array
  /** Each pair's user name and password, as ids into `usernames` and `passwords` (for naming campaigns). */
  readonly pairUser: Int32Array
  readonly pairPassword: Int32Array
  readonly usernames: ReadonlyArray<string>
  readonly passwords: ReadonlyArray<string>
  /** Interned artefacts: id → artefact. */
  readonly artefactTable: ReadonlyArray<Artefact>
  /** Artefact ids of each session, ascending. */
  readonly artefacts: IntLists
  /** How many sessions carry each artefact. */
  readonly artefactCarriers: Int32Array
}

/** The network prefix an address belongs to: /24 for IPv4, /48 for IPv6. */
export const networkPrefix = (ip: string): string => {
  if (ip.includes(":")) {
    const head = ip.split("::")[0]!.split(":")
    while (head.length < 3) head.push("0")
    return `${head.slice(0, 3).join(":")}::/48`
  }
  return `${ip.slice(0, ip.lastIndexOf("."))}.0/24`
}

const TOKEN_SPLIT = /[\s;|&()<>"'`]+/

/** Distinct download URLs and upload names whose dropped file names are remembered (see transferFiles). */
const TRANSFER_TEXTS_KEPT = 65_536

/**
 * Artefacts of a session's keys and file transfers (commands are handled per distinct command).
 * `filesIn` is droppedFilesIn, remembered per text by the caller: a kit's download URL recurs
 * in every session of it, and matching it costs a handful of regular expressions each time.
 */
const transferArtefacts = (s: AttackSession, filesIn: (text: string) => ReadonlyArray<string>): Array<readonly [ArtefactKind, string]> => {
  const out: Array<readonly [ArtefactKind, string]> = []
  for (const key of s.ssh_keys_added) out.push(["ssh_key", key])
  for (const t of s.downloads) {
    if (t.sha256 !== null && !TRIVIAL_SHA256.has(t.sha256)) out.push(["sha256", t.sha256])
    if (t.url !== null && t.url.length > 0) {
      out.push(["url", t.url])
      for (const f of filesIn(t.url)) out.push(["file", f])
    }
  }
  for (const t of s.uploads) {
    if (t.sha256 !== null && !TRIVIAL_SHA256.has(t.sha256)) out.push(["sha256", t.sha256])
    if (t.filename !== null) for (const f of filesIn(`> ${t.filename}`)) out.push(["file", f])
  }
  return out
}

export class FeatureBuilder {
  private readonly ids: Array<string> = []
  private readonly start = new Growable()
  private readonly end = new Growable()
  private readonly ipIds = new GrowableInt()
  private readonly prefixIds = new GrowableInt()
  private readonly hasshIds = new GrowableInt()
  private readonly versionIds = new GrowableInt()
  private readonly agentIds = new GrowableInt()
  private readonly clientKeys = new GrowableInt()
  private readonly techniqueMasks = new GrowableInt()
  private readonly ips = new Interner()
  private readonly prefixes = new Interner()
  private readonly prefixOfIp = new GrowableInt()
  private readonly strings = new Interner()
  private readonly rawCommands = new Interner()
  /** Per distinct raw command: random-token slots, artefact ids (markers, files), techniques. */
  private readonly rawSlots = new IntLists()
  private readonly rawArtefacts = new IntLists()
  private readonly rawTechniques = new GrowableInt()
  private readonly sessionCommands = new IntLists()
  private readonly sessionPairs = new IntLists()
  private readonly localArtefactIds = new IntLists()
  private readonly artefactKeys = new Interner()
  private readonly artefactKinds: Array<ArtefactKind> = []
  private readonly randomCounts = new RandomTokenCounts()
  private readonly usernames = new Interner()
  private readonly passwords = new Interner()
  /** Credential pair id by (username id, password id); pair → (username, password). */
  private readonly pairIds = new PairMap()
  private readonly pairUser = new GrowableInt()
  private readonly pairPassword = new GrowableInt()
  private readonly pairIps = new DistinctCounter(NOTE_IP_CAP)
  private readonly passwordUsers = new DistinctCounter(DICTIONARY_PASSWORD_USERNAMES)
  private readonly clientIps = new DistinctCounter(NOTE_IP_CAP)
  private readonly clientKeyIds = new PairMap()
  private readonly pairStamp = new GrowableInt()

  /**
   * droppedFilesIn of each transfer text seen (a URL, `> filename`), computed once; at most
   * TRANSFER_TEXTS_KEPT are remembered, so an input of ever-new URLs costs no memory here.
   */
  private readonly transferFileNames = new Map<string, ReadonlyArray<string>>()
  private readonly transferFiles = (text: string): ReadonlyArray<string> => {
    let files = this.transferFileNames.get(text)
    if (files === undefined) {
      files = droppedFilesIn(text)
      if (this.transferFileNames.size < TRANSFER_TEXTS_KEPT) this.transferFileNames.set(text, files)
    }
    return files
  }

  add(s: AttackSession): void {
    const sessionIndex = this.ids.length
    if (sessionIndex % GC_HINT_EVERY === GC_HINT_EVERY - 1) collectGarbage(true, sessionIndex + 1)
    this.ids.push(s.id)
    this.start.push(parseIsoTimestamp(s.start))
    this.end.push(parseIsoTimestamp(s.end))
    const ip = s.src_ip === null ? -1 : this.ips.id(s.src_ip)
    this.ipIds.push(ip)
    if (ip >= 0 && ip === this.prefixOfIp.length) this.prefixOfIp.push(this.prefixes.id(networkPrefix(s.src_ip!)))
    this.prefixIds.push(ip < 0 ? -1 : this.prefixOfIp.data[ip]!)
    const hassh = s.hassh === null ? -1 : this.strings.id(s.hassh)
    const version = s.client_version === null ? -1 : this.strings.id(s.client_version)
    this.hasshIds.push(hassh)
    this.versionIds.push(version)
    this.agentIds.push(s.user_agent === null ? -1 : this.strings.id(s.user_agent))

    // The parts below are methods of their own so that the JIT compiles each apart: as one
    // method, this took the optimising compiler about 0.2 s at every start.
    const local: Array<number> = []
    this.addCommands(s, local)
    this.addCredentials(s, ip, sessionIndex)
    this.addClient(s, hassh, version, ip)
    for (const [kind, value] of transferArtefacts(s, this.transferFiles)) {
      const id = this.artefact(kind, value)
      if (!local.includes(id)) local.push(id)
    }
    this.localArtefactIds.push(local)
  }

  /** Commands: interned raw strings, analysed once per distinct string; their artefacts into `local`. */
  private addCommands(s: AttackSession, local: Array<number>): void {
    const commandIds: Array<number> = []
    let techniques = sessionRuleMask(s)
    for (const raw of s.commands) {
      const id = this.rawCommands.id(raw)
      if (id === this.rawTechniques.length) this.analyseNewCommand(raw)
      commandIds.push(id)
      techniques |= this.rawTechniques.data[id]!
      for (const a of this.rawArtefacts.get(id)) if (!local.includes(a)) local.push(a)
    }
    this.techniqueMasks.push(techniques)
    this.sessionCommands.push(commandIds)
    if (commandIds.length > 0) this.randomCounts.addSession(commandIds.map((id) => this.rawSlots.get(id)))
  }

  /** A raw command seen for the first time: its token slots, markers, dropped files and techniques. */
  private analyseNewCommand(raw: string): void {
    this.rawSlots.push(this.randomCounts.slotsOf(raw))
    const found: Array<number> = []
    for (const m of markersIn(raw)) found.push(this.artefact("marker", m))
    for (const f of droppedFilesIn(raw)) found.push(this.artefact("file", f))
    this.rawArtefacts.push(found)
    this.rawTechniques.push(commandRuleMask(raw))
  }

  /** Credentials: pair ids, and the statistics that decide rarity later. */
  private addCredentials(s: AttackSession, ip: number, sessionIndex: number): void {
    const pairIds: Array<number> = []
    for (const c of s.credentials) {
      const user = this.usernames.id(c.username)
      const password = this.passwords.id(c.password)
      let pair = this.pairIds.get(user, password)
      if (pair < 0) {
        pair = this.pairUser.length
        this.pairIds.setIfAbsent(user, password, pair)
        this.pairUser.push(user)
        this.pairPassword.push(password)
      }
      // Dedupe within the session by stamping the pair with the session's index: linear even
      // for a session that tries tens of thousands of credentials.
      if (this.pairStamp.at(pair) !== sessionIndex + 1) {
        this.pairStamp.set(pair, sessionIndex + 1)
        pairIds.push(pair)
      }
      this.pairIps.note(pair, ip)
      this.passwordUsers.note(password, user)
    }
    this.sessionPairs.push(pairIds)
  }

  /** Client fingerprint (hassh + version). */
  private addClient(s: AttackSession, hassh: number, version: number, ip: number): void {
    if (hassh >= 0 && version >= 0) {
      let key = this.clientKeyIds.get(hassh, version)
      if (key < 0) {
        key = this.strings.id(`${s.client_version} ${s.hassh}`)
        this.clientKeyIds.setIfAbsent(hassh, version, key)
      }
      this.clientKeys.push(key)
      this.clientIps.note(key, ip)
    } else this.clientKeys.push(-1)
  }

  private artefact(kind: ArtefactKind, value: string): number {
    const id = this.artefactKeys.id(`${kind}\u0000${value}`)
    if (id === this.artefactKinds.length) this.artefactKinds.push(kind)
    return id
  }

  finish(): SessionFeatures {
    const n = this.ids.length
    // Normalise each distinct raw command once, now that recurring tokens are known.
    const normalizedIds = new Int32Array(this.rawCommands.size)
    const normalized = new Interner()
    for (let r = 0; r < this.rawCommands.size; r++) {
      const c = normalizeCommand(this.rawCommands.values[r]!, this.randomCounts)
      normalizedIds[r] = c.length === 0 ? -1 : normalized.id(c)
    }

    collectGarbage(true, n)
    // Document frequency of normalised commands over sessions.
    const df = new Int32Array(normalized.size)
    let sessionsWithCommands = 0
    const perSession = new IntLists()
    const own: Array<number> = []
    const stamp = new Int32Array(normalized.size).fill(-1)
    for (let i = 0; i < n; i++) {
      own.length = 0
      for (let k = this.sessionCommands.start(i), e = this.sessionCommands.end(i); k < e; k++) {
        const c = normalizedIds[this.sessionCommands.value(k)]!
        if (c >= 0) own.push(c)
      }
      perSession.push(own)
      if (own.length === 0) continue
      sessionsWithCommands++
      for (const c of own) {
        if (stamp[c] === i) continue
        stamp[c] = i
        df[c]!++
      }
    }

    // Token sets of normalised commands (one per distinct set), their specificity on the
    // log's frequencies, and a command-sequence artefact per distinct command list.
    const tokenIds = new Interner()
    const tokensOfCommand: Array<Array<number> | undefined> = new Array(normalized.size)
    const setIds = new Map<string, number>()
    const commandSets: Array<Int32Array> = []
    const setCommandLists: Array<Set<number>> = []
    const specific: Array<number> = []
    const commandSetOf = new Int32Array(n).fill(-1)
    const sequenceArtefact = new Int32Array(n).fill(-1)
    const byList = new Map<number, Array<{ readonly list: Int32Array; readonly set: number; readonly sequence: number }>>()
    collectGarbage(true, n)
    for (let i = 0; i < n; i++) {
      if (i % GC_HINT_EVERY === GC_HINT_EVERY - 1) collectGarbage(true, n)
      const from = perSession.start(i)
      const to = perSession.end(i)
      if (from === to) continue
      // Sessions running the same normalised commands share everything computed here; the
      // lookup hashes the id list instead of building a string key per session.
      let h = 0x811c9dc5
      for (let k = from; k < to; k++) h = Math.imul(h ^ perSession.value(k), 0x01000193)
      const bucket = byList.get(h >>> 0)
      let known: { readonly list: Int32Array; readonly set: number; readonly sequence: number } | undefined
      if (bucket !== undefined) {
        for (const entry of bucket) {
          if (entry.list.length !== to - from) continue
          let same = true
          for (let k = from; k < to && same; k++) same = entry.list[k - from] === perSession.value(k)
          if (same) {
            known = entry
            break
          }
        }
      }
      if (known !== undefined) {
        commandSetOf[i] = known.set
        sequenceArtefact[i] = known.sequence
        continue
      }
      const own = perSession.get(i).slice()
      const ids = new Set<number>()
      let spec = 0
      for (const c of new Set(own)) {
        let toks = tokensOfCommand[c]
        if (toks === undefined) {
          const text = normalized.values[c]!
          // The whole command is one element, its words are others: order inside a command counts.
          toks = [tokenIds.id(`\u0000${text}`)]
          for (const t of text.split(TOKEN_SPLIT)) if (t.length > 0) toks.push(tokenIds.id(t))
          tokensOfCommand[c] = toks
        }
        for (const t of toks) ids.add(t)
        spec += Math.log(sessionsWithCommands / df[c]!)
      }
      const sorted = Int32Array.from(ids).sort()
      const key = sorted.join(",")
      let setId = setIds.get(key)
      if (setId === undefined) {
        setId = commandSets.length
        setIds.set(key, setId)
        commandSets.push(sorted)
        setCommandLists.push(new Set())
        specific.push(0)
      }
      for (const c of own) setCommandLists[setId]!.add(c)
      // A set is specific when any command list producing it is.
      if (spec >= MIN_SPECIFICITY) specific[setId] = 1
      // Every distinct list is a sequence artefact: it names campaigns and is evidence; whether
      // it links is linkage's decision (specificity on the log and spread over behaviours).
      const sequence = this.artefact("command_sequence", Array.from(own, (c) => normalized.values[c]!).join("\n"))
      const entry = { list: own, set: setId, sequence }
      const list = byList.get(h >>> 0)
      if (list === undefined) byList.set(h >>> 0, [entry])
      else list.push(entry)
      commandSetOf[i] = setId
      sequenceArtefact[i] = sequence
    }
    const setCommands = new IntLists()
    for (const commands of setCommandLists) setCommands.push(Int32Array.from(commands).sort())

    // Credentials: a pair is in a dictionary when lists or the data say so (popular pairs,
    // common passwords, name-derived passwords, a password tried under many user names). A
    // pair in no dictionary that several sources use verbatim is a campaign marker (a
    // botnet's own check login), however many sources carry it.
    const pairDictionary = new Uint8Array(this.pairUser.length)
    for (let pair = 0; pair < this.pairUser.length; pair++) {
      const password = this.pairPassword.data[pair]!
      const username = this.usernames.values[this.pairUser.data[pair]!]!
      pairDictionary[pair] = isPopularCredential(username, this.passwords.values[password]!) ||
          this.passwordUsers.count(password) >= DICTIONARY_PASSWORD_USERNAMES
        ? 1
        : 0
    }
    // A pair its sources try inside long lists is a wordlist entry, not a check login: the
    // median list length (distinct pairs per source) of its sources decides.
    const listLength = new Int32Array(this.ips.size)
    {
      const seen = new PairMap()
      for (let i = 0; i < n; i++) {
        const ip = this.ipIds.data[i]!
        if (ip < 0) continue
        for (let k = this.sessionPairs.start(i), e = this.sessionPairs.end(i); k < e; k++) {
          if (seen.setIfAbsent(ip, this.sessionPairs.value(k), 1)) listLength[ip]!++
        }
      }
    }
    const candidateLists = new Map<number, Array<number>>()
    {
      const seen = new PairMap()
      for (let i = 0; i < n; i++) {
        const ip = this.ipIds.data[i]!
        if (ip < 0) continue
        for (let k = this.sessionPairs.start(i), e = this.sessionPairs.end(i); k < e; k++) {
          const pair = this.sessionPairs.value(k)
          if (pairDictionary[pair] === 1 || this.pairIps.count(pair) < CREDENTIAL_MARKER_MIN_SOURCES) continue
          if (!seen.setIfAbsent(pair, ip, 1)) continue
          const lengths = candidateLists.get(pair)
          if (lengths === undefined) candidateLists.set(pair, [listLength[ip]!])
          else lengths.push(listLength[ip]!)
        }
      }
    }
    const markerPair = new Int32Array(this.pairUser.length).fill(-2)
    const pairArtefact = (pair: number): number => {
      if (markerPair[pair] !== -2) return markerPair[pair]!
      const lengths = candidateLists.get(pair)
      const marker = lengths !== undefined && median(lengths) < WORDLIST_ENTRY_MEDIAN_LIST
      markerPair[pair] = marker
        ? this.artefact("credential", `${this.usernames.values[this.pairUser.data[pair]!]!}/${this.passwords.values[this.pairPassword.data[pair]!]!}`)
        : -1
      return markerPair[pair]!
    }
    // A client fingerprint (hassh + version) seen from a few sources is evidence; linkage
    // decides whether it may group anything.
    const clientArtefact = new Map<number, number>()
    const clientFor = (key: number): number => {
      let id = clientArtefact.get(key)
      if (id === undefined) {
        const ipCount = this.clientIps.count(key)
        id = ipCount >= 2 && ipCount < NOTE_IP_CAP ? this.artefact("client", this.strings.values[key]!) : -1
        clientArtefact.set(key, id)
      }
      return id
    }

    collectGarbage(true, n)
    const artefacts = new IntLists()
    const scratch: Array<number> = []
    for (let i = 0; i < n; i++) {
      scratch.length = 0
      for (let k = this.localArtefactIds.start(i), e = this.localArtefactIds.end(i); k < e; k++) scratch.push(this.localArtefactIds.value(k))
      for (let k = this.sessionPairs.start(i), e = this.sessionPairs.end(i); k < e; k++) {
        const id = pairArtefact(this.sessionPairs.value(k))
        if (id >= 0 && !scratch.includes(id)) scratch.push(id)
      }
      const client = this.clientKeys.data[i]!
      if (client >= 0) {
        const id = clientFor(client)
        if (id >= 0) scratch.push(id)
      }
      if (sequenceArtefact[i]! >= 0) scratch.push(sequenceArtefact[i]!)
      scratch.sort((a, b) => a - b)
      artefacts.push(scratch)
    }
    const carriers = new Int32Array(this.artefactKeys.size)
    for (let i = 0; i < n; i++) for (let k = artefacts.start(i), e = artefacts.end(i); k < e; k++) carriers[artefacts.value(k)]!++
    const artefactTable: Array<Artefact> = this.artefactKeys.values.map((v, id) => ({
      kind: this.artefactKinds[id]!,
      value: v.slice(v.indexOf("\u0000") + 1)
    }))

    return {
      count: n,
      ids: this.ids,
      startMs: this.start.toArray(),
      endMs: this.end.toArray(),
      ipId: this.ipIds.toArray(),
      ips: this.ips.values,
      prefixId: this.prefixIds.toArray(),
      hasshId: this.hasshIds.toArray(),
      clientVersionId: this.versionIds.toArray(),
      userAgentId: this.agentIds.toArray(),
      strings: this.strings.values,
      techniques: this.techniqueMasks.toArray(),
      commandSetOf,
      commandSets,
      setSpecific: Uint8Array.from(specific),
      setCommands,
      commands: normalized.values,
      credentials: this.sessionPairs,
      pairDictionary,
      pairUser: this.pairUser.toArray(),
      pairPassword: this.pairPassword.toArray(),
      usernames: this.usernames.values,
      passwords: this.passwords.values,
      artefactTable,
      artefacts,
      artefactCarriers: carriers
    }
  }
}

/**
 * Sources trying a pair inside lists this long (median distinct pairs per source) are walking
 * a wordlist: the pair is one of its entries, not a botnet's check login (those come alone or
 * in short lists of a few).
 */
export const WORDLIST_ENTRY_MEDIAN_LIST = 16

const median = (values: Array<number>): number => {
  const sorted = values.slice().sort((a, b) => a - b)
  return sorted[sorted.length >> 1]!
}

/** Counting sources of an item stops here: past RARE_CREDENTIAL_MAX_IPS_CAP it is never rare. */
const NOTE_IP_CAP = 64

/** Features of sessions held in memory (tests, small inputs, `assess`). */
export const computeFeatures = (sessions: Iterable<AttackSession>): SessionFeatures => {
  const builder = new FeatureBuilder()
  for (const s of sessions) builder.add(s)
  return builder.finish()
}

/** Jaccard similarity of two sorted token-id arrays. */
export const jaccard = (a: Int32Array, b: Int32Array): number => {
  if (a.length === 0 && b.length === 0) return 0
  let i = 0
  let j = 0
  let common = 0
  while (i < a.length && j < b.length) {
    const x = a[i]!
    const y = b[j]!
    if (x === y) {
      common++
      i++
      j++
    } else if (x < y) i++
    else j++
  }
  return common / (a.length + b.length - common)
}

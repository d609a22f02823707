/**
 * Per-session features, computed once and held in typed arrays: time, address, network
 * prefix, normalised commands and their token sets, and the interned artefacts that may link
 * sessions. Everything downstream (linkage, hierarchy, evidence) reads only this.
 */
import type { AttackSession } from "../domain/AttackSession.ts"
import { isPopularCredential, rareCredentialMaxIps } from "./credentials.ts"
import { droppedFilesIn } from "./droppedFiles.ts"
import { markersIn } from "./markers.ts"
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
 * Kinds of artefacts, strongest first (the order names a campaign). The first five link
 * sessions outright; `client` (a rare hassh + client version) and `command_sequence` link
 * only where they do not join two different identities (see linkage.ts).
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

export interface SessionFeatures {
  readonly count: number
  readonly startMs: Float64Array
  /** Source address ids; -1 when the session has none. */
  readonly ipId: Int32Array
  /** /24 for IPv4, /48 for IPv6, as ids; -1 when the session has no address. */
  readonly prefixId: Int32Array
  readonly normalizedCommands: ReadonlyArray<ReadonlyArray<string>>
  /** Index into `commandSets` of the session's token set; -1 without commands. */
  readonly commandSetOf: Int32Array
  /** Distinct token-id sets (sorted ascending), shared by sessions with equal sets. */
  readonly commandSets: ReadonlyArray<Int32Array>
  /** Whether a set is specific enough to link by behaviour (see `MIN_SPECIFICITY`). */
  readonly setSpecific: Uint8Array
  /** Interned artefacts: id → artefact. */
  readonly artefactTable: ReadonlyArray<Artefact>
  /** Artefact ids of each session, ascending. */
  readonly artefacts: ReadonlyArray<Int32Array>
  /** How many sessions carry each artefact. */
  readonly artefactCarriers: Int32Array
}

/**
 * A password tried under this many distinct user names is a dictionary password (every
 * scanner's list pairs it with root, admin, user, …): its pairs are popular whatever the
 * lists say.
 */
export const DICTIONARY_PASSWORD_USERNAMES = 5

/** The network prefix an address belongs to: /24 for IPv4, /48 for IPv6. */
export const networkPrefix = (ip: string): string => {
  if (ip.includes(":")) {
    const head = ip.split("::")[0]!.split(":")
    while (head.length < 3) head.push("0")
    return `${head.slice(0, 3).join(":")}::/48`
  }
  return `${ip.slice(0, ip.lastIndexOf("."))}.0/24`
}

/**
 * Behaviour links need specific commands: the sum over a session's distinct normalised
 * commands of their inverse document frequency, ln(sessions with commands / sessions with
 * this command), must reach this. `uname -a; whoami` typed by everyone scores low; a kit's
 * own sequence scores high even when the kit hit thousands of hosts.
 */
export const MIN_SPECIFICITY = 6

const TOKEN_SPLIT = /[\s;|&()<>"'`]+/

class Interner {
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

export const computeFeatures = (sessions: ReadonlyArray<AttackSession>): SessionFeatures => {
  const n = sessions.length
  const startMs = new Float64Array(n)
  const ipId = new Int32Array(n)
  const prefixId = new Int32Array(n)
  const ips = new Interner()
  const prefixes = new Interner()

  // Pass 1: which random-looking tokens recur across sessions (those are kit constants).
  const randomCounts = new RandomTokenCounts()
  for (const s of sessions) if (s.commands.length > 0) randomCounts.addSession(s.commands)

  // Pass 2: normalise, intern commands and tokens, count command document frequency.
  const normalizedCache = new Map<string, string>()
  const normalizedCommands: Array<Array<string>> = new Array(n)
  const commandIds = new Interner()
  const commandDf: Array<number> = []
  let sessionsWithCommands = 0
  for (let i = 0; i < n; i++) {
    const s = sessions[i]!
    startMs[i] = Date.parse(s.start)
    ipId[i] = s.src_ip === null ? -1 : ips.id(s.src_ip)
    prefixId[i] = s.src_ip === null ? -1 : prefixes.id(networkPrefix(s.src_ip))
    const normalized: Array<string> = []
    for (const raw of s.commands) {
      let c = normalizedCache.get(raw)
      if (c === undefined) {
        c = normalizeCommand(raw, randomCounts)
        normalizedCache.set(raw, c)
      }
      if (c.length > 0) normalized.push(c)
    }
    normalizedCommands[i] = normalized
    if (normalized.length > 0) {
      sessionsWithCommands++
      for (const c of new Set(normalized)) {
        const id = commandIds.id(c)
        commandDf[id] = (commandDf[id] ?? 0) + 1
      }
    }
  }
  normalizedCache.clear()

  // Pass 3: token sets (deduplicated across sessions) and their specificity.
  const tokenIds = new Interner()
  const setIds = new Map<string, number>()
  const commandSets: Array<Int32Array> = []
  const specificity: Array<number> = []
  const commandSetOf = new Int32Array(n).fill(-1)
  for (let i = 0; i < n; i++) {
    const normalized = normalizedCommands[i]!
    if (normalized.length === 0) continue
    const ids = new Set<number>()
    let spec = 0
    for (const c of new Set(normalized)) {
      // The whole command is one element, its words are others: order inside a command counts.
      ids.add(tokenIds.id(`\u0000${c}`))
      for (const token of c.split(TOKEN_SPLIT)) if (token.length > 0) ids.add(tokenIds.id(token))
      spec += Math.log(sessionsWithCommands / commandDf[commandIds.id(c)]!)
    }
    const sorted = Int32Array.from(ids).sort()
    const key = sorted.join(",")
    let setId = setIds.get(key)
    if (setId === undefined) {
      setId = commandSets.length
      setIds.set(key, setId)
      commandSets.push(sorted)
      specificity.push(spec)
    }
    commandSetOf[i] = setId
  }
  const setSpecific = new Uint8Array(commandSets.length)
  for (let k = 0; k < commandSets.length; k++) setSpecific[k] = specificity[k]! >= MIN_SPECIFICITY ? 1 : 0

  // Pass 4: rarity of credentials and client fingerprints, measured in distinct source IPs.
  const loginIps = new Set<number>()
  const usernamesPerPassword = new Map<string, Set<string>>()
  for (let i = 0; i < n; i++) {
    const s = sessions[i]!
    if (s.credentials.length > 0) loginIps.add(ipId[i]!)
    for (const c of s.credentials) {
      let names = usernamesPerPassword.get(c.password)
      if (names === undefined) {
        names = new Set()
        usernamesPerPassword.set(c.password, names)
      }
      if (names.size < DICTIONARY_PASSWORD_USERNAMES) names.add(c.username)
    }
  }
  const maxIps = rareCredentialMaxIps(loginIps.size)
  const linkable = (username: string, password: string): boolean =>
    !isPopularCredential(username, password) &&
    (usernamesPerPassword.get(password)?.size ?? 0) < DICTIONARY_PASSWORD_USERNAMES
  const credentialIps = new Map<string, Set<number>>()
  const clientIps = new Map<string, Set<number>>()
  const note = (map: Map<string, Set<number>>, key: string, ip: number): void => {
    let set = map.get(key)
    if (set === undefined) {
      set = new Set()
      map.set(key, set)
    }
    if (set.size <= maxIps) set.add(ip)
  }
  for (let i = 0; i < n; i++) {
    const s = sessions[i]!
    for (const c of s.credentials) {
      if (linkable(c.username, c.password)) note(credentialIps, `${c.username}\u0000${c.password}`, ipId[i]!)
    }
    if (s.hassh !== null && s.client_version !== null) note(clientIps, `${s.hassh} ${s.client_version}`, ipId[i]!)
  }
  const rare = (map: Map<string, Set<number>>, key: string): boolean => {
    const size = map.get(key)?.size ?? 0
    return size >= 2 && size <= maxIps
  }

  // Pass 5: each session's artefacts, interned.
  const table = new Interner()
  const kindOf: Array<ArtefactKind> = []
  const artefacts: Array<Int32Array> = new Array(n)
  let carriers = new Int32Array(1024)
  for (let i = 0; i < n; i++) {
    const s = sessions[i]!
    const own = new Set<number>()
    const add = (kind: ArtefactKind, value: string | null): void => {
      if (value === null || value.length === 0) return
      const id = table.id(`${kind}\u0000${value}`)
      kindOf[id] = kind
      own.add(id)
    }
    for (const key of s.ssh_keys_added) add("ssh_key", key)
    for (const t of s.downloads) {
      if (t.sha256 !== null && !TRIVIAL_SHA256.has(t.sha256)) add("sha256", t.sha256)
      add("url", t.url)
      if (t.url !== null) for (const f of droppedFilesIn(t.url)) add("file", f)
    }
    for (const t of s.uploads) {
      if (t.sha256 !== null && !TRIVIAL_SHA256.has(t.sha256)) add("sha256", t.sha256)
      if (t.filename !== null) for (const f of droppedFilesIn(`> ${t.filename}`)) add("file", f)
    }
    for (const raw of s.commands) {
      for (const m of markersIn(raw)) add("marker", m)
      for (const f of droppedFilesIn(raw)) add("file", f)
    }
    for (const c of s.credentials) {
      const key = `${c.username}\u0000${c.password}`
      if (linkable(c.username, c.password) && rare(credentialIps, key)) add("credential", `${c.username}/${c.password}`)
    }
    if (s.hassh !== null && s.client_version !== null && rare(clientIps, `${s.hassh} ${s.client_version}`)) {
      add("client", `${s.client_version} ${s.hassh}`)
    }
    const setId = commandSetOf[i]!
    if (setId >= 0 && setSpecific[setId] === 1) add("command_sequence", normalizedCommands[i]!.join("\n"))
    const ids = Int32Array.from(own).sort()
    artefacts[i] = ids
    if (table.size > carriers.length) {
      const grown = new Int32Array(Math.max(table.size, carriers.length * 2))
      grown.set(carriers)
      carriers = grown
    }
    for (const id of ids) carriers[id]!++
  }
  const artefactTable: Array<Artefact> = table.values.map((v, id) => ({ kind: kindOf[id]!, value: v.slice(v.indexOf("\u0000") + 1) }))
  return {
    count: n,
    startMs,
    ipId,
    prefixId,
    normalizedCommands,
    commandSetOf,
    commandSets,
    setSpecific,
    artefactTable,
    artefacts,
    artefactCarriers: carriers.slice(0, table.size)
  }
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

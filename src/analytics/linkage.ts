/**
 * Linkage: which sessions belong to one family. Union-find over links ranked by strength,
 * no O(n²) step anywhere. Strong links form cores first; weak links may only gather sessions
 * that no strong link claimed and attach them to at most one core, so a weak bridge never
 * chains two cores together and never claims a session before behaviour could.
 *
 * Cores (phase 1), strongest first:
 * 1. The same planted SSH key or payload sha256 (identities) links outright.
 * 2. The same command list, when it is specific: specific on the log's own frequencies
 *    (inverse document frequency, `MIN_SPECIFICITY`), or holding a kit command — a command
 *    found in one behaviour only and repeated in the same few lists, however many sessions
 *    run it, so a campaign that dominates a log does not make its own commands look common.
 * 3. Similar specific command sets (exact token Jaccard ≥ the threshold, found by
 *    MinHash-LSH), strongest pairs first.
 * 4. The same download URL, kit marker or dropped file name — unless that artefact turns up
 *    across several unrelated behaviours (architecture names, public tool URLs), where it
 *    says nothing about who sent it.
 * Links 2–3 never join two groups holding different identities: "same technique ≠ same actor"
 * (unrelated operators run near-identical key-planting scripts with their own keys); a kit's
 * own URL, marker or file name does join its builds.
 *
 * Weak links (phase 2), among sessions outside every core:
 * 5. A credential in no dictionary used verbatim by several sources (a botnet's check login).
 * 6. A shared wordlist: sources whose credential lists (set and order) overlap strongly.
 * A wordlist is a source's credentials over one period of activity (a silence longer than
 * `weakWindowMs` starts a new one), and two lists link only when their periods lie within
 * that window of each other: a public wordlist walked again months later, or an address
 * that comes back with other work, is not one campaign carrying on. A marker credential
 * has no window: it is rare by definition, and a botnet's check login that pauses for weeks
 * is still that botnet's.
 *
 * Attachment (phase 3): each weak group — or lone session — joins the one core it is tied to
 * most, by sessions without commands from a source that has a session in the core within
 * `sourceWindowMs`, or by carrying the core's marker credential.
 *
 * Never links: popular credentials, client fingerprints, a shared technique, the same /24,
 * closeness in time alone. They are evidence only.
 */
import { LINK_KINDS, type LinkKind } from "../domain/linkKinds.ts"
import { lshCandidatePairs, minHashSeeds, minHashSignatures } from "./minHash.ts"
import { PairMap } from "./PairMap.ts"
import { type ArtefactKind, IDENTITY_KINDS, jaccard, type SessionFeatures } from "./sessionFeatures.ts"
import { UnionFind } from "./UnionFind.ts"

export interface LinkageOptions {
  readonly seed: number
  /** Token Jaccard from which two command sets link (family level). */
  readonly behaviourThreshold: number
  /** Jaccard of two sources' credential lists (pairs and consecutive pairs) from which they share a wordlist. */
  readonly wordlistThreshold: number
  /** Distinct credentials a source must try before its list counts as a wordlist. */
  readonly wordlistMinCredentials: number
  /** How close in time a session without commands must be to its source's core session to join it. */
  readonly sourceWindowMs: number
  /** The longest silence within one source's wordlist, and between two lists that link. */
  readonly weakWindowMs: number
}

export const DEFAULT_LINKAGE: Omit<LinkageOptions, "seed"> = {
  behaviourThreshold: 0.55,
  wordlistThreshold: 0.6,
  wordlistMinCredentials: 6,
  sourceWindowMs: 60 * 60 * 1000,
  weakWindowMs: 30 * 24 * 60 * 60 * 1000
}

/** A verified behaviour link between two distinct command sets. */
export interface SetPair {
  readonly a: number
  readonly b: number
  readonly jaccard: number
}

/** The unions that formed the families, in the order they were made. */
export interface LinkRecord {
  readonly a: Int32Array
  readonly kind: Uint8Array
  readonly count: number
}

export interface Linkage {
  readonly families: UnionFind
  /** Verified LSH pairs between linkable sets (above the threshold), strongest first; reused for variants. */
  readonly setPairs: ReadonlyArray<SetPair>
  /** One entry per effective union: a session of the joined group and the link kind. */
  readonly links: LinkRecord
  /** Sessions in a core (formed by strong links); the rest joined by weak links or not at all. */
  readonly inCore: Uint8Array
  /**
   * Sessions that joined a core only because their source has a session in it (phase 3,
   * `same_source`): that source's other logins, which bring no source and no evidence the
   * core does not already hold.
   */
  readonly bySource: Uint8Array
}

/** Identity artefacts are few per group; past this many we stop collecting (still compatible). */
const MAX_IDENTITIES = 64

/**
 * A URL, marker or file name carried by sessions of this many unrelated behaviours (behaviour
 * clusters) is a commonplace, not a kit's own: it no longer links outright.
 */
export const GENERIC_ARTEFACT_BEHAVIOURS = 3

/** Sessions per distinct list from which a command repeats like a kit's. */
const KIT_REPETITION = 3

/** A kit command must say something: at least this many words and this many characters. */
const KIT_COMMAND_MIN_WORDS = 3
const KIT_COMMAND_MIN_LENGTH = 12

const ARTEFACT_LINK: Partial<Record<ArtefactKind, LinkKind>> = {
  ssh_key: "ssh_key",
  sha256: "payload",
  url: "download_url",
  marker: "kit_marker",
  file: "dropped_file"
}

class LinkLog {
  private a = new Int32Array(256)
  private kind = new Uint8Array(256)
  count = 0
  push(session: number, kind: LinkKind): void {
    if (this.count === this.a.length) {
      const a = new Int32Array(this.count * 2)
      a.set(this.a)
      this.a = a
      const k = new Uint8Array(this.count * 2)
      k.set(this.kind)
      this.kind = k
    }
    this.a[this.count] = session
    this.kind[this.count++] = LINK_KINDS.indexOf(kind)
  }
  record(): LinkRecord {
    return { a: this.a.slice(0, this.count), kind: this.kind.slice(0, this.count), count: this.count }
  }
}

/** Verified behaviour pairs over every distinct command set, strongest first. */
const similarSets = (features: SessionFeatures, sets: ReadonlyArray<number>, seed: number, threshold: number): Array<SetPair> => {
  const signatures = minHashSignatures(sets.map((k) => features.commandSets[k]!), minHashSeeds(seed))
  const pairs: Array<SetPair> = []
  const candidates = lshCandidatePairs(signatures, sets.length)
  for (let c = 0; c < candidates.length; c += 2) {
    const a = sets[candidates[c]!]!
    const b = sets[candidates[c + 1]!]!
    const j = jaccard(features.commandSets[a]!, features.commandSets[b]!)
    if (j >= threshold) pairs.push({ a: Math.min(a, b), b: Math.max(a, b), jaccard: j })
  }
  pairs.sort((p, q) => q.jaccard - p.jaccard || p.a - q.a || p.b - q.b)
  return pairs
}

/**
 * Which command sets may link by behaviour: specific on the log's frequencies, or holding a
 * kit command (a non-trivial command seen in one behaviour cluster only).
 */
const linkableSets = (features: SessionFeatures, behaviourOfSet: Int32Array): Uint8Array => {
  const commandCount = features.commands.length
  const sessionsOfSet = new Int32Array(features.commandSets.length)
  for (let i = 0; i < features.count; i++) if (features.commandSetOf[i]! >= 0) sessionsOfSet[features.commandSetOf[i]!]!++
  const firstCluster = new Int32Array(commandCount).fill(-1)
  const spread = new Int32Array(commandCount)
  const sets = new Int32Array(commandCount)
  const sessions = new Float64Array(commandCount)
  for (let k = 0; k < features.commandSets.length; k++) {
    const cluster = behaviourOfSet[k]!
    for (let t = features.setCommands.start(k), e = features.setCommands.end(k); t < e; t++) {
      const c = features.setCommands.value(t)
      sets[c]!++
      sessions[c]! += sessionsOfSet[k]!
      if (firstCluster[c] === -1) {
        firstCluster[c] = cluster
        spread[c] = 1
      } else if (firstCluster[c] !== cluster && spread[c] === 1) spread[c] = 2
    }
  }
  // A kit repeats itself: its commands come back in the same few lists, session after session.
  // A commonplace command is mixed into ever new combinations (about one list per session),
  // even when those combinations are similar enough to form one behaviour cluster.
  const kitCommand = (c: number): boolean => {
    if (spread[c] !== 1 || sessions[c]! < KIT_REPETITION * sets[c]!) return false
    const text = features.commands[c]!
    return text.length >= KIT_COMMAND_MIN_LENGTH && text.split(" ").length >= KIT_COMMAND_MIN_WORDS
  }
  const out = Uint8Array.from(features.setSpecific)
  for (let k = 0; k < out.length; k++) {
    if (out[k] === 1) continue
    for (let t = features.setCommands.start(k), e = features.setCommands.end(k); t < e; t++) {
      if (kitCommand(features.setCommands.value(t))) {
        out[k] = 1
        break
      }
    }
  }
  return out
}

/** Elements of a source's wordlist: its pairs and its consecutive pairs (order-aware). */
const wordlistElements = (pairs: ReadonlyArray<number>, pairCount: number): Int32Array => {
  const out = new Set<number>(pairs)
  for (let k = 1; k < pairs.length; k++) out.add(pairCount + ((Math.imul(pairs[k - 1]!, 0x9e3779b1) ^ pairs[k]!) >>> 1))
  return Int32Array.from(out).sort()
}

/**
 * The union of two ascending id lists, ascending, without repeats, at most `cap` long: one
 * array per merge (a union merges identities once per link, a million times on a large input).
 */
const mergeSortedIds = (x: ReadonlyArray<number>, y: ReadonlyArray<number>, cap: number): Array<number> => {
  const out: Array<number> = []
  let i = 0
  let j = 0
  while (out.length < cap && (i < x.length || j < y.length)) {
    const next = j >= y.length || (i < x.length && x[i]! <= y[j]!) ? x[i++]! : y[j++]!
    if (out.length === 0 || out[out.length - 1] !== next) out.push(next)
  }
  return out
}

const ascending = (a: number, b: number): number => a - b

/** True when the two id lists share an id. */
const sharesId = (x: ReadonlyArray<number>, y: ReadonlyArray<number>): boolean => {
  for (const id of x) if (y.includes(id)) return true
  return false
}

export const linkSessions = (features: SessionFeatures, options: LinkageOptions): Linkage => {
  const n = features.count
  const uf = new UnionFind(n)
  const log = new LinkLog()
  const identity: Array<Array<number> | undefined> = new Array(n)
  for (let i = 0; i < n; i++) {
    let own: Array<number> | undefined
    for (let k = features.artefacts.start(i), e = features.artefacts.end(i); k < e; k++) {
      const id = features.artefacts.value(k)
      if (IDENTITY_KINDS.has(features.artefactTable[id]!.kind)) (own ??= []).push(id)
    }
    // Sorted and unique, as mergeSortedIds keeps them.
    if (own !== undefined) identity[i] = own.length === 1 ? own : mergeSortedIds([], own.sort(ascending), MAX_IDENTITIES)
  }

  const mergeIdentity = (into: number, from: number, a: number, b: number): void => {
    const x = identity[a]
    const y = identity[b]
    if (x === undefined && y === undefined) return
    identity[into] = x === undefined ? y! : y === undefined ? x : mergeSortedIds(x, y, MAX_IDENTITIES)
    if (into !== from) identity[from] = undefined
  }

  const union = (a: number, b: number, kind: LinkKind, constrained: boolean): void => {
    const ra = uf.find(a)
    const rb = uf.find(b)
    if (ra === rb) return
    if (constrained) {
      const x = identity[ra]
      const y = identity[rb]
      if (x !== undefined && y !== undefined && x.length < MAX_IDENTITIES && y.length < MAX_IDENTITIES) {
        if (!sharesId(x, y)) return
      }
    }
    uf.union(ra, rb)
    const root = uf.find(ra)
    mergeIdentity(root, root === ra ? rb : ra, ra, rb)
    log.push(a, kind)
  }

  // Behaviour clusters: every distinct command set, joined by verified similarity alone. They
  // tell kit commands from commonplace ones, and commonplace artefacts from a kit's own.
  const allSets = Array.from({ length: features.commandSets.length }, (_, k) => k)
  const allPairs = similarSets(features, allSets, options.seed, options.behaviourThreshold)
  const clusters = new UnionFind(features.commandSets.length)
  for (const p of allPairs) clusters.union(p.a, p.b)
  const behaviourOfSet = new Int32Array(features.commandSets.length)
  for (let k = 0; k < behaviourOfSet.length; k++) behaviourOfSet[k] = clusters.find(k)
  const linkable = linkableSets(features, behaviourOfSet)

  // 1. Identities link outright.
  const firstCarrier = new Int32Array(features.artefactTable.length).fill(-1)
  for (let i = 0; i < n; i++) {
    for (let k = features.artefacts.start(i), e = features.artefacts.end(i); k < e; k++) {
      const id = features.artefacts.value(k)
      const kind = features.artefactTable[id]!.kind
      if (!IDENTITY_KINDS.has(kind)) continue
      const first = firstCarrier[id]!
      if (first < 0) firstCarrier[id] = i
      else union(first, i, ARTEFACT_LINK[kind]!, false)
    }
  }

  // 2. The same linkable command set.
  const setFirst = new Int32Array(features.commandSets.length).fill(-1)
  for (let i = 0; i < n; i++) {
    const set = features.commandSetOf[i]!
    if (set < 0 || linkable[set] !== 1) continue
    const first = setFirst[set]!
    if (first < 0) setFirst[set] = i
    else union(first, i, "command_sequence", true)
  }

  // 3. Similar linkable command sets.
  const setPairs = allPairs.filter((p) => linkable[p.a] === 1 && linkable[p.b] === 1)
  for (const pair of setPairs) union(setFirst[pair.a]!, setFirst[pair.b]!, "similar_commands", true)

  // 4. URLs, markers and file names a kit keeps — unless they cross unrelated behaviours.
  const behaviourSpread = new Int32Array(features.artefactTable.length)
  const behaviourSeen = new PairMap()
  for (let i = 0; i < n; i++) {
    const set = features.commandSetOf[i]!
    if (set < 0) continue
    const cluster = behaviourOfSet[set]!
    for (let k = features.artefacts.start(i), e = features.artefacts.end(i); k < e; k++) {
      const id = features.artefacts.value(k)
      if (behaviourSeen.setIfAbsent(id, cluster, 1)) behaviourSpread[id]!++
    }
  }
  for (let i = 0; i < n; i++) {
    for (let k = features.artefacts.start(i), e = features.artefacts.end(i); k < e; k++) {
      const id = features.artefacts.value(k)
      const kind = features.artefactTable[id]!.kind
      if (IDENTITY_KINDS.has(kind)) continue
      const link = ARTEFACT_LINK[kind]
      if (link === undefined || behaviourSpread[id]! >= GENERIC_ARTEFACT_BEHAVIOURS) continue
      const first = firstCarrier[id]!
      if (first < 0) firstCarrier[id] = i
      else union(first, i, link, false)
    }
  }

  const inCore = new Uint8Array(n)
  for (let i = 0; i < n; i++) if (uf.size(i) > 1) inCore[i] = 1

  // 5. Marker credentials among sessions outside the cores.
  const credentialFirst = new Int32Array(features.artefactTable.length).fill(-1)
  for (let i = 0; i < n; i++) {
    if (inCore[i] === 1) continue
    for (let k = features.artefacts.start(i), e = features.artefacts.end(i); k < e; k++) {
      const id = features.artefacts.value(k)
      if (features.artefactTable[id]!.kind !== "credential") continue
      const first = credentialFirst[id]!
      if (first < 0) credentialFirst[id] = i
      else union(first, i, "credential_marker", false)
    }
  }

  // 6. Shared wordlists, source by source and activity period: a source's logins in start
  // order (which gives each list its order), cut where it fell silent for longer than the
  // window, so an address that comes back months later starts a list of its own.
  const sourceCount = features.ips.length
  const byStart = startOrder(features.startMs)
  // Per source, its login sessions in start order (the pairs stay in features.credentials), in
  // compressed rows: one typed array and offsets, not a JS array per source.
  const loginAt = new Int32Array(sourceCount + 1)
  const logs = (i: number): boolean => features.ipId[i]! >= 0 && features.credentials.start(i) !== features.credentials.end(i)
  for (let i = 0; i < n; i++) if (logs(i)) loginAt[features.ipId[i]! + 1]!++
  for (let ip = 0; ip < sourceCount; ip++) loginAt[ip + 1]! += loginAt[ip]!
  const logins = new Int32Array(loginAt[sourceCount]!)
  {
    const nextLogin = loginAt.slice(0, sourceCount)
    for (const i of byStart) if (logs(i)) logins[nextLogin[features.ipId[i]!]!++] = i
  }
  // Each list: its period's range in `logins`, when the period ran, and its anchor (the
  // period's smallest session index outside the cores, which its unions use).
  const lists: Array<Int32Array> = []
  const listRange: Array<number> = []
  const listFrom: Array<number> = []
  const listUntil: Array<number> = []
  const listAnchor: Array<number> = []
  // Which pairs the current period's list already holds: stamped with the period (no Set per list).
  const pairSeenIn = new Int32Array(features.pairDictionary.length).fill(-1)
  let period = 0
  const ordered: Array<number> = []
  for (let ip = 0; ip < sourceCount; ip++) {
    for (let at = loginAt[ip]!; at < loginAt[ip + 1]!; period++) {
      ordered.length = 0
      let end = at
      let until = -Infinity
      let anchor = -1
      while (end < loginAt[ip + 1]!) {
        const i = logins[end]!
        if (end > at && features.startMs[i]! - until > options.weakWindowMs) break
        until = Math.max(until, features.endMs[i]!)
        for (let k = features.credentials.start(i), e = features.credentials.end(i); k < e; k++) {
          const p = features.credentials.value(k)
          if (pairSeenIn[p] !== period) {
            pairSeenIn[p] = period
            ordered.push(p)
          }
        }
        if (inCore[i] === 0 && (anchor < 0 || i < anchor)) anchor = i
        end++
      }
      if (anchor >= 0 && ordered.length >= options.wordlistMinCredentials) {
        lists.push(wordlistElements(ordered, features.pairDictionary.length))
        listRange.push(at, end)
        listFrom.push(features.startMs[logins[at]!]!)
        listUntil.push(until)
        listAnchor.push(anchor)
      }
      at = end
    }
  }
  if (lists.length > 1) {
    const signatures = minHashSignatures(lists, minHashSeeds(options.seed, "wordlist"))
    const pairs: Array<SetPair> = []
    const candidates = lshCandidatePairs(signatures, lists.length)
    for (let c = 0; c < candidates.length; c += 2) {
      const x = candidates[c]!
      const y = candidates[c + 1]!
      // The silence between the two lists' periods (negative when they overlap).
      const gap = Math.max(listFrom[x]!, listFrom[y]!) - Math.min(listUntil[x]!, listUntil[y]!)
      if (gap > options.weakWindowMs) continue
      const j = jaccard(lists[x]!, lists[y]!)
      if (j >= options.wordlistThreshold) pairs.push({ a: Math.min(x, y), b: Math.max(x, y), jaccard: j })
    }
    pairs.sort((p, q) => q.jaccard - p.jaccard || p.a - q.a || p.b - q.b)
    const joined = new Uint8Array(lists.length)
    for (const p of pairs) {
      union(listAnchor[p.a]!, listAnchor[p.b]!, "wordlist", false)
      joined[p.a] = 1
      joined[p.b] = 1
    }
    // A source in a shared wordlist brings its other login sessions of that period along.
    for (let x = 0; x < lists.length; x++) {
      if (joined[x] === 0) continue
      for (let at = listRange[2 * x]!; at < listRange[2 * x + 1]!; at++) {
        const i = logins[at]!
        if (inCore[i] === 0 && i !== listAnchor[x]) union(listAnchor[x]!, i, "wordlist", false)
      }
    }
  }

  // 7. Attachment: each weak group joins the one core it is tied to most.
  const bySource = attachToCores(features, uf, inCore, options.sourceWindowMs, (a, b, kind) => union(a, b, kind, false))

  return { families: uf, setPairs, links: log.record(), inCore, bySource }
}

/**
 * Ties of sessions outside the cores to cores: a session without commands whose source has a
 * core session within the window (the nearest one), or a marker credential that core
 * sessions carry too (the core with most carriers). Each weak group — a union-find component
 * outside the cores, or a lone session — joins the core with most ties. Returns the sessions
 * of the groups that joined by same-source ties.
 */
const attachToCores = (
  features: SessionFeatures,
  uf: UnionFind,
  inCore: Uint8Array,
  windowMs: number,
  join: (a: number, b: number, kind: LinkKind) => void
): Uint8Array => {
  const n = features.count
  // Core sessions per source, in start order.
  const coreBySource = new Map<number, Array<number>>()
  for (let i = 0; i < n; i++) {
    if (inCore[i] === 0 || features.ipId[i]! < 0) continue
    const ip = features.ipId[i]!
    const list = coreBySource.get(ip)
    if (list === undefined) coreBySource.set(ip, [i])
    else list.push(i)
  }
  const byStartThenIndex = (a: number, b: number): number => features.startMs[a]! - features.startMs[b]! || a - b
  for (const list of coreBySource.values()) list.sort(byStartThenIndex)
  // The core most carriers of each marker credential belong to.
  const credentialCore = new Map<number, number>()
  {
    const counts = new Map<number, Map<number, number>>()
    for (let i = 0; i < n; i++) {
      if (inCore[i] === 0) continue
      for (let k = features.artefacts.start(i), e = features.artefacts.end(i); k < e; k++) {
        const id = features.artefacts.value(k)
        if (features.artefactTable[id]!.kind !== "credential") continue
        const byCore = counts.get(id) ?? new Map<number, number>()
        const root = uf.find(i)
        byCore.set(root, (byCore.get(root) ?? 0) + 1)
        counts.set(id, byCore)
      }
    }
    for (const [id, byCore] of counts) credentialCore.set(id, bestKey(byCore))
  }

  // Ties of weak groups to cores, one record each (group root, core root, kind: 0 same
  // source, 1 credential): parallel number lists, not a Map of Maps of pairs per group, which
  // were most of the linkage's garbage on a million sessions.
  const tieGroup: Array<number> = []
  const tieCore: Array<number> = []
  const tieKind: Array<number> = []
  const tie = (i: number, core: number, kind: 0 | 1): void => {
    tieGroup.push(uf.find(i))
    tieCore.push(core)
    tieKind.push(kind)
  }
  for (let i = 0; i < n; i++) {
    if (inCore[i] === 1) continue
    const ip = features.ipId[i]!
    const cores = ip < 0 ? undefined : coreBySource.get(ip)
    if (cores !== undefined && features.commandSetOf[i]! < 0) {
      const best = nearestInTime(cores, features.startMs, features.startMs[i]!)
      if (Math.abs(features.startMs[best]! - features.startMs[i]!) <= windowMs) tie(i, uf.find(best), 0)
    }
    for (let k = features.artefacts.start(i), e = features.artefacts.end(i); k < e; k++) {
      const core = credentialCore.get(features.artefacts.value(k))
      if (core !== undefined) tie(i, core, 1)
    }
  }
  // Decide every group against the cores as they were, then join (a join never feeds a later
  // choice): groups in ascending order; for each, the core with most ties (ties: the smaller
  // core), joined by same source when those ties are at least its credential ties.
  const order = new Int32Array(tieGroup.length)
  for (let k = 0; k < order.length; k++) order[k] = k
  order.sort((a, b) => tieGroup[a]! - tieGroup[b]! || tieCore[a]! - tieCore[b]!)
  const decidedGroup: Array<number> = []
  const decidedCore: Array<number> = []
  const decidedBySource: Array<boolean> = []
  for (let at = 0; at < order.length;) {
    const group = tieGroup[order[at]!]!
    let best = -1
    let bestTotal = 0
    let bestSame = 0
    let bestCredential = 0
    while (at < order.length && tieGroup[order[at]!] === group) {
      const core = tieCore[order[at]!]!
      let same = 0
      let credential = 0
      while (at < order.length && tieGroup[order[at]!] === group && tieCore[order[at]!] === core) {
        if (tieKind[order[at]!] === 0) same++
        else credential++
        at++
      }
      // Cores come in ascending order: a later core must have strictly more ties.
      if (same + credential > bestTotal) {
        best = core
        bestTotal = same + credential
        bestSame = same
        bestCredential = credential
      }
    }
    decidedGroup.push(group)
    decidedCore.push(best)
    decidedBySource.push(bestSame >= bestCredential)
  }
  const bySourceRoot = new Uint8Array(n)
  for (let d = 0; d < decidedGroup.length; d++) if (decidedBySource[d]) bySourceRoot[decidedGroup[d]!] = 1
  const bySource = new Uint8Array(n)
  for (let i = 0; i < n; i++) if (inCore[i] === 0 && bySourceRoot[uf.find(i)] === 1) bySource[i] = 1
  for (let d = 0; d < decidedGroup.length; d++) join(decidedCore[d]!, decidedGroup[d]!, decidedBySource[d] ? "same_source" : "credential_marker")
  return bySource
}

/** Session indices in start order (ties by index); the identity when already in order, as usual. */
const startOrder = (startMs: Float64Array): Int32Array => {
  const order = new Int32Array(startMs.length)
  let sorted = true
  for (let i = 0; i < order.length; i++) {
    order[i] = i
    if (i > 0 && startMs[i]! < startMs[i - 1]!) sorted = false
  }
  return sorted ? order : order.sort((a, b) => startMs[a]! - startMs[b]! || a - b)
}

/**
 * The session of `sorted` (ascending start times) that starts nearest to `t`; a tie goes to
 * the earlier one. Binary search: a busy source may have thousands of core sessions.
 */
const nearestInTime = (sorted: ReadonlyArray<number>, startMs: Float64Array, t: number): number => {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (startMs[sorted[mid]!]! < t) lo = mid + 1
    else hi = mid
  }
  if (lo === sorted.length) return sorted[lo - 1]!
  if (lo === 0) return sorted[0]!
  const before = sorted[lo - 1]!
  const after = sorted[lo]!
  return t - startMs[before]! <= startMs[after]! - t ? before : after
}

/** The key with the largest count; ties to the smaller key. */
const bestKey = (counts: Map<number, number>): number => {
  let best = -1
  let bestCount = 0
  for (const [key, count] of counts) {
    if (count > bestCount || (count === bestCount && key < best)) {
      best = key
      bestCount = count
    }
  }
  return best
}

/** For each family root: how many unions of each kind formed it. */
export const linkKindsByFamily = (linkage: Linkage): Map<number, Map<LinkKind, number>> => {
  const out = new Map<number, Map<LinkKind, number>>()
  const { a, kind, count } = linkage.links
  for (let k = 0; k < count; k++) {
    const root = linkage.families.find(a[k]!)
    const byKind = out.get(root) ?? new Map<LinkKind, number>()
    const name = LINK_KINDS[kind[k]!]!
    byKind.set(name, (byKind.get(name) ?? 0) + 1)
    out.set(root, byKind)
  }
  return out
}

/**
 * Linkage: which sessions belong to one family. Union-find over links of explicit strength,
 * no O(n²) step anywhere:
 *
 * 1. Strong artefacts link outright: the same SSH key planted, the same payload sha256, the
 *    same download URL, the same kit marker, the same rare credential pair.
 * 2. Behaviour links join two groups only when they do not carry two different identities
 *    (SSH keys or payload hashes): "same technique ≠ same actor" — several unrelated
 *    operators run near-identical key-planting scripts with their own keys. In order:
 *    sessions with the same specific command set; command sets whose exact token Jaccard is
 *    at least the behaviour threshold, found by MinHash-LSH (strongest pairs first).
 * 3. A rare hassh + client version pair groups sessions that carry nothing else.
 * 4. Weak signals (popular credentials, a shared technique, the same /24, closeness in time)
 *    never link; they are evidence only.
 */
import { lshCandidatePairs, minHashSeeds, minHashSignatures } from "./minHash.ts"
import { IDENTITY_KINDS, jaccard, type SessionFeatures, STRONG_KINDS } from "./sessionFeatures.ts"
import { UnionFind } from "./UnionFind.ts"

export interface LinkageOptions {
  readonly seed: number
  /** Token Jaccard from which two command sets link (family level). */
  readonly behaviourThreshold: number
}

export const DEFAULT_LINKAGE: Omit<LinkageOptions, "seed"> = { behaviourThreshold: 0.55 }

/** A verified behaviour link between two distinct command sets. */
export interface SetPair {
  readonly a: number
  readonly b: number
  readonly jaccard: number
}

export interface Linkage {
  readonly families: UnionFind
  /** Verified LSH pairs (above the threshold), strongest first; reused for variants. */
  readonly setPairs: ReadonlyArray<SetPair>
}

/** Identity artefacts are few per group; past this many we stop collecting (still compatible). */
const MAX_IDENTITIES = 64

export const linkSessions = (features: SessionFeatures, options: LinkageOptions): Linkage => {
  const n = features.count
  const uf = new UnionFind(n)
  const identity: Array<Array<number> | undefined> = new Array(n)
  for (let i = 0; i < n; i++) {
    let own: Array<number> | undefined
    for (let k = features.artefacts.start(i), e = features.artefacts.end(i); k < e; k++) {
      const id = features.artefacts.value(k)
      if (IDENTITY_KINDS.has(features.artefactTable[id]!.kind)) (own ??= []).push(id)
    }
    if (own !== undefined) identity[i] = own
  }

  const mergeIdentity = (into: number, from: number, a: number, b: number): void => {
    const x = identity[a]
    const y = identity[b]
    if (x === undefined && y === undefined) return
    const merged = x === undefined ? y! : y === undefined ? x : [...new Set([...x, ...y])].sort((p, q) => p - q)
    identity[into] = merged.length > MAX_IDENTITIES ? merged.slice(0, MAX_IDENTITIES) : merged
    if (into !== from) identity[from] = undefined
  }

  const union = (a: number, b: number, constrained: boolean): void => {
    const ra = uf.find(a)
    const rb = uf.find(b)
    if (ra === rb) return
    if (constrained) {
      const x = identity[ra]
      const y = identity[rb]
      if (x !== undefined && y !== undefined && x.length < MAX_IDENTITIES && y.length < MAX_IDENTITIES) {
        if (!x.some((id) => y.includes(id))) return
      }
    }
    uf.union(ra, rb)
    const root = uf.find(ra)
    mergeIdentity(root, root === ra ? rb : ra, ra, rb)
  }

  // 1. Strong artefacts: each carrier joins the artefact's first carrier.
  const firstCarrier = new Int32Array(features.artefactTable.length).fill(-1)
  const clientCarriers: Array<number> = []
  for (let i = 0; i < n; i++) {
    for (let k = features.artefacts.start(i), e = features.artefacts.end(i); k < e; k++) {
      const id = features.artefacts.value(k)
      const kind = features.artefactTable[id]!.kind
      if (!STRONG_KINDS.has(kind)) {
        if (kind === "client") clientCarriers.push(i)
        continue
      }
      const first = firstCarrier[id]!
      if (first < 0) firstCarrier[id] = i
      else union(first, i, false)
    }
  }

  // 2a. Sessions with the same specific command set.
  const setFirst = new Int32Array(features.commandSets.length).fill(-1)
  for (let i = 0; i < n; i++) {
    const set = features.commandSetOf[i]!
    if (set < 0 || features.setSpecific[set] !== 1) continue
    const first = setFirst[set]!
    if (first < 0) setFirst[set] = i
    else union(first, i, true)
  }

  // 2b. Similar command sets through MinHash-LSH, verified on exact Jaccard.
  const specificSets: Array<number> = []
  for (let k = 0; k < features.commandSets.length; k++) if (features.setSpecific[k] === 1) specificSets.push(k)
  const signatures = minHashSignatures(specificSets.map((k) => features.commandSets[k]!), minHashSeeds(options.seed))
  const setPairs: Array<SetPair> = []
  for (const [x, y] of lshCandidatePairs(signatures, specificSets.length)) {
    const a = specificSets[x]!
    const b = specificSets[y]!
    const j = jaccard(features.commandSets[a]!, features.commandSets[b]!)
    if (j >= options.behaviourThreshold) setPairs.push({ a: Math.min(a, b), b: Math.max(a, b), jaccard: j })
  }
  setPairs.sort((p, q) => q.jaccard - p.jaccard || p.a - q.a || p.b - q.b)
  for (const pair of setPairs) union(setFirst[pair.a]!, setFirst[pair.b]!, true)

  // 2c. A rare client fingerprint (hassh + version) groups sessions that carry nothing else:
  // it is the weakest link, so it never joins a session that has a stronger artefact or a
  // specific command set (two operators may share an uncommon SSH library).
  for (const i of clientCarriers) {
    const own = features.artefacts.get(i)
    if (own.length > 1 || uf.find(i) !== i || uf.size(i) > 1) continue
    const id = own[0]!
    const first = firstCarrier[id]!
    if (first < 0) firstCarrier[id] = i
    else union(first, i, false)
  }
  return { families: uf, setPairs }
}

/**
 * The campaign hierarchy: family → variant → wave.
 *
 * - A family is a linked component (linkage.ts) of at least `minSessions` sessions.
 * - A variant is the part of a family bound by an exact payload artefact (the same key,
 *   payload hash or download URL), the same command set, or command sets with token
 *   Jaccard ≥ `variantThreshold`; and among the family's sessions that only logged in (no
 *   command, no payload), those sharing the family's check login (a pair off the password
 *   lists tried by nearly all its sources). Variants are emitted only where a family splits.
 * - A wave is a stretch of a variant's (or an undivided family's) activity without a
 *   silence longer than `waveGapMs`. Waves are emitted only where there are several.
 */
import type { CampaignLevel } from "../domain/Campaign.ts"
import { LINK_KINDS, type LinkKind } from "../domain/linkKinds.ts"
import { type Linkage, linkKindsByFamily } from "./linkage.ts"
import { type ArtefactKind, ARTEFACT_KINDS, type SessionFeatures } from "./sessionFeatures.ts"
import { isListedCredential } from "./credentials.ts"
import { PairMap } from "./PairMap.ts"
import { UnionFind } from "./UnionFind.ts"

/**
 * Artefacts that pin a variant: the payload itself (key, file hash, download URL). Names,
 * markers and credentials stay constant across a kit's variants, so they bind families only
 * (the family-wide check login below binds only sessions that did nothing but log in).
 */
const VARIANT_KINDS: ReadonlySet<ArtefactKind> = new Set(["ssh_key", "sha256", "url"])

export interface CampaignDraft {
  readonly level: CampaignLevel
  /** Index of the parent draft in the returned array; null for families. */
  readonly parent: number | null
  /** Session indices, ascending. */
  readonly members: Int32Array
  /**
   * The members its evidence and confidence are measured on: all but those that joined only
   * because their source is already in the campaign (linkage `bySource`: that source's other
   * logins), unless fewer than two would remain. They are members, but they bring no new
   * source and no shared artefact, and would only dilute what the rest show: 587 sessions
   * planting one key from 411 addresses stay conclusive when 9,700 logins of the same
   * addresses join them.
   */
  readonly scored: Int32Array
  /** Id (in features.artefactTable) of the artefact most scored members share; -1 when none. */
  readonly dominant: number
  /** The link kinds that formed the draft's family, most unions first. */
  readonly formedBy: ReadonlyArray<{ readonly kind: LinkKind; readonly links: number }>
  /** A variant bound by the family's check login (its sessions only logged in), or a wave of one. */
  readonly checkLogin: boolean
}

const formedByOf = (counts: Map<LinkKind, number> | undefined): CampaignDraft["formedBy"] =>
  [...(counts ?? new Map<LinkKind, number>())]
    .map(([kind, links]) => ({ kind, links }))
    .sort((a, b) => b.links - a.links || LINK_KINDS.indexOf(a.kind) - LINK_KINDS.indexOf(b.kind))

export interface HierarchyOptions {
  readonly variantThreshold: number
  readonly waveGapMs: number
  readonly minSessions: number
}

export const DEFAULT_HIERARCHY: HierarchyOptions = { variantThreshold: 0.8, waveGapMs: 24 * 60 * 60 * 1000, minSessions: 2 }

const kindRank = (features: SessionFeatures, id: number): number => ARTEFACT_KINDS.indexOf(features.artefactTable[id]!.kind)

/** The artefact carried by most members; ties go to the stronger kind, then the smaller id. */
export const dominantArtefact = (members: ArrayLike<number>, features: SessionFeatures): number => {
  const counts = new Map<number, number>()
  for (let i = 0; i < members.length; i++) {
    for (const id of features.artefacts.get(members[i]!)) counts.set(id, (counts.get(id) ?? 0) + 1)
  }
  let best = -1
  let bestCount = 0
  for (const [id, count] of counts) {
    if (
      count > bestCount ||
      (count === bestCount && (kindRank(features, id) < kindRank(features, best) || (kindRank(features, id) === kindRank(features, best) && id < best)))
    ) {
      best = id
      bestCount = count
    }
  }
  return best
}

/** The members not attached by source, when at least two are; else all of them. */
const withoutAttached = (members: Int32Array, bySource: Uint8Array): Int32Array => {
  let attached = 0
  for (const i of members) attached += bySource[i]!
  if (attached === 0 || members.length - attached < 2) return members
  const kept = new Int32Array(members.length - attached)
  let k = 0
  for (const i of members) if (bySource[i] === 0) kept[k++] = i
  return kept
}

const splitWaves = (members: Int32Array, features: SessionFeatures, gapMs: number): Array<Int32Array> => {
  const byTime = Array.from(members).sort((a, b) => features.startMs[a]! - features.startMs[b]! || a - b)
  const waves: Array<Array<number>> = [[]]
  for (let k = 0; k < byTime.length; k++) {
    if (k > 0 && features.startMs[byTime[k]!]! - features.startMs[byTime[k - 1]!]! > gapMs) waves.push([])
    waves[waves.length - 1]!.push(byTime[k]!)
  }
  return waves.map((w) => Int32Array.from(w).sort())
}

/**
 * A family's check login: tried verbatim by this share of its sources, and by at least
 * FAMILY_CHECK_MIN_SOURCES of them.
 */
const FAMILY_CHECK_SHARE = 0.8
const FAMILY_CHECK_MIN_SOURCES = 10

/**
 * Within one family, the sessions that only logged in, bound by the check login they share: a
 * pair off the public password lists that nearly every source of the family tries
 * (FAMILY_CHECK_SHARE of them, at least FAMILY_CHECK_MIN_SOURCES). That is the
 * post-infection test of bots that also brute-force, often a made-up user name repeated as
 * its password (a rule-made password to the dictionary checks, and among long wordlists no
 * marker on the whole log); no wordlist entry is tried by 80% of a botnet's sources. A
 * marker credential a few of the family's sources share does not split it: one tool tries
 * several, one per session.
 */
const bindCheckLogins = (group: ReadonlyArray<number>, features: SessionFeatures, loginOnly: Uint8Array, variants: UnionFind): void => {
  const familySources = new Set<number>()
  for (const i of group) if (features.ipId[i]! >= 0) familySources.add(features.ipId[i]!)
  // Distinct sources per pair over the family's login-only sessions, when the family has
  // enough sources for a family-wide pair to mean anything.
  const sources = new Map<number, number>()
  if (familySources.size >= FAMILY_CHECK_MIN_SOURCES) {
    const seen = new PairMap()
    for (const i of group) {
      const ip = features.ipId[i]!
      if (loginOnly[i] === 0 || ip < 0) continue
      for (let k = features.credentials.start(i), e = features.credentials.end(i); k < e; k++) {
        const pair = features.credentials.value(k)
        if (seen.setIfAbsent(pair, ip, 1)) sources.set(pair, (sources.get(pair) ?? 0) + 1)
      }
    }
  }
  const familyWide = new Set<number>()
  for (const [pair, count] of sources) {
    if (count < FAMILY_CHECK_MIN_SOURCES || count < FAMILY_CHECK_SHARE * familySources.size) continue
    if (!isListedCredential(features.usernames[features.pairUser[pair]!]!, features.passwords[features.pairPassword[pair]!]!)) familyWide.add(pair)
  }
  if (familyWide.size === 0) return
  const firstByPair = new Map<number, number>()
  for (const i of group) {
    if (loginOnly[i] === 0) continue
    for (let k = features.credentials.start(i), e = features.credentials.end(i); k < e; k++) {
      const pair = features.credentials.value(k)
      if (!familyWide.has(pair)) continue
      const first = firstByPair.get(pair)
      if (first === undefined) firstByPair.set(pair, i)
      else variants.union(first, i)
    }
  }
}

export const buildHierarchy = (features: SessionFeatures, linkage: Linkage, options: HierarchyOptions): Array<CampaignDraft> => {
  const n = features.count
  // Variant linkage over all sessions at once (it never crosses families: every variant link
  // is also a family link, or joins sessions already in one family).
  const variants = new UnionFind(n)
  const firstCarrier = new Int32Array(features.artefactTable.length).fill(-1)
  const setFirst = new Int32Array(features.commandSets.length).fill(-1)
  const sameFamily = (a: number, b: number): boolean => linkage.families.find(a) === linkage.families.find(b)
  const loginOnly = new Uint8Array(n)
  for (let i = 0; i < n; i++) {
    let payload = false
    for (let k = features.artefacts.start(i), e = features.artefacts.end(i); k < e; k++) {
      const id = features.artefacts.value(k)
      if (!VARIANT_KINDS.has(features.artefactTable[id]!.kind)) continue
      payload = true
      const first = firstCarrier[id]!
      if (first < 0) firstCarrier[id] = i
      else if (sameFamily(first, i)) variants.union(first, i)
    }
    if (!payload && features.commandSetOf[i]! < 0 && features.credentials.start(i) !== features.credentials.end(i)) loginOnly[i] = 1
    const set = features.commandSetOf[i]!
    if (set >= 0) {
      const first = setFirst[set]!
      if (first < 0) setFirst[set] = i
      else if (sameFamily(first, i)) variants.union(first, i)
    }
  }
  for (const pair of linkage.setPairs) {
    if (pair.jaccard < options.variantThreshold) break
    const a = setFirst[pair.a]!
    const b = setFirst[pair.b]!
    if (a >= 0 && b >= 0 && sameFamily(a, b)) variants.union(a, b)
  }

  const drafts: Array<CampaignDraft> = []
  const kindsByFamily = linkKindsByFamily(linkage)
  const draft = (level: CampaignLevel, parent: number | null, members: Int32Array, formedBy: CampaignDraft["formedBy"], checkLogin = false): CampaignDraft => {
    const scored = withoutAttached(members, linkage.bySource)
    return { level, parent, members, scored, dominant: dominantArtefact(scored, features), formedBy, checkLogin }
  }
  const addWaves = (members: Int32Array, parent: number, formedBy: CampaignDraft["formedBy"], checkLogin = false): void => {
    const waves = splitWaves(members, features, options.waveGapMs)
    if (waves.length < 2) return
    for (const wave of waves) {
      if (wave.length >= options.minSessions) drafts.push(draft("wave", parent, wave, formedBy, checkLogin))
    }
  }

  for (const group of linkage.families.groups(options.minSessions)) {
    bindCheckLogins(group, features, loginOnly, variants)
    const familyMembers = Int32Array.from(group)
    const familyIndex = drafts.length
    const formedBy = formedByOf(kindsByFamily.get(linkage.families.find(group[0]!)))
    drafts.push(draft("family", null, familyMembers, formedBy))
    const byVariant = new Map<number, Array<number>>()
    for (const i of group) {
      const root = variants.find(i)
      const list = byVariant.get(root)
      if (list === undefined) byVariant.set(root, [i])
      else list.push(i)
    }
    const kept = [...byVariant.values()].filter((v) => v.length >= options.minSessions)
    if (byVariant.size < 2 || kept.length === 0) {
      addWaves(familyMembers, familyIndex, formedBy)
      continue
    }
    kept.sort((a, b) => a[0]! - b[0]!)
    for (const v of kept) {
      const members = Int32Array.from(v)
      const variantIndex = drafts.length
      // Login-only members bound together can only have been bound by a check login.
      const checkLogin = v.every((i) => loginOnly[i] === 1)
      drafts.push(draft("variant", familyIndex, members, formedBy, checkLogin))
      addWaves(members, variantIndex, formedBy, checkLogin)
    }
  }
  return drafts
}

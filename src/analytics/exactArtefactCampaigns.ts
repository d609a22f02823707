/**
 * The first detection: sessions that share an exact artefact (the same SSH key planted, the
 * same payload sha256, the same download URL, the same normalised command sequence) belong
 * together. Union-find over artefact occurrences: linear in the number of artefacts, no
 * pairwise step.
 *
 * Hierarchy: a family is a connected component; a variant is the part of a family running
 * one exact normalised command sequence (or carrying one artefact when there are no
 * commands); a wave is a stretch of a variant's (or an undivided family's) activity without
 * a silence longer than the wave gap.
 */
import type { CampaignLevel } from "../domain/Campaign.ts"
import { ARTEFACT_KINDS, type Artefact, type SessionFeatures } from "./sessionFeatures.ts"
import { UnionFind } from "./UnionFind.ts"

export interface CampaignDraft {
  readonly level: CampaignLevel
  /** Index of the parent draft in the returned array; null for families. */
  readonly parent: number | null
  /** Session indices, ascending. */
  readonly members: Int32Array
  /** The artefact most members share: what the campaign is named after. */
  readonly dominant: Artefact
}

export interface ClusteringOptions {
  /** A silence longer than this starts a new wave. */
  readonly waveGapMs: number
  /** Smallest group reported as a campaign at any level. */
  readonly minSessions: number
}

export const DEFAULT_CLUSTERING: ClusteringOptions = { waveGapMs: 24 * 60 * 60 * 1000, minSessions: 2 }

const artefactKey = (a: Artefact): string => `${a.kind}\u0000${a.value}`

const kindRank = (a: Artefact): number => ARTEFACT_KINDS.indexOf(a.kind)

/** The artefact carried by most members; ties go to the stronger kind, then the smaller value. */
export const dominantArtefact = (members: ArrayLike<number>, features: SessionFeatures): Artefact => {
  const counts = new Map<string, { artefact: Artefact; count: number }>()
  for (let i = 0; i < members.length; i++) {
    for (const a of features.artefacts[members[i]!]!) {
      const key = artefactKey(a)
      const entry = counts.get(key)
      if (entry === undefined) counts.set(key, { artefact: a, count: 1 })
      else entry.count++
    }
  }
  let best: { artefact: Artefact; count: number } | undefined
  for (const entry of counts.values()) {
    if (
      best === undefined || entry.count > best.count ||
      (entry.count === best.count &&
        (kindRank(entry.artefact) < kindRank(best.artefact) ||
          (kindRank(entry.artefact) === kindRank(best.artefact) && entry.artefact.value < best.artefact.value)))
    ) best = entry
  }
  return best!.artefact
}

/** The key that decides a session's variant inside its family. */
const variantKey = (artefacts: ReadonlyArray<Artefact>): string => {
  const sequence = artefacts.find((a) => a.kind === "command_sequence")
  if (sequence !== undefined) return artefactKey(sequence)
  let strongest = artefacts[0]!
  for (const a of artefacts) if (kindRank(a) < kindRank(strongest)) strongest = a
  return artefactKey(strongest)
}

const splitWaves = (members: Int32Array, features: SessionFeatures, gapMs: number): Array<Int32Array> => {
  const byTime = Array.from(members).sort((a, b) => features.startMs[a]! - features.startMs[b]! || a - b)
  const waves: Array<Array<number>> = [[]]
  for (let k = 0; k < byTime.length; k++) {
    if (k > 0 && features.startMs[byTime[k]!]! - features.startMs[byTime[k - 1]!]! > gapMs) waves.push([])
    waves[waves.length - 1]!.push(byTime[k]!)
  }
  return waves.map((w) => Int32Array.from(w.sort((a, b) => a - b)))
}

export const exactArtefactCampaigns = (
  features: SessionFeatures,
  options: ClusteringOptions = DEFAULT_CLUSTERING
): Array<CampaignDraft> => {
  const n = features.artefacts.length
  const uf = new UnionFind(n)
  const firstCarrier = new Map<string, number>()
  for (let i = 0; i < n; i++) {
    for (const a of features.artefacts[i]!) {
      const key = artefactKey(a)
      const first = firstCarrier.get(key)
      if (first === undefined) firstCarrier.set(key, i)
      else uf.union(first, i)
    }
  }

  const drafts: Array<CampaignDraft> = []
  const addWaves = (members: Int32Array, parent: number): void => {
    const waves = splitWaves(members, features, options.waveGapMs)
    if (waves.length < 2) return
    for (const wave of waves) {
      if (wave.length >= options.minSessions) {
        drafts.push({ level: "wave", parent, members: wave, dominant: dominantArtefact(wave, features) })
      }
    }
  }

  for (const group of uf.groups()) {
    if (group.length < options.minSessions || features.artefacts[group[0]!]!.length === 0) continue
    const familyMembers = Int32Array.from(group)
    const familyIndex = drafts.length
    drafts.push({ level: "family", parent: null, members: familyMembers, dominant: dominantArtefact(familyMembers, features) })

    const byVariant = new Map<string, Array<number>>()
    for (const i of group) {
      const key = variantKey(features.artefacts[i]!)
      const list = byVariant.get(key)
      if (list === undefined) byVariant.set(key, [i])
      else list.push(i)
    }
    const variants = [...byVariant.values()].filter((v) => v.length >= options.minSessions)
    if (byVariant.size < 2 || variants.length === 0) {
      addWaves(familyMembers, familyIndex)
      continue
    }
    variants.sort((a, b) => a[0]! - b[0]!)
    for (const v of variants) {
      const members = Int32Array.from(v)
      const variantIndex = drafts.length
      drafts.push({ level: "variant", parent: familyIndex, members, dominant: dominantArtefact(members, features) })
      addWaves(members, variantIndex)
    }
  }
  return drafts
}

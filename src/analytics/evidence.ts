/**
 * Evidence per campaign: each a statistic, a null model and a p-value, computed from the data.
 *
 * The null model is the same for every statistic: "these n sessions are a random draw from
 * everything observed in this input". Permutation draws are seeded, so results are
 * reproducible. P-values are Benjamini–Hochberg adjusted across campaigns per evidence kind.
 *
 * Geographic evidence needs country enrichment, which this build does not have: it is
 * absent, not guessed.
 */
import type { Evidence, EvidenceKind } from "../domain/Campaign.ts"
import type { CampaignDraft } from "./hierarchy.ts"
import { Prng } from "./Prng.ts"
import { jaccard, type SessionFeatures } from "./sessionFeatures.ts"
import {
  benjaminiHochberg,
  hypergeometricUpperTail,
  interquartileRange,
  logFactorials,
  median,
  permutationPValue
} from "./statistics.ts"

export interface EvidenceOptions {
  readonly seed: number
  /** Random draws per permutation test. */
  readonly permutations: number
  /** Bootstrap resamples for the confidence interval. */
  readonly bootstrap: number
}

export const DEFAULT_EVIDENCE: Omit<EvidenceOptions, "seed"> = { permutations: 199, bootstrap: 100 }

export interface CampaignScore {
  readonly evidence: Partial<Record<EvidenceKind, Evidence>>
  readonly confidence: number
  readonly interval: readonly [number, number]
}

/**
 * Provisional combination weights (noisy-OR). They are a stated prior, not fitted: the
 * calibration work (issue #3) replaces them with a model fitted on labelled data.
 */
const WEIGHTS: Partial<Record<EvidenceKind, number>> = {
  payload_similarity: 0.9,
  behavioral_similarity: 0.7,
  temporal_correlation: 0.5,
  infrastructure_clustering: 0.5
}

const MAX_PAIRS = 190

const round = (x: number, digits = 6): number => {
  const f = 10 ** digits
  return Math.round(x * f) / f
}
/** Six significant digits; never exactly 0 (a p-value that underflows is reported as 1e-300). */
const roundP = (p: number): number => Math.min(1, Math.max(1e-300, Number(p.toPrecision(6))))
const clamp01 = (x: number): number => (Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0)
const hours = (ms: number): string => `${(ms / 3_600_000).toFixed(1)} h`

/** Draws a uniform random subset of size n from 0..N-1 (partial Fisher–Yates on `pool`). */
const drawSubset = (pool: Int32Array, n: number, prng: Prng, out: Int32Array): void => {
  const N = pool.length
  for (let i = 0; i < n; i++) {
    const j = i + prng.int(N - i)
    const t = pool[i]!
    pool[i] = pool[j]!
    pool[j] = t
    out[i] = pool[i]!
  }
}

const startsOf = (members: ArrayLike<number>, f: SessionFeatures): Float64Array => {
  const out = new Float64Array(members.length)
  for (let i = 0; i < members.length; i++) out[i] = f.startMs[members[i]!]!
  return out
}

const prefixShare = (members: ArrayLike<number>, f: SessionFeatures): number => {
  const seen = new Set<number>()
  for (let i = 0; i < members.length; i++) seen.add(f.prefixId[members[i]!]!)
  return seen.size / members.length
}

const meanPairJaccard = (members: ArrayLike<number>, f: SessionFeatures, prng: Prng): number => {
  const n = members.length
  if (n < 2) return 0
  let sum = 0
  let count = 0
  if ((n * (n - 1)) / 2 <= MAX_PAIRS) {
    for (let a = 0; a < n; a++) {
      for (let b = a + 1; b < n; b++) {
        sum += sessionJaccard(members[a]!, members[b]!, f)
        count++
      }
    }
  } else {
    for (let k = 0; k < MAX_PAIRS; k++) {
      const a = prng.int(n)
      let b = prng.int(n - 1)
      if (b >= a) b++
      sum += sessionJaccard(members[a]!, members[b]!, f)
      count++
    }
  }
  return sum / count
}

/** Token Jaccard of two sessions' command sets (0 when either has no commands). */
const sessionJaccard = (a: number, b: number, f: SessionFeatures): number => {
  const x = f.commandSetOf[a]!
  const y = f.commandSetOf[b]!
  if (x < 0 || y < 0) return 0
  return x === y ? 1 : jaccard(f.commandSets[x]!, f.commandSets[y]!)
}

const carrierShare = (members: ArrayLike<number>, f: SessionFeatures, target: number): number => {
  if (target < 0) return 0
  let k = 0
  for (let i = 0; i < members.length; i++) if (f.artefacts[members[i]!]!.includes(target)) k++
  return k / members.length
}

/** Statistics are measured on at most this many members (and null sets of the same size). */
const MAX_MEASURED = 1000

/** The members, or a seeded uniform subsample of MAX_MEASURED of them. */
const measured = (members: Int32Array, prng: Prng): Int32Array => {
  if (members.length <= MAX_MEASURED) return members
  const copy = members.slice()
  const out = new Int32Array(MAX_MEASURED)
  drawSubset(copy, MAX_MEASURED, prng, out)
  return out
}

interface RawEvidence {
  readonly kind: EvidenceKind
  readonly score: number
  readonly p: number
  readonly detail: string
}

/** Null references of one campaign, kept for re-scoring bootstrap resamples. */
interface NullReference {
  readonly iqr: number
  readonly prefixShare: number
}

const ARTEFACT_WORDS: Record<string, string> = {
  ssh_key: "SSH key",
  sha256: "payload sha256",
  url: "download URL",
  marker: "kit marker",
  credential: "rare credential pair",
  client: "rare SSH client fingerprint",
  command_sequence: "normalised command sequence"
}
const describeArtefact = (f: SessionFeatures, id: number): string =>
  id < 0 ? "artefact" : ARTEFACT_WORDS[f.artefactTable[id]!.kind] ?? "artefact"

export const scoreCampaigns = (
  drafts: ReadonlyArray<CampaignDraft>,
  features: SessionFeatures,
  options: EvidenceOptions
): Array<CampaignScore> => {
  const N = features.count
  const lf = logFactorials(N)
  const pool = new Int32Array(N)
  for (let i = 0; i < N; i++) pool[i] = i

  const raws: Array<Array<RawEvidence>> = []
  const nulls: Array<NullReference> = []
  drafts.forEach((draft, index) => {
    const prng = new Prng(options.seed, `evidence:${index}`)
    const members = measured(draft.members, prng)
    const n = members.length
    const sample = new Int32Array(n)
    const B = options.permutations

    const obsIqr = interquartileRange(startsOf(members, features))
    const obsPrefix = prefixShare(members, features)
    const obsJaccard = meanPairJaccard(members, features, prng)
    const nullIqr = new Float64Array(B)
    const nullPrefix = new Float64Array(B)
    let iqrExtreme = 0
    let prefixExtreme = 0
    let jaccardExtreme = 0
    let nullJaccardSum = 0
    for (let b = 0; b < B; b++) {
      drawSubset(pool, n, prng, sample)
      nullIqr[b] = interquartileRange(startsOf(sample, features))
      nullPrefix[b] = prefixShare(sample, features)
      const j = meanPairJaccard(sample, features, prng)
      nullJaccardSum += j
      if (nullIqr[b]! <= obsIqr) iqrExtreme++
      if (nullPrefix[b]! <= obsPrefix) prefixExtreme++
      if (j >= obsJaccard) jaccardExtreme++
    }
    const medIqr = median(nullIqr)
    const medPrefix = median(nullPrefix)
    nulls.push({ iqr: medIqr, prefixShare: medPrefix })

    const dominant = draft.dominant
    const K = dominant < 0 ? 0 : features.artefactCarriers[dominant]!
    const k = Math.round(carrierShare(draft.members, features, dominant) * draft.members.length)
    const total = draft.members.length
    const own: Array<RawEvidence> = [
      {
        kind: "temporal_correlation",
        score: medIqr > 0 ? clamp01(1 - obsIqr / medIqr) : 0,
        p: permutationPValue(iqrExtreme, B),
        detail: `interquartile range of session starts ${hours(obsIqr)} vs median ${hours(medIqr)} for ${B} random sets of ${n} sessions from the input`
      },
      {
        kind: "infrastructure_clustering",
        score: medPrefix > 0 ? clamp01(1 - obsPrefix / medPrefix) : 0,
        p: permutationPValue(prefixExtreme, B),
        detail: `${Math.round(obsPrefix * n)} distinct network prefixes (/24, /48) for ${n} sessions vs median ${(medPrefix * n).toFixed(1)} in ${B} random sets of the same size`
      },
      {
        kind: "behavioral_similarity",
        score: clamp01(obsJaccard),
        p: permutationPValue(jaccardExtreme, B),
        detail: `mean Jaccard similarity of normalised command tokens ${obsJaccard.toFixed(3)} within the campaign vs ${(nullJaccardSum / B).toFixed(3)} for ${B} random sets of the same size`
      },
      {
        kind: "payload_similarity",
        score: clamp01(k / total),
        p: k === 0 ? 1 : hypergeometricUpperTail(k, N, K, total, lf),
        detail: `${k} of ${total} sessions share one ${describeArtefact(features, dominant)} carried by ${K} of ${N} sessions in the input (hypergeometric tail; the campaign was formed on this artefact, so this measures its rarity)`
      }
    ]
    raws.push(own)
  })

  // Benjamini–Hochberg across campaigns, per evidence kind.
  const adjusted = raws.map(() => new Map<EvidenceKind, number>())
  const kinds: Array<EvidenceKind> = ["temporal_correlation", "infrastructure_clustering", "behavioral_similarity", "payload_similarity"]
  for (const kind of kinds) {
    const ps: Array<number> = []
    const where: Array<number> = []
    raws.forEach((own, i) => {
      const e = own.find((r) => r.kind === kind)
      if (e !== undefined) {
        ps.push(e.p)
        where.push(i)
      }
    })
    benjaminiHochberg(ps).forEach((q, j) => adjusted[where[j]!]!.set(kind, q))
  }

  return raws.map((own, index) => {
    const evidence: Partial<Record<EvidenceKind, Evidence>> = {}
    for (const r of own) {
      evidence[r.kind] = { score: round(r.score), p_value: roundP(adjusted[index]!.get(r.kind)!), detail: r.detail }
    }
    const confidence = combine(own.map((r) => ({ kind: r.kind, score: r.score, q: adjusted[index]!.get(r.kind)! })))
    const interval = bootstrapInterval(drafts[index]!, features, nulls[index]!, adjusted[index]!, confidence, options, index)
    return { evidence, confidence: round(confidence), interval: [round(interval[0]), round(interval[1])] as const }
  })
}

/** Noisy-OR of the evidence scores, each discounted by its adjusted p-value. */
const combine = (parts: ReadonlyArray<{ kind: EvidenceKind; score: number; q: number }>): number => {
  let none = 1
  for (const part of parts) none *= 1 - (WEIGHTS[part.kind] ?? 0) * part.score * (1 - part.q)
  return clamp01(1 - none)
}

/** Percentile bootstrap over the campaign's sessions (scores re-measured, nulls kept). */
const bootstrapInterval = (
  draft: CampaignDraft,
  features: SessionFeatures,
  reference: NullReference,
  q: ReadonlyMap<EvidenceKind, number>,
  point: number,
  options: EvidenceOptions,
  index: number
): [number, number] => {
  const prng = new Prng(options.seed, `bootstrap:${index}`)
  const n = Math.min(draft.members.length, MAX_MEASURED)
  const resample = new Int32Array(n)
  const values = new Float64Array(options.bootstrap)
  for (let b = 0; b < options.bootstrap; b++) {
    for (let i = 0; i < n; i++) resample[i] = draft.members[prng.int(draft.members.length)]!
    const iqr = interquartileRange(startsOf(resample, features))
    values[b] = combine([
      { kind: "temporal_correlation", score: reference.iqr > 0 ? clamp01(1 - iqr / reference.iqr) : 0, q: q.get("temporal_correlation")! },
      {
        kind: "infrastructure_clustering",
        score: reference.prefixShare > 0 ? clamp01(1 - prefixShare(resample, features) / reference.prefixShare) : 0,
        q: q.get("infrastructure_clustering")!
      },
      { kind: "behavioral_similarity", score: meanPairJaccard(resample, features, prng), q: q.get("behavioral_similarity")! },
      { kind: "payload_similarity", score: carrierShare(resample, features, draft.dominant), q: q.get("payload_similarity")! }
    ])
  }
  values.sort()
  const lo = values.length > 0 ? values[Math.floor(0.025 * (values.length - 1))]! : point
  const hi = values.length > 0 ? values[Math.ceil(0.975 * (values.length - 1))]! : point
  return [Math.min(lo, point), Math.max(hi, point)]
}

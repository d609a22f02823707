/**
 * Evidence per group of sessions: each a statistic, a null model and a p-value, computed
 * from the data.
 *
 * The null model is the same for every statistic: "these n sessions are a uniform random
 * draw from the population" (every session of the input, or a reference population given to
 * `assess`). Permutation draws are seeded, so results are reproducible. Groups larger than
 * MAX_MEASURED are measured on a seeded subsample of that size (and so are their null sets).
 *
 * Geographic evidence needs to know where sources are registered (src/enrichment: country
 * and ASN from offline databases). Without that, or when fewer than two measured sessions
 * have a known country, the key is absent, not guessed.
 */
import type { EvidenceKind } from "../domain/Campaign.ts"
import { Prng } from "./Prng.ts"
import { jaccard, type SessionFeatures } from "./sessionFeatures.ts"
import { hypergeometricUpperTail, logFactorials, median, permutationPValue, quantileInPlace } from "./statistics.ts"

/** Random draws per permutation test. */
export const DEFAULT_PERMUTATIONS = 199

/** Statistics are measured on at most this many members (and null sets of the same size). */
export const MAX_MEASURED = 1000

const MAX_PAIRS = 190

/** Slots of the pair Jaccard cache (a power of two; 2 MB). */
const JACCARD_CACHE_SLOTS = 1 << 17

/** One measured piece of evidence, before multiple-testing adjustment. */
export interface RawEvidence {
  readonly kind: EvidenceKind
  /** 0..1, larger = more coordinated-looking. */
  readonly score: number
  /** Unadjusted p-value under the null model. */
  readonly p: number
  readonly detail: string
}

/** What re-scoring a resample of the group needs: the null medians, kept fixed. */
export interface NullReference {
  readonly iqr: number
  readonly prefixShare: number
}

export interface GroupEvidence {
  readonly raw: ReadonlyArray<RawEvidence>
  readonly reference: NullReference
}

/**
 * Where each session's source is registered: a country and an autonomous system per session
 * (indices into the name lists; -1 when the databases do not know the address).
 */
export interface SessionGeography {
  readonly country: Int32Array
  readonly countries: ReadonlyArray<string>
  readonly asn: Int32Array
  readonly asns: ReadonlyArray<string>
  /** Index into NETWORK_KINDS per session (-1 unclassified); only when a database classifies networks. */
  readonly networkKind?: Int8Array
}

/** The network classes a geography database may give (src/enrichment/Geography.ts NetworkKind). */
export const NETWORK_KINDS = ["hosting", "residential"] as const

/** Null distributions of the permutation statistics for one set size. */
interface NullDistribution {
  readonly iqr: Float64Array
  readonly prefixShare: Float64Array
  readonly jaccard: Float64Array
  /** Distinct countries per session with a known country (NaN when fewer than two are known). */
  readonly countryShare: Float64Array | undefined
  /** Distinct autonomous systems per session with a known one (NaN as for countryShare). */
  readonly asnShare: Float64Array | undefined
  readonly medianIqr: number
  readonly medianPrefixShare: number
  readonly meanJaccard: number
  readonly medianCountryShare: number
  readonly medianAsnShare: number
}

/**
 * The population a group is measured against, prepared once. Null distributions depend only
 * on the set size, so they are drawn once per size (seeded by the size, not by the order in
 * which groups are measured) and shared by every group of that size.
 */
export class EvidenceContext {
  readonly logFactorials: Float64Array
  readonly pool: Int32Array
  private readonly nulls = new Map<number, NullDistribution>()

  private readonly stamp: Int32Array
  private epoch = 0
  private readonly times = new Float64Array(MAX_MEASURED)
  /**
   * Jaccard of pairs of distinct command sets, in a direct-mapped cache (a slot per hash of the
   * pair, the newer pair overwriting): a pure function memoised without allocating, where a
   * Map grown to 100,000 entries and cleared was garbage on every large input.
   */
  private readonly jaccardKeys = new Float64Array(JACCARD_CACHE_SLOTS).fill(-1)
  private readonly jaccardValues = new Float64Array(JACCARD_CACHE_SLOTS)
  private readonly nullPool: Int32Array

  private readonly countryStamp: Int32Array
  private readonly asnStamp: Int32Array

  constructor(
    readonly features: SessionFeatures,
    readonly permutations: number = DEFAULT_PERMUTATIONS,
    readonly seed = 0,
    readonly geography: SessionGeography | undefined = undefined
  ) {
    this.countryStamp = new Int32Array(geography === undefined ? 0 : geography.countries.length)
    this.asnStamp = new Int32Array(geography === undefined ? 0 : geography.asns.length)
    this.logFactorials = logFactorials(features.count)
    this.pool = new Int32Array(features.count)
    for (let i = 0; i < features.count; i++) this.pool[i] = i
    let prefixes = 0
    for (let i = 0; i < features.count; i++) prefixes = Math.max(prefixes, features.prefixId[i]! + 1)
    this.stamp = new Int32Array(prefixes + 1)
    this.nullPool = new Int32Array(features.count)
  }

  /** Interquartile range of the members' start times (linear-time selection, no sort). */
  iqr(members: ArrayLike<number>): number {
    const n = members.length
    const t = n <= this.times.length ? this.times.subarray(0, n) : new Float64Array(n)
    for (let i = 0; i < n; i++) t[i] = this.features.startMs[members[i]!]!
    return quantileInPlace(t, 0.75) - quantileInPlace(t, 0.25)
  }

  /** Distinct network prefixes per member (an epoch-stamped table: no set allocated). */
  prefixShare(members: ArrayLike<number>): number {
    this.epoch++
    let distinct = 0
    for (let i = 0; i < members.length; i++) {
      const p = this.features.prefixId[members[i]!]! + 1
      if (this.stamp[p] !== this.epoch) {
        this.stamp[p] = this.epoch
        distinct++
      }
    }
    return distinct / members.length
  }

  /**
   * Distinct countries per member with a known country; NaN without geography or with fewer
   * than two known (nothing to compare).
   */
  countryShare(members: ArrayLike<number>): number {
    const g = this.geography
    return g === undefined ? NaN : this.labelShare(members, g.country, this.countryStamp)
  }

  /** Distinct autonomous systems per member with a known one; NaN as for countryShare. */
  asnShare(members: ArrayLike<number>): number {
    const g = this.geography
    return g === undefined ? NaN : this.labelShare(members, g.asn, this.asnStamp)
  }

  private labelShare(members: ArrayLike<number>, labelOf: Int32Array, stamp: Int32Array): number {
    this.epoch++
    let distinct = 0
    let known = 0
    for (let i = 0; i < members.length; i++) {
      const c = labelOf[members[i]!]!
      if (c < 0) continue
      known++
      if (stamp[c] !== this.epoch) {
        stamp[c] = this.epoch
        distinct++
      }
    }
    return known < 2 ? NaN : distinct / known
  }

  /** Token Jaccard of two sessions' command sets, memoised per pair of distinct sets. */
  sessionJaccard(a: number, b: number): number {
    const f = this.features
    const x = f.commandSetOf[a]!
    const y = f.commandSetOf[b]!
    if (x < 0 || y < 0) return 0
    if (x === y) return 1
    const key = x < y ? x * 67108864 + y : y * 67108864 + x
    const slot = (Math.imul(x ^ Math.imul(y, 0x9e3779b1), 0x85ebca6b) >>> 0) & (JACCARD_CACHE_SLOTS - 1)
    if (this.jaccardKeys[slot] === key) return this.jaccardValues[slot]!
    const j = jaccard(f.commandSets[x]!, f.commandSets[y]!)
    this.jaccardKeys[slot] = key
    this.jaccardValues[slot] = j
    return j
  }

  /** Mean Jaccard over all pairs (up to 190) or 190 seeded random pairs of distinct members. */
  meanPairJaccard(members: ArrayLike<number>, prng: Prng): number {
    const n = members.length
    if (n < 2) return 0
    let sum = 0
    let count = 0
    if ((n * (n - 1)) / 2 <= MAX_PAIRS) {
      for (let a = 0; a < n; a++) {
        for (let b = a + 1; b < n; b++) {
          sum += this.sessionJaccard(members[a]!, members[b]!)
          count++
        }
      }
    } else {
      for (let k = 0; k < MAX_PAIRS; k++) {
        const a = prng.int(n)
        let b = prng.int(n - 1)
        if (b >= a) b++
        sum += this.sessionJaccard(members[a]!, members[b]!)
        count++
      }
    }
    return sum / count
  }

  nullFor(n: number): NullDistribution {
    const cached = this.nulls.get(n)
    if (cached !== undefined) return cached
    const B = this.permutations
    const prng = new Prng(this.seed, `null:${n}`)
    // Reset the pool to the identity so the draws do not depend on earlier sizes (one shared
    // buffer: a copy per size would be megabytes of garbage on a million sessions).
    const pool = this.nullPool
    for (let i = 0; i < pool.length; i++) pool[i] = i
    const draw = new Int32Array(n)
    const iqr = new Float64Array(B)
    const share = new Float64Array(B)
    const jac = new Float64Array(B)
    // No draw of its own: the same subsets, so the other statistics are unchanged by it.
    const country = this.geography === undefined ? undefined : new Float64Array(B)
    const asn = this.geography === undefined ? undefined : new Float64Array(B)
    let jsum = 0
    for (let b = 0; b < B; b++) {
      drawSubset(pool, n, prng, draw)
      iqr[b] = this.iqr(draw)
      share[b] = this.prefixShare(draw)
      jac[b] = this.meanPairJaccard(draw, prng)
      if (country !== undefined) country[b] = this.countryShare(draw)
      if (asn !== undefined) asn[b] = this.asnShare(draw)
      jsum += jac[b]!
    }
    const knownMedian = (xs: Float64Array | undefined): number => {
      const known = xs?.filter((x) => !Number.isNaN(x))
      return known === undefined || known.length === 0 ? NaN : median(known)
    }
    const result: NullDistribution = {
      iqr,
      prefixShare: share,
      jaccard: jac,
      countryShare: country,
      medianIqr: median(iqr),
      medianPrefixShare: median(share),
      meanJaccard: B > 0 ? jsum / B : 0,
      asnShare: asn,
      medianCountryShare: knownMedian(country),
      medianAsnShare: knownMedian(asn)
    }
    this.nulls.set(n, result)
    return result
  }
}

/**
 * Sizes above 64 are measured at the largest of a geometric ladder of sizes (ratio 1.125, up
 * to MAX_MEASURED) not above them, on a seeded subsample: a few dozen null distributions
 * serve every group size.
 */
export const measuredSize = (n: number): number => {
  if (n <= 64) return n
  let size = 64
  while (Math.round(size * 1.125) <= Math.min(n, MAX_MEASURED)) size = Math.round(size * 1.125)
  return size
}

export const clamp01 = (x: number): number => (Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0)
const hours = (ms: number): string => `${(ms / 3_600_000).toFixed(1)} h`

/** Draws a uniform random subset of size n from the pool (partial Fisher–Yates, in place). */
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

/** The members, or a seeded uniform subsample of `size` of them. */
const measured = (members: Int32Array, size: number, prng: Prng): Int32Array => {
  if (members.length <= size) return members
  const out = new Int32Array(size)
  drawSubset(members.slice(), size, prng, out)
  return out
}

export const carrierShare = (members: ArrayLike<number>, f: SessionFeatures, target: number): number => {
  if (target < 0) return 0
  let k = 0
  for (let i = 0; i < members.length; i++) if (f.artefacts.includes(members[i]!, target)) k++
  return k / members.length
}

const ARTEFACT_WORDS: Record<string, string> = {
  ssh_key: "SSH key",
  sha256: "payload sha256",
  url: "download URL",
  marker: "kit marker",
  file: "dropped file name",
  credential: "rare credential pair",
  client: "rare SSH client fingerprint",
  command_sequence: "normalised command sequence"
}

/**
 * Measures the four population-based kinds of evidence for one group of sessions.
 * `dominant` is the artefact the group shares most (-1 when none); `label` decorrelates the
 * seeded draws of different groups.
 */
export const measureGroup = (members: Int32Array, dominant: number, ctx: EvidenceContext, seed: number, label: string): GroupEvidence => {
  const f = ctx.features
  const N = f.count
  const prng = new Prng(seed, `evidence:${label}`)
  const sample = measured(members, measuredSize(members.length), prng)
  const n = sample.length
  const B = ctx.permutations
  const nul = ctx.nullFor(n)

  const obsIqr = ctx.iqr(sample)
  const obsPrefix = ctx.prefixShare(sample)
  const obsJaccard = ctx.meanPairJaccard(sample, prng)
  let iqrExtreme = 0
  let prefixExtreme = 0
  let jaccardExtreme = 0
  for (let b = 0; b < B; b++) {
    if (nul.iqr[b]! <= obsIqr) iqrExtreme++
    if (nul.prefixShare[b]! <= obsPrefix) prefixExtreme++
    if (nul.jaccard[b]! >= obsJaccard) jaccardExtreme++
  }
  const medIqr = nul.medianIqr
  const medPrefix = nul.medianPrefixShare
  const nullJaccardMean = nul.meanJaccard
  const total = members.length
  const K = dominant < 0 ? 0 : f.artefactCarriers[dominant]!
  const k = Math.round(carrierShare(members, f, dominant) * total)
  const sampled = n < total ? ` (a seeded sample of ${n} of its ${total} sessions)` : ""
  const what = dominant < 0 ? "artefact" : ARTEFACT_WORDS[f.artefactTable[dominant]!.kind] ?? "artefact"
  const raw: Array<RawEvidence> = [
    {
      kind: "temporal_correlation",
      score: medIqr > 0 ? clamp01(1 - obsIqr / medIqr) : 0,
      p: permutationPValue(iqrExtreme, B),
      detail: `interquartile range of session starts ${hours(obsIqr)}${sampled} vs median ${hours(medIqr)} for ${B} random sets of ${n} sessions from the population of ${N}`
    },
    {
      kind: "infrastructure_clustering",
      score: medPrefix > 0 ? clamp01(1 - obsPrefix / medPrefix) : 0,
      p: permutationPValue(prefixExtreme, B),
      detail: `${Math.round(obsPrefix * n)} distinct network prefixes (/24, /48) for ${n} sessions${sampled} vs median ${(medPrefix * n).toFixed(1)} in ${B} random sets of the same size${asnConcentration(sample, ctx, nul)}`
    },
    {
      kind: "behavioral_similarity",
      score: clamp01(obsJaccard),
      p: permutationPValue(jaccardExtreme, B),
      detail: `mean Jaccard similarity of normalised command tokens ${obsJaccard.toFixed(3)}${sampled} vs ${nullJaccardMean.toFixed(3)} for ${B} random sets of the same size`
    },
    {
      kind: "payload_similarity",
      score: clamp01(k / total),
      p: k === 0 ? 1 : hypergeometricUpperTail(k, N, K, total, ctx.logFactorials),
      detail: k === 0
        // A group formed by a shared wordlist or by its sources shares no single artefact;
        // saying so, and where its link is, keeps "nothing shared" from reading as "unlinked".
        ? "no artefact (key, payload, URL, marker, rare credential, command sequence) is shared; a shared wordlist or source is a link, not an artefact (see formed_by)"
        : `${k} of ${total} sessions share one ${what} carried by ${K} of ${N} sessions in the population (hypergeometric tail: how rare the artefact is)`
    }
  ]
  const geographic = geographicEvidence(sample, ctx, nul, sampled)
  if (geographic !== undefined) raw.push(geographic)
  return { raw, reference: { iqr: medIqr, prefixShare: medPrefix } }
}

/** The largest shares of one per-session label among the members (unknown skipped), as "A 45%, B 20%". */
const topShares = (members: ArrayLike<number>, of: Int32Array | Int8Array, names: ReadonlyArray<string>, count: number): { text: string; known: number } => {
  const counts = new Map<number, number>()
  let known = 0
  for (let i = 0; i < members.length; i++) {
    const k = of[members[i]!]!
    if (k < 0) continue
    known++
    counts.set(k, (counts.get(k) ?? 0) + 1)
  }
  const top = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, count)
  return { text: top.map(([k, c]) => `${names[k]} ${Math.round((100 * c) / known)}%`).join(", "), known }
}

/** Permutation p-value of `obs` as small as or smaller than the null draws, draws without an answer (NaN) left out. */
const lowerTailAmongKnown = (draws: Float64Array, obs: number): { p: number; draws: number } => {
  let extreme = 0
  let known = 0
  for (const x of draws) {
    if (Number.isNaN(x)) continue
    known++
    if (x <= obs) extreme++
  }
  return { p: permutationPValue(extreme, known), draws: known }
}

/**
 * The autonomous systems beside the prefixes: fewer distinct ASNs per session than random
 * sets of the same size say the sources sit in few networks even when their /24s differ
 * (a botnet spread over one provider's ranges). Reported with its own permutation p-value;
 * the infrastructure score stays the prefix statistic the confidence model was fitted on.
 */
const asnConcentration = (sample: Int32Array, ctx: EvidenceContext, nul: NullDistribution): string => {
  const obs = ctx.asnShare(sample)
  if (nul.asnShare === undefined || Number.isNaN(obs) || Number.isNaN(nul.medianAsnShare)) return ""
  const { p } = lowerTailAmongKnown(nul.asnShare, obs)
  let known = 0
  for (let i = 0; i < sample.length; i++) if (ctx.geography!.asn[sample[i]!]! >= 0) known++
  const distinct = Math.round(obs * known)
  return `; ${distinct} distinct autonomous ${distinct === 1 ? "system" : "systems"} for ${known} sessions with a known one vs median ${(nul.medianAsnShare * known).toFixed(1)} (permutation p = ${p.toPrecision(2)})`
}

/**
 * Geographic proximity: fewer distinct countries per session than random sets of the same
 * size from the population, among sessions whose source has a known country. The detail
 * names the leading countries and autonomous systems.
 */
const geographicEvidence = (sample: Int32Array, ctx: EvidenceContext, nul: NullDistribution, sampled: string): RawEvidence | undefined => {
  const g = ctx.geography
  const obs = ctx.countryShare(sample)
  if (g === undefined || nul.countryShare === undefined || Number.isNaN(obs) || Number.isNaN(nul.medianCountryShare)) return undefined
  const { p, draws } = lowerTailAmongKnown(nul.countryShare, obs)
  const countries = topShares(sample, g.country, g.countries, 3)
  const asns = topShares(sample, g.asn, g.asns, 2)
  const kinds = g.networkKind === undefined ? undefined : topShares(sample, g.networkKind, NETWORK_KINDS, 2)
  const kindText = kinds === undefined || kinds.known === 0 ? "" : `; networks ${kinds.text} of ${kinds.known} classified`
  const distinct = Math.round(obs * countries.known)
  return {
    kind: "geographic_proximity",
    score: nul.medianCountryShare > 0 ? clamp01(1 - obs / nul.medianCountryShare) : 0,
    p,
    detail:
      `${distinct} distinct ${distinct === 1 ? "country" : "countries"} for ${countries.known} sessions with a known source country${sampled} (${countries.text}` +
      `${asns.known === 0 ? "" : `; autonomous systems ${asns.text}`}${kindText}) vs median ${(nul.medianCountryShare * countries.known).toFixed(1)} in ${draws} random sets of the same size`
  }
}

/** Scores of a resample of the group, against the group's fixed null medians. */
export const resampleScores = (
  resample: Int32Array,
  dominant: number,
  reference: NullReference,
  ctx: EvidenceContext,
  prng: Prng
): Record<"temporal_correlation" | "infrastructure_clustering" | "behavioral_similarity" | "payload_similarity", number> => {
  const iqr = ctx.iqr(resample)
  return {
    temporal_correlation: reference.iqr > 0 ? clamp01(1 - iqr / reference.iqr) : 0,
    infrastructure_clustering: reference.prefixShare > 0 ? clamp01(1 - ctx.prefixShare(resample) / reference.prefixShare) : 0,
    behavioral_similarity: ctx.meanPairJaccard(resample, prng),
    payload_similarity: carrierShare(resample, ctx.features, dominant)
  }
}

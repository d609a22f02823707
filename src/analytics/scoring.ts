/**
 * From measured evidence to what Result v1 reports: Benjamini–Hochberg adjusted p-values
 * (across the groups of one run, per evidence kind), the calibrated confidence from the
 * confidence model, and a percentile-bootstrap interval over the group's sessions.
 */
import type { Evidence, EvidenceKind } from "../domain/Campaign.ts"
import { type ConfidenceModel, CONFIDENCE_MODEL, FEATURE_NAMES, featureVector, type GroupShape, predict } from "./confidenceModel.ts"
import { EvidenceContext, type GroupEvidence, measuredSize, measureGroup, type RawEvidence, resampleScores } from "./evidence.ts"
import { Prng } from "./Prng.ts"
import type { SessionFeatures } from "./sessionFeatures.ts"
import { benjaminiHochberg } from "./statistics.ts"

export interface ScoringOptions {
  readonly seed: number
  readonly permutations: number
  readonly bootstrap: number
  readonly model?: ConfidenceModel | undefined
}

export interface GroupToScore {
  readonly members: Int32Array
  readonly dominant: number
}

export interface GroupScore {
  readonly evidence: Partial<Record<EvidenceKind, Evidence>>
  readonly confidence: number
  readonly interval: readonly [number, number]
  /** The model inputs, kept for calibration and evaluation. */
  readonly features: Float64Array
}

/** Size, distinct sources and the kind of the dominant artefact of a group. */
export const groupShape = (group: GroupToScore, features: SessionFeatures): GroupShape => {
  const ips = new Set<number>()
  for (const i of group.members) ips.add(features.ipId[i]!)
  return {
    size: group.members.length,
    distinctIps: ips.size,
    dominantKind: group.dominant < 0 ? null : features.artefactTable[group.dominant]!.kind
  }
}

const round = (x: number, digits = 6): number => {
  const f = 10 ** digits
  return Math.round(x * f) / f
}
/** Six significant digits; never exactly 0 (a p-value that underflows is reported as 1e-300). */
const roundP = (p: number): number => Math.min(1, Math.max(1e-300, Number(p.toPrecision(6))))

const EVIDENCE_ORDER: ReadonlyArray<EvidenceKind> = ["temporal_correlation", "behavioral_similarity", "infrastructure_clustering", "geographic_proximity", "payload_similarity"]

const KINDS: ReadonlyArray<EvidenceKind> = ["temporal_correlation", "infrastructure_clustering", "behavioral_similarity", "payload_similarity"]

export const scoreGroups = (groups: ReadonlyArray<GroupToScore>, features: SessionFeatures, options: ScoringOptions): Array<GroupScore> => {
  const model = options.model ?? CONFIDENCE_MODEL
  const ctx = new EvidenceContext(features, options.permutations, options.seed)
  const measuredGroups: Array<GroupEvidence> = groups.map((g, index) => measureGroup(g.members, g.dominant, ctx, options.seed, String(index)))

  const adjusted = groups.map(() => new Map<EvidenceKind, number>())
  for (const kind of KINDS) {
    const ps = measuredGroups.map((m) => m.raw.find((r) => r.kind === kind)!.p)
    benjaminiHochberg(ps).forEach((q, i) => adjusted[i]!.set(kind, q))
  }

  return groups.map((group, index) => {
    const raw = measuredGroups[index]!.raw
    const evidence: Partial<Record<EvidenceKind, Evidence>> = {}
    // Keys in the order Result v1 declares them, so the document is the same bytes whether
    // it is serialised here or decoded and re-encoded on the other side of a transport.
    for (const kind of EVIDENCE_ORDER) {
      const r = raw.find((x) => x.kind === kind)
      if (r === undefined) continue
      const q = adjusted[index]!.get(r.kind)!
      evidence[r.kind] = {
        score: round(r.score),
        p_value: roundP(q),
        detail: groups.length > 1 ? `${r.detail}; p-value Benjamini–Hochberg adjusted over ${groups.length} campaigns` : r.detail
      }
    }
    const shape = groupShape(group, features)
    const x = featureVector(raw, shape, options.permutations)
    const confidence = predict(model, x)
    const interval = bootstrapInterval(group, shape, raw, ctx, model, confidence, options, index)
    return { evidence, confidence: round(confidence), interval: [round(interval[0]), round(interval[1])] as const, features: x }
  })
}

/**
 * Percentile interval from half-samples of the group's sessions: re-measure the scores on
 * each, keep p-values fixed, pass them through the model.
 */
const bootstrapInterval = (
  group: GroupToScore,
  shape: GroupShape,
  raw: ReadonlyArray<RawEvidence>,
  ctx: EvidenceContext,
  model: ConfidenceModel,
  point: number,
  options: ScoringOptions,
  index: number
): [number, number] => {
  if (options.bootstrap <= 0) return [point, point]
  const prng = new Prng(options.seed, `bootstrap:${index}`)
  const size = group.members.length
  // Half-sampling without replacement: a resample with replacement repeats sessions, and a
  // repeated session looks like two sessions sharing a /24 and identical commands, which
  // biases the interval towards "coordinated". Half-size subsets have no duplicates; their
  // scores are compared with null medians of the same size.
  const n = measuredSize(Math.max(2, Math.ceil(size / 2)))
  const reference = ctx.nullFor(n)
  const halfReference = { iqr: reference.medianIqr, prefixShare: reference.medianPrefixShare }
  const pool = group.members.slice()
  const resample = new Int32Array(n)
  const values = new Float64Array(options.bootstrap)
  const x = featureVector(raw, shape, options.permutations)
  const column: Partial<Record<RawEvidence["kind"], number>> = {
    payload_similarity: FEATURE_NAMES.indexOf("payload_score"),
    behavioral_similarity: FEATURE_NAMES.indexOf("behavioral_score"),
    temporal_correlation: FEATURE_NAMES.indexOf("temporal_score"),
    infrastructure_clustering: FEATURE_NAMES.indexOf("infrastructure_score")
  }
  for (let b = 0; b < options.bootstrap; b++) {
    for (let i = 0; i < n; i++) {
      const j = i + prng.int(size - i)
      const t = pool[i]!
      pool[i] = pool[j]!
      pool[j] = t
      resample[i] = pool[i]!
    }
    const scores = resampleScores(resample, group.dominant, halfReference, ctx, prng)
    // Only the four scores change between resamples: overwrite them in one reused vector.
    for (const [kind, value] of Object.entries(scores)) x[column[kind as RawEvidence["kind"]]!] = value
    values[b] = predict(model, x)
  }
  values.sort()
  const lo = values[Math.floor(0.025 * (values.length - 1))]!
  const hi = values[Math.ceil(0.975 * (values.length - 1))]!
  return [Math.min(lo, point), Math.max(hi, point)]
}

/**
 * From measured evidence to what Result v1 reports: Benjamini–Hochberg adjusted p-values
 * (across the groups of one run, per evidence kind), the calibrated confidence from the
 * confidence model, and a percentile interval that combines half-samples of the group's
 * sessions with the uncertainty of the model's fitted weights.
 */
import type { Evidence, EvidenceKind } from "../domain/Campaign.ts"
import type { LinkKind } from "../domain/linkKinds.ts"
import { type ConfidenceModel, CONFIDENCE_MODEL, FEATURE_NAMES, featureVector, type GroupShape, predict } from "./confidenceModel.ts"
import { EvidenceContext, type GroupEvidence, MAX_MEASURED, measuredSize, measureGroup, type RawEvidence, resampleScores, type SessionGeography } from "./evidence.ts"
import { collectYoungGarbage } from "./memory.ts"
import { Prng } from "./Prng.ts"
import type { SessionFeatures } from "./sessionFeatures.ts"
import { benjaminiHochberg, hypergeometricUpperTail, logFactorials } from "./statistics.ts"

export interface ScoringOptions {
  readonly seed: number
  readonly permutations: number
  readonly bootstrap: number
  readonly model?: ConfidenceModel | undefined
  /** Where sessions' sources are registered (src/enrichment); without it, no geographic evidence. */
  readonly geography?: SessionGeography | undefined
}

export interface GroupToScore {
  readonly members: Int32Array
  /** The members the evidence is measured on (a campaign's core); absent → all of them. */
  readonly scored?: Int32Array | undefined
  /** The artefact most of the measured members share; -1 when none. */
  readonly dominant: number
  /** The link kinds that formed the group (a campaign draft); absent for a given set. */
  readonly formedBy?: ReadonlyArray<{ readonly kind: LinkKind; readonly links: number }> | undefined
}

export interface GroupScore {
  readonly evidence: Partial<Record<EvidenceKind, Evidence>>
  readonly confidence: number
  readonly interval: readonly [number, number]
  /** The model inputs, kept for calibration and evaluation. */
  readonly features: Float64Array
}

/** Per input: how many sessions tried each credential pair, and log-factorials up to its size. */
interface CredentialPopulation {
  readonly carriers: Int32Array
  readonly logFactorials: Float64Array
}
const credentialPopulations = new WeakMap<SessionFeatures, CredentialPopulation>()

const credentialPopulation = (features: SessionFeatures): CredentialPopulation => {
  let population = credentialPopulations.get(features)
  if (population === undefined) {
    let pairs = 0
    const lists = features.credentials
    for (let i = 0; i < features.count; i++) for (let k = lists.start(i), e = lists.end(i); k < e; k++) pairs = Math.max(pairs, lists.value(k) + 1)
    const carriers = new Int32Array(pairs)
    // Each pair appears at most once in a session's list.
    for (let i = 0; i < features.count; i++) for (let k = lists.start(i), e = lists.end(i); k < e; k++) carriers[lists.value(k)]!++
    population = { carriers, logFactorials: logFactorials(features.count) }
    credentialPopulations.set(features, population)
  }
  return population
}

/**
 * The credential pair most members tried, as a share of the group, and how surprising that
 * is (hypergeometric upper tail against the pair's carriers in the population): a popular
 * pair is tried by many random sets too, a botnet's own check login is not. Null when no
 * member tried a credential twice over.
 */
const sharedCredential = (members: Int32Array, features: SessionFeatures): { share: number; p: number } | null => {
  const counts = new Map<number, number>()
  const lists = features.credentials
  let best = -1
  let bestCount = 0
  for (const i of members) {
    for (let k = lists.start(i), e = lists.end(i); k < e; k++) {
      const pair = lists.value(k)
      const c = (counts.get(pair) ?? 0) + 1
      counts.set(pair, c)
      if (c > bestCount || (c === bestCount && pair < best)) {
        best = pair
        bestCount = c
      }
    }
  }
  if (bestCount < 2) return null
  const population = credentialPopulation(features)
  const p = hypergeometricUpperTail(bestCount, features.count, population.carriers[best]!, members.length, population.logFactorials)
  return { share: bestCount / members.length, p }
}

/** `count` members at even spacing (deterministic, no draw). */
const evenlySpaced = (members: Int32Array, count: number): Int32Array => {
  const out = new Int32Array(count)
  for (let k = 0; k < count; k++) out[k] = members[Math.floor((k * members.length) / count)]!
  return out
}

/** An item counts as over-represented in a group when this share of members carry it… */
const OVER_REPRESENTED_SHARE = 0.05
/** …and random sets of the group's size carry it that often with at most this probability. */
const OVER_REPRESENTED_P = 1e-4

/**
 * Share of members carrying at least one item — artefact or credential pair — that is
 * over-represented in the group against the population: what the group's members have in
 * common beyond chance, even when it is not one item (a botnet logging in with one of two
 * check credentials, part of it planting a key).
 */
const coveredShare = (members: Int32Array, features: SessionFeatures): number => {
  const n = members.length
  if (n < 2) return 0
  const population = credentialPopulation(features)
  const artefactCounts = new Map<number, number>()
  const pairCounts = new Map<number, number>()
  for (const i of members) {
    for (let k = features.artefacts.start(i), e = features.artefacts.end(i); k < e; k++) {
      const a = features.artefacts.value(k)
      artefactCounts.set(a, (artefactCounts.get(a) ?? 0) + 1)
    }
    for (let k = features.credentials.start(i), e = features.credentials.end(i); k < e; k++) {
      const pair = features.credentials.value(k)
      pairCounts.set(pair, (pairCounts.get(pair) ?? 0) + 1)
    }
  }
  const minimum = Math.max(2, Math.ceil(OVER_REPRESENTED_SHARE * n))
  const over = (count: number, carriers: number): boolean =>
    count >= minimum && hypergeometricUpperTail(count, features.count, carriers, n, population.logFactorials) <= OVER_REPRESENTED_P
  const artefacts = new Set<number>()
  for (const [a, c] of artefactCounts) if (over(c, features.artefactCarriers[a]!)) artefacts.add(a)
  const pairs = new Set<number>()
  for (const [pair, c] of pairCounts) if (over(c, population.carriers[pair]!)) pairs.add(pair)
  if (artefacts.size === 0 && pairs.size === 0) return 0
  let covered = 0
  for (const i of members) {
    let hit = false
    for (let k = features.artefacts.start(i), e = features.artefacts.end(i); k < e && !hit; k++) hit = artefacts.has(features.artefacts.value(k))
    for (let k = features.credentials.start(i), e = features.credentials.end(i); k < e && !hit; k++) hit = pairs.has(features.credentials.value(k))
    if (hit) covered++
  }
  return covered / n
}

/** Size, sources and networks, the dominant artefact's kind, the shared credential and the links of a group. */
export const groupShape = (group: GroupToScore, features: SessionFeatures): GroupShape => {
  const ips = new Set<number>()
  const networks = new Set<number>()
  let active = 0
  let activeCarriers = 0
  for (const i of group.members) {
    const ip = features.ipId[i]!
    if (ip >= 0) ips.add(ip)
    const prefix = features.prefixId[i]!
    if (prefix >= 0) networks.add(prefix)
    if (features.commandSetOf[i]! >= 0 || features.artefacts.end(i) > features.artefacts.start(i)) {
      active++
      if (group.dominant >= 0 && features.artefacts.includes(i, group.dominant)) activeCarriers++
    }
  }
  // The credential statistics of a large group are measured on evenly spaced members (the
  // members are in time order), at most MAX_MEASURED of them, like the evidence.
  const measuredMembers = group.members.length <= MAX_MEASURED ? group.members : evenlySpaced(group.members, MAX_MEASURED)
  return {
    size: group.members.length,
    distinctIps: ips.size,
    distinctNetworks: networks.size,
    activeShare: active / Math.max(1, group.members.length),
    activeCarrierShare: active === 0 ? 0 : activeCarriers / active,
    dominantKind: group.dominant < 0 ? null : features.artefactTable[group.dominant]!.kind,
    sharedCredential: sharedCredential(measuredMembers, features),
    coveredShare: coveredShare(measuredMembers, features),
    formedBy: group.formedBy ?? null
  }
}

const round = (x: number, digits = 6): number => {
  const f = 10 ** digits
  return Math.round(x * f) / f
}
/** Six significant digits; never exactly 0 (a p-value that underflows is reported as 1e-300). */
const roundP = (p: number): number => Math.min(1, Math.max(1e-300, Number(p.toPrecision(6))))

const EVIDENCE_ORDER: ReadonlyArray<EvidenceKind> = ["temporal_correlation", "behavioral_similarity", "infrastructure_clustering", "geographic_proximity", "payload_similarity"]

const KINDS: ReadonlyArray<EvidenceKind> = ["temporal_correlation", "infrastructure_clustering", "behavioral_similarity", "payload_similarity", "geographic_proximity"]

export const scoreGroups = (groups: ReadonlyArray<GroupToScore>, features: SessionFeatures, options: ScoringOptions): Array<GroupScore> => {
  const model = options.model ?? CONFIDENCE_MODEL
  const ctx = new EvidenceContext(features, options.permutations, options.seed, options.geography)
  // What is measured: a campaign's `scored` members (hierarchy.ts), a given set whole.
  const measured = groups.map((g): GroupToScore => (g.scored === undefined || g.scored === g.members ? g : { ...g, members: g.scored }))
  const measuredGroups: Array<GroupEvidence> = measured.map((g, index) => {
    collectYoungGarbage(index, features.count)
    return measureGroup(g.members, g.dominant, ctx, options.seed, String(index))
  })

  const adjusted = groups.map(() => new Map<EvidenceKind, number>())
  // Per kind, over the groups that have it (geographic evidence needs known countries).
  for (const kind of KINDS) {
    const having = measuredGroups.flatMap((m, i) => {
      const r = m.raw.find((x) => x.kind === kind)
      return r === undefined ? [] : [[i, r.p] as const]
    })
    benjaminiHochberg(having.map(([, p]) => p)).forEach((q, k) => adjusted[having[k]![0]]!.set(kind, q))
  }

  const testedCount = new Map<EvidenceKind, number>(KINDS.map((kind) => [kind, adjusted.filter((a) => a.has(kind)).length]))
  const tested = (kind: EvidenceKind): number => testedCount.get(kind) ?? 0
  return measured.map((group, index) => {
    const raw = measuredGroups[index]!.raw
    const attached = groups[index]!.members.length - group.members.length
    const core = attached === 0 ? "" : `on ${group.members.length} of its ${groups[index]!.members.length} sessions (the other ${attached} joined only as further logins of sources already in it and are not measured): `
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
        detail: `${core}${r.detail}${tested(r.kind) > 1 ? `; p-value Benjamini–Hochberg adjusted over ${tested(r.kind)} campaigns` : ""}`
      }
    }
    const shape = groupShape(group, features)
    const x = featureVector(raw, shape, options.permutations)
    const confidence = predict(model, x)
    collectYoungGarbage(index, features.count)
    const interval = bootstrapInterval(group, shape, raw, ctx, model, confidence, options, index)
    // The interval is rounded outwards (six digits), so that it still contains the rounded
    // estimate and a narrow interval near 0 or 1 does not round to a point.
    // (Without draws the interval is the estimate itself, rounded like it.)
    const bounds = interval[0] === interval[1]
      ? [round(interval[0]), round(interval[1])] as const
      : [Math.floor(interval[0] * 1e6) / 1e6, Math.ceil(interval[1] * 1e6) / 1e6] as const
    return { evidence, confidence: round(confidence), interval: bounds, features: x }
  })
}

/** A standard normal draw (Box–Muller) from the seeded generator. */
const gaussian = (prng: Prng): number => Math.sqrt(-2 * Math.log(1 - prng.next())) * Math.cos(2 * Math.PI * prng.next())

/**
 * Percentile interval (2.5%, 97.5%) over `bootstrap` draws, each combining two sources of
 * uncertainty:
 * - the group's evidence: a half-sample of its sessions (without replacement) re-measures the
 *   four scores (p-values and the group's shape kept);
 * - the model: its parameters are drawn from the normal approximation of their fit
 *   (mean = the fitted weights, covariance = the inverse penalised Hessian, committed as a
 *   Cholesky factor with the model).
 * The second keeps the interval honest for small groups, where half-samples have little or no
 * room to vary (a group of two sessions has one half-sample: itself).
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
  const L = model.covarianceCholesky
  const d = model.weights.length + 1
  const parameters = new Float64Array(d)
  const z = new Float64Array(d)
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
    x[column.payload_similarity!] = scores.payload_similarity
    x[column.behavioral_similarity!] = scores.behavioral_similarity
    x[column.temporal_correlation!] = scores.temporal_correlation
    x[column.infrastructure_clustering!] = scores.infrastructure_clustering
    if (L === undefined || L.length !== d) {
      values[b] = predict(model, x)
      continue
    }
    for (let i = 0; i < d; i++) z[i] = gaussian(prng)
    for (let i = 0; i < d; i++) {
      const row = L[i]!
      let v = i === 0 ? model.bias : model.weights[i - 1]!
      for (let k = 0; k <= i; k++) v += row[k]! * z[k]!
      parameters[i] = v
    }
    values[b] = predict(model, x, parameters)
  }
  values.sort()
  const lo = values[Math.floor(0.025 * (values.length - 1))]!
  const hi = values[Math.ceil(0.975 * (values.length - 1))]!
  return [Math.min(lo, point), Math.max(hi, point)]
}

/**
 * The confidence model: a logistic regression from a group's evidence to the probability
 * that the group is coordinated. Its weights are fitted on labelled data (synthetic ground
 * truth and real corpora labelled by published signatures) by `npm run calibrate`
 * (eval/calibrate.ts, fitter in eval/logistic.ts) and committed in model/confidence-v2.json
 * with a description of the data they were fitted on, the held-out calibration error, and
 * the Cholesky factor of the weights' covariance (used for the confidence interval).
 */
import modelFile from "./model/confidence-v2.json" with { type: "json" }
import type { LinkKind } from "../domain/linkKinds.ts"
import type { RawEvidence } from "./evidence.ts"
import type { ArtefactKind } from "./sessionFeatures.ts"

/** Names of the model's inputs, in order. */
export const FEATURE_NAMES = [
  "payload_score",
  "payload_significance",
  "behavioral_score",
  "behavioral_significance",
  "temporal_score",
  "temporal_significance",
  "infrastructure_score",
  "infrastructure_significance",
  "credential_score",
  "credential_significance",
  "active_share",
  "active_payload_score",
  "covered_share",
  "log_size",
  "log_sources",
  "log_networks",
  "dominant_payload",
  "dominant_kit_name",
  "dominant_credential",
  "dominant_command_sequence",
  "dominant_client",
  "formed_by_artefact",
  "formed_by_behaviour",
  "formed_by_kit_name",
  "formed_by_credential_marker",
  "formed_by_wordlist",
  "formed_by_same_source",
  "not_formed_by_linkage"
] as const

/** The link kinds behind each `formed_by_*` input. */
export const FORMED_BY_GROUPS: ReadonlyArray<readonly [(typeof FEATURE_NAMES)[number], ReadonlyArray<LinkKind>]> = [
  ["formed_by_artefact", ["ssh_key", "payload", "download_url"]],
  ["formed_by_behaviour", ["command_sequence", "similar_commands"]],
  ["formed_by_kit_name", ["kit_marker", "dropped_file"]],
  ["formed_by_credential_marker", ["credential_marker"]],
  ["formed_by_wordlist", ["wordlist"]],
  ["formed_by_same_source", ["same_source"]]
]

/** The shape of a group: how big, from how many sources, what it mostly shares, what linked it. */
export interface GroupShape {
  readonly size: number
  readonly distinctIps: number
  /** Distinct /24 (IPv6 /48) networks: sources in one network are not independent. */
  readonly distinctNetworks: number
  /** Share of members that ran commands or carry an artefact (the rest only logged in or connected). */
  readonly activeShare: number
  /** Share of those active members carrying the dominant artefact. */
  readonly activeCarrierShare: number
  readonly dominantKind: ArtefactKind | null
  /**
   * The credential pair most members tried: its share of the group and the hypergeometric
   * tail of that count against the pair's carriers in the population; null when none is shared.
   */
  readonly sharedCredential: { readonly share: number; readonly p: number } | null
  /**
   * Share of members carrying at least one item (artefact or credential pair) over-represented
   * in the group against the population (≥ 5% of members, hypergeometric tail ≤ 1e-4).
   */
  readonly coveredShare: number
  /** The link kinds that formed the group (engine campaigns); null for a given set (`assess`). */
  readonly formedBy: ReadonlyArray<{ readonly kind: LinkKind; readonly links: number }> | null
}

export interface ConfidenceModel {
  readonly version: string
  readonly features: ReadonlyArray<string>
  readonly weights: ReadonlyArray<number>
  readonly bias: number
  /**
   * Lower-triangular Cholesky factor (row-major, rows of length 1..d+1) of the covariance of
   * (bias, weights…) at the fit: the inverse of the penalised Hessian. Absent → no parameter
   * uncertainty in the interval.
   */
  readonly covarianceCholesky?: ReadonlyArray<ReadonlyArray<number>>
}

/** −log10 p scaled to 0..1: 1 at p = 10^-scale or below. */
const significance = (p: number, scale: number): number => Math.min(1, -Math.log10(Math.max(p, 1e-300)) / scale)

const logScaled = (count: number): number => Math.min(1, Math.log10(Math.max(1, count)) / 4)

/**
 * The model's inputs for one group. Significances use unadjusted p-values so that a group's
 * confidence does not depend on how many other groups the run happened to test.
 */
export const featureVector = (raw: ReadonlyArray<RawEvidence>, shape: GroupShape, permutations: number): Float64Array => {
  const get = (kind: RawEvidence["kind"]): RawEvidence => raw.find((r) => r.kind === kind)!
  const permScale = Math.log10(permutations + 1)
  const payload = get("payload_similarity")
  const behaviour = get("behavioral_similarity")
  const temporal = get("temporal_correlation")
  const infra = get("infrastructure_clustering")
  const kind = shape.dominantKind
  const formed = new Map<LinkKind, number>()
  let links = 0
  for (const f of shape.formedBy ?? []) {
    formed.set(f.kind, (formed.get(f.kind) ?? 0) + f.links)
    links += f.links
  }
  const shareOf = (kinds: ReadonlyArray<LinkKind>): number => {
    if (links === 0) return 0
    let s = 0
    for (const k of kinds) s += formed.get(k) ?? 0
    return s / links
  }
  return Float64Array.from([
    payload.score,
    significance(payload.p, 20),
    behaviour.score,
    significance(behaviour.p, permScale),
    temporal.score,
    significance(temporal.p, permScale),
    infra.score,
    significance(infra.p, permScale),
    shape.sharedCredential?.share ?? 0,
    shape.sharedCredential === null ? 0 : significance(shape.sharedCredential.p, 20),
    shape.activeShare,
    shape.activeCarrierShare,
    shape.coveredShare,
    logScaled(shape.size),
    logScaled(shape.distinctIps),
    logScaled(shape.distinctNetworks),
    kind === "ssh_key" || kind === "sha256" || kind === "url" ? 1 : 0,
    kind === "marker" || kind === "file" ? 1 : 0,
    kind === "credential" ? 1 : 0,
    kind === "command_sequence" ? 1 : 0,
    kind === "client" ? 1 : 0,
    ...FORMED_BY_GROUPS.map(([, kinds]) => shareOf(kinds)),
    links === 0 ? 1 : 0
  ])
}

export const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)))

/** The model's log-odds for inputs x, with optional perturbed parameters (bias, weights…). */
export const logit = (model: ConfidenceModel, x: Float64Array, parameters?: Float64Array): number => {
  let z = parameters === undefined ? model.bias : parameters[0]!
  for (let i = 0; i < x.length; i++) z += (parameters === undefined ? model.weights[i]! : parameters[i + 1]!) * x[i]!
  return z
}

export const predict = (model: ConfidenceModel, x: Float64Array, parameters?: Float64Array): number => sigmoid(logit(model, x, parameters))

/** The committed model. */
export const CONFIDENCE_MODEL: ConfidenceModel = modelFile as ConfidenceModel

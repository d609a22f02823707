/**
 * The confidence model: a logistic regression from a group's evidence to the probability
 * that the group is coordinated. Its weights are fitted on labelled data by
 * `npm run calibrate` (eval/calibrate.ts) and committed in model/confidence-v1.json together
 * with a description of the data they were fitted on and the held-out calibration error.
 */
import modelFile from "./model/confidence-v1.json" with { type: "json" }
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
  "log_size",
  "log_sources",
  "linked_by_payload",
  "linked_by_kit_name",
  "linked_by_credential",
  "linked_by_behaviour",
  "linked_by_client"
] as const

/** The shape of a group: how big, from how many sources, what it mostly shares. */
export interface GroupShape {
  readonly size: number
  readonly distinctIps: number
  readonly dominantKind: ArtefactKind | null
}

export interface ConfidenceModel {
  readonly version: string
  readonly features: ReadonlyArray<string>
  readonly weights: ReadonlyArray<number>
  readonly bias: number
}

/** −log10 p scaled to 0..1: 1 at p = 10^-scale or below. */
const significance = (p: number, scale: number): number => Math.min(1, -Math.log10(Math.max(p, 1e-300)) / scale)

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
  return Float64Array.from([
    payload.score,
    significance(payload.p, 20),
    behaviour.score,
    significance(behaviour.p, permScale),
    temporal.score,
    significance(temporal.p, permScale),
    infra.score,
    significance(infra.p, permScale),
    Math.min(1, Math.log10(Math.max(1, shape.size)) / 4),
    Math.min(1, Math.log10(Math.max(1, shape.distinctIps)) / 4),
    shape.dominantKind === "ssh_key" || shape.dominantKind === "sha256" || shape.dominantKind === "url" ? 1 : 0,
    shape.dominantKind === "marker" || shape.dominantKind === "file" ? 1 : 0,
    shape.dominantKind === "credential" ? 1 : 0,
    shape.dominantKind === "command_sequence" ? 1 : 0,
    shape.dominantKind === "client" ? 1 : 0
  ])
}

export const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)))

export const predict = (model: ConfidenceModel, x: Float64Array): number => {
  let z = model.bias
  for (let i = 0; i < x.length; i++) z += model.weights[i]! * x[i]!
  return sigmoid(z)
}

/** The committed model. */
export const CONFIDENCE_MODEL: ConfidenceModel = modelFile as ConfidenceModel

/**
 * Fits a logistic regression by Newton's method (iteratively reweighted least squares) with
 * an L2 penalty on the weights (not the bias). Deterministic: no random initialisation.
 */
export const fitLogistic = (X: ReadonlyArray<Float64Array>, y: ReadonlyArray<number>, l2 = 1e-2, iterations = 50): { weights: Array<number>; bias: number } => {
  const d = X[0]!.length + 1
  const beta = new Float64Array(d)
  for (let iter = 0; iter < iterations; iter++) {
    const grad = new Float64Array(d)
    const hess = Array.from({ length: d }, () => new Float64Array(d))
    for (let r = 0; r < X.length; r++) {
      const x = X[r]!
      let z = beta[0]!
      for (let i = 1; i < d; i++) z += beta[i]! * x[i - 1]!
      const p = sigmoid(z)
      const w = Math.max(p * (1 - p), 1e-9)
      const e = y[r]! - p
      for (let i = 0; i < d; i++) {
        const xi = i === 0 ? 1 : x[i - 1]!
        grad[i] = grad[i]! + e * xi
        for (let j = 0; j < d; j++) hess[i]![j] = hess[i]![j]! + w * xi * (j === 0 ? 1 : x[j - 1]!)
      }
    }
    for (let i = 1; i < d; i++) {
      grad[i] = grad[i]! - l2 * beta[i]!
      hess[i]![i] = hess[i]![i]! + l2
    }
    const step = solve(hess, grad)
    let change = 0
    for (let i = 0; i < d; i++) {
      beta[i] = beta[i]! + step[i]!
      change = Math.max(change, Math.abs(step[i]!))
    }
    if (change < 1e-8) break
  }
  return { bias: beta[0]!, weights: Array.from(beta.slice(1)) }
}

/** Solves A x = b by Gaussian elimination with partial pivoting (A is small and dense). */
const solve = (A: Array<Float64Array>, b: Float64Array): Float64Array => {
  const n = b.length
  const M = A.map((row, i) => Float64Array.from([...row, b[i]!]))
  for (let c = 0; c < n; c++) {
    let pivot = c
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[pivot]![c]!)) pivot = r
    ;[M[c], M[pivot]] = [M[pivot]!, M[c]!]
    const div = M[c]![c]!
    if (Math.abs(div) < 1e-12) continue
    for (let r = 0; r < n; r++) {
      if (r === c) continue
      const factor = M[r]![c]! / div
      if (factor === 0) continue
      for (let k = c; k <= n; k++) M[r]![k] = M[r]![k]! - factor * M[c]![k]!
    }
  }
  return Float64Array.from({ length: n }, (_, i) => (Math.abs(M[i]![i]!) < 1e-12 ? 0 : M[i]![n]! / M[i]![i]!))
}

/**
 * Scores a prediction (a Result v1, or any per-session clustering such as the TF-IDF +
 * DBSCAN baseline) against labels.
 *
 * Scope: the pairwise metrics are computed over LABELLED sessions only, i.e. sessions listed
 * in the labels with a family other than `-`. Background sessions and sessions missing from
 * the labels are left out of them (they enter only the false-campaign count and the
 * calibration outcomes, as said below). Variant-level metrics use the labelled sessions whose
 * variant is known.
 *
 * - family / variant: pairwise precision, recall, F1 and ARI (clusteringMetrics.ts) of the
 *   predicted keys (labels.ts) against the true family / variant.
 * - unclusteredShare: share of labelled sessions in no predicted family.
 * - falseCampaigns: predicted families that contain no labelled session (all their sessions
 *   are background or missing from the labels).
 * - calibration: each campaign's `confidence` against whether it is truly coordinated: at
 *   least 90% of its sessions (all of them, labelled or not) share one true non-background
 *   family. Over all campaigns (every level) and over families only.
 */
import type { Result } from "../domain/Result.ts"
import { type Calibration, calibration, DEFAULT_BINS } from "./calibration.ts"
import { type ClusterKey, type PairwiseScores, pairwiseScores } from "./clusteringMetrics.ts"
import { type Labels, type Prediction, predictionFromResult } from "./labels.ts"

export const SCOPE_NOTE =
  "pairwise metrics over labelled sessions only (true family not '-'); background and unlisted sessions are excluded"

export type LevelReport = PairwiseScores

export interface PartitionReport {
  readonly scope: string
  /** Sessions listed in the labels. */
  readonly sessionsInLabels: number
  /** Listed sessions whose family is not `-`: the items of the family-level metrics. */
  readonly labelledSessions: number
  /** Listed sessions whose family is `-`. */
  readonly backgroundSessions: number
  /** Distinct true families among labelled sessions, and how many have two or more sessions. */
  readonly trueFamilies: number
  readonly trueFamiliesWithPairs: number
  /** Predicted families (clusters of two or more sessions). */
  readonly predictedFamilies: number
  readonly family: LevelReport
  /** null when no labelled session has a known variant. */
  readonly variant: LevelReport | null
  /** Labelled sessions with a known variant: the items of the variant-level metrics. */
  readonly variantSessions: number
  /** Share of labelled sessions in no predicted family; null without labelled sessions. */
  readonly unclusteredShare: number | null
  readonly falseCampaigns: {
    readonly rule: string
    readonly count: number
    readonly sessions: number
  }
  readonly warnings: ReadonlyArray<string>
}

export interface EvalReport extends PartitionReport {
  /** ECE over all campaigns (every level): the same as calibration.campaigns.ece. */
  readonly ece: number | null
  readonly calibration: {
    readonly rule: string
    readonly bins: number
    readonly campaigns: Calibration
    readonly families: Calibration
  }
}

export interface EvaluateOptions {
  readonly bins?: number
  /** Share of a campaign's sessions that must share one true family for it to count as coordinated. */
  readonly coordinatedShare?: number
}

export const DEFAULT_COORDINATED_SHARE = 0.9

/** Per-session cluster keys (e.g. the baseline's) as a Prediction; both levels use the same key. */
export const predictionFromKeys = (keys: ReadonlyMap<string, ClusterKey>): Prediction => {
  const sessions = new Map<string, { family: ClusterKey; variant: ClusterKey }>()
  const members = new Map<string, Array<string>>()
  for (const [id, key] of keys) {
    if (key === null) continue
    sessions.set(id, { family: key, variant: key })
    const list = members.get(key)
    if (list === undefined) members.set(key, [id])
    else list.push(id)
  }
  const families = new Map<string, ReadonlyArray<string>>()
  for (const [key, list] of members) if (list.length >= 2) families.set(key, list)
  return { sessions, families, warnings: [] }
}

/** Scores the clustering of a prediction against labels (no calibration). */
export const evaluatePrediction = (prediction: Prediction, labels: Labels): PartitionReport => {
  const familyTruth: Array<ClusterKey> = []
  const familyPred: Array<ClusterKey> = []
  const variantTruth: Array<ClusterKey> = []
  const variantPred: Array<ClusterKey> = []
  const trueSizes = new Map<string, number>()
  let background = 0
  let unclustered = 0
  for (const [id, label] of labels.sessions) {
    if (label.family === null) {
      background++
      continue
    }
    trueSizes.set(label.family, (trueSizes.get(label.family) ?? 0) + 1)
    const predicted = prediction.sessions.get(id)
    if (predicted === undefined || predicted.family === null) unclustered++
    familyTruth.push(label.family)
    familyPred.push(predicted?.family ?? null)
    if (label.variant !== null) {
      variantTruth.push(label.variant)
      variantPred.push(predicted?.variant ?? null)
    }
  }
  let falseCount = 0
  let falseSessions = 0
  for (const members of prediction.families.values()) {
    if (members.length < 2) continue
    if (!members.some((s) => (labels.sessions.get(s)?.family ?? null) !== null)) {
      falseCount++
      falseSessions += members.length
    }
  }
  const labelled = familyTruth.length
  let withPairs = 0
  for (const size of trueSizes.values()) if (size >= 2) withPairs++
  return {
    scope: SCOPE_NOTE,
    sessionsInLabels: labels.sessions.size,
    labelledSessions: labelled,
    backgroundSessions: background,
    trueFamilies: trueSizes.size,
    trueFamiliesWithPairs: withPairs,
    predictedFamilies: [...prediction.families.values()].filter((m) => m.length >= 2).length,
    family: pairwiseScores(familyTruth, familyPred),
    variant: variantTruth.length === 0 ? null : pairwiseScores(variantTruth, variantPred),
    variantSessions: variantTruth.length,
    unclusteredShare: labelled === 0 ? null : unclustered / labelled,
    falseCampaigns: {
      rule: "predicted families (2+ sessions) without any labelled session",
      count: falseCount,
      sessions: falseSessions
    },
    warnings: prediction.warnings
  }
}

/** True when at least `share` of the sessions carry one true non-background family. */
export const isTrulyCoordinated = (sessions: ReadonlyArray<string>, labels: Labels, share = DEFAULT_COORDINATED_SHARE): boolean => {
  if (sessions.length === 0) return false
  const counts = new Map<string, number>()
  let best = 0
  for (const s of sessions) {
    const family = labels.sessions.get(s)?.family ?? null
    if (family === null) continue
    const c = (counts.get(family) ?? 0) + 1
    counts.set(family, c)
    if (c > best) best = c
  }
  return best >= share * sessions.length
}

/** Scores a Result v1 against labels: clustering at both levels, false campaigns, calibration. */
export const evaluate = (result: Pick<Result, "campaigns">, labels: Labels, options: EvaluateOptions = {}): EvalReport => {
  const bins = options.bins ?? DEFAULT_BINS
  const share = options.coordinatedShare ?? DEFAULT_COORDINATED_SHARE
  const partition = evaluatePrediction(predictionFromResult(result), labels)
  const scores: Array<number> = []
  const outcomes: Array<boolean> = []
  const familyScores: Array<number> = []
  const familyOutcomes: Array<boolean> = []
  for (const c of result.campaigns) {
    const truly = isTrulyCoordinated(c.sessions, labels, share)
    scores.push(c.confidence)
    outcomes.push(truly)
    if (c.level === "family") {
      familyScores.push(c.confidence)
      familyOutcomes.push(truly)
    }
  }
  const campaigns = calibration(scores, outcomes, bins)
  return {
    ...partition,
    ece: campaigns.ece,
    calibration: {
      rule: `a campaign is truly coordinated when at least ${Math.round(share * 100)}% of its sessions share one true non-background family`,
      bins,
      campaigns,
      families: calibration(familyScores, familyOutcomes, bins)
    }
  }
}

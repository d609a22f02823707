/**
 * Scores a predicted clustering (engine Result v1 or a peer's Result-like JSON) against the
 * signature labels of eval/labeller. Pure arithmetic; imports nothing from src/.
 *
 * Prediction. A session's predicted family is the `level: "family"` campaign that lists it;
 * its predicted variant is the `level: "variant"` campaign that lists it, else its family
 * (peers emit families only). A session in no campaign is a singleton.
 *
 * Scored sessions: labelled, non-conflicting sessions only (the labeller's output).
 *
 * Pairwise scores over the scored sessions, from the contingency table (pairs never
 * enumerated): A = Σ C(n_ij,2) pairs together in truth and prediction, T = Σ C(a_i,2),
 * P = Σ C(b_j,2), N = C(n,2); precision = A/P (1 when P = 0), recall = A/T (1 when T = 0),
 * F1 = 2PR/(P+R) (0 when both are 0), ARI = (A − TP/N) / (½(T+P) − TP/N) (1 when the
 * denominator is 0, i.e. both clusterings trivial and identical).
 *
 * Per-family recovery, for each labelled family F of n_F sessions: its main predicted family
 * is the predicted cluster holding most of F's sessions (ties: the smaller cluster id; an
 * unclustered session is its own cluster of one); share = F's sessions in it / n_F;
 * purity = F's sessions in it / labelled sessions in it. F is recovered when n_F ≥ 10,
 * share ≥ 0.80 and purity ≥ 0.90.
 *
 * Merged with unlabelled: the share of scored sessions whose predicted family also holds a
 * session that is neither labelled nor a conflict, and how many such unlabelled sessions sit
 * in predicted families that hold a scored session.
 */

export interface PredictedCampaign {
  readonly id: string
  readonly level: string
  readonly parent_id?: string | null
  readonly sessions: ReadonlyArray<string>
}

export interface Prediction {
  /** session → predicted family id */
  readonly family: Map<string, string>
  /** session → predicted variant id (the family id where there is no variant) */
  readonly variant: Map<string, string>
  /** family id → its sessions */
  readonly familyMembers: Map<string, ReadonlyArray<string>>
  readonly familyCount: number
  readonly variantCount: number
  /** campaigns at every level (family, variant, wave) */
  readonly campaignCount: number
}

export const predictionFromCampaigns = (campaigns: ReadonlyArray<PredictedCampaign>): Prediction => {
  const family = new Map<string, string>()
  const variant = new Map<string, string>()
  const familyMembers = new Map<string, ReadonlyArray<string>>()
  let variantCount = 0
  for (const c of campaigns) {
    if (c.level === "family") {
      familyMembers.set(c.id, c.sessions)
      for (const s of c.sessions) family.set(s, c.id)
    }
  }
  for (const c of campaigns) {
    if (c.level !== "variant") continue
    variantCount++
    for (const s of c.sessions) variant.set(s, c.id)
  }
  for (const [s, f] of family) if (!variant.has(s)) variant.set(s, f)
  return { family, variant, familyMembers, familyCount: familyMembers.size, variantCount, campaignCount: campaigns.length }
}

export const readPrediction = (json: unknown): Prediction => {
  const campaigns = (json as { campaigns?: unknown }).campaigns
  if (!Array.isArray(campaigns)) throw new Error("The result has no campaigns array")
  return predictionFromCampaigns(campaigns as ReadonlyArray<PredictedCampaign>)
}

export interface PairwiseScores {
  readonly items: number
  readonly truePairs: number
  readonly predictedPairs: number
  readonly agreeingPairs: number
  readonly precision: number
  readonly recall: number
  readonly f1: number
  readonly ari: number
}

const pairs = (n: number): number => (n * (n - 1)) / 2

/** Pairwise scores of two parallel key arrays; a null predicted key is a singleton. */
export const pairwise = (truth: ReadonlyArray<string>, predicted: ReadonlyArray<string | null>): PairwiseScores => {
  if (truth.length !== predicted.length) throw new RangeError("truth and prediction differ in length")
  const n = truth.length
  const a = new Map<string, number>()
  const b = new Map<string, number>()
  const ab = new Map<string, number>()
  for (let i = 0; i < n; i++) {
    const t = truth[i]!
    a.set(t, (a.get(t) ?? 0) + 1)
    const p = predicted[i]
    if (p === null || p === undefined) continue
    b.set(p, (b.get(p) ?? 0) + 1)
    const k = `${t}\u0000${p}`
    ab.set(k, (ab.get(k) ?? 0) + 1)
  }
  let T = 0
  for (const v of a.values()) T += pairs(v)
  let P = 0
  for (const v of b.values()) P += pairs(v)
  let A = 0
  for (const v of ab.values()) A += pairs(v)
  const N = pairs(n)
  const precision = P === 0 ? 1 : A / P
  const recall = T === 0 ? 1 : A / T
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall)
  const expected = N === 0 ? 0 : (T * P) / N
  const denom = (T + P) / 2 - expected
  const ari = denom === 0 ? 1 : (A - expected) / denom
  return { items: n, truePairs: T, predictedPairs: P, agreeingPairs: A, precision, recall, f1, ari }
}

export interface FamilyRecovery {
  readonly family: string
  readonly sessions: number
  /** predicted family id holding most of it; null when that is an unclustered session */
  readonly mainPredicted: string | null
  readonly share: number
  readonly purity: number
  /** sessions ≥ 10, share ≥ 0.80, purity ≥ 0.90 */
  readonly recovered: boolean
  /** whether the family is large enough (≥ 10 sessions) to be judged */
  readonly judged: boolean
}

export const RECOVERY = { minSessions: 10, minShare: 0.8, minPurity: 0.9 } as const

export interface LabelledSession {
  readonly family: string
  readonly variant: string
}

export interface Evaluation {
  readonly scoredSessions: number
  readonly familyScores: PairwiseScores
  readonly variantScores: PairwiseScores
  readonly recovery: ReadonlyArray<FamilyRecovery>
  /** mean share and purity over all labelled families; over judged families (≥ 10 sessions) */
  readonly macro: { readonly share: number; readonly purity: number; readonly judgedShare: number; readonly judgedPurity: number }
  readonly judgedFamilies: number
  readonly recoveredFamilies: number
  /** scored sessions whose predicted family also holds an unlabelled session */
  readonly mergedWithUnlabelled: number
  readonly mergedWithUnlabelledShare: number
  /** distinct unlabelled sessions in predicted families that hold a scored session */
  readonly unlabelledRidingAlong: number
  readonly predictedFamilies: number
  readonly predictedVariants: number
  readonly totalSessions: number
  readonly familiesPer1000Sessions: number
  /** campaigns of every level per 1,000 sessions */
  readonly campaignsPer1000Sessions: number
}

const mean = (xs: ReadonlyArray<number>): number => (xs.length === 0 ? Number.NaN : xs.reduce((s, x) => s + x, 0) / xs.length)

export const evaluatePrediction = (
  labels: ReadonlyMap<string, LabelledSession>,
  conflicts: ReadonlySet<string>,
  prediction: Prediction,
  totalSessions: number
): Evaluation => {
  const ids = [...labels.keys()].sort()
  const truthFamily = ids.map((s) => labels.get(s)!.family)
  const truthVariant = ids.map((s) => `${labels.get(s)!.family}/${labels.get(s)!.variant}`)
  const predFamily = ids.map((s) => prediction.family.get(s) ?? null)
  const predVariant = ids.map((s) => prediction.variant.get(s) ?? null)
  const familyScores = pairwise(truthFamily, predFamily)
  const variantScores = pairwise(truthVariant, predVariant)

  // Labelled sessions per predicted family.
  const labelledIn = new Map<string, number>()
  for (const p of predFamily) if (p !== null) labelledIn.set(p, (labelledIn.get(p) ?? 0) + 1)

  const byFamily = new Map<string, Array<string | null>>()
  for (let i = 0; i < ids.length; i++) {
    const f = truthFamily[i]!
    let list = byFamily.get(f)
    if (list === undefined) byFamily.set(f, (list = []))
    list.push(predFamily[i]!)
  }
  const recovery: Array<FamilyRecovery> = []
  for (const family of [...byFamily.keys()].sort()) {
    const preds = byFamily.get(family)!
    const counts = new Map<string, number>()
    let unclustered = 0
    for (const p of preds) {
      if (p === null) unclustered++
      else counts.set(p, (counts.get(p) ?? 0) + 1)
    }
    let main: string | null = null
    let best = 0
    for (const [p, c] of [...counts].sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
      if (c > best) {
        best = c
        main = p
      }
    }
    if (best === 0 && unclustered > 0) best = 1 // an unclustered session is a cluster of one
    const n = preds.length
    const share = best / n
    const purity = main === null ? 1 : best / labelledIn.get(main)!
    const judged = n >= RECOVERY.minSessions
    recovery.push({
      family,
      sessions: n,
      mainPredicted: main,
      share,
      purity,
      judged,
      recovered: judged && share >= RECOVERY.minShare && purity >= RECOVERY.minPurity
    })
  }
  const judged = recovery.filter((r) => r.judged)

  // Unlabelled sessions riding along in predicted families that hold a scored session.
  const touched = new Set(predFamily.filter((p): p is string => p !== null))
  const unlabelledCount = new Map<string, number>()
  let riding = 0
  for (const f of touched) {
    let u = 0
    for (const s of prediction.familyMembers.get(f) ?? []) if (!labels.has(s) && !conflicts.has(s)) u++
    unlabelledCount.set(f, u)
    riding += u
  }
  let merged = 0
  for (const p of predFamily) if (p !== null && unlabelledCount.get(p)! > 0) merged++

  return {
    scoredSessions: ids.length,
    familyScores,
    variantScores,
    recovery,
    macro: {
      share: mean(recovery.map((r) => r.share)),
      purity: mean(recovery.map((r) => r.purity)),
      judgedShare: mean(judged.map((r) => r.share)),
      judgedPurity: mean(judged.map((r) => r.purity))
    },
    judgedFamilies: judged.length,
    recoveredFamilies: judged.filter((r) => r.recovered).length,
    mergedWithUnlabelled: merged,
    mergedWithUnlabelledShare: ids.length === 0 ? 0 : merged / ids.length,
    unlabelledRidingAlong: riding,
    predictedFamilies: prediction.familyCount,
    predictedVariants: prediction.variantCount,
    totalSessions,
    familiesPer1000Sessions: totalSessions === 0 ? 0 : (1000 * prediction.familyCount) / totalSessions,
    campaignsPer1000Sessions: totalSessions === 0 ? 0 : (1000 * prediction.campaignCount) / totalSessions
  }
}

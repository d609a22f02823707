/**
 * Agreement between two clusterings of the same items: pairwise precision, recall and F1 and
 * the adjusted Rand index (Hubert & Arabie 1985), all from the contingency table in time
 * linear in the number of items. Pairs are never enumerated.
 *
 * Items are given as two parallel arrays of cluster keys, `truth[i]` and `predicted[i]` for
 * item i. A key of `null` (SINGLETON) puts the item in a cluster of its own: unclustered
 * sessions, DBSCAN noise. Two null keys are never the same cluster.
 *
 * Notation (n items):
 *   n_ij = items in true cluster i and predicted cluster j,
 *   a_i  = items in true cluster i,  b_j = items in predicted cluster j,
 *   T = Σ_i C(a_i,2)   pairs together in the truth         ("true pairs"),
 *   P = Σ_j C(b_j,2)   pairs together in the prediction    ("predicted pairs"),
 *   A = Σ_ij C(n_ij,2) pairs together in both              ("agreeing pairs"),
 *   N = C(n,2)         all pairs.
 *
 *   precision = A / P,  recall = A / T,  F1 = 2·precision·recall / (precision + recall),
 *   ARI = (A − T·P/N) / (½(T + P) − T·P/N).
 *
 * Degenerate cases (defined here, tested in test/unit/evaluation.test.ts):
 *   - no predicted pairs (P = 0): precision = 1 (no predicted pair is wrong);
 *   - no true pairs (T = 0): recall = 1 (no true pair is missed);
 *   - F1 with precision + recall = 0: F1 = 0. So P = 0 < T gives precision 1, recall 0, F1 0;
 *     T = 0 < P gives precision 0, recall 1, F1 0; P = T = 0 gives 1, 1, 1.
 *   - ARI's denominator is 0 exactly when T = P = 0 (both all singletons) or T = P = N (both one
 *     cluster), or n < 2 (N = 0). In each case the two clusterings are identical, and ARI = 1
 *     (the convention of scikit-learn). Proof: ½(T + P) ≥ √(TP) ≥ TP/N since T, P ≤ N, with
 *     equality only when T = P ∈ {0, N}.
 *   The raw pair counts are always returned beside the ratios, so a vacuous 1 can be told
 *   from a measured one.
 */

/** A cluster key; `null` marks an item that is in a cluster of its own. */
export type ClusterKey = string | null

/** The key of an item that belongs to no cluster (a singleton). */
export const SINGLETON: ClusterKey = null

export interface PairCounts {
  /** Items compared. */
  readonly items: number
  /** N = C(n,2). */
  readonly allPairs: number
  /** T = Σ C(a_i,2): pairs in one true cluster. */
  readonly truePairs: number
  /** P = Σ C(b_j,2): pairs in one predicted cluster. */
  readonly predictedPairs: number
  /** A = Σ C(n_ij,2): pairs in one true and one predicted cluster. */
  readonly agreeingPairs: number
  /** True clusters with at least one item (singletons included). */
  readonly trueClusters: number
  /** Predicted clusters with at least one item (singletons included). */
  readonly predictedClusters: number
}

export interface PairwiseScores extends PairCounts {
  readonly precision: number
  readonly recall: number
  readonly f1: number
  readonly ari: number
}

/** C(k, 2). */
export const choose2 = (k: number): number => (k < 2 ? 0 : (k * (k - 1)) / 2)

const increment = (map: Map<string, number>, key: string): void => {
  map.set(key, (map.get(key) ?? 0) + 1)
}

/** The pair counts of the contingency table of two labelings of the same items. */
export const pairCounts = (truth: ReadonlyArray<ClusterKey>, predicted: ReadonlyArray<ClusterKey>): PairCounts => {
  if (truth.length !== predicted.length) {
    throw new RangeError(`The two labelings differ in length (${truth.length} vs ${predicted.length}); they must label the same items.`)
  }
  const n = truth.length
  const trueSizes = new Map<string, number>()
  const predictedSizes = new Map<string, number>()
  const cells = new Map<string, number>()
  let trueSingletons = 0
  let predictedSingletons = 0
  for (let i = 0; i < n; i++) {
    const t = truth[i]!
    const p = predicted[i]!
    if (t === null) trueSingletons++
    else increment(trueSizes, t)
    if (p === null) predictedSingletons++
    else increment(predictedSizes, p)
    // A singleton on either side makes the cell a singleton: it holds no pair.
    if (t !== null && p !== null) increment(cells, `${t.length}:${t}\u0000${p}`)
  }
  let truePairs = 0
  for (const size of trueSizes.values()) truePairs += choose2(size)
  let predictedPairs = 0
  for (const size of predictedSizes.values()) predictedPairs += choose2(size)
  let agreeingPairs = 0
  for (const size of cells.values()) agreeingPairs += choose2(size)
  return {
    items: n,
    allPairs: choose2(n),
    truePairs,
    predictedPairs,
    agreeingPairs,
    trueClusters: trueSizes.size + trueSingletons,
    predictedClusters: predictedSizes.size + predictedSingletons
  }
}

/** Precision, recall, F1 and ARI from pair counts, with the degenerate cases above. */
export const scoresFromCounts = (c: PairCounts): PairwiseScores => {
  const precision = c.predictedPairs === 0 ? 1 : c.agreeingPairs / c.predictedPairs
  const recall = c.truePairs === 0 ? 1 : c.agreeingPairs / c.truePairs
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall)
  let ari = 1
  if (c.allPairs > 0) {
    const expected = (c.truePairs * c.predictedPairs) / c.allPairs
    const maximum = (c.truePairs + c.predictedPairs) / 2
    const denominator = maximum - expected
    // Zero only when both clusterings are identical and trivial (see the module comment);
    // a tiny tolerance absorbs rounding of the products on large inputs.
    ari = Math.abs(denominator) <= 1e-12 * Math.max(1, maximum) ? 1 : (c.agreeingPairs - expected) / denominator
  }
  return { ...c, precision, recall, f1, ari }
}

/** Pairwise precision, recall, F1 and adjusted Rand index of `predicted` against `truth`. */
export const pairwiseScores = (truth: ReadonlyArray<ClusterKey>, predicted: ReadonlyArray<ClusterKey>): PairwiseScores =>
  scoresFromCounts(pairCounts(truth, predicted))

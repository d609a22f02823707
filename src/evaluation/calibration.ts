/**
 * Calibration of a probability-like score against binary outcomes: the expected calibration
 * error over equal-width bins, weighted by bin count, and the reliability table behind it.
 *
 *   bin b (of B, default 10) holds scores in [b/B, (b+1)/B); a score of exactly 1 goes in the
 *   last bin. For each non-empty bin: mean predicted score p̄_b and observed rate o_b (share of
 *   positive outcomes). ECE = Σ_b (n_b / n) · |p̄_b − o_b|.
 *
 * With no predictions at all the ECE is undefined and reported as null; empty bins are listed
 * with count 0 and null means, and contribute nothing.
 */

export interface ReliabilityBin {
  /** 0-based bin index. */
  readonly bin: number
  readonly lower: number
  readonly upper: number
  readonly count: number
  /** Mean predicted score in the bin; null when the bin is empty. */
  readonly meanPredicted: number | null
  /** Share of positive outcomes in the bin; null when the bin is empty. */
  readonly observedRate: number | null
}

export interface Calibration {
  /** Predictions scored. */
  readonly count: number
  /** Positive outcomes among them. */
  readonly positives: number
  /** Expected calibration error; null when there is no prediction. */
  readonly ece: number | null
  readonly bins: ReadonlyArray<ReliabilityBin>
}

export const DEFAULT_BINS = 10

/** The bin of a score in [0, 1] among `bins` equal-width bins. */
export const binOf = (score: number, bins: number): number => Math.min(bins - 1, Math.floor(score * bins))

export const calibration = (
  predicted: ReadonlyArray<number>,
  outcomes: ReadonlyArray<boolean>,
  bins: number = DEFAULT_BINS
): Calibration => {
  if (predicted.length !== outcomes.length) {
    throw new RangeError(`Scores and outcomes differ in length (${predicted.length} vs ${outcomes.length}).`)
  }
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`The number of bins must be a positive integer, not ${bins}.`)
  const counts = new Array<number>(bins).fill(0)
  const sums = new Array<number>(bins).fill(0)
  const hits = new Array<number>(bins).fill(0)
  let positives = 0
  for (let i = 0; i < predicted.length; i++) {
    const p = predicted[i]!
    if (!Number.isFinite(p) || p < 0 || p > 1) throw new RangeError(`Score ${p} at position ${i} is not a probability in [0, 1].`)
    const b = binOf(p, bins)
    counts[b]!++
    sums[b]! += p
    if (outcomes[i]!) {
      hits[b]!++
      positives++
    }
  }
  const n = predicted.length
  let ece = 0
  const table: Array<ReliabilityBin> = []
  for (let b = 0; b < bins; b++) {
    const count = counts[b]!
    const meanPredicted = count === 0 ? null : sums[b]! / count
    const observedRate = count === 0 ? null : hits[b]! / count
    if (count > 0) ece += (count / n) * Math.abs(meanPredicted! - observedRate!)
    table.push({ bin: b, lower: b / bins, upper: (b + 1) / bins, count, meanPredicted, observedRate })
  }
  return { count: n, positives, ece: n === 0 ? null : ece, bins: table }
}

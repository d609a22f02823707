/**
 * Small statistics the evidence needs: quantiles, the hypergeometric upper tail, permutation
 * p-values and Benjamini–Hochberg adjustment.
 */

/** Quantile q of ascending-sorted values, linear interpolation between order statistics. */
export const quantileSorted = (sorted: ArrayLike<number>, q: number): number => {
  const n = sorted.length
  if (n === 0) return Number.NaN
  const pos = (n - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo)
}

/**
 * Quantile q (linear interpolation, as quantileSorted) of the values, by selection in place
 * (expected linear time; reorders the array).
 */
export const quantileInPlace = (a: Float64Array, q: number): number => {
  const n = a.length
  if (n === 0) return Number.NaN
  const pos = (n - 1) * q
  const lo = Math.floor(pos)
  const loValue = select(a, lo)
  if (pos === lo) return loValue
  // The next order statistic is the minimum of the part above lo.
  let next = Infinity
  for (let i = lo + 1; i < n; i++) if (a[i]! < next) next = a[i]!
  return loValue + (next - loValue) * (pos - lo)
}

/** Hoare selection: puts the k-th smallest value at index k and returns it. */
const select = (a: Float64Array, k: number): number => {
  let left = 0
  let right = a.length - 1
  while (right > left) {
    // Median of three as pivot: deterministic and robust on sorted input.
    const mid = (left + right) >>> 1
    const x = a[left]!
    const y = a[mid]!
    const z = a[right]!
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y
    let i = left
    let j = right
    while (i <= j) {
      while (a[i]! < pivot) i++
      while (a[j]! > pivot) j--
      if (i <= j) {
        const t = a[i]!
        a[i] = a[j]!
        a[j] = t
        i++
        j--
      }
    }
    if (k <= j) right = j
    else if (k >= i) left = i
    else return a[k]!
  }
  return a[k]!
}

/** Interquartile range of the values (copied, then sorted). */
export const interquartileRange = (values: Float64Array): number => {
  const sorted = values.slice().sort()
  return quantileSorted(sorted, 0.75) - quantileSorted(sorted, 0.25)
}

export const median = (values: ArrayLike<number>): number =>
  quantileSorted(Float64Array.from(values as ArrayLike<number>).sort(), 0.5)

/** Table of ln(k!) for k = 0..n. */
export const logFactorials = (n: number): Float64Array => {
  const table = new Float64Array(n + 1)
  for (let k = 2; k <= n; k++) table[k] = table[k - 1]! + Math.log(k)
  return table
}

/**
 * P(X ≥ k) for X ~ Hypergeometric(population N, successes K, draws n): the chance that a
 * random set of n sessions holds at least k of the K carriers of an artefact.
 */
export const hypergeometricUpperTail = (k: number, N: number, K: number, n: number, lf: Float64Array): number => {
  const lnC = (a: number, b: number): number => lf[a]! - lf[b]! - lf[a - b]!
  const denominator = lnC(N, n)
  let p = 0
  for (let x = Math.max(k, n - (N - K), 0); x <= Math.min(n, K); x++) {
    p += Math.exp(lnC(K, x) + lnC(N - K, n - x) - denominator)
  }
  return Math.min(1, Math.max(0, p))
}

/** Permutation p-value with the +1 correction: never exactly 0. */
export const permutationPValue = (extremeCount: number, permutations: number): number =>
  (1 + extremeCount) / (1 + permutations)

/** Benjamini–Hochberg adjusted p-values (q-values), in the input order. */
export const benjaminiHochberg = (pValues: ReadonlyArray<number>): Array<number> => {
  const m = pValues.length
  const order = pValues.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1])
  const adjusted = new Array<number>(m)
  let running = 1
  for (let r = m - 1; r >= 0; r--) {
    const [p, i] = order[r]!
    running = Math.min(running, (p * m) / (r + 1))
    adjusted[i] = Math.min(1, running)
  }
  return adjusted
}

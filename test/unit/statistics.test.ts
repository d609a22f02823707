/**
 * The small statistics behind the evidence (src/analytics/statistics.ts) and the confidence
 * model's fitter (eval/logistic.ts), each checked against an independent
 * computation: a full sort, a hand-computed Benjamini–Hochberg table, a brute-force
 * enumeration of subsets, and seeded synthetic data with known logistic weights.
 */
import { describe, expect, test } from "bun:test"
import { CONFIDENCE_MODEL, FEATURE_NAMES, predict, sigmoid } from "../../src/analytics/confidenceModel.ts"
import { fitLogistic } from "../../eval/logistic.ts"
import { Prng } from "../../src/analytics/Prng.ts"
import {
  benjaminiHochberg,
  hypergeometricUpperTail,
  interquartileRange,
  logFactorials,
  median,
  permutationPValue,
  quantileInPlace,
  quantileSorted
} from "../../src/analytics/statistics.ts"

// ---------------------------------------------------------------------------------------
// quantiles

describe("quantileInPlace", () => {
  const QS = [0, 0.1, 0.25, 0.5, 0.75, 0.9, 1]

  test("equals quantileSorted on many seeded arrays with ties, every length 1..60", () => {
    const prng = new Prng(20240401, "quantiles")
    let checked = 0
    for (let round = 0; round < 8; round++) {
      for (let n = 1; n <= 60; n++) {
        // Few distinct values (heavy ties) in half the rounds, continuous values in the others.
        const distinct = round % 2 === 0 ? 1 + prng.int(4) : 1_000_000
        const values = Float64Array.from({ length: n }, () => (distinct < 1000 ? prng.int(distinct) : prng.next() * 1e6 - 5e5))
        const sorted = values.slice().sort()
        for (const q of [...QS, prng.next()]) {
          const copy = values.slice()
          expect(quantileInPlace(copy, q)).toBeCloseTo(quantileSorted(sorted, q), 6)
          // It only reorders: the multiset of values is unchanged.
          expect(copy.slice().sort()).toEqual(sorted)
          checked++
        }
      }
    }
    expect(checked).toBe(8 * 60 * 8)
  })

  test("equals quantileSorted on sorted, reversed and constant input (median-of-three edge cases)", () => {
    for (const n of [2, 3, 7, 64, 65, 1000]) {
      const asc = Float64Array.from({ length: n }, (_, i) => i)
      const desc = asc.slice().reverse()
      const flat = new Float64Array(n).fill(7)
      for (const q of [0.25, 0.5, 0.75]) {
        expect(quantileInPlace(asc.slice(), q)).toBeCloseTo(quantileSorted(asc, q), 9)
        expect(quantileInPlace(desc.slice(), q)).toBeCloseTo(quantileSorted(asc, q), 9)
        expect(quantileInPlace(flat.slice(), q)).toBe(7)
      }
    }
  })

  test("hand-computed values: linear interpolation between order statistics", () => {
    // Sorted: 1 2 3 4 10; q = 0.25 → position 1 → 2; q = 0.6 → position 2.4 → 3 + 0.4·1 = 3.4.
    expect(quantileInPlace(Float64Array.from([10, 3, 1, 4, 2]), 0.25)).toBe(2)
    expect(quantileInPlace(Float64Array.from([10, 3, 1, 4, 2]), 0.6)).toBeCloseTo(3.4, 12)
    expect(quantileSorted(Float64Array.from([1, 2, 3, 4, 10]), 0.875)).toBeCloseTo(4 + 0.5 * 6, 12)
    expect(Number.isNaN(quantileInPlace(new Float64Array(0), 0.5))).toBe(true)
  })

  test("interquartileRange and median agree with a sort", () => {
    const v = Float64Array.from([9, 1, 5, 3, 7, 3, 11, 0])
    // Sorted 0 1 3 3 5 7 9 11: q1 at 1.75 → 1 + 0.75·2 = 2.5; q3 at 5.25 → 7 + 0.25·2 = 7.5.
    expect(interquartileRange(v)).toBeCloseTo(5, 12)
    expect(median(v)).toBe(4)
    // interquartileRange does not reorder its argument.
    expect(Array.from(v)).toEqual([9, 1, 5, 3, 7, 3, 11, 0])
  })
})

// ---------------------------------------------------------------------------------------
// Benjamini–Hochberg

describe("benjaminiHochberg", () => {
  test("matches a hand-computed table, in the input order", () => {
    // Sorted p: .001 .008 .039 .041 .042 .060 .074 .205 (m = 8)
    // p·m/rank: .008 .032 .104 .082 .0672 .080 .084571 .205
    // running minimum from the top: .008 .032 .0672 .0672 .0672 .080 .084571 .205
    const p = [0.06, 0.001, 0.205, 0.041, 0.008, 0.074, 0.039, 0.042]
    const expected = [0.08, 0.008, 0.205, 0.0672, 0.032, (0.074 * 8) / 7, 0.0672, 0.0672]
    const q = benjaminiHochberg(p)
    expect(q).toHaveLength(8)
    q.forEach((value, i) => expect(value).toBeCloseTo(expected[i]!, 10))
  })

  test("q ≥ p, capped at 1, monotone in p, and a single p-value is unchanged", () => {
    const prng = new Prng(7, "bh")
    for (let round = 0; round < 50; round++) {
      const m = 1 + prng.int(30)
      const p = Array.from({ length: m }, () => (prng.int(5) === 0 ? 1 : prng.next()))
      const q = benjaminiHochberg(p)
      for (let i = 0; i < m; i++) {
        expect(q[i]!).toBeGreaterThanOrEqual(p[i]! - 1e-15)
        expect(q[i]!).toBeLessThanOrEqual(1)
        for (let j = 0; j < m; j++) if (p[i]! < p[j]!) expect(q[i]!).toBeLessThanOrEqual(q[j]! + 1e-15)
      }
    }
    expect(benjaminiHochberg([0.03])).toEqual([0.03])
    expect(benjaminiHochberg([])).toEqual([])
    expect(benjaminiHochberg([0.9, 0.8])).toEqual([0.9, 0.9])
  })
})

// ---------------------------------------------------------------------------------------
// hypergeometric tail

/** n choose k as an exact integer (BigInt). */
const choose = (n: number, k: number): bigint => {
  if (k < 0 || k > n) return 0n
  let r = 1n
  for (let i = 1; i <= k; i++) r = (r * BigInt(n - k + i)) / BigInt(i)
  return r
}

/** P(X ≥ k) by counting subsets exactly. */
const bruteForceTail = (k: number, N: number, K: number, n: number): number => {
  let favourable = 0n
  for (let x = k; x <= n; x++) favourable += choose(K, x) * choose(N - K, n - x)
  return Number(favourable) / Number(choose(N, n))
}

describe("hypergeometricUpperTail", () => {
  test("equals an exact count of subsets for every small case (N ≤ 14)", () => {
    const lf = logFactorials(14)
    let cases = 0
    for (let N = 1; N <= 14; N++) {
      for (let K = 0; K <= N; K++) {
        for (let n = 0; n <= N; n++) {
          for (let k = 0; k <= n + 1; k++) {
            const got = hypergeometricUpperTail(k, N, K, n, lf)
            const want = bruteForceTail(k, N, K, n)
            expect(Math.abs(got - want)).toBeLessThan(1e-9)
            cases++
          }
        }
      }
    }
    expect(cases).toBeGreaterThan(1000)
  })

  test("also by enumerating the subsets themselves (N = 10, K = 4, n = 5)", () => {
    // Carriers are elements 0..3; walk every 5-subset of 10 as a bit mask.
    const counts = new Array<number>(6).fill(0)
    let total = 0
    for (let mask = 0; mask < 1 << 10; mask++) {
      let bits = 0
      for (let b = 0; b < 10; b++) if ((mask >> b) & 1) bits++
      if (bits !== 5) continue
      total++
      counts[[0, 1, 2, 3].filter((b) => ((mask >> b) & 1) === 1).length]!++
    }
    const lf = logFactorials(10)
    for (let k = 0; k <= 5; k++) {
      const atLeast = counts.slice(k).reduce((a, b) => a + b, 0) / total
      expect(hypergeometricUpperTail(k, 10, 4, 5, lf)).toBeCloseTo(atLeast, 12)
    }
  })

  test("a rare artefact carried by the whole group has a tiny tail", () => {
    const lf = logFactorials(10_000)
    // 20 carriers in 10 000 sessions, all 20 in a group of 20: 1 / C(10000, 20).
    const p = hypergeometricUpperTail(20, 10_000, 20, 20, lf)
    expect(p).toBeGreaterThan(0)
    expect(Math.log10(p)).toBeCloseTo(-(lf[10_000]! - lf[20]! - lf[9_980]!) / Math.LN10, 6)
    expect(hypergeometricUpperTail(0, 10_000, 20, 20, lf)).toBeCloseTo(1, 12)
  })
})

describe("permutationPValue", () => {
  test("is (1 + extreme) / (1 + permutations): never 0, 1 when every draw is as extreme", () => {
    expect(permutationPValue(0, 199)).toBe(0.005)
    expect(permutationPValue(199, 199)).toBe(1)
    expect(permutationPValue(9, 99)).toBeCloseTo(0.1, 15)
    for (const B of [0, 1, 19, 199, 9999]) {
      for (let e = 0; e <= B; e += Math.max(1, Math.floor(B / 7))) {
        const p = permutationPValue(e, B)
        expect(p).toBeGreaterThan(0)
        expect(p).toBeLessThanOrEqual(1)
      }
    }
  })
})

// ---------------------------------------------------------------------------------------
// logistic model

/** Standard normal by Box–Muller from the seeded generator. */
const gaussian = (prng: Prng): number => Math.sqrt(-2 * Math.log(1 - prng.next())) * Math.cos(2 * Math.PI * prng.next())

describe("fitLogistic and predict", () => {
  test("recovers the sign and rough size of known weights on seeded synthetic data", () => {
    const prng = new Prng(11, "logistic")
    const trueWeights = [2.5, -1.5, 0, 0.8]
    const trueBias = -0.5
    const X: Array<Float64Array> = []
    const y: Array<number> = []
    for (let r = 0; r < 4000; r++) {
      const x = Float64Array.from(trueWeights, () => gaussian(prng))
      let z = trueBias
      for (let i = 0; i < x.length; i++) z += trueWeights[i]! * x[i]!
      X.push(x)
      y.push(prng.next() < sigmoid(z) ? 1 : 0)
    }
    const fit = fitLogistic(X, y)
    expect(fit.weights).toHaveLength(4)
    for (let i = 0; i < trueWeights.length; i++) {
      expect(Math.abs(fit.weights[i]! - trueWeights[i]!)).toBeLessThan(0.3)
      if (trueWeights[i] !== 0) expect(Math.sign(fit.weights[i]!)).toBe(Math.sign(trueWeights[i]!))
    }
    expect(Math.abs(fit.bias - trueBias)).toBeLessThan(0.3)

    // Deterministic: no random start.
    expect(fitLogistic(X, y)).toEqual(fit)

    // The fitted model ranks held-out data the right way round.
    const model = { version: "test", features: ["a", "b", "c", "d"], weights: fit.weights, bias: fit.bias }
    const high = predict(model, Float64Array.from([1, -1, 0, 1]))
    const low = predict(model, Float64Array.from([-1, 1, 0, -1]))
    expect(high).toBeGreaterThan(0.9)
    expect(low).toBeLessThan(0.1)
  })

  test("bounded weights: a weight the data would make negative rests at 0, the others are fitted around it", () => {
    const prng = new Prng(14, "logistic-bounded")
    const trueWeights = [2, -1.5, 1]
    const X: Array<Float64Array> = []
    const y: Array<number> = []
    for (let r = 0; r < 4000; r++) {
      const x = Float64Array.from(trueWeights, () => gaussian(prng))
      let z = 0
      for (let i = 0; i < x.length; i++) z += trueWeights[i]! * x[i]!
      X.push(x)
      y.push(prng.next() < sigmoid(z) ? 1 : 0)
    }
    const free = fitLogistic(X, y, 1e-2, 50)
    expect(free.weights[1]!).toBeLessThan(-1)
    const bounded = fitLogistic(X, y, 1e-2, 100, undefined, [true, true, false])
    expect(bounded.weights[1]).toBe(0)
    expect(Math.abs(bounded.weights[0]! - 2)).toBeLessThan(0.6)
    expect(bounded.weights[2]!).toBeGreaterThan(0.5)
    // The weight held at its bound draws no variance: its row of the covariance factor is 0.
    expect(bounded.covarianceCholesky[2]!.every((v) => v === 0)).toBe(true)
    // Bounds the data respects change nothing (to within the solver's tolerance).
    const respected = fitLogistic(X, y, 1e-2, 100, undefined, [true, false, true])
    for (let i = 0; i < 3; i++) expect(Math.abs(respected.weights[i]! - free.weights[i]!)).toBeLessThan(1e-4)
  })

  test("a strong L2 penalty shrinks the weights towards 0", () => {
    const prng = new Prng(12, "logistic-l2")
    const X: Array<Float64Array> = []
    const y: Array<number> = []
    for (let r = 0; r < 500; r++) {
      const x = Float64Array.from([gaussian(prng)])
      X.push(x)
      y.push(prng.next() < sigmoid(3 * x[0]!) ? 1 : 0)
    }
    const loose = fitLogistic(X, y, 1e-3)
    const tight = fitLogistic(X, y, 1e4)
    expect(loose.weights[0]!).toBeGreaterThan(2)
    expect(Math.abs(tight.weights[0]!)).toBeLessThan(0.2)
  })

  test("predict of the committed model is strictly inside (0, 1) on seeded feature vectors in [0, 1]", () => {
    expect(CONFIDENCE_MODEL.weights).toHaveLength(FEATURE_NAMES.length)
    expect(CONFIDENCE_MODEL.features).toEqual([...FEATURE_NAMES])
    const prng = new Prng(13, "predict")
    let min = 1
    let max = 0
    for (let r = 0; r < 2000; r++) {
      const x = Float64Array.from(FEATURE_NAMES, () => (prng.int(4) === 0 ? prng.int(2) : prng.next()))
      const p = predict(CONFIDENCE_MODEL, x)
      expect(p).toBeGreaterThan(0)
      expect(p).toBeLessThan(1)
      min = Math.min(min, p)
      max = Math.max(max, p)
    }
    // And it is not a constant.
    expect(max - min).toBeGreaterThan(0.5)
  })

  test("sigmoid is symmetric and stable for large |z|", () => {
    for (const z of [-700, -40, -3, 0, 3, 40, 700]) {
      expect(sigmoid(z) + sigmoid(-z)).toBeCloseTo(1, 12)
      expect(Number.isFinite(sigmoid(z))).toBe(true)
    }
    expect(sigmoid(0)).toBe(0.5)
    expect(sigmoid(-40)).toBeGreaterThan(0)
  })
})

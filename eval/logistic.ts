/**
 * Logistic regression for the confidence model (research code: the shipped engine only
 * predicts, src/analytics/confidenceModel.ts). Newton's method (iteratively reweighted least
 * squares) with an L2 penalty on the weights (not the bias), optional row weights, and the
 * covariance of the parameters at the fit (the inverse of the penalised Hessian) returned as
 * its Cholesky factor. Deterministic: no random initialisation.
 */
import { sigmoid } from "../src/analytics/confidenceModel.ts"

export interface LogisticFit {
  readonly weights: Array<number>
  readonly bias: number
  /** Lower-triangular Cholesky factor of the covariance of (bias, weights…), rows of length 1..d+1. */
  readonly covarianceCholesky: Array<Array<number>>
}

export const fitLogistic = (
  X: ReadonlyArray<Float64Array>,
  y: ReadonlyArray<number>,
  l2 = 1e-2,
  iterations = 50,
  rowWeights?: ReadonlyArray<number>,
  /**
   * Weights held ≥ 0 (index per feature): inputs that may only ever raise the odds of
   * coordination, whatever quirk of the training data would give them a negative weight.
   */
  nonNegative?: ReadonlyArray<boolean>
): LogisticFit => {
  const d = X[0]!.length + 1
  const beta = new Float64Array(d)
  const bounded = (i: number): boolean => i > 0 && nonNegative?.[i - 1] === true
  const hessianAt = (grad: Float64Array | null): Array<Float64Array> => {
    const hess = Array.from({ length: d }, () => new Float64Array(d))
    for (let r = 0; r < X.length; r++) {
      const x = X[r]!
      const rw = rowWeights?.[r] ?? 1
      let z = beta[0]!
      for (let i = 1; i < d; i++) z += beta[i]! * x[i - 1]!
      const p = sigmoid(z)
      const w = rw * Math.max(p * (1 - p), 1e-9)
      const e = rw * (y[r]! - p)
      for (let i = 0; i < d; i++) {
        const xi = i === 0 ? 1 : x[i - 1]!
        if (xi === 0) continue
        if (grad !== null) grad[i] = grad[i]! + e * xi
        const wx = w * xi
        hess[i]![0] = hess[i]![0]! + wx
        for (let j = 1; j < d; j++) hess[i]![j] = hess[i]![j]! + wx * x[j - 1]!
      }
    }
    for (let i = 1; i < d; i++) {
      if (grad !== null) grad[i] = grad[i]! - l2 * beta[i]!
      hess[i]![i] = hess[i]![i]! + l2
    }
    return hess
  }
  // The penalised log-likelihood the steps climb (for the line search of the bounded fit).
  const objective = (b: Float64Array): number => {
    let total = 0
    for (let r = 0; r < X.length; r++) {
      const x = X[r]!
      let z = b[0]!
      for (let i = 1; i < d; i++) z += b[i]! * x[i - 1]!
      // log σ(z) and log(1 − σ(z)) without overflow.
      const logP = -Math.log1p(Math.exp(-Math.abs(z))) + Math.min(0, z)
      const logQ = -Math.log1p(Math.exp(-Math.abs(z))) + Math.min(0, -z)
      total += (rowWeights?.[r] ?? 1) * (y[r]! * logP + (1 - y[r]!) * logQ)
    }
    for (let i = 1; i < d; i++) total -= (l2 / 2) * b[i]! * b[i]!
    return total
  }
  // Bounds at which the fit rests: held at 0, out of the Newton system and the covariance.
  const atBound = new Uint8Array(d)
  for (let iter = 0; iter < iterations; iter++) {
    const grad = new Float64Array(d)
    const hess = hessianAt(grad)
    for (let i = 0; i < d; i++) atBound[i] = bounded(i) && beta[i]! <= 0 && grad[i]! <= 0 ? 1 : 0
    const step = solveFree(hess, grad, atBound)
    let change = 0
    if (nonNegative === undefined) {
      for (let i = 0; i < d; i++) {
        beta[i] = beta[i]! + step[i]!
        change = Math.max(change, Math.abs(step[i]!))
      }
    } else {
      // Projected Newton: a step that crosses a bound stops at it; halve until it climbs.
      const before = objective(beta)
      const candidate = new Float64Array(d)
      for (let t = 1; t > 1e-6; t /= 2) {
        for (let i = 0; i < d; i++) candidate[i] = bounded(i) ? Math.max(0, beta[i]! + t * step[i]!) : beta[i]! + t * step[i]!
        if (objective(candidate) >= before - 1e-12) break
      }
      for (let i = 0; i < d; i++) {
        change = Math.max(change, Math.abs(candidate[i]! - beta[i]!))
        beta[i] = candidate[i]!
      }
    }
    if (change < 1e-8) break
  }
  const hess = hessianAt(null)
  // Parameters resting on a bound are fixed there: no variance is drawn for them.
  const covariance = invertFree(hess, atBound)
  return { bias: beta[0]!, weights: Array.from(beta.slice(1)), covarianceCholesky: cholesky(covariance) }
}

/** Solves the Newton system over the parameters not fixed at a bound (fixed ones: step 0). */
const solveFree = (A: Array<Float64Array>, b: Float64Array, fixed: Uint8Array): Float64Array => {
  const free = Array.from({ length: b.length }, (_, i) => i).filter((i) => fixed[i] === 0)
  const x = solve(free.map((i) => Float64Array.from(free, (j) => A[i]![j]!)), Float64Array.from(free, (i) => b[i]!))
  const out = new Float64Array(b.length)
  free.forEach((i, k) => (out[i] = x[k]!))
  return out
}

/** The inverse over the free parameters, zero rows and columns for the fixed ones. */
const invertFree = (A: Array<Float64Array>, fixed: Uint8Array): Array<Float64Array> => {
  const n = A.length
  const free = Array.from({ length: n }, (_, i) => i).filter((i) => fixed[i] === 0)
  const inner = invert(free.map((i) => Float64Array.from(free, (j) => A[i]![j]!)))
  const out = Array.from({ length: n }, () => new Float64Array(n))
  free.forEach((i, a) => free.forEach((j, b) => (out[i]![j] = inner[a]![b]!)))
  return out
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

const invert = (A: Array<Float64Array>): Array<Float64Array> => {
  const n = A.length
  const columns = Array.from({ length: n }, (_, j) => solve(A, Float64Array.from({ length: n }, (_, i) => (i === j ? 1 : 0))))
  // Symmetrise (round-off).
  return Array.from({ length: n }, (_, i) => Float64Array.from({ length: n }, (_, j) => (columns[j]![i]! + columns[i]![j]!) / 2))
}

/** Cholesky factor L (A = L Lᵀ) of a symmetric positive (semi)definite matrix; rows of length i+1. */
export const cholesky = (A: ReadonlyArray<Float64Array>): Array<Array<number>> => {
  const n = A.length
  const L = Array.from({ length: n }, (_, i) => new Array<number>(i + 1).fill(0))
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i]![j]!
      for (let k = 0; k < j; k++) s -= L[i]![k]! * L[j]![k]!
      if (i === j) L[i]![i] = Math.sqrt(Math.max(s, 0))
      else L[i]![j] = L[j]![j]! > 0 ? s / L[j]![j]! : 0
    }
  }
  return L
}

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
  rowWeights?: ReadonlyArray<number>
): LogisticFit => {
  const d = X[0]!.length + 1
  const beta = new Float64Array(d)
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
  for (let iter = 0; iter < iterations; iter++) {
    const grad = new Float64Array(d)
    const hess = hessianAt(grad)
    const step = solve(hess, grad)
    let change = 0
    for (let i = 0; i < d; i++) {
      beta[i] = beta[i]! + step[i]!
      change = Math.max(change, Math.abs(step[i]!))
    }
    if (change < 1e-8) break
  }
  const covariance = invert(hessianAt(null))
  return { bias: beta[0]!, weights: Array.from(beta.slice(1)), covarianceCholesky: cholesky(covariance) }
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

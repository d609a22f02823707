/**
 * MinHash signatures and banded LSH over token-id sets, on typed arrays.
 *
 * 128 seeded permutations (hash functions). LSH uses 25 bands of 5 rows (125 of the 128
 * values): two sets collide in some band with probability 1 − (1 − J⁵)²⁵, which is 0.5 near
 * J = 0.52, 0.9 near J = 0.65 and 0.996 at J = 0.8. Every collision is then verified on the
 * exact Jaccard similarity, so the banding only decides which pairs are looked at.
 */
import { Prng } from "./Prng.ts"

export const PERMUTATIONS = 128
export const BANDS = 25
export const ROWS = 5

const mix = (x: number, seed: number): number => {
  let h = (x ^ seed) >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d)
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b)
  return (h ^ (h >>> 16)) >>> 0
}

/** The 128 hash seeds of one analysis, drawn from the run seed (one stream per label). */
export const minHashSeeds = (seed: number, label = "minhash"): Uint32Array => {
  const prng = new Prng(seed, label)
  const seeds = new Uint32Array(PERMUTATIONS)
  for (let i = 0; i < PERMUTATIONS; i++) seeds[i] = prng.nextU32()
  return seeds
}

/** Signatures of many sets, row-major: set k occupies [k·128, (k+1)·128). */
export const minHashSignatures = (sets: ReadonlyArray<Int32Array>, seeds: Uint32Array): Uint32Array => {
  const out = new Uint32Array(sets.length * PERMUTATIONS).fill(0xffffffff)
  for (let k = 0; k < sets.length; k++) {
    const set = sets[k]!
    const base = k * PERMUTATIONS
    for (let t = 0; t < set.length; t++) {
      const token = set[t]!
      for (let p = 0; p < PERMUTATIONS; p++) {
        const h = mix(token, seeds[p]!)
        if (h < out[base + p]!) out[base + p] = h
      }
    }
  }
  return out
}

/**
 * Candidate pairs from banded LSH: for each band, sets with identical band values share a
 * bucket; each bucket member is paired with the bucket's first member (a star, not a clique,
 * so a bucket of k sets costs k − 1 pairs). Pairs are returned flat, a then b with a < b
 * (pair k is [2k], [2k + 1]), unique, in a deterministic order: one list of numbers instead of
 * an array per pair.
 */
export const lshCandidatePairs = (signatures: Uint32Array, count: number): Array<number> => {
  const seen = new Set<number>()
  const pairs: Array<number> = []
  for (let band = 0; band < BANDS; band++) {
    // Buckets keyed by a 52-bit hash of the band's rows: a collision only adds a candidate,
    // which the caller's exact Jaccard check then rejects.
    const buckets = new Map<number, number>()
    for (let k = 0; k < count; k++) {
      const base = k * PERMUTATIONS + band * ROWS
      let h1 = 0x811c9dc5
      let h2 = 0x01000193
      for (let r = 0; r < ROWS; r++) {
        const v = signatures[base + r]!
        h1 = Math.imul(h1 ^ v, 0x01000193)
        h2 = Math.imul(h2 ^ (v >>> 7), 0x5bd1e995) ^ (h2 >>> 13)
      }
      const key = (h1 >>> 0) * 1048576 + ((h2 >>> 0) & 0xfffff)
      const first = buckets.get(key)
      if (first === undefined) {
        buckets.set(key, k)
        continue
      }
      // Pair identity packed into one number (count < 2^26 distinct sets is plenty).
      const id = first * 67108864 + k
      if (seen.has(id)) continue
      seen.add(id)
      pairs.push(first, k)
    }
  }
  return pairs
}

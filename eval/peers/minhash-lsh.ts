/**
 * Peer 1, GreedyBear-style: per session the set of its command tokens (every command split
 * on whitespace), MinHash with 128 permutations, LSH for Jaccard 0.55, union-find over every
 * LSH bucket collision. Sessions without commands stay unclustered; components of two or more
 * sessions are the campaigns (level "family").
 *
 * MinHash: a token's 32-bit FNV-1a hash x; permutation i maps it to mix32(x XOR seed_i) with
 * the murmur3 finaliser and 128 fixed seeds from a xorshift32 sequence (deterministic, no
 * Math.random); the signature is the minimum per permutation.
 * LSH: bands b × rows r chosen as datasketch's MinHashLSH does (minimise the equally
 * weighted false-positive and false-negative areas of P(collision) = 1 − (1 − s^r)^b around
 * the threshold, b·r ≤ 128). Like datasketch, candidates are not re-checked against the
 * threshold: any band collision links two sessions.
 *
 * Run: npx bun eval/peers/minhash-lsh.ts FILE --out result.json
 */
import { writeFileSync } from "node:fs"
import { campaignsFromKeys, peerArgs, type PeerResult, readCommands } from "./readCommands.ts"

export const NUM_PERM = 128
export const THRESHOLD = 0.55

const fnv1a = (s: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

const mix32 = (x: number): number => {
  x ^= x >>> 16
  x = Math.imul(x, 0x85ebca6b)
  x ^= x >>> 13
  x = Math.imul(x, 0xc2b2ae35)
  x ^= x >>> 16
  return x >>> 0
}

const SEEDS: Uint32Array = (() => {
  const seeds = new Uint32Array(NUM_PERM)
  let x = 0x9e3779b9
  for (let i = 0; i < NUM_PERM; i++) {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    seeds[i] = x
  }
  return seeds
})()

/** MinHash signature of a token set (empty set → null). */
export const minhash = (tokens: ReadonlySet<string>): Uint32Array | null => {
  if (tokens.size === 0) return null
  const sig = new Uint32Array(NUM_PERM).fill(0xffffffff)
  for (const t of tokens) {
    const h = fnv1a(t)
    for (let i = 0; i < NUM_PERM; i++) {
      const v = mix32(h ^ SEEDS[i]!)
      if (v < sig[i]!) sig[i] = v
    }
  }
  return sig
}

/** datasketch's _optimal_param: (bands, rows) for a threshold, equal FP/FN weights. */
export const optimalBands = (threshold: number, numPerm: number): { bands: number; rows: number } => {
  const integrate = (f: (s: number) => number, a: number, b: number): number => {
    const steps = 1000
    const h = (b - a) / steps
    let area = (f(a) + f(b)) / 2
    for (let k = 1; k < steps; k++) area += f(a + k * h)
    return area * h
  }
  let best = { bands: 1, rows: numPerm }
  let minError = Number.POSITIVE_INFINITY
  for (let b = 1; b <= numPerm; b++) {
    for (let r = 1; r <= Math.floor(numPerm / b); r++) {
      const fp = integrate((s) => 1 - (1 - s ** r) ** b, 0, threshold)
      const fn = integrate((s) => 1 - (1 - (1 - s ** r) ** b), threshold, 1)
      const error = 0.5 * fp + 0.5 * fn
      if (error < minError) {
        minError = error
        best = { bands: b, rows: r }
      }
    }
  }
  return best
}

const find = (parent: Int32Array, x: number): number => {
  while (parent[x] !== x) {
    parent[x] = parent[parent[x]!]!
    x = parent[x]!
  }
  return x
}

/** Cluster key per session id (null = unclustered). */
export const minhashLsh = (
  sessions: ReadonlyArray<{ readonly id: string; readonly commands: ReadonlyArray<string> }>,
  threshold: number = THRESHOLD
): { keys: Map<string, string | null>; bands: number; rows: number; withCommands: number } => {
  const { bands, rows } = optimalBands(threshold, NUM_PERM)
  const n = sessions.length
  const parent = Int32Array.from({ length: n }, (_, i) => i)
  // Sessions with the same command list share a signature: computed once.
  const memo = new Map<string, Uint32Array | null>()
  const sigs: Array<Uint32Array | null> = sessions.map((s) => {
    const key = s.commands.join("\n")
    const known = memo.get(key)
    if (known !== undefined) return known
    const tokens = new Set<string>()
    for (const c of s.commands) for (const t of c.split(/\s+/)) if (t.length > 0) tokens.add(t)
    const sig = minhash(tokens)
    memo.set(key, sig)
    return sig
  })
  for (let b = 0; b < bands; b++) {
    const buckets = new Map<number, number>()
    for (let i = 0; i < n; i++) {
      const sig = sigs[i]
      if (sig === null || sig === undefined) continue
      // Two independent 32-bit hashes of the band's rows packed into one 53-bit key.
      let h1 = 0x811c9dc5 ^ b
      let h2 = 0x27d4eb2f ^ Math.imul(b, 0x9e3779b1)
      for (let r = 0; r < rows; r++) {
        const v = sig[b * rows + r]!
        h1 = Math.imul(h1 ^ v, 0x01000193)
        h2 = mix32(h2 ^ v)
      }
      const key = (h1 >>> 0) * 0x200000 + ((h2 >>> 0) & 0x1fffff)
      const first = buckets.get(key)
      if (first === undefined) buckets.set(key, i)
      else {
        const a = find(parent, first)
        const c = find(parent, i)
        if (a !== c) parent[Math.max(a, c)] = Math.min(a, c)
      }
    }
  }
  const keys = new Map<string, string | null>()
  let withCommands = 0
  for (let i = 0; i < n; i++) {
    if (sigs[i] === null) {
      keys.set(sessions[i]!.id, null)
      continue
    }
    withCommands++
    keys.set(sessions[i]!.id, `m${find(parent, i)}`)
  }
  return { keys, bands, rows, withCommands }
}

if (import.meta.main) {
  const { file, out } = peerArgs("usage: bun eval/peers/minhash-lsh.ts FILE --out result.json")
  const log = await readCommands(file)
  const r = minhashLsh(log.sessions)
  const result: PeerResult = {
    tool: "minhash-lsh",
    parameters: { num_perm: NUM_PERM, threshold: THRESHOLD, bands: r.bands, rows: r.rows, tokens: "whitespace-split command tokens" },
    input: { sessions: log.sessionCount, sessions_with_commands: r.withCommands },
    campaigns: campaignsFromKeys(r.keys, "minhash")
  }
  const text = `${JSON.stringify(result)}\n`
  if (out === undefined) process.stdout.write(text)
  else writeFileSync(out, text)
}

/**
 * The baseline analysts use today: TF-IDF vectors of each session's command string, cosine
 * distance, DBSCAN (eps 0.5, min_samples 3), as scikit-learn's defaults would do it:
 *
 * - document: the session's commands joined with "\n"; a session without commands, or whose
 *   commands hold no token, is noise;
 * - tokens: lower-cased runs of two or more word characters (TfidfVectorizer's default
 *   `(?u)\b\w\w+\b`);
 * - weight: raw term count × smoothed idf, idf(t) = ln((1 + n) / (1 + df(t))) + 1, n the
 *   number of documents; each vector L2-normalised;
 * - DBSCAN: point p's neighbourhood is every point q with cosine distance 1 − p·q ≤ eps
 *   (p itself included); p is a core point when its neighbourhood holds at least min_samples
 *   points; clusters grow from core points in input order; border points join the first
 *   cluster that reaches them; the rest is noise.
 *
 * Efficiency: identical documents are collapsed into one point with a multiplicity (they
 * have the same neighbourhood, so the result is the same); neighbours are found by walking
 * the postings of the terms a point has, accumulating dot products, so pairs that share no
 * term are never touched.
 */

export interface TfidfDbscanOptions {
  readonly eps: number
  readonly minSamples: number
}

export const DEFAULT_TFIDF_DBSCAN: TfidfDbscanOptions = { eps: 0.5, minSamples: 3 }

export const NOISE = -1

/**
 * DBSCAN over an abstract neighbourhood. `neighbours(i)` lists the points within eps of i,
 * i included; `weight[i]` is how many identical points i stands for (1 by default). Returns a
 * cluster index per point (0, 1, … in order of discovery) or NOISE.
 */
export const dbscan = (
  n: number,
  neighbours: (i: number) => ArrayLike<number>,
  minSamples: number,
  weight?: ArrayLike<number>
): Int32Array => {
  const UNVISITED = -2
  const labels = new Int32Array(n).fill(UNVISITED)
  const mass = (h: ArrayLike<number>): number => {
    if (weight === undefined) return h.length
    let m = 0
    for (let k = 0; k < h.length; k++) m += weight[h[k]!]!
    return m
  }
  let cluster = 0
  for (let p = 0; p < n; p++) {
    if (labels[p] !== UNVISITED) continue
    // Each point's neighbourhood is computed once: here, or when the expansion reaches it.
    const hp = neighbours(p)
    if (mass(hp) < minSamples) {
      labels[p] = NOISE
      continue
    }
    const c = cluster++
    labels[p] = c
    const queue: Array<number> = []
    for (let k = 0; k < hp.length; k++) queue.push(hp[k]!)
    while (queue.length > 0) {
      const q = queue.pop()!
      if (labels[q] === NOISE) labels[q] = c // a border point
      if (labels[q] !== UNVISITED) continue
      labels[q] = c
      const hq = neighbours(q)
      if (mass(hq) >= minSamples) for (let k = 0; k < hq.length; k++) if (labels[hq[k]!]! < 0) queue.push(hq[k]!)
    }
  }
  return labels
}

// Python's Unicode \w: letters, digits, marks and the underscore.
const TOKEN = /[\p{L}\p{N}\p{M}_]{2,}/gu

/** TfidfVectorizer's default analyzer: lower-cased runs of 2+ word characters. */
export const tokenize = (text: string): Array<string> => text.toLowerCase().match(TOKEN) ?? []

export interface SessionCommands {
  readonly id: string
  readonly commands: ReadonlyArray<string>
}

export interface TfidfDbscanResult {
  /** Session id → cluster key (`tfidf-<k>`), or null for noise. Every input session is present. */
  readonly keys: ReadonlyMap<string, string | null>
  readonly clusters: number
  /** Sessions with commands (the documents). */
  readonly documents: number
  /** Distinct documents after collapsing identical ones. */
  readonly distinctDocuments: number
  readonly noise: number
}

interface SparseVector {
  readonly terms: Int32Array
  readonly weights: Float64Array
}

export const tfidfDbscan = (
  sessions: ReadonlyArray<SessionCommands>,
  options: TfidfDbscanOptions = DEFAULT_TFIDF_DBSCAN
): TfidfDbscanResult => {
  // Documents, collapsed by identical token multiset (same vector).
  const termIds = new Map<string, number>()
  const docOf = new Int32Array(sessions.length).fill(-1)
  const docIndex = new Map<string, number>()
  const counts: Array<Map<number, number>> = []
  const multiplicity: Array<number> = []
  let documents = 0
  for (let s = 0; s < sessions.length; s++) {
    const commands = sessions[s]!.commands
    if (commands.length === 0) continue
    documents++
    const tokens = tokenize(commands.join("\n"))
    if (tokens.length === 0) continue
    const tf = new Map<number, number>()
    for (const t of tokens) {
      let id = termIds.get(t)
      if (id === undefined) {
        id = termIds.size
        termIds.set(t, id)
      }
      tf.set(id, (tf.get(id) ?? 0) + 1)
    }
    const key = [...tf.entries()].sort((a, b) => a[0] - b[0]).map(([t, c]) => `${t}:${c}`).join(",")
    let d = docIndex.get(key)
    if (d === undefined) {
      d = counts.length
      docIndex.set(key, d)
      counts.push(tf)
      multiplicity.push(0)
    }
    multiplicity[d]!++
    docOf[s] = d
  }
  // Document frequency counts every session's document (duplicates included), as sklearn does.
  const n = documents
  const df = new Float64Array(termIds.size)
  for (let d = 0; d < counts.length; d++) for (const t of counts[d]!.keys()) df[t]! += multiplicity[d]!
  const idf = new Float64Array(termIds.size)
  for (let t = 0; t < idf.length; t++) idf[t] = Math.log((1 + n) / (1 + df[t]!)) + 1
  const vectors: Array<SparseVector> = counts.map((tf) => {
    const entries = [...tf.entries()].sort((a, b) => a[0] - b[0])
    const terms = Int32Array.from(entries, ([t]) => t)
    const weights = Float64Array.from(entries, ([t, c]) => c * idf[t]!)
    let norm = 0
    for (const w of weights) norm += w * w
    norm = Math.sqrt(norm)
    for (let k = 0; k < weights.length; k++) weights[k]! /= norm
    return { terms, weights }
  })
  // Postings: term → (document, weight).
  const postingDocs: Array<Array<number>> = Array.from({ length: termIds.size }, () => [])
  const postingWeights: Array<Array<number>> = Array.from({ length: termIds.size }, () => [])
  vectors.forEach((v, d) => {
    for (let k = 0; k < v.terms.length; k++) {
      postingDocs[v.terms[k]!]!.push(d)
      postingWeights[v.terms[k]!]!.push(v.weights[k]!)
    }
  })
  const m = vectors.length
  const dot = new Float64Array(m)
  const touched: Array<number> = []
  const minSimilarity = 1 - options.eps
  const neighbours = (d: number): Int32Array => {
    const v = vectors[d]!
    for (let k = 0; k < v.terms.length; k++) {
      const docs = postingDocs[v.terms[k]!]!
      const ws = postingWeights[v.terms[k]!]!
      const w = v.weights[k]!
      for (let j = 0; j < docs.length; j++) {
        const e = docs[j]!
        if (dot[e] === 0) touched.push(e)
        dot[e]! += w * ws[j]!
      }
    }
    const out: Array<number> = []
    for (const e of touched) {
      // Tolerance: a point's similarity with itself is 1 up to rounding.
      if (dot[e]! >= minSimilarity - 1e-12 || e === d) out.push(e)
      dot[e] = 0
    }
    touched.length = 0
    if (!out.includes(d)) out.push(d)
    return Int32Array.from(out)
  }
  const labels = dbscan(m, neighbours, options.minSamples, multiplicity)
  const keys = new Map<string, string | null>()
  let noise = 0
  let clusters = 0
  for (let s = 0; s < sessions.length; s++) {
    const d = docOf[s]!
    const label = d < 0 ? NOISE : labels[d]!
    if (label === NOISE) noise++
    else clusters = Math.max(clusters, label + 1)
    keys.set(sessions[s]!.id, label === NOISE ? null : `tfidf-${label}`)
  }
  return { keys, clusters, documents, distinctDocuments: m, noise }
}

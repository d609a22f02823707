/**
 * Confidence that means what it says: the interval (half-samples plus the model's parameter
 * uncertainty, never a point for small groups), the committed model's description, and the
 * null population of `assess` (the user's own traffic — `--reference`, else the stored
 * history — and a synthetic background only when neither exists, flagged in the result).
 *
 * The radec73 tests need the real corpora in ../shared/corpora and are skipped (reported as
 * skipped) without them.
 */
import { describe, expect, test } from "bun:test"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { gunzipSync } from "node:zlib"
import { CONFIDENCE_MODEL, type ConfidenceModel, FEATURE_NAMES } from "../../src/analytics/confidenceModel.ts"
import { Prng } from "../../src/analytics/Prng.ts"
import { scoreGroups } from "../../src/analytics/scoring.ts"
import { computeFeatures } from "../../src/analytics/sessionFeatures.ts"
import { DEFAULT_CONFIG } from "../../src/config/AnalysisConfig.ts"
import type { AttackSession } from "../../src/domain/AttackSession.ts"
import type { AssessmentResult } from "../../src/domain/AssessmentResult.ts"
import { ingest } from "../../src/ingest/ingest.ts"
import { assessSessions } from "../../src/pipeline/assessSessions.ts"
import { generateSessions } from "../../src/synthetic/generateSessions.ts"

const REPO = resolve(import.meta.dir, "../..")
const RADEC73 = resolve(REPO, "../shared/corpora/radec73-2024-04.cowrie.json.gz")
const haveCorpus = existsSync(RADEC73)
if (!haveCorpus) console.warn(`calibration.test.ts: ${RADEC73} is absent; the radec73 tests are skipped.`)

const synthetic = (sessions: number, seed: number): Array<AttackSession> => Array.from(generateSessions({ sessions, seed }), (s) => s.session)

describe("the committed confidence model", () => {
  test("describes its inputs, its training data, held-out calibration and a covariance factor", () => {
    expect(CONFIDENCE_MODEL.features).toEqual([...FEATURE_NAMES])
    expect(CONFIDENCE_MODEL.weights).toHaveLength(FEATURE_NAMES.length)
    const L = CONFIDENCE_MODEL.covarianceCholesky!
    expect(L).toHaveLength(FEATURE_NAMES.length + 1)
    const file = CONFIDENCE_MODEL as unknown as {
      fitted_on: { rows: number; non_negative_weights: Array<string> }
      held_out: { generator_seeds: Array<{ ece: number }> }
    }
    // A weight fitted against its bound rests at 0 with no variance (its row of the factor is
    // 0); every other parameter, the bias first, has some.
    const atBound = (i: number): boolean => i > 0 && file.fitted_on.non_negative_weights.includes(FEATURE_NAMES[i - 1]!) && CONFIDENCE_MODEL.weights[i - 1] === 0
    L.forEach((row, i) => {
      expect(row).toHaveLength(i + 1)
      if (atBound(i)) expect(row.every((v) => v === 0)).toBe(true)
      else expect(row[i]!).toBeGreaterThan(0)
    })
    expect(file.fitted_on.rows).toBeGreaterThan(1000)
    expect(file.held_out.generator_seeds.length).toBeGreaterThan(0)
  })

  test("more shared, more surprising or from more networks never lowers the confidence: those weights are ≥ 0", () => {
    const file = CONFIDENCE_MODEL as unknown as { fitted_on: { non_negative_weights: Array<string> } }
    const bounded = file.fitted_on.non_negative_weights
    for (const name of ["payload_score", "payload_significance", "behavioral_score", "behavioral_significance", "temporal_score", "infrastructure_score", "credential_score", "covered_share", "log_sources", "log_networks"]) {
      expect(bounded).toContain(name)
    }
    for (const name of bounded) expect(CONFIDENCE_MODEL.weights[FEATURE_NAMES.indexOf(name as (typeof FEATURE_NAMES)[number])]!).toBeGreaterThanOrEqual(0)
  })
})

describe("the confidence interval", () => {
  const sessions = synthetic(1500, 77)
  const features = computeFeatures(sessions)
  // Small groups: two and three sessions from different addresses.
  const byIp = new Map<string, number>()
  sessions.forEach((s, i) => {
    if (s.src_ip !== null && !byIp.has(s.src_ip)) byIp.set(s.src_ip, i)
  })
  const firsts = [...byIp.values()].sort((a, b) => a - b)
  const pair = Int32Array.from(firsts.slice(0, 2))
  const triple = Int32Array.from(firsts.slice(10, 13))

  test("is not a point for groups of two or three sessions, contains the estimate, and is deterministic", () => {
    const options = { seed: 42, permutations: 199, bootstrap: 100 }
    const scores = scoreGroups([{ members: pair, dominant: -1 }, { members: triple, dominant: -1 }], features, options)
    for (const s of scores) {
      const [lo, hi] = s.interval
      expect(lo).toBeLessThanOrEqual(s.confidence)
      expect(hi).toBeGreaterThanOrEqual(s.confidence)
      expect(hi - lo).toBeGreaterThan(0)
      // Wide enough to mean something on the log-odds scale.
      const logit = (p: number): number => Math.log(Math.max(p, 1e-9) / Math.max(1 - p, 1e-9))
      expect(logit(hi) - logit(lo)).toBeGreaterThan(0.1)
    }
    expect(scoreGroups([{ members: pair, dominant: -1 }, { members: triple, dominant: -1 }], features, options)).toEqual(scores)
  })

  test("reflects the model's parameter uncertainty: a flat model with unit covariance gives a wide interval around 0.5", () => {
    const d = FEATURE_NAMES.length + 1
    const flat: ConfidenceModel = {
      version: "test",
      features: [...FEATURE_NAMES],
      weights: FEATURE_NAMES.map(() => 0),
      bias: 0,
      // Only the bias is uncertain (standard deviation 1 on the log-odds).
      covarianceCholesky: Array.from({ length: d }, (_, i) => Array.from({ length: i + 1 }, (_, k) => (i === 0 && k === 0 ? 1 : i === k ? 1e-9 : 0)))
    }
    const [s] = scoreGroups([{ members: pair, dominant: -1 }], features, { seed: 42, permutations: 99, bootstrap: 200, model: flat })
    expect(s!.confidence).toBe(0.5)
    // 2.5% and 97.5% of sigmoid(N(0, 1)): about 0.12 and 0.88.
    expect(s!.interval[0]).toBeGreaterThan(0.05)
    expect(s!.interval[0]).toBeLessThan(0.2)
    expect(s!.interval[1]).toBeGreaterThan(0.8)
    expect(s!.interval[1]).toBeLessThan(0.95)
  })

  test("without bootstrap draws the interval is the point", () => {
    const [s] = scoreGroups([{ members: triple, dominant: -1 }], features, { seed: 42, permutations: 99, bootstrap: 0 })
    expect(s!.interval).toEqual([s!.confidence, s!.confidence])
  })
})

describe("assess: the null population", () => {
  const reference = synthetic(400, 91)
  const set = synthetic(200, 92).slice(0, 12).map((s, k) => ({ ...s, id: `set-${k}` }))

  test("the reference when given; the stored history when that is what the caller passes; else a flagged synthetic background", () => {
    expect(assessSessions(set, { config: DEFAULT_CONFIG, reference }).null_population).toEqual({ kind: "reference", sessions: 400 })
    expect(assessSessions(set, { config: DEFAULT_CONFIG, reference, referenceKind: "stored_history" }).null_population).toEqual({
      kind: "stored_history",
      sessions: 400
    })
    const alone = assessSessions(set, { config: DEFAULT_CONFIG, reference: [] })
    expect(alone.null_population.kind).toBe("synthetic_background")
    expect(alone.null_population.sessions).toBeGreaterThanOrEqual(2000)
  })

  test("a reference holding only the set's own sessions is no null population: synthetic background, flagged", () => {
    expect(assessSessions(set, { config: DEFAULT_CONFIG, reference: set }).null_population.kind).toBe("synthetic_background")
  })

  test("a set from one source address is single-source activity with confidence 0", () => {
    const one = set.map((s) => ({ ...s, src_ip: "192.0.2.7" }))
    const a = assessSessions(one, { config: DEFAULT_CONFIG, reference })
    expect(a.assessment).toBe("single_source")
    expect(a.confidence).toBe(0)
    expect(a.confidence_interval).toEqual([0, 0])
  })
})

/** `count` distinct indices below `n`, seeded, ascending. */
const draw = (n: number, count: number, seed: number): Array<number> => {
  const prng = new Prng(seed, "assess-40-radec73")
  const chosen = new Set<number>()
  while (chosen.size < count) chosen.add(prng.int(n))
  return [...chosen].sort((a, b) => a - b)
}

describe("assess on real traffic (radec73)", () => {
  test.skipIf(!haveCorpus)("40 random sessions against radec73 itself: temporal and infrastructure evidence not significant, assessed coincidental", async () => {
    const all = (await ingest([RADEC73], { format: "auto" })).sessions
    // Eight independent draws: under the null each p-value is below 0.05 about 5% of the
    // time, so at most two of eight per kind (P(≥ 3) ≈ 0.6% for a valid test).
    let temporal = 0
    let infrastructure = 0
    for (let d = 1; d <= 8; d++) {
      const set = draw(all.length, 40, d).map((i) => all[i]!)
      const a = assessSessions(set, { config: DEFAULT_CONFIG, reference: all })
      expect(a.null_population).toEqual({ kind: "reference", sessions: all.length - 40 })
      if (a.evidence.temporal_correlation!.p_value < 0.05) temporal++
      if (a.evidence.infrastructure_clustering!.p_value < 0.05) infrastructure++
      expect(["coincidental", "likely_coincidental"]).toContain(a.assessment)
    }
    expect(temporal).toBeLessThanOrEqual(2)
    expect(infrastructure).toBeLessThanOrEqual(2)
  }, 120_000)

  test.skipIf(!haveCorpus)("through the CLI: assess FILE --reference radec73 compares with radec73 and says so", () => {
    const tmp = mkdtempSync(join(tmpdir(), "dshield-assess-"))
    try {
      // The raw lines of 40 randomly drawn cowrie sessions.
      const lines = gunzipSync(readFileSync(RADEC73)).toString("utf8").split("\n").filter((l) => l.length > 0)
      const sessionOf = (line: string): string | undefined => /"session":\s*"([^"]+)"/.exec(line)?.[1]
      const ids = [...new Set(lines.map(sessionOf).filter((s): s is string => s !== undefined))].sort()
      const chosen = new Set(draw(ids.length, 40, 1).map((i) => ids[i]!))
      const setFile = join(tmp, "set.json")
      writeFileSync(setFile, `${lines.filter((l) => chosen.has(sessionOf(l) ?? "")).join("\n")}\n`)
      const r = Bun.spawnSync([process.execPath, resolve(REPO, "src/cli/main.ts"), "assess", "--quiet", "--out", "-", "--reference", RADEC73, setFile], {
        cwd: tmp,
        env: { ...process.env, DATABASE_URL: "", DSHIELD_DATA_DIR: "" },
        stdout: "pipe",
        stderr: "pipe"
      })
      expect(r.exitCode).toBe(0)
      const json = JSON.parse(r.stdout.toString()) as AssessmentResult
      expect(json.assessment.sessions).toHaveLength(40)
      expect(json.assessment.null_population.kind).toBe("reference")
      expect(json.assessment.null_population.sessions).toBe(7700 - 40)
      expect(["coincidental", "likely_coincidental"]).toContain(json.assessment.assessment)
    } finally {
      rmSync(tmp, { recursive: true, force: true })
    }
  }, 120_000)
})

describe("assess through the CLI: the stored history", () => {
  test("with an embedded store holding sessions and no --reference, the null population is the stored history", () => {
    const tmp = mkdtempSync(join(tmpdir(), "dshield-assess-store-"))
    const cli = (args: ReadonlyArray<string>, env: Record<string, string>) =>
      Bun.spawnSync([process.execPath, resolve(REPO, "src/cli/main.ts"), ...args], { cwd: tmp, env: { ...process.env, DATABASE_URL: "", ...env }, stdout: "pipe", stderr: "pipe" })
    try {
      const stored = join(tmp, "stored")
      const fresh = join(tmp, "fresh")
      expect(cli(["generate", "--sessions", "300", "--seed", "5", "--out", stored], {}).exitCode).toBe(0)
      expect(cli(["generate", "--sessions", "60", "--seed", "6", "--out", fresh], {}).exitCode).toBe(0)
      const dataDir = join(tmp, "db")
      const analyzed = cli(["analyze", "--quiet", "--store", "--data-dir", dataDir, "--out", join(tmp, "r.json"), join(stored, "cowrie.json")], {})
      expect(analyzed.exitCode).toBe(0)
      const r = cli(["assess", "--quiet", "--out", "-", join(fresh, "cowrie.json")], { DSHIELD_DATA_DIR: dataDir })
      expect(r.exitCode).toBe(0)
      const json = JSON.parse(r.stdout.toString()) as AssessmentResult
      expect(json.assessment.null_population.kind).toBe("stored_history")
      expect(json.assessment.null_population.sessions).toBeGreaterThan(250)
      // Without a store (and without --reference): the synthetic background, flagged.
      const none = cli(["assess", "--quiet", "--out", "-", join(fresh, "cowrie.json")], { DSHIELD_DATA_DIR: join(tmp, "no-store-here") })
      expect(none.exitCode).toBe(0)
      expect((JSON.parse(none.stdout.toString()) as AssessmentResult).assessment.null_population.kind).toBe("synthetic_background")
    } finally {
      rmSync(tmp, { recursive: true, force: true })
    }
  }, 300_000)
})

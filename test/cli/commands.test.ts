/**
 * The generate, analyze → eval, and assess commands end to end, in a child process as a user
 * runs them (see helpers.ts), and their usage errors.
 */
import { afterAll, describe, expect, test } from "bun:test"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import * as Schema from "effect/Schema"
import { ASSESSMENT_SCHEMA_ID, AssessmentResult } from "../../src/domain/AssessmentResult.ts"
import { Result, RESULT_SCHEMA_ID } from "../../src/domain/Result.ts"
import { LABELS_HEADER } from "../../src/synthetic/writeDataset.ts"
import { type CliRun, REPO, runCli } from "./helpers.ts"

const tmp = mkdtempSync(join(tmpdir(), "dshield-commands-"))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const dirA = join(tmp, "gen-a")
const dirB = join(tmp, "gen-b")
const dirC = join(tmp, "gen-c")

/** Runs once, on first use, and remembers the outcome (tests run in file order). */
const once = <T>(f: () => T): (() => T) => {
  let value: { v: T } | undefined
  return () => (value ??= { v: f() }).v
}

const generateA = once(() => runCli(["generate", "--sessions", "500", "--out", dirA, "--seed", "3"]))

const dataRows = (labels: string): Array<Array<string>> =>
  labels.split("\n").slice(1).filter((l) => l.length > 0).map((l) => l.split("\t"))

const expectUsageError = (r: CliRun, message: RegExp): void => {
  expect(r.code).toBe(2)
  expect(r.stdout).toBe("")
  expect(r.stderr).toMatch(message)
  expect(r.stderr.trim().split("\n")).toHaveLength(1)
}

describe("generate", () => {
  test("--sessions 500 --out DIR --seed 3 writes cowrie.json and labels.tsv with 500 data rows", () => {
    const r = generateA()
    expect(r.code).toBe(0)
    expect(r.stderr).toContain("500 sessions")
    const labels = readFileSync(join(dirA, "labels.tsv"), "utf8")
    expect(labels.split("\n")[0]).toBe(LABELS_HEADER)
    expect(labels.endsWith("\n")).toBe(true)
    const rows = dataRows(labels)
    expect(rows).toHaveLength(500)
    for (const row of rows) {
      expect(row).toHaveLength(5)
      expect(["0", "1"]).toContain(row[4]!)
    }
    const ids = new Set(rows.map((row) => row[0]!))
    expect(ids.size).toBe(500)
    // Both kinds of session are there: campaign members and background.
    expect(rows.some((row) => row[1] === "-")).toBe(true)
    expect(rows.some((row) => row[1] !== "-" && row[4] === "1")).toBe(true)

    // Every cowrie line is a JSON event of one of the labelled sessions, and every labelled
    // session has events.
    const lines = readFileSync(join(dirA, "cowrie.json"), "utf8").split("\n").filter((l) => l.length > 0)
    const seen = new Set<string>()
    for (const line of lines) {
      const event = JSON.parse(line) as { eventid?: unknown; session?: unknown }
      expect(typeof event.eventid).toBe("string")
      expect(ids.has(event.session as string)).toBe(true)
      seen.add(event.session as string)
    }
    expect(seen.size).toBe(500)
  })

  test("the same seed gives identical bytes; another seed does not", () => {
    generateA()
    const b = runCli(["generate", "--quiet", "--sessions", "500", "--out", dirB, "--seed", "3"])
    expect(b.code).toBe(0)
    expect(b.stderr).toBe("")
    for (const file of ["cowrie.json", "labels.tsv"]) {
      expect(readFileSync(join(dirB, file)).equals(readFileSync(join(dirA, file)))).toBe(true)
    }
    const c = runCli(["generate", "--quiet", "--sessions", "500", "--out", dirC, "--seed", "4"])
    expect(c.code).toBe(0)
    expect(readFileSync(join(dirC, "cowrie.json")).equals(readFileSync(join(dirA, "cowrie.json")))).toBe(false)
  })
})

describe("analyze then eval", () => {
  const resultPath = join(tmp, "result.json")
  const reportPath = join(tmp, "report.json")

  const analyzeRun = once(() => {
    generateA()
    return runCli(["analyze", "--quiet", "--out", resultPath, join(dirA, "cowrie.json")])
  })

  test("analyze of the generated data writes a valid Result v1 covering all 500 sessions", () => {
    const r = analyzeRun()
    expect(r.code).toBe(0)
    expect(r.stdout).toBe("")
    const result = JSON.parse(readFileSync(resultPath, "utf8")) as Result
    expect(result.schema).toBe(RESULT_SCHEMA_ID)
    expect(Schema.decodeUnknownExit(Result)(result)._tag).toBe("Success")
    expect(result.input.sessions).toBe(500)
    expect(result.input.rejected).toEqual({})
    expect(result.campaigns.some((c) => c.level === "family")).toBe(true)
    // Every session id in the result is one of the generated ones.
    const ids = new Set(dataRows(readFileSync(join(dirA, "labels.tsv"), "utf8")).map((row) => row[0]!))
    for (const c of result.campaigns) for (const s of c.sessions) expect(ids.has(s)).toBe(true)
  })

  test("eval --labels DIR/labels.tsv RESULT exits 0 and prints a family row", () => {
    analyzeRun()
    const r = runCli(["eval", "--labels", join(dirA, "labels.tsv"), "--json", reportPath, resultPath])
    expect(r.code).toBe(0)
    expect(r.stderr).toBe("")
    const familyRow = /^family\s+(\d\.\d{3})\s+(\d\.\d{3})\s+(\d\.\d{3})\s+(-?\d\.\d{3})\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$/m.exec(r.stdout)
    expect(familyRow).not.toBeNull()
    expect(r.stdout).toMatch(/^variant\s+/m)
    expect(r.stdout).toContain("result ")
    expect(r.stdout).toContain("500 sessions")

    // The printed row is the report's family level, and it is a real score, not a placeholder.
    const report = JSON.parse(readFileSync(reportPath, "utf8")) as {
      family: { precision: number; recall: number; f1: number; items: number } | null
    }
    expect(report.family).not.toBeNull()
    expect(Number(familyRow![1])).toBeCloseTo(report.family!.precision, 3)
    expect(Number(familyRow![2])).toBeCloseTo(report.family!.recall, 3)
    expect(Number(familyRow![5])).toBe(report.family!.items)
    expect(report.family!.precision).toBeGreaterThan(0.8)
    expect(report.family!.recall).toBeGreaterThan(0.5)
  })

  test("eval against the labels of another data set warns that the scores mean nothing", () => {
    analyzeRun()
    const other = join(tmp, "other-labels")
    expect(runCli(["generate", "--quiet", "--sessions", "200", "--out", other, "--seed", "8"]).code).toBe(0)
    const r = runCli(["eval", "--labels", join(other, "labels.tsv"), resultPath])
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/^Warning: none of the \d+ sessions of .*result\.json's campaigns is listed in .*labels\.tsv; if the labels are of another data set, give the labels of the data .*result\.json was made from/)
    expect(r.stdout).toMatch(/^family\s+/m)
  })

  test("eval of a missing labels file is exit 2 with one sentence", () => {
    analyzeRun()
    const r = runCli(["eval", "--labels", join(tmp, "no-such-labels.tsv"), resultPath])
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
  })
})

// ---------------------------------------------------------------------------------------
// assess

const KEY = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC3q8T0xYvZk2mW9pLr5sJdNfH7uGc1eKbR4tVnXoPaQiMwyS6zE0lUjD8hB2gF"

/** Cowrie lines of sessions that log in and plant KEY, each from its own documentation address. */
const keyCampaignLines = (): string => {
  const lines: Array<string> = []
  const sources = ["192.0.2.11", "198.51.100.22", "203.0.113.33", "192.0.2.44", "198.51.100.55", "203.0.113.66"]
  sources.forEach((src, k) => {
    const session = `a1b2c3d4e5f${k}`
    const t = (s: number): string => new Date(Date.UTC(2024, 3, 2, 10, k * 7, s)).toISOString()
    const base = { session, src_ip: src, sensor: "s1" }
    lines.push(JSON.stringify({ ...base, eventid: "cowrie.session.connect", src_port: 40000 + k, dst_ip: "198.51.100.1", dst_port: 22, protocol: "ssh", timestamp: t(0) }))
    lines.push(JSON.stringify({ ...base, eventid: "cowrie.login.success", username: "root", password: "123456", timestamp: t(1) }))
    for (const [i, input] of [
      "cd ~; chattr -ia .ssh; lockr -ia .ssh",
      `cd ~ && rm -rf .ssh && mkdir .ssh && echo "${KEY} mdrfckr">>.ssh/authorized_keys && chmod -R go= ~/.ssh && cd ~`,
      `echo "root:Pw${k}x9QzLm${k}"|chpasswd|bash`,
      "uname -a"
    ].entries()) {
      lines.push(JSON.stringify({ ...base, eventid: "cowrie.command.input", input, timestamp: t(2 + i) }))
    }
    lines.push(JSON.stringify({ ...base, eventid: "cowrie.session.closed", timestamp: t(10) }))
  })
  return `${lines.join("\n")}\n`
}

describe("assess", () => {
  const keyFile = join(tmp, "key-campaign.json")
  writeFileSync(keyFile, keyCampaignLines())

  test("assess --out - FILE exits 0 and prints assessment JSON with its schema id", () => {
    const r = runCli(["assess", "--quiet", "--out", "-", keyFile])
    expect(r.code).toBe(0)
    const json = JSON.parse(r.stdout) as AssessmentResult
    expect(json.schema).toBe("dshield-coordination/assessment@1")
    expect(json.schema).toBe(ASSESSMENT_SCHEMA_ID)
    expect(Schema.decodeUnknownExit(AssessmentResult)(json)._tag).toBe("Success")
    expect(json.input.sessions).toBe(6)
    expect(json.assessment.sessions).toHaveLength(6)
    expect(json.assessment.source_ips).toHaveLength(6)
    expect(json.assessment.null_population.kind).toBe("synthetic_background")
    expect(json.assessment.indicators).toContainEqual({ type: "ssh_key", value: KEY })
    expect(json.assessment.ttps).toContain("T1098.004")
    expect(json.assessment.confidence).toBeGreaterThanOrEqual(0.8)
  })

  test("with --reference the null population is the reference, and the human summary goes to stdout", () => {
    generateA()
    const r = runCli(["assess", "--reference", join(dirA, "cowrie.json"), keyFile])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain("6 sessions from 6 source IPs")
    expect(r.stdout).toMatch(/^assessment: (highly|likely)_coordinated \(confidence \d\.\d{3}/m)
    expect(r.stdout).toContain("compared with: 500 reference sessions")
  })
})

// ---------------------------------------------------------------------------------------
// usage errors

describe("usage errors exit 2 with one line", () => {
  test("generate without --out", () => {
    expectUsageError(runCli(["generate", "--sessions", "10"]), /generate needs --out DIR/)
  })

  test("generate with --sessions 0", () => {
    expectUsageError(runCli(["generate", "--sessions", "0", "--out", join(tmp, "never")]), /--sessions must be a whole number between 1 and/)
  })

  test("eval without --labels", () => {
    expectUsageError(runCli(["eval", join(tmp, "result.json")]), /eval needs --labels/)
  })

  test("eval without a result file", () => {
    expectUsageError(runCli(["eval", "--labels", join(dirA, "labels.tsv")]), /exactly one Result v1 JSON file/)
  })

  test("assess without inputs", () => {
    expectUsageError(runCli(["assess"]), /assess needs at least one input/)
  })
})

describe("replay", () => {
  const dir = mkdtempSync(join(tmpdir(), "dshield-replay-"))
  const input = join(dir, "cowrie.json")
  const manifest = join(dir, "manifest.json")

  test("a recorded run replays to the identical digest; a changed option is detected; a changed input is refused", () => {
    expect(runCli(["generate", "--sessions", "300", "--seed", "12", "--out", dir, "--quiet"]).code).toBe(0)
    const first = runCli(["analyze", "--quiet", "--out", join(dir, "r.json"), "--manifest", manifest, input])
    expect(first.code).toBe(0)
    const replay = runCli(["replay", manifest])
    expect(replay.code).toBe(0)
    expect(replay.stdout).toContain("identical result")

    const tampered = JSON.parse(readFileSync(manifest, "utf8")) as { config: { seed: number } }
    tampered.config.seed = tampered.config.seed + 1
    writeFileSync(join(dir, "tampered.json"), JSON.stringify(tampered))
    const differs = runCli(["replay", join(dir, "tampered.json")])
    expect(differs.code).toBe(1)
    expect(differs.stderr).toContain("Replay differs")

    // A pool that cannot be reached is no verdict on the run: exit 2, not 1 ("differs").
    const unreachable = runCli(["replay", "--nats", "nats://127.0.0.1:1", manifest])
    expect(unreachable.code).toBe(2)
    expect(unreachable.stderr).toContain("The run could not be replayed: Cannot connect to NATS")

    writeFileSync(input, `${readFileSync(input, "utf8")}\n`)
    const changed = runCli(["replay", manifest])
    expect(changed.code).toBe(2)
    expect(changed.stderr).toContain("changed since the run was recorded")
  }, 60_000)

  test("inputs given as relative paths are found wherever replay runs; a stdin run asks for its input again", () => {
    const data = join(dir, "relative")
    expect(runCli(["generate", "--sessions", "200", "--seed", "14", "--out", data, "--quiet"]).code).toBe(0)
    const recorded = join(dir, "elsewhere", "relative-manifest.json")
    mkdirSync(dirname(recorded), { recursive: true })
    // Analysed from the data's directory, the input named "cowrie.json".
    const first = Bun.spawnSync([process.execPath, join(REPO, "src/cli/main.ts"), "analyze", "--quiet", "--manifest", recorded, "cowrie.json"], { cwd: data, stdout: "pipe", stderr: "pipe" })
    expect(first.exitCode).toBe(0)
    expect((JSON.parse(readFileSync(recorded, "utf8")) as { inputs: Array<{ path: string }> }).inputs[0]!.path).toBe("cowrie.json")
    const replay = runCli(["replay", "--out", join(dir, "relative-replayed.json"), recorded])
    expect(replay.stderr).toBe("")
    expect(replay.code).toBe(0)
    expect(existsSync(join(dir, "relative-replayed.json"))).toBe(true)

    const bytes = readFileSync(join(data, "cowrie.json"))
    const fromStdin = join(dir, "stdin-manifest.json")
    expect(runCli(["analyze", "--quiet", "--manifest", fromStdin, "-"], bytes).code).toBe(0)
    const without = runCli(["replay", fromStdin])
    expect(without.code).toBe(2)
    expect(without.stderr).toContain("The recorded run read stdin")
    expect(without.stderr).toContain("pipe the same input into replay")
    expect(runCli(["replay", fromStdin], bytes).code).toBe(0)
  }, 60_000)
})

describe("analyze --depth (the LangGraph workflow)", () => {
  const dir = mkdtempSync(join(tmpdir(), "dshield-depth-"))
  test("deep prints tools, index status and a narrative; standard writes the in-process result; a bad depth is exit 2", () => {
    expect(runCli(["generate", "--sessions", "800", "--seed", "13", "--out", dir, "--quiet"]).code).toBe(0)
    const input = join(dir, "cowrie.json")
    const deep = runCli(["analyze", "--depth", "deep", "--limit", "1", input])
    expect(deep.code).toBe(0)
    expect(deep.stdout).toContain("campaign famil")
    expect(deep.stderr).toMatch(/tool asn-prefix: ok \(\d+ of \d+ addresses in \d+ autonomous systems/)
    expect(deep.stderr).toMatch(/tool geo: ok \(\d+ of \d+ addresses in \d+ countries/)
    expect(deep.stderr).toContain("enrichment index: skipped")
    expect(runCli(["analyze", "--quiet", "--out", join(dir, "a.json"), input]).code).toBe(0)
    expect(runCli(["analyze", "--quiet", "--depth", "standard", "--out", join(dir, "b.json"), input]).code).toBe(0)
    const strip = (t: string) => t.replace(/"(id|started_at|finished_at)": "[^"]+"/g, "")
    expect(strip(readFileSync(join(dir, "b.json"), "utf8"))).toBe(strip(readFileSync(join(dir, "a.json"), "utf8")))
    const bad = runCli(["analyze", "--depth", "extreme", input])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain("--depth must be minimal, standard or deep")
    // An input problem inside the workflow stays an input error (exit 2, no resume hint).
    const notALog = join(dir, "notes.txt")
    writeFileSync(notALog, "just some text\nnot a honeypot log\n")
    const unreadable = runCli(["analyze", "--depth", "standard", notALog])
    expect(unreadable.code).toBe(2)
    expect(unreadable.stderr).toContain(notALog)
    expect(unreadable.stderr).not.toContain("--thread")
  }, 60_000)
})

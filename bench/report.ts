/**
 * `npm run bench:report [-- DIR]`: the HTML report of a large analysis in headless Chromium.
 *
 * Generates SESSIONS synthetic sessions (default 300,000, seed 5) into DIR (default
 * /tmp/dshield-bench-report-<SESSIONS>, kept and reused), runs `analyze --html` on them
 * (whole process, timed), then opens the report from file:// RUNS times (default 3), each in
 * a fresh browser context, and measures in the page:
 *
 * - ready: from navigation start to the table being usable (data parsed, overview drawn,
 *   the first rows rendered, handlers attached: `html[data-ready-ms]`);
 * - filter: an assessment filter applied and the rows redrawn (to the next frame);
 * - search: a free-text search for a source IP (the first search builds the search index),
 *   measured from the keystroke to the redrawn rows, including the 150 ms typing debounce;
 * - campaign: opening the largest family (timeline and formation graph drawn).
 *
 * Needs Debian's Chromium (CHROMIUM_PATH, default /usr/bin/chromium). Prints a Markdown
 * table for docs/benchmarks.md.
 */
import { spawnSync } from "node:child_process"
import { existsSync, readFileSync, statSync } from "node:fs"
import { cpus } from "node:os"
import { join, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import type { Result } from "../src/domain/Result.ts"
import type { PageDocument } from "../test/e2e/pageDom.ts"
import { CHROMIUM_PATH, chromiumAvailable, launchChromium } from "../test/e2e/chromium.ts"

// The arrow functions handed to page.evaluate run in the page: these are the page's globals they use.
declare const document: PageDocument
declare const location: { hash: string }
declare const requestAnimationFrame: (callback: () => void) => number

const REPO = resolve(import.meta.dir, "..")
const SESSIONS = Number(process.env.SESSIONS ?? 300_000)
const RUNS = Number(process.env.RUNS ?? 3)
const dir = process.argv[2] ?? `/tmp/dshield-bench-report-${SESSIONS}`
const cli = (args: ReadonlyArray<string>): number => {
  const t0 = performance.now()
  const r = spawnSync(join(REPO, "bin/dshield-coord"), [...args], { cwd: REPO, stdio: ["ignore", "ignore", "inherit"] })
  if (r.status !== 0) throw new Error(`dshield-coord ${args.join(" ")} exited ${r.status}`)
  return performance.now() - t0
}

if (!chromiumAvailable()) {
  console.log(`no Chromium at ${CHROMIUM_PATH}: apt-get install chromium, or set CHROMIUM_PATH`)
  process.exit(2)
}
const input = join(dir, "cowrie.json")
if (!existsSync(input)) {
  console.log(`generating ${SESSIONS} sessions into ${dir} …`)
  cli(["generate", "--sessions", String(SESSIONS), "--seed", "5", "--out", dir, "--quiet"])
}
const html = join(dir, "report.html")
const resultPath = join(dir, "result.json")
console.log("analyze --html …")
const analyzeMs = cli(["analyze", input, "--out", resultPath, "--html", html, "--quiet"])
const reportMs = cli(["report", resultPath, "--html", join(dir, "report-from-result.html"), "--quiet"])
const result = JSON.parse(readFileSync(resultPath, "utf8")) as Result
const families = result.campaigns.filter((c) => c.parent_id === null)
const largest = [...families].sort((a, b) => b.sessions.length - a.sessions.length)[0]
const ip = largest?.source_ips.at(-1) ?? "203.0.113.1"
const url = pathToFileURL(html).href

interface Run {
  readonly wallToReady: number
  readonly ready: number
  readonly filter: number
  readonly search: number
  readonly campaign: number
}
const runs: Array<Run> = []
const browser = await launchChromium()
try {
  for (let i = 0; i < RUNS; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    const page = await context.newPage()
    const errors: Array<string> = []
    page.on("pageerror", (e) => errors.push(e.message))
    const t0 = performance.now()
    await page.goto(url, { timeout: 120_000 })
    await page.waitForSelector("html[data-ready=true]", { timeout: 120_000 })
    const wallToReady = performance.now() - t0
    const ready = Number(await page.getAttribute("html", "data-ready-ms"))
    const filter = await page.evaluate(async () => {
      const t = performance.now()
      const select = document.getElementById("f-assessment")!
      select.value = "highly_coordinated"
      select.dispatchEvent(new Event("change"))
      await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)))
      return performance.now() - t
    })
    const search = await page.evaluate(async (text) => {
      const count = document.getElementById("table-count")!
      const before = count.textContent
      const t = performance.now()
      const input = document.getElementById("f-search")!
      input.value = text
      input.dispatchEvent(new Event("input"))
      while (count.textContent === before && performance.now() - t < 10_000) await new Promise((r) => setTimeout(r, 5))
      await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)))
      return performance.now() - t
    }, ip)
    const t1 = performance.now()
    if (largest !== undefined) {
      await page.evaluate((id) => { location.hash = `campaign=${id}` }, largest.id)
      await page.waitForSelector(`#detail[data-campaign="${largest.id}"] #graph canvas`, { timeout: 60_000 })
    }
    const campaign = performance.now() - t1
    if (errors.length > 0) throw new Error(`page errors: ${errors.join("; ")}`)
    runs.push({ wallToReady, ready, filter, search, campaign })
    console.log(`run ${i + 1}: ready ${ready} ms (wall ${Math.round(wallToReady)}), filter ${Math.round(filter)} ms, search ${Math.round(search)} ms, largest family ${Math.round(campaign)} ms`)
    await context.close()
  }
} finally {
  await browser.close()
}

const median = (xs: ReadonlyArray<number>): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const m = (k: keyof Run) => Math.round(median(runs.map((r) => r[k])))
const mib = (path: string) => (statSync(path).size / 1_048_576).toFixed(1)
const chromium = spawnSync(CHROMIUM_PATH, ["--version"], { encoding: "utf8" }).stdout.trim()
console.log(`
machine: ${cpus()[0]?.model ?? "?"} (${cpus().length} cores), ${chromium}, ${new Date().toISOString().slice(0, 10)}
input: ${SESSIONS} sessions, ${result.campaigns.length} campaigns (${families.length} families), largest family ${largest?.sessions.length ?? 0} sessions

| step | median of ${RUNS} |
|---|---:|
| analyze --html, whole process | ${(analyzeMs / 1000).toFixed(1)} s |
| report RESULT --html (Result alone) | ${(reportMs / 1000).toFixed(1)} s |
| report size (analyze --html / from the Result alone) | ${mib(html)} MiB / ${mib(join(dir, "report-from-result.html"))} MiB |
| navigation → table ready (in page) | ${m("ready")} ms |
| navigation → table ready (seen by the driver) | ${m("wallToReady")} ms |
| assessment filter applied, rows redrawn | ${m("filter")} ms |
| first free-text search (builds the index; 150 ms debounce included) | ${m("search")} ms |
| **open + filter** (ready + filter) | **${m("ready") + m("filter")} ms** |
| open the largest family (timeline + graph) | ${m("campaign")} ms |
`)

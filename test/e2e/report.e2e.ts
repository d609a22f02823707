/**
 * `npm run e2e:report`: the HTML report in a real browser. Outside `bun test` (its name does
 * not end in .test.ts), because it needs Debian's Chromium (`apt-get install chromium`),
 * which this script does not install: without it, or without the istec corpus in
 * ../shared/corpora, it says so and skips (exit 0; REQUIRE_CHROMIUM=1 makes that a failure).
 *
 * 1. `node bin/dshield-coord.js analyze istec --html OUT`, opened from file:// in headless
 *    Chromium: every family of the Result is found in the table, a filter narrows it, a
 *    campaign's timeline and formation graph draw (canvases with size and pixels), the ATT&CK
 *    section lists the unmapped command lines; no console error, no request but the file.
 *    A screenshot goes to docs/report-istec.png (1280×800).
 * 2. A crafted Result full of markup and script in attacker-controlled strings: no dialog
 *    opens, no element is injected, the strings show as text.
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import type { Page } from "playwright-core"
import type { Result } from "../../src/domain/Result.ts"
import { renderReport } from "../../src/report/renderReport.ts"
import type { PageDocument, PageElement } from "./pageDom.ts"
import { CHROMIUM_PATH, chromiumAvailable, launchChromium } from "./chromium.ts"

// The arrow functions handed to page.evaluate run in the page: these are the page's globals they use.
declare const document: PageDocument
declare const location: { hash: string }
declare const requestAnimationFrame: (callback: () => void) => number

const REPO = resolve(import.meta.dir, "../..")
const ISTEC = resolve(REPO, "../shared/corpora/istec-tpot-2022-06.cowrie.json.gz")
const SCREENSHOT = resolve(REPO, "docs/report-istec.png")

const skip = (why: string): never => {
  const required = process.env.REQUIRE_CHROMIUM === "1"
  console.log(`${required ? "FAIL" : "SKIPPED"}: e2e:report — ${why}`)
  process.exit(required ? 1 : 0)
}
if (!chromiumAvailable()) skip(`no Chromium at ${CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH)`)
if (!existsSync(ISTEC)) skip(`the istec corpus is missing (${ISTEC})`)

let passed = 0
let failed = 0
const check = async (name: string, body: () => Promise<void> | void): Promise<void> => {
  const t0 = performance.now()
  try {
    await body()
    passed++
    console.log(`(pass) ${name} [${Math.round(performance.now() - t0)} ms]`)
  } catch (error) {
    failed++
    console.log(`(fail) ${name}\n       ${error instanceof Error ? error.message : String(error)}`)
  }
}
const assert: (ok: unknown, message: string) => asserts ok = (ok, message) => {
  if (!ok) throw new Error(message)
}

/** Every canvas under `selector` with its size and how many of its pixels are painted. */
const canvases = (page: Page, selector: string) =>
  page.$$eval(`${selector} canvas`, (list) =>
    list.map((c) => {
      const canvas = c as unknown as PageElement
      let painted = 0
      if (canvas.width > 0 && canvas.height > 0) {
        const pixels = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) painted++
      }
      return { width: canvas.width, height: canvas.height, painted }
    })
  )

/**
 * The number of campaigns the table says it shows, once it equals `expected` (or, with
 * `atLeast`, reaches it). A function with an argument, not a string: the page's CSP forbids
 * evaluating strings, so Playwright could not poll a string predicate there.
 */
const shownCount = async (page: Page, expected: number, atLeast = false): Promise<number> => {
  await page.waitForFunction(
    ([want, least]) => {
      const n = Number(document.getElementById("table-count")?.dataset.shown)
      return least ? n >= want : n === want
    },
    [expected, atLeast] as const,
    { timeout: 5000 }
  )
  return Number(await page.getAttribute("#table-count", "data-shown"))
}

const tmp = mkdtempSync(join(tmpdir(), "dshield-e2e-report-"))
const htmlPath = join(tmp, "istec.html")
const resultPath = join(tmp, "istec.json")
const analyzed = spawnSync("node", [resolve(REPO, "bin/dshield-coord.js"), "analyze", ISTEC, "--html", htmlPath, "--out", resultPath, "--quiet"], {
  cwd: REPO,
  encoding: "utf8"
})
if (analyzed.status !== 0) {
  console.log(`(fail) analyze --html exited ${analyzed.status}: ${analyzed.stderr}`)
  process.exit(1)
}
const result = JSON.parse(readFileSync(resultPath, "utf8")) as Result
const families = result.campaigns.filter((c) => c.parent_id === null)
const fileUrl = pathToFileURL(htmlPath).href
console.log(`istec report: ${(readFileSync(htmlPath).length / 1_048_576).toFixed(2)} MiB, ${result.campaigns.length} campaigns, ${families.length} families`)

const browser = await launchChromium()
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  const page = await context.newPage()
  const errors: Array<string> = []
  const requests: Array<string> = []
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") errors.push(`${m.type()}: ${m.text()}`)
  })
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`))
  page.on("request", (r) => {
    if (r.url() !== fileUrl && !r.url().startsWith(`${fileUrl}#`)) requests.push(r.url())
  })

  await check("the report opens from file:// and the table is ready", async () => {
    await page.goto(fileUrl)
    await page.waitForSelector("html[data-ready=true]", { timeout: 15_000 })
    const shown = await shownCount(page, 1, true)
    assert(shown === result.campaigns.length, `the table shows ${shown} campaigns, the Result has ${result.campaigns.length}`)
  })

  await check(`every family of the Result (${families.length}) is found in the table`, async () => {
    for (const family of families) {
      await page.fill("#f-search", family.id)
      await page.waitForSelector(`#campaign-table .row[data-id="${family.id}"]`, { timeout: 5000 })
      const n = await shownCount(page, 1, true)
      assert(n >= 1, `searching ${family.id} shows nothing`)
    }
    await page.fill("#f-search", "")
    await shownCount(page, result.campaigns.length)
  })

  await check("filters narrow the table: assessment, level, min confidence, sessions", async () => {
    const highly = result.campaigns.filter((c) => c.assessment === "highly_coordinated").length
    await page.selectOption("#f-assessment", "highly_coordinated")
    const n1 = await shownCount(page, highly)
    assert(n1 < result.campaigns.length && n1 > 0, `assessment filter shows ${n1} of ${result.campaigns.length}`)
    const badges = await page.$$eval("#campaign-table .row .badge", (list) => list.map((b) => b.textContent))
    assert(badges.every((b) => b === "highly coordinated"), `rows with another assessment: ${badges.join(", ")}`)
    await page.click("#f-reset")
    await page.selectOption("#f-level", "family")
    await shownCount(page, families.length)
    await page.fill("#f-minconf", "0.9")
    const strong = families.filter((c) => c.confidence >= 0.9).length
    await shownCount(page, strong)
    await page.click("#f-reset")
    await page.fill("#f-minsessions", "100")
    await shownCount(page, result.campaigns.filter((c) => c.sessions.length >= 100).length)
    await page.click("#f-reset")
    await shownCount(page, result.campaigns.length)
  })

  await check("sorting by sessions puts the largest campaign first", async () => {
    await page.click('#campaign-table .head [data-sort="sessions"]')
    const first = await page.getAttribute("#campaign-table .row", "data-id")
    const largest = [...result.campaigns].sort((a, b) => b.sessions.length - a.sessions.length)[0]!
    assert(first === largest.id, `first row ${first}, largest ${largest.id}`)
    await page.click("#f-reset")
  })

  // The campaign with most variants and waves below it, so the graph has a tree to draw.
  const tree = (id: string): number => result.campaigns.filter((c) => c.parent_id === id).reduce((n, c) => n + 1 + tree(c.id), 0)
  const shown = [...families].sort((a, b) => tree(b.id) - tree(a.id) || b.sessions.length - a.sessions.length)[0]!
  const variant = result.campaigns.find((c) => c.parent_id === shown.id && c.level === "variant") ?? shown

  await check("clicking a campaign opens it: timeline, evidence, indicators, techniques, children, graph", async () => {
    await page.fill("#f-search", variant.id)
    await page.click(`#campaign-table .row[data-id="${variant.id}"]`)
    await page.waitForSelector(`#detail[data-campaign="${variant.id}"]`)
    await page.waitForFunction(() => document.querySelectorAll("#graph canvas").length > 0 && document.querySelectorAll("#timeline canvas").length > 0)
    await page.waitForTimeout(300)
    const timeline = await canvases(page, "#timeline")
    assert(timeline.length >= 2, `the timeline has ${timeline.length} charts`)
    assert(timeline.every((c) => c.width > 0 && c.height > 0 && c.painted > 100), `a timeline chart is empty: ${JSON.stringify(timeline)}`)
    const graph = await canvases(page, "#graph")
    assert(graph.some((c) => c.width > 0 && c.height > 0 && c.painted > 500), `the graph drew nothing: ${JSON.stringify(graph)}`)
    const note = await page.textContent("#timeline")
    assert(note !== null && /Start times of [\d,]+ of the [\d,]+ sessions/.test(note), "the timeline does not chart the sessions' start times")
    const evidence = await page.$$eval("#evidence tr.evidence", (rows) => rows.map((r) => r.textContent ?? ""))
    assert(evidence.length === Object.keys(variant.evidence).length, `${evidence.length} evidence rows for ${Object.keys(variant.evidence).length} kinds`)
    assert(evidence.every((e) => /p = [^:]+: /.test(e)), "an evidence row has no explained p-value")
    if (variant.indicators.length > 0) {
      const copies = await page.$$eval("#indicators tr.indicator button.copy", (b) => b.length)
      assert(copies === variant.indicators.length, `${copies} copy buttons for ${variant.indicators.length} indicators`)
      await page.click("#indicators tr.indicator button.copy")
      await page.waitForSelector("#indicators button.copied")
    }
    const techniques = await page.$$eval("#techniques tbody tr", (r) => r.length)
    assert(techniques === (variant.techniques ?? []).length, `${techniques} technique rows`)
    const children = result.campaigns.filter((c) => c.parent_id === variant.id).length
    if (children > 0) assert((await page.$$eval("#children tbody tr", (r) => r.length)) >= children, "children missing")
  })

  await check("the screenshot docs/report-istec.png", async () => {
    await page.evaluate(() => document.getElementById("detail")!.scrollIntoView({ block: "start" }))
    await page.waitForTimeout(200)
    await page.screenshot({ path: SCREENSHOT, type: "png" })
    assert(readFileSync(SCREENSHOT).length > 10_000, "the screenshot is empty")
  })

  await check("a link to a campaign (#campaign=ID) opens it; its variants and waves open from its list", async () => {
    await page.click("#f-reset")
    await page.evaluate((id) => { location.hash = `campaign=${id}` }, shown.id)
    await page.waitForSelector(`#detail[data-campaign="${shown.id}"]`)
    const crumbs = await page.textContent("#detail .crumbs")
    assert(crumbs !== null && crumbs.trim() === "family", `a family has no parents: "${crumbs}"`)
    const child = result.campaigns.find((c) => c.parent_id === shown.id)
    if (child !== undefined) {
      await page.click(`#children tr[data-id="${child.id}"]`)
      await page.waitForSelector(`#detail[data-campaign="${child.id}"]`)
      await page.waitForSelector("#graph canvas")
    }
  })

  await check("the ATT&CK section: techniques with counts and the command lines no rule maps", async () => {
    const techniques = await page.$$eval("#attack-techniques tbody tr", (r) => r.length)
    assert(techniques > 0, "no technique rows")
    const unmapped = await page.$$eval("#unmapped tbody tr", (r) => r.length)
    assert(unmapped > 0, "no unmapped command lines")
    const note = await page.textContent("#unmapped-note")
    assert(note !== null && /distinct command lines in the input; [\d,]+ map to no technique/.test(note), `note: ${note}`)
  })

  await check("no console error or warning, no request but the file itself", () => {
    assert(errors.length === 0, errors.join("\n"))
    assert(requests.length === 0, `requests: ${requests.join(", ")}`)
  })

  // 2. Attacker-controlled strings stay text.
  await check("a crafted Result with markup in its strings: no dialog, no injected element, shown as text", async () => {
    const evil = `<img src=x onerror="alert('img')"><script>alert('script')</script></script><!--`
    const crafted: Result = {
      ...result,
      run: { ...result.run, id: `run-${evil}` },
      campaigns: result.campaigns.map((c) => ({
        ...c,
        name: `${c.name} ${evil}`,
        indicators: [...c.indicators, { type: "url", value: `javascript:alert('url')//${evil}` }, { type: "command", value: `echo ${evil}` }]
      }))
    }
    const evilPath = join(tmp, "crafted.html")
    writeFileSync(evilPath, renderReport(crafted, { commands: [{ command: `curl ${evil}`, sessions: 3, techniques: [] }] }))
    const p = await context.newPage()
    const dialogs: Array<string> = []
    const problems: Array<string> = []
    p.on("dialog", (d) => {
      dialogs.push(d.message())
      void d.dismiss()
    })
    p.on("pageerror", (e) => problems.push(e.message))
    p.on("console", (m) => {
      if (m.type() === "error") problems.push(m.text())
    })
    await p.goto(`${pathToFileURL(evilPath).href}#campaign=${shown.id}`)
    await p.waitForSelector("html[data-ready=true]", { timeout: 15_000 })
    await p.waitForSelector(`#detail[data-campaign="${shown.id}"]`)
    await p.waitForTimeout(300)
    const injected = await p.$$eval("#app img, #app script, #app iframe, #app a[href]", (l) => l.length)
    const text = await p.textContent("#detail h2")
    const unmapped = await p.textContent("#unmapped")
    await p.close()
    assert(dialogs.length === 0, `dialogs opened: ${dialogs.join(", ")}`)
    assert(injected === 0, `${injected} elements were injected`)
    assert(text !== null && text.includes(evil), "the campaign name is not shown as text")
    assert(unmapped !== null && unmapped.includes(`curl ${evil}`), "the command line is not shown as text")
    assert(problems.length === 0, problems.join("\n"))
  })
} finally {
  await browser.close()
}

console.log(`\n${passed} passed, ${failed} failed`)
process.exit(failed === 0 ? 0 : 1)

/**
 * The HTML report: one self-contained file an analyst opens offline. Every script and style
 * is inlined (uPlot for the time charts, Cytoscape for the formation graph, read from
 * node_modules at render time, and the report's own browser code and styles from
 * src/report/browser/), a Content-Security-Policy forbids any network access, and the data
 * goes in as one JSON block that the browser code renders with textContent only: nothing an
 * attacker wrote (commands, user names, URLs) ever becomes markup.
 *
 * Deterministic: the same Result and extras give the same bytes (no clock, no randomness;
 * the libraries come from the pinned packages).
 *
 * @since 0.1.0
 */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"
import { TECHNIQUE_NAMES } from "../analytics/attackTechniques.ts"
import type { Result } from "../domain/Result.ts"
import type { ReportExtras } from "./extras.ts"

export type { ReportExtras } from "./extras.ts"

/** The version of the report's embedded data block. */
export const REPORT_DATA_SCHEMA = "dshield-coordination/report-data@1" as const

/** The policy of the report page: inline scripts and styles, data: images, nothing else. */
export const REPORT_CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

/** Command lines no rule maps, most used first, kept in the file. */
const UNMAPPED_LIMIT = 2000
/** Command lines a rule maps, most used first, kept in the file. */
const MAPPED_LIMIT = 100

/** Per family, each member session's start in seconds after `base`, aligned with the family's `sessions` (-1: unknown). */
interface FamilyTimes {
  readonly base: number
  readonly offsets: ReadonlyArray<number>
}

export interface ReportData {
  readonly schema: typeof REPORT_DATA_SCHEMA
  readonly result: Result
  readonly session_times: {
    readonly sessions_read: number
    readonly families: Readonly<Record<string, FamilyTimes>>
  } | null
  readonly commands: {
    readonly distinct: number
    readonly unmapped_distinct: number
    readonly unmapped: ReadonlyArray<{ readonly command: string; readonly sessions: number }>
    readonly mapped: ReadonlyArray<{ readonly command: string; readonly sessions: number; readonly techniques: ReadonlyArray<{ readonly technique: string; readonly rule: string }> }>
    readonly technique_names: Readonly<Record<string, string>>
  } | null
}

const familyTimes = (result: Result, starts: ReadonlyMap<string, number>): Record<string, FamilyTimes> => {
  const families: Record<string, FamilyTimes> = {}
  for (const campaign of result.campaigns) {
    if (campaign.parent_id !== null) continue
    let min = Infinity
    const seconds = campaign.sessions.map((id) => {
      const ms = starts.get(id)
      if (ms === undefined) return -1
      const s = Math.floor(ms / 1000)
      if (s < min) min = s
      return s
    })
    if (min === Infinity) continue
    families[campaign.id] = { base: min, offsets: seconds.map((s) => (s < 0 ? -1 : s - min)) }
  }
  return families
}

/** The data block of the report: the Result and what the extras add to it. */
export const reportData = (result: Result, extras: ReportExtras = {}): ReportData => {
  const commands = extras.commands
  const unmapped = commands?.filter((c) => c.techniques.length === 0)
  const mapped = commands?.filter((c) => c.techniques.length > 0).slice(0, MAPPED_LIMIT)
  const names: Record<string, string> = {}
  for (const c of mapped ?? []) for (const t of c.techniques) names[t.technique] = TECHNIQUE_NAMES[t.technique] ?? t.technique
  return {
    schema: REPORT_DATA_SCHEMA,
    result,
    session_times: extras.sessionStarts === undefined
      ? null
      : { sessions_read: extras.sessionStarts.size, families: familyTimes(result, extras.sessionStarts) },
    commands: commands === undefined || unmapped === undefined || mapped === undefined
      ? null
      : {
        distinct: commands.length,
        unmapped_distinct: unmapped.length,
        unmapped: unmapped.slice(0, UNMAPPED_LIMIT).map((c) => ({ command: c.command, sessions: c.sessions })),
        mapped: mapped.map((c) => ({ command: c.command, sessions: c.sessions, techniques: c.techniques })),
        technique_names: Object.fromEntries(Object.entries(names).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      }
  }
}

/**
 * JSON that is safe inside `<script type="application/json">`: every `<`, `>` and `&` (and
 * the two JavaScript line separators) as a \u escape, so no `</script` or `<!--` can appear.
 */
export const scriptSafeJson = (value: unknown): string =>
  JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)

/** Code inlined in a <script> element must not close it or open a comment there. */
const inlineScript = (code: string): string => code.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "<\\!--")
const inlineStyle = (css: string): string => css.replace(/<\/(style)/gi, "\\3c /$1")

const htmlText = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === '"' ? "&quot;" : "&#39;"))

interface Assets {
  readonly uplotJs: string
  readonly uplotCss: string
  readonly cytoscapeJs: string
  readonly reportJs: string
  readonly reportCss: string
}

let assets: Assets | undefined

/** The libraries from node_modules and the report's own browser code, read once per process. */
export const reportAssets = (): Assets => {
  if (assets !== undefined) return assets
  const require = createRequire(import.meta.url)
  const read = (path: string): string => readFileSync(path, "utf8")
  const own = (name: string): string => read(fileURLToPath(new URL(`./browser/${name}`, import.meta.url)))
  assets = {
    uplotJs: read(require.resolve("uplot/dist/uPlot.iife.min.js")),
    uplotCss: read(require.resolve("uplot/dist/uPlot.min.css")),
    cytoscapeJs: read(require.resolve("cytoscape/dist/cytoscape.min.js")),
    reportJs: own("report.js"),
    reportCss: own("report.css")
  }
  return assets
}

/** The report of a Result as one HTML document (see the module comment). */
export const renderReport = (result: Result, extras: ReportExtras = {}): string => {
  const a = reportAssets()
  const title = `DShield campaigns — ${result.run.id}`
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="dshield-coord ${htmlText(result.run.engine_version)}">
<title>${htmlText(title)}</title>
<style>${inlineStyle(a.uplotCss)}</style>
<style>${inlineStyle(a.reportCss)}</style>
</head>
<body>
<noscript><p class="noscript">This report draws its tables and charts with JavaScript, which is turned off. The data is in the element with id "report-data" of this file (Result v1 as JSON).</p></noscript>
<div id="app" aria-live="polite"><p class="loading">Loading the report…</p></div>
<script type="application/json" id="report-data">${scriptSafeJson(reportData(result, extras))}</script>
<script>${inlineScript(a.uplotJs)}</script>
<script>${inlineScript(a.cytoscapeJs)}</script>
<script>${inlineScript(a.reportJs)}</script>
</body>
</html>
`
}

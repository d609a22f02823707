/**
 * The terminal view of a result: one row per campaign, children indented under their parent,
 * followed by the input summary.
 */
import type { Campaign } from "../domain/Campaign.ts"
import { printable } from "../domain/printable.ts"
import type { Result } from "../domain/Result.ts"

const pad = (s: string, width: number): string => (s.length >= width ? s.slice(0, width) : s + " ".repeat(width - s.length))
const padLeft = (s: string, width: number): string => (s.length >= width ? s : " ".repeat(width - s.length) + s)
const cut = (s: string, width: number): string => (s.length > width ? `${s.slice(0, width - 1)}…` : s)

const INDENT: Record<Campaign["level"], string> = { family: "", variant: "  ", wave: "    " }

const indicatorText = (c: Campaign): string => {
  const shown = c.indicators.slice(0, 2).map((i) => {
    const v = i.type === "ssh_key" ? `${i.value.split(" ")[0]} …${i.value.slice(-8)}` : i.type === "sha256" ? i.value.slice(0, 16) : i.value
    return `${i.type}:${cut(printable(v), 40)}`
  })
  return shown.join(", ")
}

const when = (iso: string): string => `${iso.slice(0, 10)} ${iso.slice(11, 16)}`

/**
 * The campaigns as a terminal table, then one summary line. `withHistory`: the sessions
 * include the store's history (analyze --store), not only those of the files read.
 */
export const renderCampaignTable = (result: Result, limit: number, withHistory = false): string => {
  const lines: Array<string> = []
  const header = [
    pad("CAMPAIGN", 46),
    pad("LEVEL", 7),
    padLeft("SESS", 6),
    padLeft("IPS", 5),
    pad(" FIRST SEEN", 17),
    pad(" LAST SEEN", 17),
    padLeft("CONF", 5),
    " TOP INDICATORS"
  ].join(" ")
  const rows = result.campaigns.slice(0, limit).map((c) =>
    [
      pad(cut(INDENT[c.level] + (c.level === "wave" ? `wave from ${when(c.first_seen)}` : printable(c.name)), 46), 46),
      pad(c.level, 7),
      padLeft(String(c.sessions.length), 6),
      padLeft(String(c.source_ips.length), 5),
      " " + pad(when(c.first_seen), 16),
      " " + pad(when(c.last_seen), 16),
      padLeft(c.confidence.toFixed(2), 5),
      " " + indicatorText(c)
    ].join(" ")
  )
  if (result.input.sessions === 0) {
    lines.push("No sessions were read: the input holds no events of a known format (see the warnings above).")
  } else if (result.campaigns.length === 0) {
    lines.push("No campaigns found: no two sessions share an artefact (SSH key, payload, URL, command sequence).")
  } else {
    lines.push(header, ...rows)
    if (result.campaigns.length > limit) {
      lines.push(`… ${result.campaigns.length - limit} more campaigns (use --limit, or --out for the full JSON)`)
    }
  }
  const families = result.campaigns.filter((c) => c.level === "family").length
  const rejected = Object.values(result.input.rejected).reduce((a, b) => a + b, 0)
  lines.push(
    "",
    `${result.input.events} events from ${result.input.files.length} file(s); ${result.input.sessions} sessions${withHistory ? " with the stored history" : ""}, ` +
      `${families} families, ${result.campaigns.length} campaigns in all; ${result.unclustered_sessions} sessions unclustered; ` +
      `${rejected} ${rejected === 1 ? "line" : "lines"} rejected` +
      (result.input.duplicate_events === undefined ? "." : `; ${result.input.duplicate_events} events read twice, counted once.`)
  )
  return lines.join("\n") + "\n"
}

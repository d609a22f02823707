/**
 * tool-coordinator: runs the enrichment tools a deep analysis asks for (ASN / prefix / geo,
 * threat intelligence) over the campaigns' source addresses. Threat intelligence is the feed
 * `dshield-coord import --misp` keeps (src/intel/threatIntelFeed.ts; DSHIELD_THREAT_INTEL or
 * ./.dshield-coord/threat-intel.json): which addresses it knows, from which MISP event. ASN
 * and country come from the offline databases the engine ships (src/enrichment/Geography.ts).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { defaultGeography, type Geography } from "../../src/enrichment/Geography.ts"
import { feedMatches, feedPath, readFeed } from "../../src/intel/threatIntelFeed.ts"
import { type Handlers, protocol } from "../kernel/Actor.ts"

export class ToolFailed extends Schema.TaggedError<ToolFailed>()("ToolFailed", { message: Schema.String }) {}

export const ToolReport = Schema.Struct({ tool: Schema.String, status: Schema.Literals(["ok", "unavailable"]), detail: Schema.String })
export interface ToolReport extends Schema.Schema.Type<typeof ToolReport> {}

export const ToolCoordinator = protocol("tool-coordinator", "1.0.0", {
  enrich: { payload: Schema.Struct({ addresses: Schema.Array(Schema.String) }), success: Schema.Array(ToolReport), error: ToolFailed }
})

/** Addresses named in a report before "and N more", and tags named per address. */
const LISTED = 5
const TAGS_SHOWN = 3

/** The threat-intel tool's report on these addresses, from the feed file at `path`. */
export const threatIntelReport = (path: string, addresses: ReadonlyArray<string>): ToolReport => {
  const read = readFeed(path)
  if ("missing" in read) {
    return { tool: "threat-intel", status: "unavailable", detail: `no threat-intelligence feed at ${path}; import one with dshield-coord import --misp URL --tag TAG` }
  }
  if ("error" in read) return { tool: "threat-intel", status: "unavailable", detail: read.error }
  const matches = feedMatches(read.feed, "ip", addresses)
  const listed = matches.slice(0, LISTED).map((m) => {
    const events = [...new Set(m.sightings.map((s) => s.event_info === "" ? s.event_uuid : JSON.stringify(s.event_info)))]
    const tags = [...new Set(m.sightings.flatMap((s) => s.tags))].sort()
    const shown = tags.length <= TAGS_SHOWN ? tags.join(", ") : `${tags.slice(0, TAGS_SHOWN).join(", ")} and ${tags.length - TAGS_SHOWN} more`
    return `${m.value} (event ${events.join(", ")}${tags.length === 0 ? "" : `; tags ${shown}`})`
  })
  const more = matches.length > LISTED ? `; and ${matches.length - LISTED} more` : ""
  return {
    tool: "threat-intel",
    status: "ok",
    detail: `${matches.length} of ${addresses.length} addresses are on the threat-intel feed (${read.feed.indicators.length} indicators from ${read.feed.imports.length} import(s) in ${path})${matches.length === 0 ? "" : `: ${listed.join("; ")}${more}`}`
  }
}

/** The largest groups of addresses by a key, as "KEY 30% (12)". */
const leading = (keys: ReadonlyArray<string>, top: number): string => {
  const counts = new Map<string, number>()
  for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1)
  return [...counts]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, top)
    .map(([k, n]) => `${k} ${Math.round((100 * n) / keys.length)}% (${n})`)
    .join(", ")
}

/** The ASN and country tools' reports on these addresses. */
export const geographyReports = (geography: Geography, addresses: ReadonlyArray<string>): Array<ToolReport> => {
  const asns = addresses.flatMap((ip) => {
    const a = geography.asnOf(ip)
    return a === undefined ? [] : [`AS${a.asn}${a.organisation === "" ? "" : ` ${a.organisation}`}`]
  })
  const countries = addresses.flatMap((ip) => geography.countryOf(ip) ?? [])
  const kindOf = geography.networkKindOf
  const kinds = kindOf === undefined ? [] : addresses.flatMap((ip) => kindOf(ip) ?? [])
  const networks = kinds.length === 0 ? "" : `; ${kinds.length} classified by network: ${leading(kinds, 2)}`
  return [
    {
      tool: "asn-prefix",
      status: "ok",
      detail: `${asns.length} of ${addresses.length} addresses in ${new Set(asns).size} autonomous systems (${geography.sourceOf("asn")})${asns.length === 0 ? "" : `: ${leading(asns, 5)}`}${networks}`
    },
    {
      tool: "geo",
      status: "ok",
      detail: `${countries.length} of ${addresses.length} addresses in ${new Set(countries).size} countries (${geography.sourceOf("country")}, the registry country of the announcing network)${countries.length === 0 ? "" : `: ${leading(countries, 5)}`}`
    }
  ]
}

/** The tool coordinator reading the threat-intel feed at `path`. */
export const toolCoordinatorBehaviourWith = (path: string): Effect.Effect<Handlers<typeof ToolCoordinator>> =>
  Effect.succeed({
    enrich: ({ addresses }) => Effect.sync(() => [...geographyReports(defaultGeography(), addresses), threatIntelReport(path, addresses)])
  })

/** The tool coordinator with the feed of DSHIELD_THREAT_INTEL, else the default path (read when asked). */
export const toolCoordinatorBehaviour: Effect.Effect<Handlers<typeof ToolCoordinator>> = Effect.suspend(() => toolCoordinatorBehaviourWith(feedPath(undefined)))

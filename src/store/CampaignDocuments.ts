/**
 * Stored campaigns as Result v1 campaigns again, for exporting them without the Result file
 * that created them (`dshield-coord export --campaign ID`): a family with every variant and
 * wave under it, its members, source addresses, evidence, indicators, techniques and the
 * links that formed it, as the store holds them after the latest analysis that matched it.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Campaign } from "../domain/Campaign.ts"
import { type Row, SqlStore, StoreError } from "./SqlStore.ts"
import { DEFAULT_TENANT, iso } from "./AnalysisRepository.ts"

export interface StoredFamily {
  /** The family first, then its variants and waves (by level, then id). */
  readonly campaigns: ReadonlyArray<Campaign>
  /** When the store last changed any of them (a stable time for the export's run). */
  readonly updatedAt: string
}

const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)
const LEVEL_ORDER: Record<string, number> = { family: 0, variant: 1, wave: 2 }

const decodeCampaign = Schema.decodeUnknownSync(Campaign)

/**
 * The family of campaign `id` (the family itself, or the family above a variant or wave) in
 * `tenant`; undefined when the tenant has no campaign of that id.
 */
export const storedFamily = Effect.fn("CampaignDocuments.storedFamily")(function*(id: string, tenant: string = DEFAULT_TENANT) {
  const store = yield* SqlStore
  const root = yield* store.query(
    `WITH RECURSIVE up AS (
       SELECT id, parent_id FROM campaigns WHERE id = $1 AND tenant = $2
       UNION ALL
       SELECT c.id, c.parent_id FROM campaigns c JOIN up ON c.id = up.parent_id WHERE c.tenant = $2
     )
     SELECT id FROM up WHERE parent_id IS NULL`,
    [id, tenant]
  )
  if (root.length === 0) return undefined
  const rows = yield* store.query(
    `WITH RECURSIVE down AS (
       SELECT * FROM campaigns WHERE id = $1 AND tenant = $2
       UNION ALL
       SELECT c.* FROM campaigns c JOIN down ON c.parent_id = down.id WHERE c.tenant = $2
     )
     SELECT id, parent_id, level, name, confidence, confidence_low, confidence_high, assessment, evidence, ttps,
            first_seen, last_seen, formed_by, techniques, updated_at
     FROM down`,
    [String(root[0]!.id), tenant]
  )
  const ids = rows.map((r) => String(r.id))
  const members = yield* store.query(
    "SELECT campaign_id, session_id FROM campaign_sessions WHERE campaign_id = ANY($1::text[])",
    [ids]
  )
  const sources = yield* store.query(
    `SELECT DISTINCT cs.campaign_id, host(a.src_ip) AS ip
     FROM campaign_sessions cs JOIN attack_sessions a ON a.id = cs.session_id AND a.tenant = $2
     WHERE cs.campaign_id = ANY($1::text[]) AND a.src_ip IS NOT NULL`,
    [ids, tenant]
  )
  // The store adds each member's address as an `ip` indicator (so GET /campaigns?indicator=
  // finds campaigns by address); a Result reports addresses as source_ips, never as indicators.
  const indicators = yield* store.query(
    "SELECT campaign_id, type, value, name FROM campaign_indicators WHERE campaign_id = ANY($1::text[]) AND type <> 'ip'",
    [ids]
  )
  const grouped = (list: ReadonlyArray<Row>, value: (r: Row) => string): Map<string, Array<string>> => {
    const out = new Map<string, Array<string>>()
    for (const r of list) {
      const key = String(r.campaign_id)
      const values = out.get(key)
      if (values === undefined) out.set(key, [value(r)])
      else values.push(value(r))
    }
    for (const values of out.values()) values.sort(compareStrings)
    return out
  }
  const sessionsOf = grouped(members, (r) => String(r.session_id))
  const ipsOf = grouped(sources, (r) => String(r.ip))
  const indicatorsOf = new Map<string, Array<{ type: string; value: string; name?: string }>>()
  for (const r of indicators) {
    const list = indicatorsOf.get(String(r.campaign_id)) ?? []
    list.push(r.name === null || r.name === undefined ? { type: String(r.type), value: String(r.value) } : { type: String(r.type), value: String(r.value), name: String(r.name) })
    indicatorsOf.set(String(r.campaign_id), list)
  }
  for (const list of indicatorsOf.values()) list.sort((a, b) => compareStrings(a.type, b.type) || compareStrings(a.value, b.value))

  const json = (value: unknown): unknown => (typeof value === "string" ? JSON.parse(value) : value)
  const decodeRow = (r: Row): Campaign => {
    const id = String(r.id)
    const techniques = r.techniques === null || r.techniques === undefined ? undefined : json(r.techniques)
    return decodeCampaign({
      id,
      parent_id: r.parent_id === null ? null : String(r.parent_id),
      level: String(r.level),
      name: String(r.name),
      sessions: sessionsOf.get(id) ?? [],
      source_ips: ipsOf.get(id) ?? [],
      first_seen: iso(r.first_seen),
      last_seen: iso(r.last_seen),
      confidence: Number(r.confidence),
      confidence_interval: [Number(r.confidence_low), Number(r.confidence_high)],
      assessment: String(r.assessment),
      evidence: json(r.evidence),
      indicators: indicatorsOf.get(id) ?? [],
      ttps: [...((r.ttps as ReadonlyArray<string> | null) ?? [])],
      ...(techniques === undefined ? {} : { techniques }),
      formed_by: json(r.formed_by)
    })
  }
  const campaigns = yield* Effect.try({
    try: () => rows.map(decodeRow),
    catch: (error) => new StoreError({ message: `A stored campaign of family ${String(root[0]!.id)} is not a Result v1 campaign (${String(error).split("\n")[0]}); run dshield-coord migrate and analyze it again.` })
  })
  campaigns.sort((a, b) => (LEVEL_ORDER[a.level] ?? 3) - (LEVEL_ORDER[b.level] ?? 3) || compareStrings(a.id, b.id))
  const updatedAt = rows.map((r) => iso(r.updated_at)).sort(compareStrings).at(-1)!
  return { campaigns, updatedAt } satisfies StoredFamily
})

/**
 * Persisting analyses and tracking campaigns across runs.
 *
 * An analysis is written in one transaction: the run, its attack sessions (bulk, as arrays
 * through UNNEST — one statement per 5,000 rows), its campaigns with their sessions and
 * indicators, and its Result v1. A process killed mid-write leaves no partial analysis.
 *
 * Campaign identity is stable across runs: a campaign of the new run takes the id of the
 * stored campaign (same level, same tenant) it shares most sessions with, so a campaign that
 * grows keeps its id, first_seen and history instead of being re-discovered as a duplicate.
 * When a new campaign absorbs several stored ones, the oldest id survives and the others are
 * marked concluded.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { AttackSession } from "../domain/AttackSession.ts"
import type { Campaign } from "../domain/Campaign.ts"
import type { Result } from "../domain/Result.ts"
import { canonicalJson, sha256Hex } from "../config/AnalysisConfig.ts"
import { type Row, SqlStore } from "./SqlStore.ts"

const BATCH = 5000
/** Campaigns written per statement (each carries its evidence document). */
const CAMPAIGN_BATCH = 500

/**
 * PostgreSQL text and jsonb cannot hold NUL characters, which attackers do send (in client
 * versions, commands). They are stored as U+FFFD, the replacement character.
 */
const NUL = /\u0000/g
const pgText = (s: string | null): string | null => (s === null ? null : s.replace(NUL, "\ufffd"))
/**
 * A session's port field as its column: the number when it is a port, else NULL (port 0,
 * logged for forwarded channels, means "no port"; the schema allows 1..65535).
 */
const portColumn = (field: "src_port" | "dst_port"): string =>
  `CASE WHEN jsonb_typeof(s->'${field}') = 'number' AND (s->>'${field}')::numeric BETWEEN 1 AND 65535 THEN (s->>'${field}')::integer END`
/**
 * JSON text with every NUL escape (`\u0000`) turned into `\ufffd`. An escape is a backslash
 * preceded by an even number of backslashes: `\\u0000` is an escaped backslash followed by
 * the text "u0000" and stays as it is.
 */
const NUL_ESCAPE = /(?<!\\)((?:\\\\)*)\\u0000/g
export const pgJson = (value: unknown): string => JSON.stringify(value).replace(NUL_ESCAPE, "$1\\ufffd")

export const DEFAULT_TENANT = "default"

/** Campaigns silent for this many days become dormant (configurable per call). */
export const DEFAULT_DORMANT_AFTER_DAYS = 14

export interface SaveReport {
  /**
   * The Result as stored: the run's campaigns carry their stored ids (a campaign that grew
   * keeps the id it was first stored under), so ids read from it work with `campaigns show`.
   */
  readonly result: Result
  readonly analysisId: string
  readonly sessionsWritten: number
  readonly campaignsCreated: number
  readonly campaignsUpdated: number
  readonly campaignsConcluded: number
  /** Stored ids of the campaigns this analysis created (live mode alerts on them). */
  readonly created?: ReadonlyArray<string>
  /** Stored ids of campaigns that were dormant or concluded before this analysis and are active again. */
  readonly reactivated?: ReadonlyArray<string>
}

/**
 * Where a live consumer's committed work ends (src/live/LiveState.ts), written by saveAnalysis
 * in the same transaction as the analysis it belongs to.
 */
export interface LiveOffset {
  readonly consumer: string
  readonly stream: string
  /** Every message below this stream sequence is in the store (or was rejected). */
  readonly floorSeq: number
  /** The highest sequence read at the commit. */
  readonly processedSeq: number
  /** Sessions open at the commit: id → first sequence of the piece not yet committed. */
  readonly openSessions: Readonly<Record<string, number>>
}

/** A live consumer's last checkpoint, or undefined before its first commit. */
export const loadLiveOffset = Effect.fn("AnalysisRepository.loadLiveOffset")(function*(consumer: string, stream: string, tenant: string = DEFAULT_TENANT) {
  const store = yield* SqlStore
  const rows = yield* store.query(
    "SELECT floor_seq, processed_seq, open_sessions, commits FROM live_offsets WHERE consumer = $1 AND stream = $2 AND tenant = $3",
    [consumer, stream, tenant]
  )
  const row = rows[0]
  if (row === undefined) return undefined
  const open = typeof row.open_sessions === "string" ? JSON.parse(row.open_sessions) : row.open_sessions
  const openSessions: Record<string, number> = {}
  for (const [id, seq] of Object.entries((open ?? {}) as Record<string, unknown>)) openSessions[id] = Number(seq)
  return { consumer, stream, floorSeq: Number(row.floor_seq), processedSeq: Number(row.processed_seq), openSessions, commits: Number(row.commits) }
})

/** A campaign as the store tracks it across runs (listed by the CLI, the pool and the HTTP API). */
export const StoredCampaign = Schema.Struct({
  id: Schema.String,
  parent_id: Schema.NullOr(Schema.String),
  level: Schema.String,
  name: Schema.String,
  state: Schema.String,
  confidence: Schema.Number,
  assessment: Schema.String,
  session_count: Schema.Int,
  source_ip_count: Schema.Int,
  first_seen: Schema.String,
  last_seen: Schema.String
})
export interface StoredCampaign extends Schema.Schema.Type<typeof StoredCampaign> {}

/** The columns a StoredCampaign is read from. */
export const STORED_CAMPAIGN_COLUMNS = "id, parent_id, level, name, state, confidence, assessment, session_count, source_ip_count, first_seen, last_seen"

/** A campaigns row (STORED_CAMPAIGN_COLUMNS) as a StoredCampaign. */
export const storedCampaignFromRow = (r: Row): StoredCampaign => ({
  id: String(r.id),
  parent_id: r.parent_id === null ? null : String(r.parent_id),
  level: String(r.level),
  name: String(r.name),
  state: String(r.state),
  confidence: Number(r.confidence),
  assessment: String(r.assessment),
  session_count: Number(r.session_count),
  source_ip_count: Number(r.source_ip_count),
  first_seen: iso(r.first_seen),
  last_seen: iso(r.last_seen)
})

const chunks = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/** A timestamp column as ISO 8601 (drivers give Date or text). */
export const iso = (value: unknown): string => (value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString())
/** The same for a nullable column. */
export const isoOrNull = (value: unknown): string | null => (value === null || value === undefined ? null : iso(value))

/**
 * Writes the sessions. Rows of `replaceIds` (sessions joined with a stored piece: they
 * straddled two runs) are deleted first, so each session is stored once; other ids are
 * new, and a row already stored with the same id and start is overwritten.
 */
export const insertSessions = Effect.fn("AnalysisRepository.insertSessions")(function*(
  sessions: ReadonlyArray<AttackSession>,
  analysisId: string,
  tenant: string,
  replaceIds: ReadonlyArray<string> = []
) {
  const store = yield* SqlStore
  for (const batch of chunks(replaceIds, BATCH)) {
    yield* store.query("DELETE FROM attack_sessions WHERE tenant = $1 AND id = ANY($2::text[])", [tenant, batch])
  }
  let written = 0
  for (const batch of chunks(sessions, BATCH)) {
    // One JSON document per batch, the sessions themselves: PostgreSQL parses one value and
    // takes each row's columns from its session, instead of fourteen array literals (half
    // the speed on PGlite, where every parse runs in WebAssembly) or a second copy of the
    // columns beside the session (a third more text to pass in: 0.24 s against 0.32 s for
    // alvarogar's 3,341 sessions on PGlite). A port outside 1–65535 is stored as NULL.
    yield* store.query(
      `INSERT INTO attack_sessions (id, tenant, analysis_id, sensor, protocol, src_ip, src_port, dst_ip, dst_port, start_at, end_at, client_version, hassh, data)
       SELECT s->>'id', $2, $3, s->>'sensor', s->>'protocol', (s->>'src_ip')::inet, ${portColumn("src_port")},
         (s->>'dst_ip')::inet, ${portColumn("dst_port")}, (s->>'start')::timestamptz, (s->>'end')::timestamptz,
         s->>'client_version', s->>'hassh', s
       FROM jsonb_array_elements($1::jsonb) AS s
       ON CONFLICT (tenant, id, start_at) DO UPDATE SET
         analysis_id = EXCLUDED.analysis_id, end_at = EXCLUDED.end_at, data = EXCLUDED.data`,
      [pgJson(batch), tenant, analysisId]
    )
    // Every row is inserted or (same id and start) overwritten.
    written += batch.length
  }
  return written
})

/** Every stored session of a tenant, oldest first (the history a new run is analysed with). */
export const loadSessions = Effect.fn("AnalysisRepository.loadSessions")(function*(tenant: string = DEFAULT_TENANT) {
  const store = yield* SqlStore
  // As text, parsed here: the same document, and PGlite's first read of jsonb through its
  // type output took 0.17 s for alvarogar's 3,341 sessions against 0.09 s as text.
  const rows = yield* store.query("SELECT data::text AS data FROM attack_sessions WHERE tenant = $1 ORDER BY start_at, id", [tenant])
  return rows.map((r) => (typeof r.data === "string" ? JSON.parse(r.data) : r.data) as AttackSession)
})

/**
 * Stable ids for the run's campaigns: each takes the id of the stored campaign of the same
 * level it shares most sessions with (ties: the oldest), unless a campaign of this run
 * already took it.
 */
/** Session memberships matched per statement (campaigns larger than this go alone). */
const MATCH_BATCH = 50_000

/** Indices of `campaigns` in groups of at most `size` sessions in all (a larger campaign alone). */
const membershipChunks = (campaigns: ReadonlyArray<Campaign>, size: number): Array<Array<number>> => {
  const out: Array<Array<number>> = []
  let current: Array<number> = []
  let n = 0
  campaigns.forEach((c, k) => {
    if (current.length > 0 && n + c.sessions.length > size) {
      out.push(current)
      current = []
      n = 0
    }
    current.push(k)
    n += c.sessions.length
  })
  if (current.length > 0) out.push(current)
  return out
}

const matchStoredCampaigns = Effect.fn("AnalysisRepository.matchStoredCampaigns")(function*(
  campaigns: ReadonlyArray<Campaign>,
  tenant: string
) {
  const store = yield* SqlStore
  const stableId = new Map<string, string>()
  const absorbed = new Map<string, Array<string>>()
  const taken = new Set<string>()
  // Families first, largest first: the biggest new campaign gets the first pick.
  const order = campaigns.slice().sort((a, b) => levelRank(a.level) - levelRank(b.level) || b.sessions.length - a.sessions.length || (a.id < b.id ? -1 : 1))
  // Each campaign's stored candidates (same level, not concluded) with the sessions they
  // share, best first — asked for many campaigns per statement (a statement per campaign cost
  // a round trip and a plan each: seconds for a few hundred campaigns).
  const candidatesOf = new Map<number, Array<string>>()
  for (const group of membershipChunks(order, MATCH_BATCH)) {
    const ks: Array<number> = []
    const ids: Array<string> = []
    for (const k of group) for (const session of order[k]!.sessions) {
      ks.push(k)
      ids.push(session)
    }
    if (ks.length === 0) continue
    const rows = yield* store.query(
      // The sessions are matched to stored memberships first (materialised, so the planner,
      // which cannot estimate unnest, never pairs every session with every campaign of its
      // level before looking memberships up: seconds on a store with fresh statistics).
      `WITH m AS MATERIALIZED (SELECT * FROM unnest($1::integer[], $2::text[]) AS m(k, session_id)),
       hits AS MATERIALIZED (SELECT m.k, cs.campaign_id FROM m JOIN campaign_sessions cs ON cs.session_id = m.session_id)
       SELECT h.k, h.campaign_id AS id, count(*)::integer AS shared, min(c.first_seen) AS first_seen
       FROM hits h JOIN campaigns c ON c.id = h.campaign_id
       WHERE c.level = ($3::text[])[h.k + 1] AND c.tenant = $4 AND c.state <> 'concluded'
       GROUP BY h.k, h.campaign_id ORDER BY h.k, shared DESC, first_seen, id`,
      [ks, ids, order.map((c) => c.level), tenant]
    )
    for (const r of rows) {
      const k = Number(r.k)
      const list = candidatesOf.get(k)
      if (list === undefined) candidatesOf.set(k, [String(r.id)])
      else list.push(String(r.id))
    }
  }
  order.forEach((c, k) => {
    const candidates = (candidatesOf.get(k) ?? []).filter((id) => !taken.has(id))
    const chosen = candidates[0] ?? tenantScopedId(c.id, tenant)
    taken.add(chosen)
    stableId.set(c.id, chosen)
    if (candidates.length > 1) absorbed.set(chosen, candidates.slice(1))
  })
  return { stableId, absorbed }
})

/**
 * The id a new campaign is stored under: its content-derived id in the default tenant, and
 * that id hashed with the tenant elsewhere — two tenants analysing the same sessions get two
 * campaigns, neither able to overwrite (or detect) the other's.
 */
export const tenantScopedId = (id: string, tenant: string): string =>
  tenant === DEFAULT_TENANT ? id : `c-${sha256Hex(`${tenant}\n${id}`).slice(0, 16)}`

const levelRank = (level: string): number => (level === "family" ? 0 : level === "variant" ? 1 : 2)

/** Writes one analysis and its campaigns in a single transaction. */
export const saveAnalysis = Effect.fn("AnalysisRepository.saveAnalysis")(function*(
  result: Result,
  sessions: ReadonlyArray<AttackSession>,
  options: {
    readonly tenant?: string
    readonly dormantAfterDays?: number
    readonly replaceIds?: ReadonlyArray<string>
    /** A live consumer's checkpoint, committed with the analysis (live mode). */
    readonly live?: LiveOffset
  } = {}
) {
  const store = yield* SqlStore
  const tenant = options.tenant ?? DEFAULT_TENANT
  // Ids are shared by all tenants' rows: another tenant's analysis of the same input must not
  // land on (or reveal) this one's, so outside the default tenant they are scoped by tenant.
  const analysisId = tenant === DEFAULT_TENANT ? result.run.id : `${result.run.id}@${sha256Hex(tenant).slice(0, 12)}`
  return yield* store.transaction(Effect.gen(function*() {
    yield* store.query(
      `INSERT INTO analysis_sessions (id, tenant, status, input_digest, config_digest, seed, engine_version, sessions, events, started_at, finished_at)
       VALUES ($1, $2, 'completed', $3, $4, $5, $6, $7, $8, $9, $10)`,
      [analysisId, tenant, result.run.input_digest, result.run.config_digest, result.run.seed, result.run.engine_version, result.input.sessions, result.input.events, result.run.started_at, result.run.finished_at]
    )
    const sessionsWritten = yield* insertSessions(sessions, analysisId, tenant, options.replaceIds ?? [])
    const { stableId, absorbed } = yield* matchStoredCampaigns(result.campaigns, tenant)
    // The state of each chosen id before this analysis: a dormant or concluded one becomes active again.
    const before = new Map<string, string>()
    const chosen = [...new Set(stableId.values())]
    for (const batch of chunks(chosen, BATCH)) {
      for (const r of yield* store.query("SELECT id, state FROM campaigns WHERE id = ANY($1::text[])", [batch])) before.set(String(r.id), String(r.state))
    }
    const createdIds: Array<string> = []
    const reactivatedIds: Array<string> = []

    let created = 0
    let updated = 0
    // The campaigns, their memberships and their indicators, a statement per batch of
    // campaigns rather than four per campaign: a result of thousands of campaigns is a few
    // round trips to PostgreSQL, and a few queries through PGlite's WebAssembly.
    for (const batch of chunks(result.campaigns, CAMPAIGN_BATCH)) {
      const rows = batch.map((c) => ({
        id: stableId.get(c.id)!,
        parent_id: c.parent_id === null ? null : stableId.get(c.parent_id) ?? null,
        level: c.level,
        name: c.name,
        confidence: c.confidence,
        confidence_low: c.confidence_interval[0],
        confidence_high: c.confidence_interval[1],
        assessment: c.assessment,
        evidence: JSON.parse(canonicalJson(c.evidence)),
        ttps: c.ttps,
        session_count: c.sessions.length,
        source_ip_count: c.source_ips.length,
        first_seen: c.first_seen,
        last_seen: c.last_seen,
        formed_by: c.formed_by,
        techniques: c.techniques ?? null
      }))
      const written = yield* store.query(
        `INSERT INTO campaigns (id, tenant, parent_id, level, name, state, confidence, confidence_low, confidence_high, assessment, evidence, ttps, session_count, source_ip_count, first_seen, last_seen, formed_by, techniques)
         SELECT c.id, $2, c.parent_id, c.level, c.name, 'active', c.confidence, c.confidence_low, c.confidence_high, c.assessment, c.evidence, c.ttps, c.session_count, c.source_ip_count, c.first_seen, c.last_seen, c.formed_by, c.techniques
         FROM jsonb_to_recordset($1::jsonb)
           AS c(id text, parent_id text, level text, name text, confidence double precision, confidence_low double precision, confidence_high double precision, assessment text, evidence jsonb, ttps text[], session_count integer, source_ip_count integer, first_seen timestamptz, last_seen timestamptz, formed_by jsonb, techniques jsonb)
         ON CONFLICT (id) DO UPDATE SET
           parent_id = EXCLUDED.parent_id, name = EXCLUDED.name, state = 'active',
           confidence = EXCLUDED.confidence, confidence_low = EXCLUDED.confidence_low, confidence_high = EXCLUDED.confidence_high,
           assessment = EXCLUDED.assessment, evidence = EXCLUDED.evidence, ttps = EXCLUDED.ttps,
           formed_by = EXCLUDED.formed_by, techniques = EXCLUDED.techniques,
           session_count = EXCLUDED.session_count, source_ip_count = EXCLUDED.source_ip_count,
           first_seen = LEAST(campaigns.first_seen, EXCLUDED.first_seen), last_seen = GREATEST(campaigns.last_seen, EXCLUDED.last_seen),
           updated_at = now()
         RETURNING id, (xmax = 0) AS inserted`,
        [pgJson(rows), tenant]
      )
      const inserted = new Set(written.filter((r) => r.inserted === true).map((r) => String(r.id)))
      // In the run's order, as the ids were chosen (created and reactivated lists are reported in it).
      for (const { id } of rows) {
        if (inserted.has(id)) {
          created++
          createdIds.push(id)
        } else {
          updated++
          const previous = before.get(id)
          if (previous === "dormant" || previous === "concluded") reactivatedIds.push(id)
        }
      }
      const ids = rows.map((r) => r.id)
      yield* store.query("DELETE FROM campaign_sessions WHERE campaign_id = ANY($1::text[])", [ids])
      // Memberships as (campaign, session) pairs, at most BATCH per statement.
      const pairs = { campaigns: [] as Array<string>, sessions: [] as Array<string> }
      const flush = () =>
        store.query(
          "INSERT INTO campaign_sessions (campaign_id, session_id, analysis_id) SELECT c, s, $3 FROM unnest($1::text[], $2::text[]) AS m(c, s)",
          [pairs.campaigns.splice(0), pairs.sessions.splice(0), analysisId]
        )
      for (let i = 0; i < batch.length; i++) {
        for (const session of batch[i]!.sessions) {
          pairs.campaigns.push(ids[i]!)
          pairs.sessions.push(session)
          if (pairs.sessions.length === BATCH) yield* flush()
        }
      }
      if (pairs.sessions.length > 0) yield* flush()
      // Indicators, the campaign's source addresses among them. An organisation's name may
      // change between database releases: the latest is kept. No name is "" in the array (an
      // array of only nulls cannot be encoded), NULL in the row.
      const indicators = { campaigns: [] as Array<string>, types: [] as Array<string>, values: [] as Array<string | null>, names: [] as Array<string | null>, firstSeen: [] as Array<string> }
      for (let i = 0; i < batch.length; i++) {
        const c = batch[i]!
        const all: Array<{ type: string; value: string; name?: string }> = [...c.indicators, ...c.source_ips.map((ip) => ({ type: "ip" as const, value: ip }))]
        for (const indicator of all) {
          indicators.campaigns.push(ids[i]!)
          indicators.types.push(indicator.type)
          indicators.values.push(pgText(indicator.value))
          indicators.names.push(indicator.name === undefined ? "" : pgText(indicator.name))
          indicators.firstSeen.push(c.first_seen)
        }
      }
      // Every run analyses the tenant's whole history, so what an earlier run listed for a stored
      // campaign and this one does not (a network that left the campaign's top five, an address whose sessions moved
      // to another campaign) is no longer the campaign's: an export of the stored campaign
      // carries exactly the indicators of this run's Result.
      const stored = ids.filter((id) => !inserted.has(id))
      if (stored.length > 0) {
        yield* store.query(
          `DELETE FROM campaign_indicators ci WHERE ci.campaign_id = ANY($1::text[])
             AND NOT EXISTS (SELECT 1 FROM unnest($2::text[], $3::text[], $4::text[]) AS i(c, t, v) WHERE i.c = ci.campaign_id AND i.t = ci.type AND i.v = ci.value)`,
          [stored, indicators.campaigns, indicators.types, indicators.values]
        )
      }
      if (indicators.campaigns.length > 0) {
        yield* store.query(
          `INSERT INTO campaign_indicators (campaign_id, type, value, first_seen, name)
           SELECT c, t, v, f, NULLIF(n, '') FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[]) AS i(c, t, v, f, n)
           ON CONFLICT (campaign_id, type, value) DO UPDATE SET name = EXCLUDED.name
           WHERE campaign_indicators.name IS DISTINCT FROM EXCLUDED.name`,
          [indicators.campaigns, indicators.types, indicators.values, indicators.firstSeen, indicators.names]
        )
      }
    }
    const storedResult: Result = {
      ...result,
      campaigns: result.campaigns.map((c) => ({
        ...c,
        id: stableId.get(c.id)!,
        parent_id: c.parent_id === null ? null : stableId.get(c.parent_id) ?? null
      }))
    }
    let concluded = 0
    for (const [survivor, others] of absorbed) {
      for (const other of others) {
        yield* store.query("UPDATE campaigns SET state = 'concluded', updated_at = now() WHERE id = $1", [other])
        // The survivor's indicators are this run's (above); those it shares with the absorbed
        // campaign keep the earlier first sighting.
        yield* store.query(
          `UPDATE campaign_indicators s SET first_seen = o.first_seen
           FROM campaign_indicators o
           WHERE s.campaign_id = $1 AND o.campaign_id = $2 AND o.type = s.type AND o.value = s.value AND o.first_seen < s.first_seen`,
          [survivor, other]
        )
        concluded++
      }
    }
    // Every run analyses the tenant's whole history, so a stored campaign no campaign of this
    // run matched is no longer supported by the data (e.g. a credential that looked rare on
    // half the data is common on all of it): it is concluded, not left active.
    const current = [...stableId.values()]
    const dissolved = yield* store.query(
      "UPDATE campaigns SET state = 'concluded', updated_at = now() WHERE tenant = $1 AND state <> 'concluded' AND NOT (id = ANY($2::text[])) RETURNING id",
      [tenant, current]
    )
    concluded += dissolved.length
    // Lifecycle: campaigns of this tenant silent longer than the threshold (measured against
    // the newest activity in the data, not the wall clock) become dormant.
    yield* store.query(
      `UPDATE campaigns SET state = 'dormant', updated_at = now()
       WHERE tenant = $1 AND state = 'active' AND last_seen < (SELECT max(last_seen) FROM campaigns WHERE tenant = $1) - ($2 || ' days')::interval`,
      [tenant, String(options.dormantAfterDays ?? DEFAULT_DORMANT_AFTER_DAYS)]
    )
    // Re-activated: active again after this analysis (one whose data is older than the
    // threshold went straight back to dormant above, so it did not wake up).
    const awake = reactivatedIds.length === 0
      ? new Set<string>()
      : new Set((yield* store.query("SELECT id FROM campaigns WHERE id = ANY($1::text[]) AND state = 'active'", [reactivatedIds])).map((r) => String(r.id)))
    yield* store.query(
      "INSERT INTO analysis_results (analysis_id, result, result_digest) VALUES ($1, $2::jsonb, $3)",
      [analysisId, pgJson(storedResult), sha256Hex(canonicalJson({ ...storedResult, run: { ...storedResult.run, id: "", started_at: "", finished_at: "" } }))]
    )
    if (options.live !== undefined) {
      const live = options.live
      yield* store.query(
        `INSERT INTO live_offsets (consumer, stream, tenant, floor_seq, processed_seq, open_sessions, analysis_id)
         VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)
         ON CONFLICT (consumer, stream, tenant) DO UPDATE SET
           floor_seq = EXCLUDED.floor_seq, processed_seq = EXCLUDED.processed_seq, open_sessions = EXCLUDED.open_sessions,
           analysis_id = EXCLUDED.analysis_id, commits = live_offsets.commits + 1, updated_at = now()`,
        [live.consumer, live.stream, tenant, live.floorSeq, live.processedSeq, pgJson(live.openSessions), analysisId]
      )
    }
    return {
      result: storedResult,
      analysisId,
      sessionsWritten,
      campaignsCreated: created,
      campaignsUpdated: updated,
      campaignsConcluded: concluded,
      created: createdIds,
      reactivated: reactivatedIds.filter((id) => awake.has(id))
    } satisfies SaveReport
  }))
})

/** Stored campaigns of a tenant, most recently active first. */
export const listCampaigns = Effect.fn("AnalysisRepository.listCampaigns")(function*(tenant: string = DEFAULT_TENANT, includeConcluded = false) {
  const store = yield* SqlStore
  const rows = yield* store.query(
    `SELECT ${STORED_CAMPAIGN_COLUMNS}
     FROM campaigns WHERE tenant = $1 AND ($2 OR state <> 'concluded') ORDER BY last_seen DESC, id`,
    [tenant, includeConcluded]
  )
  return rows.map(storedCampaignFromRow)
})

/** The sessions of a stored campaign (ids), for comparisons and `campaigns show`. */
export const campaignSessions = Effect.fn("AnalysisRepository.campaignSessions")(function*(campaignId: string) {
  const store = yield* SqlStore
  const rows = yield* store.query("SELECT session_id FROM campaign_sessions WHERE campaign_id = $1 ORDER BY session_id", [campaignId])
  return rows.map((r) => String(r.session_id))
})

export interface TimelineDay {
  readonly day: string
  readonly sessions: number
  readonly sourceIps: number
}

/** Sessions and distinct sources per day of a stored campaign. */
export const campaignTimeline = Effect.fn("AnalysisRepository.campaignTimeline")(function*(campaignId: string, tenant: string = DEFAULT_TENANT) {
  const store = yield* SqlStore
  const rows = yield* store.query(
    `SELECT to_char(date_trunc('day', a.start_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day, count(*)::integer AS sessions, count(DISTINCT a.src_ip)::integer AS ips
     FROM campaign_sessions cs JOIN attack_sessions a ON a.id = cs.session_id AND a.tenant = $2
     WHERE cs.campaign_id = $1 GROUP BY 1 ORDER BY 1`,
    [campaignId, tenant]
  )
  return rows.map((r): TimelineDay => ({ day: String(r.day), sessions: Number(r.sessions), sourceIps: Number(r.ips) }))
})

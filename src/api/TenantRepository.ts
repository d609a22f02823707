/**
 * A tenant's own rows, read and written by the HTTP API: its submitted analyses, their
 * webhook deliveries, its uploaded objects and its tracked campaigns. Every function here runs inside
 * `asTenant` (ApiRepository.ts), so row-level security limits it to the calling tenant
 * whatever its WHERE clause says; the tenant column is still written explicitly.
 */
import * as Effect from "effect/Effect"
import { iso, isoOrNull, STORED_CAMPAIGN_COLUMNS, storedCampaignFromRow } from "../store/AnalysisRepository.ts"
import { SqlStore } from "../store/SqlStore.ts"


export type AnalysisState = "queued" | "running" | "completed" | "failed"
export type Depth = "minimal" | "standard" | "deep"

export interface StoredApiAnalysis {
  readonly id: string
  readonly status: AnalysisState
  readonly depth: Depth
  readonly sessions: number
  readonly callbackUrl: string | null
  readonly createdAt: string
  readonly startedAt: string | null
  readonly finishedAt: string | null
  /** The Result v1 as JSON text (not re-parsed: it is sent on as it is). */
  readonly resultJson: string | null
  /** What the analysis adds beside its Result (a deep one's narrative and tools, a stored one's counts) as JSON text. */
  readonly extrasJson: string | null
  readonly error: string | null
}

export const insertApiAnalysis = Effect.fn("TenantRepository.insertApiAnalysis")(function*(a: {
  readonly id: string
  readonly tenant: string
  readonly keyId: string
  readonly depth: Depth
  readonly sessions: number
  readonly callbackUrl: string | null
}) {
  const store = yield* SqlStore
  yield* store.query(
    "INSERT INTO api_analyses (id, tenant, key_id, status, depth, sessions, callback_url) VALUES ($1, $2, $3, 'queued', $4, $5, $6)",
    [a.id, a.tenant, a.keyId, a.depth, a.sessions, a.callbackUrl]
  )
})

export const markApiAnalysisRunning = Effect.fn("TenantRepository.markApiAnalysisRunning")(function*(id: string) {
  const store = yield* SqlStore
  yield* store.query("UPDATE api_analyses SET status = 'running', started_at = now() WHERE id = $1", [id])
})

export const completeApiAnalysis = Effect.fn("TenantRepository.completeApiAnalysis")(function*(id: string, resultText: string, sessions: number, extrasText: string | null = null) {
  const store = yield* SqlStore
  // PostgreSQL text holds no NUL: attacker-sent NULs are escaped as \u0000 in JSON text, which is fine.
  yield* store.query(
    "UPDATE api_analyses SET status = 'completed', finished_at = now(), result = $2, sessions = $3, extras = $4 WHERE id = $1",
    [id, resultText, sessions, extrasText]
  )
})

export const failApiAnalysis = Effect.fn("TenantRepository.failApiAnalysis")(function*(id: string, error: string) {
  const store = yield* SqlStore
  yield* store.query("UPDATE api_analyses SET status = 'failed', finished_at = now(), error = $2 WHERE id = $1", [id, error])
})

export const findApiAnalysis = Effect.fn("TenantRepository.findApiAnalysis")(function*(id: string) {
  const store = yield* SqlStore
  const rows = yield* store.query(
    "SELECT id, status, depth, sessions, callback_url, created_at, started_at, finished_at, result, extras, error FROM api_analyses WHERE id = $1",
    [id]
  )
  const r = rows[0]
  if (r === undefined) return undefined
  return {
    id: String(r.id),
    status: String(r.status) as AnalysisState,
    depth: String(r.depth) as Depth,
    sessions: Number(r.sessions),
    callbackUrl: r.callback_url === null ? null : String(r.callback_url),
    createdAt: iso(r.created_at),
    startedAt: isoOrNull(r.started_at),
    finishedAt: isoOrNull(r.finished_at),
    resultJson: r.result === null ? null : String(r.result),
    extrasJson: r.extras === null || r.extras === undefined ? null : String(r.extras),
    error: r.error === null ? null : String(r.error)
  } satisfies StoredApiAnalysis
})

/** An object a tenant uploaded (POST /uploads), its bytes in the server's upload directory. */
export interface StoredUpload {
  readonly id: string
  readonly name: string
  readonly format: string
  readonly bytes: number
  readonly sha256: string
  readonly createdAt: string
  readonly expiresAt: string
}

const uploadFromRow = (r: Record<string, unknown>): StoredUpload => ({
  id: String(r.id),
  name: String(r.name),
  format: String(r.format),
  bytes: Number(r.bytes),
  sha256: String(r.sha256),
  createdAt: iso(r.created_at),
  expiresAt: iso(r.expires_at)
})

const UPLOAD_COLUMNS = "id, name, format, bytes, sha256, created_at, expires_at"

export const insertUpload = Effect.fn("TenantRepository.insertUpload")(function*(u: {
  readonly id: string
  readonly tenant: string
  readonly keyId: string
  readonly name: string
  readonly format: string
  readonly bytes: number
  readonly sha256: string
  readonly expiresAt: string
}) {
  const store = yield* SqlStore
  const rows = yield* store.query(
    `INSERT INTO api_uploads (id, tenant, key_id, name, format, bytes, sha256, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${UPLOAD_COLUMNS}`,
    [u.id, u.tenant, u.keyId, u.name, u.format, u.bytes, u.sha256, u.expiresAt]
  )
  return uploadFromRow(rows[0]!)
})

/** The tenant's live upload (row-level security hides another tenant's; an expired one is gone). */
export const findUpload = Effect.fn("TenantRepository.findUpload")(function*(id: string) {
  const store = yield* SqlStore
  const rows = yield* store.query(`SELECT ${UPLOAD_COLUMNS} FROM api_uploads WHERE id = $1 AND expires_at > now()`, [id])
  return rows[0] === undefined ? undefined : uploadFromRow(rows[0])
})

export const listUploads = Effect.fn("TenantRepository.listUploads")(function*(limit: number) {
  const store = yield* SqlStore
  const rows = yield* store.query(`SELECT ${UPLOAD_COLUMNS} FROM api_uploads WHERE expires_at > now() ORDER BY created_at DESC, id LIMIT $1`, [limit])
  return rows.map(uploadFromRow)
})

export const deleteUpload = Effect.fn("TenantRepository.deleteUpload")(function*(id: string) {
  const store = yield* SqlStore
  const rows = yield* store.query("DELETE FROM api_uploads WHERE id = $1 RETURNING id", [id])
  return rows.length > 0
})

/** Every tenant's expired uploads, removed (run as the store's owner); their ids, so the files go too. */
export const sweepExpiredUploads = Effect.fn("TenantRepository.sweepExpiredUploads")(function*() {
  const store = yield* SqlStore
  const rows = yield* store.query("DELETE FROM api_uploads WHERE expires_at <= now() RETURNING id")
  return rows.map((r) => String(r.id))
})

export const recordWebhookAttempt = Effect.fn("TenantRepository.recordWebhookAttempt")(function*(d: {
  readonly analysisId: string
  readonly tenant: string
  readonly url: string
  readonly attempt: number
  readonly statusCode: number | null
  readonly error: string | null
  readonly delivered: boolean
  readonly durationMs: number
}) {
  const store = yield* SqlStore
  yield* store.query(
    "INSERT INTO webhook_deliveries (analysis_id, tenant, url, attempt, status_code, error, delivered, duration_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    [d.analysisId, d.tenant, d.url, d.attempt, d.statusCode, d.error, d.delivered, Math.max(0, Math.round(d.durationMs))]
  )
})

// ---------------------------------------------------------------- campaigns

export interface CampaignFilter {
  readonly status?: "active" | "dormant" | "concluded" | undefined
  readonly firstSeenAfter?: string | undefined
  readonly lastSeenBefore?: string | undefined
  readonly minConfidence?: number | undefined
  readonly indicator?: string | undefined
  readonly limit: number
  /** The last row of the previous page: (last_seen, id) in the listing order. */
  readonly after?: { readonly lastSeen: string; readonly id: string } | undefined
}


/** One page of campaigns, most recently active first (keyset pagination on last_seen, id). */
export const listTenantCampaigns = Effect.fn("TenantRepository.listTenantCampaigns")(function*(f: CampaignFilter) {
  const store = yield* SqlStore
  const rows = yield* store.query(
    `SELECT ${STORED_CAMPAIGN_COLUMNS}
     FROM campaigns c
     WHERE ($1::text IS NULL OR state = $1)
       AND ($2::timestamptz IS NULL OR first_seen >= $2)
       AND ($3::timestamptz IS NULL OR last_seen <= $3)
       AND ($4::double precision IS NULL OR confidence >= $4)
       AND ($5::text IS NULL OR EXISTS (SELECT 1 FROM campaign_indicators i WHERE i.campaign_id = c.id AND i.value = $5))
       AND ($6::timestamptz IS NULL OR (last_seen, id) < ($6, $7::text))
     ORDER BY last_seen DESC, id DESC
     LIMIT $8`,
    // Indicators were stored with each NUL as U+FFFD (PostgreSQL text holds no NUL): an indicator
    // searched as the Result shows it is compared the same way (a NUL sent as such failed the query).
    [f.status ?? null, f.firstSeenAfter ?? null, f.lastSeenBefore ?? null, f.minConfidence ?? null, f.indicator?.replaceAll("\u0000", "\ufffd") ?? null, f.after?.lastSeen ?? null, f.after?.id ?? null, f.limit + 1]
  )
  const page = rows.slice(0, f.limit).map(storedCampaignFromRow)
  const last = page[page.length - 1]
  return { campaigns: page, next: rows.length > f.limit && last !== undefined ? { lastSeen: last.last_seen, id: last.id } : undefined }
})

export const findTenantCampaign = Effect.fn("TenantRepository.findTenantCampaign")(function*(id: string) {
  const store = yield* SqlStore
  const rows = yield* store.query(
    `SELECT ${STORED_CAMPAIGN_COLUMNS} FROM campaigns WHERE id = $1`,
    [id]
  )
  if (rows.length === 0) return undefined
  const sessions = yield* store.query("SELECT session_id FROM campaign_sessions WHERE campaign_id = $1 ORDER BY session_id", [id])
  const indicators = yield* store.query("SELECT type, value, name FROM campaign_indicators WHERE campaign_id = $1 ORDER BY type, value", [id])
  return {
    ...storedCampaignFromRow(rows[0]!),
    sessions: sessions.map((r) => String(r.session_id)),
    indicators: indicators.map((r) => (r.name === null || r.name === undefined ? { type: String(r.type), value: String(r.value) } : { type: String(r.type), value: String(r.value), name: String(r.name) }))
  }
})

export const tenantCampaignTimeline = Effect.fn("TenantRepository.tenantCampaignTimeline")(function*(id: string, tenant: string) {
  const store = yield* SqlStore
  const exists = yield* store.query("SELECT 1 FROM campaigns WHERE id = $1", [id])
  if (exists.length === 0) return undefined
  const rows = yield* store.query(
    `SELECT to_char(date_trunc('day', a.start_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day, count(*)::integer AS sessions, count(DISTINCT a.src_ip)::integer AS ips
     FROM campaign_sessions cs JOIN attack_sessions a ON a.id = cs.session_id AND a.tenant = $2
     WHERE cs.campaign_id = $1 GROUP BY 1 ORDER BY 1`,
    [id, tenant]
  )
  return rows.map((r) => ({ day: String(r.day), sessions: Number(r.sessions), source_ips: Number(r.ips) }))
})

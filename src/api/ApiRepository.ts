/**
 * What the HTTP API reads and writes in the SQL store: keys, refresh tokens, revoked access
 * tokens, submitted analyses, webhook deliveries, audit events, and the tenant's campaigns.
 *
 * Tenant data is only ever touched inside `asTenant`: a transaction that switches to the
 * `dshield_app` role (it owns nothing, so row-level security applies to it) with `app.tenant`
 * set for that transaction only. A query that forgot its `WHERE tenant = …` still sees one
 * tenant's rows. Keys and tokens are looked up before the tenant is known, as the owner.
 */
import * as Effect from "effect/Effect"
import { iso, isoOrNull, pgJson } from "../store/AnalysisRepository.ts"
import { type Row, SqlStore, type StoreError } from "../store/SqlStore.ts"
import type { Role } from "./auth/Principal.ts"

/** Runs `body` as `tenant` (row-level security) in one transaction, attributed to `actor`. */
export const asTenant = <A, E, R>(tenant: string, actor: string, body: Effect.Effect<A, E, R>): Effect.Effect<A, E | StoreError, R | SqlStore> =>
  Effect.gen(function*() {
    const store = yield* SqlStore
    return yield* store.transaction(Effect.gen(function*() {
      // set_config(..., true) is SET LOCAL: role, tenant and actor end with the transaction.
      yield* store.query("SELECT set_config('role', 'dshield_app', true), set_config('app.tenant', $1, true), set_config('app.actor', $2, true)", [tenant, actor])
      return yield* body
    }))
  })


// ---------------------------------------------------------------- keys

export interface StoredKey {
  readonly id: string
  readonly tenant: string
  readonly role: Role
  readonly name: string
  readonly key_hash: string
  readonly created_at: string
  readonly expires_at: string | null
  readonly revoked_at: string | null
  readonly last_used_at: string | null
  readonly daily_analysis_quota: number | null
}

const toKey = (r: Row): StoredKey => ({
  id: String(r.id),
  tenant: String(r.tenant),
  role: String(r.role) as Role,
  name: String(r.name),
  key_hash: String(r.key_hash),
  created_at: iso(r.created_at),
  expires_at: isoOrNull(r.expires_at),
  revoked_at: isoOrNull(r.revoked_at),
  last_used_at: isoOrNull(r.last_used_at),
  daily_analysis_quota: r.daily_analysis_quota === null || r.daily_analysis_quota === undefined ? null : Number(r.daily_analysis_quota)
})

const KEY_COLUMNS = "id, tenant, role, name, key_hash, created_at, expires_at, revoked_at, last_used_at, daily_analysis_quota"

export const insertKey = Effect.fn("ApiRepository.insertKey")(function*(key: {
  readonly id: string
  readonly tenant: string
  readonly role: Role
  readonly name: string
  readonly hash: string
  readonly expiresAt: string | null
  readonly dailyAnalysisQuota: number | null
}) {
  const store = yield* SqlStore
  const rows = yield* store.query(
    `INSERT INTO api_keys (id, tenant, key_hash, name, role, expires_at, daily_analysis_quota) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${KEY_COLUMNS}`,
    [key.id, key.tenant, key.hash, key.name, key.role, key.expiresAt, key.dailyAnalysisQuota]
  )
  return toKey(rows[0]!)
})

export const findKey = Effect.fn("ApiRepository.findKey")(function*(id: string) {
  const store = yield* SqlStore
  const rows = yield* store.query(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE id = $1`, [id])
  return rows.length === 0 ? undefined : toKey(rows[0]!)
})

export const listKeys = Effect.fn("ApiRepository.listKeys")(function*(tenant: string | undefined) {
  const store = yield* SqlStore
  const rows = tenant === undefined
    ? yield* store.query(`SELECT ${KEY_COLUMNS} FROM api_keys ORDER BY created_at, id`)
    : yield* store.query(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE tenant = $1 ORDER BY created_at, id`, [tenant])
  return rows.map(toKey)
})

/** Revokes a key (and with it every token issued from it); false when no such live key. */
export const revokeKey = Effect.fn("ApiRepository.revokeKey")(function*(id: string, tenant: string | undefined) {
  const store = yield* SqlStore
  const rows = yield* store.query(
    "UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL AND ($2::text IS NULL OR tenant = $2) RETURNING id",
    [id, tenant ?? null]
  )
  return rows.length === 1
})

/** Marks a key used, at most once a minute (a write per request would serialise the API). */
export const touchKey = Effect.fn("ApiRepository.touchKey")(function*(id: string) {
  const store = yield* SqlStore
  yield* store.query("UPDATE api_keys SET last_used_at = now() WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')", [id])
})

// ---------------------------------------------------------------- tokens

export const insertRefreshToken = Effect.fn("ApiRepository.insertRefreshToken")(function*(id: string, keyId: string, hash: string, expiresAt: string) {
  const store = yield* SqlStore
  yield* store.query("INSERT INTO api_refresh_tokens (id, key_id, token_hash, expires_at) VALUES ($1, $2, $3, $4)", [id, keyId, hash, expiresAt])
})

export const findRefreshToken = Effect.fn("ApiRepository.findRefreshToken")(function*(id: string) {
  const store = yield* SqlStore
  const rows = yield* store.query("SELECT id, key_id, token_hash, expires_at, revoked_at FROM api_refresh_tokens WHERE id = $1", [id])
  const r = rows[0]
  return r === undefined ? undefined : { id: String(r.id), keyId: String(r.key_id), hash: String(r.token_hash), expiresAt: iso(r.expires_at), revokedAt: isoOrNull(r.revoked_at) }
})

/**
 * Marks a refresh token used (replaced by `replacedBy`); false when it was already used or
 * revoked — a second use of one refresh token means it leaked, and the caller revokes all.
 */
export const useRefreshToken = Effect.fn("ApiRepository.useRefreshToken")(function*(id: string, replacedBy: string | null) {
  const store = yield* SqlStore
  const rows = yield* store.query("UPDATE api_refresh_tokens SET revoked_at = now(), replaced_by = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING id", [id, replacedBy])
  return rows.length === 1
})

export const revokeRefreshTokensOfKey = Effect.fn("ApiRepository.revokeRefreshTokensOfKey")(function*(keyId: string) {
  const store = yield* SqlStore
  yield* store.query("UPDATE api_refresh_tokens SET revoked_at = now() WHERE key_id = $1 AND revoked_at IS NULL", [keyId])
})

export const revokeAccessToken = Effect.fn("ApiRepository.revokeAccessToken")(function*(jti: string, expiresAt: string) {
  const store = yield* SqlStore
  yield* store.query("INSERT INTO api_revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING", [jti, expiresAt])
})

export const accessTokenRevoked = Effect.fn("ApiRepository.accessTokenRevoked")(function*(jti: string) {
  const store = yield* SqlStore
  return (yield* store.query("SELECT 1 FROM api_revoked_tokens WHERE jti = $1", [jti])).length > 0
})

// ---------------------------------------------------------------- audit

export interface AuditEvent {
  readonly event: string
  readonly tenant: string | null
  readonly actor: string | null
  readonly clientIp: string | null
  readonly requestId: string | null
  readonly detail: Record<string, unknown>
}

/** Appends an API event (authentication failure, key change, submission) to audit_log. */
export const appendAudit = Effect.fn("ApiRepository.appendAudit")(function*(e: AuditEvent) {
  const store = yield* SqlStore
  yield* store.query(
    `INSERT INTO audit_log (table_name, row_id, action, tenant, actor, client_ip, request_id, detail)
     VALUES ('api', $1, 'EVENT', $2, $3, $4, $5, $6::jsonb)`,
    [e.event, e.tenant, e.actor, e.clientIp, e.requestId, pgJson(e.detail)]
  )
})

export interface AuditRow {
  readonly id: number
  readonly at: string
  readonly table: string
  readonly row: string
  readonly action: string
  readonly tenant: string | null
  readonly actor: string | null
  readonly client_ip: string | null
  readonly request_id: string | null
  readonly detail: unknown
}

/** The newest `count` audit rows, oldest first. */
export const tailAudit = Effect.fn("ApiRepository.tailAudit")(function*(count: number, afterId: number = 0) {
  const store = yield* SqlStore
  const rows = yield* store.query(
    `SELECT * FROM (SELECT id, created_at, table_name, row_id, action, tenant, actor, client_ip, request_id, detail
     FROM audit_log WHERE id > $2 ORDER BY id DESC LIMIT $1) t ORDER BY id`,
    [count, afterId]
  )
  return rows.map((r): AuditRow => ({
    id: Number(r.id),
    at: iso(r.created_at),
    table: String(r.table_name),
    row: String(r.row_id),
    action: String(r.action),
    tenant: r.tenant === null ? null : String(r.tenant),
    actor: r.actor === null ? null : String(r.actor),
    client_ip: r.client_ip === null ? null : String(r.client_ip),
    request_id: r.request_id === null ? null : String(r.request_id),
    detail: typeof r.detail === "string" ? JSON.parse(r.detail) : r.detail
  }))
})

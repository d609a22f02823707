/**
 * The HTTP API's endpoint implementations, group by group (the contract is Contract.ts).
 * Handlers stay thin: authorise, call a repository or the runner inside the caller's tenant,
 * shape the answer. A store failure is a 503 problem naming the store.
 */
import { createHash, randomBytes } from "node:crypto"
import { mkdirSync } from "node:fs"
import { rm, writeFile } from "node:fs/promises"
import { join } from "node:path"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { HttpApiBuilder } from "effect/http-api"
import type { SqlStore, StoreError } from "../store/SqlStore.ts"
import { ENGINE_VERSION } from "../version.ts"
import type { AnalysisRunner } from "./AnalysisRunner.ts"
import { appendAudit, asTenant, findKey, findRefreshToken, insertKey, insertRefreshToken, listKeys, revokeAccessToken, revokeKey, revokeRefreshTokensOfKey, useRefreshToken } from "./ApiRepository.ts"
import { checkAccessToken } from "./auth/Authentication.ts"
import { Principal, type PrincipalShape, requireRole } from "./auth/Principal.ts"
import { issueSecret, parseSecret, secretMatches } from "./auth/secrets.ts"
import { ACCESS_TOKEN_SECONDS, issueAccessToken, type KeyRing, REFRESH_TOKEN_SECONDS } from "./auth/Tokens.ts"
import { type AnalysisStatus, CoordinationApi, type CoordinationRequest, type ObjectRequest } from "./Contract.ts"
import { Forbidden, InvalidRequest, NotFound, QuotaExceeded, Unauthorized, Unavailable } from "./Problems.ts"
import { requestInfo } from "./requestInfo.ts"
import {
  deleteUpload,
  findApiAnalysis,
  findTenantCampaign,
  findUpload,
  insertUpload,
  listTenantCampaigns,
  listUploads,
  type StoredUpload,
  tenantCampaignTimeline
} from "./TenantRepository.ts"

export interface Check {
  readonly name: string
  readonly ok: boolean
  readonly detail: string
}

export interface HandlerDeps {
  readonly store: Context.Context<SqlStore>
  readonly ring: KeyRing
  readonly runner: AnalysisRunner
  readonly minSessions: number
  readonly maxSessions: number
  /** Every configured dependency's check (store, Redis, NATS). */
  readonly checks: () => Effect.Effect<ReadonlyArray<Check>>
  /** The tenant's webhook signing secret. */
  readonly webhookSecret: (tenant: string) => string
  /** Undefined when a callback URL may be called; else why not (SSRF guard). */
  readonly refusedCallback: (url: string) => Effect.Effect<string | undefined>
  /** Counts one analysis against the key's daily quota; false when it is used up. */
  readonly consumeQuota: (p: PrincipalShape, limit: number | null) => Effect.Effect<{ readonly allowed: boolean; readonly resetSeconds: number }>
  /** Where uploaded objects' bytes are kept (one file per object, named by its id). */
  readonly uploadDir: string
  /** How long an uploaded object is kept. */
  readonly uploadTtlMs: number
  /** Gives back the analysis counted at `acceptedAtMs` (it was not queued after all). */
  readonly refundQuota: (p: PrincipalShape, acceptedAtMs: number) => Effect.Effect<void>
}

const unavailable = (e: StoreError) => new Unavailable({ detail: `${e.message} Retry later.`, failed: ["store"] })
const inStore = <A, E>(deps: HandlerDeps, effect: Effect.Effect<A, E, SqlStore>): Effect.Effect<A, Exclude<E, StoreError> | Unavailable> =>
  effect.pipe(
    Effect.provideContext(deps.store),
    Effect.mapError((e) => ((e as { _tag?: string })._tag === "StoreError" ? unavailable(e as StoreError) : (e as Exclude<E, StoreError>)))
  )

const audit = (deps: HandlerDeps, event: string, p: PrincipalShape | null, detail: Record<string, unknown>) =>
  Effect.gen(function*() {
    const info = yield* requestInfo
    yield* appendAudit({ event, tenant: p?.tenant ?? null, actor: p?.keyId ?? null, clientIp: info.clientIp, requestId: info.requestId, detail }).pipe(
      Effect.provideContext(deps.store),
      Effect.ignore
    )
  })

const links = (id: string) => ({ self: `/analyze/${id}`, result: `/analyze/${id}` })

const healthGroup = (deps: HandlerDeps) =>
  HttpApiBuilder.group(CoordinationApi, "health", (handlers) =>
    handlers
      .handle("live", () => Effect.succeed({ status: "ok" as const }))
      .handle("ready", () =>
        Effect.gen(function*() {
          const checks = yield* deps.checks()
          const failed = checks.filter((c) => !c.ok)
          if (failed.length > 0) {
            return yield* new Unavailable({ detail: `Not ready: ${failed.map((c) => `${c.name} (${c.detail})`).join("; ")}.`, failed: failed.map((c) => c.name) })
          }
          return { status: "ok" as const, checks }
        }))
      .handle("health", () =>
        Effect.map(deps.checks(), (checks) => ({ status: checks.every((c) => c.ok) ? "ok" as const : "degraded" as const, version: ENGINE_VERSION, checks }))))

/** Issues an access token and a fresh refresh token for a key's principal. */
const tokenPair = (deps: HandlerDeps, p: { readonly keyId: string; readonly tenant: string; readonly role: PrincipalShape["role"] }) =>
  Effect.gen(function*() {
    const now = Date.now()
    const access = yield* Effect.promise(() => issueAccessToken(deps.ring, p, Math.floor(now / 1000)))
    const refresh = issueSecret("refresh")
    yield* inStore(deps, insertRefreshToken(refresh.id, p.keyId, refresh.hash, new Date(now + REFRESH_TOKEN_SECONDS * 1000).toISOString()))
    return { access_token: access.token, token_type: "Bearer" as const, expires_in: ACCESS_TOKEN_SECONDS, refresh_token: refresh.text, refresh_expires_in: REFRESH_TOKEN_SECONDS, refreshId: refresh.id }
  })

const refreshGroup = (deps: HandlerDeps) =>
  HttpApiBuilder.group(CoordinationApi, "refresh", (handlers) =>
    handlers.handle("refresh", ({ payload }) =>
      Effect.gen(function*() {
        const refuse = (reason: string) =>
          Effect.gen(function*() {
            yield* audit(deps, "refresh_failed", null, { reason })
            return yield* new Unauthorized({ detail: `The refresh token was refused: ${reason}; authenticate with your API key again.` })
          })
        const parsed = parseSecret("refresh", payload.refresh_token)
        if (parsed === undefined) return yield* refuse("it is malformed")
        const stored = yield* inStore(deps, findRefreshToken(parsed.id))
        if (stored === undefined || !secretMatches(stored.hash, parsed.secret)) return yield* refuse("it is not valid")
        if (Date.parse(stored.expiresAt) <= Date.now()) return yield* refuse("it has expired")
        const key = yield* inStore(deps, findKey(stored.keyId))
        if (key === undefined || key.revoked_at !== null || (key.expires_at !== null && Date.parse(key.expires_at) <= Date.now())) {
          return yield* refuse("its key is revoked or expired")
        }
        if (stored.revokedAt !== null) {
          // A refresh token used twice has leaked: every refresh token of the key is revoked.
          yield* inStore(deps, revokeRefreshTokensOfKey(stored.keyId))
          return yield* refuse("it was already used (all refresh tokens of this key are now revoked)")
        }
        const pair = yield* tokenPair(deps, { keyId: key.id, tenant: key.tenant, role: key.role })
        if (!(yield* inStore(deps, useRefreshToken(stored.id, pair.refreshId)))) {
          // Used by a concurrent request since the check above: the same reuse, answered the same
          // way (before, a race let the winner's new refresh token live on undetected).
          yield* inStore(deps, revokeRefreshTokensOfKey(stored.keyId))
          return yield* refuse("it was already used (all refresh tokens of this key are now revoked)")
        }
        const { refreshId: _, ...answer } = pair
        return answer
      })))

const tokensGroup = (deps: HandlerDeps) =>
  HttpApiBuilder.group(CoordinationApi, "tokens", (handlers) =>
    handlers
      .handle("issue", () =>
        Effect.gen(function*() {
          const p = yield* Principal
          if (p.via !== "key") return yield* new Forbidden({ detail: "Access tokens are issued for an API key: send it in X-API-Key, not a token." })
          const { refreshId: _, ...answer } = yield* tokenPair(deps, p)
          yield* audit(deps, "token_issued", p, {})
          return answer
        }))
      .handle("revoke", ({ payload }) =>
        Effect.gen(function*() {
          const p = yield* Principal
          const refresh = parseSecret("refresh", payload.token)
          if (refresh !== undefined) {
            const stored = yield* inStore(deps, findRefreshToken(refresh.id))
            // Only the key's own refresh tokens; another's is "not valid", not "forbidden".
            if (stored === undefined || stored.keyId !== p.keyId || !secretMatches(stored.hash, refresh.secret)) {
              return yield* new InvalidRequest({ detail: "That refresh token is not one of this key's; nothing was revoked." })
            }
            yield* inStore(deps, useRefreshToken(stored.id, null))
          } else {
            const checked = yield* Effect.result(checkAccessToken(payload.token, deps.ring, deps.store, Date.now(), yield* requestInfo))
            if (checked._tag === "Failure" || checked.success.keyId !== p.keyId) {
              return yield* new InvalidRequest({ detail: "That is not a live access token of this key; nothing was revoked." })
            }
            yield* inStore(deps, revokeAccessToken(checked.success.tokenId!, new Date(Date.now() + ACCESS_TOKEN_SECONDS * 1000).toISOString()))
          }
          yield* audit(deps, "token_revoked", p, { kind: refresh !== undefined ? "refresh" : "access" })
        })))

const analysesGroup = (deps: HandlerDeps) =>
  HttpApiBuilder.group(CoordinationApi, "analyses", (handlers) => {
    /** What a submission asks for beside its input. */
    interface Asked {
      readonly analysis_depth?: "minimal" | "standard" | "deep" | undefined
      readonly callback_url?: string | undefined
      readonly store?: boolean | undefined
    }
    /** What makes one submission invalid, found before anything is counted or queued. */
    const checkOne = (asked: Asked, input: Parameters<AnalysisRunner["submit"]>[0]["input"]) =>
      Effect.gen(function*() {
        if (asked.store === true && asked.analysis_depth === "deep") {
          return yield* new InvalidRequest({ detail: "store and analysis_depth deep cannot be combined yet: store it at standard depth, or run deep without store." })
        }
        if (input.kind === "sessions") {
          const n = input.body.attack_sessions.length
          if (n < deps.minSessions || n > deps.maxSessions) {
            return yield* new InvalidRequest({ detail: `attack_sessions holds ${n} sessions; send between ${deps.minSessions} and ${deps.maxSessions} per analysis (or split them with /analyze/bulk).` })
          }
        }
        if (asked.callback_url !== undefined) {
          const refused = yield* deps.refusedCallback(asked.callback_url)
          if (refused !== undefined) return yield* new InvalidRequest({ detail: refused })
        }
      })
    const submitOne = (p: PrincipalShape, asked: Asked, input: Parameters<AnalysisRunner["submit"]>[0]["input"]) =>
      Effect.gen(function*() {
        yield* checkOne(asked, input)
        const acceptedAt = Date.now()
        const quota = yield* deps.consumeQuota(p, p.dailyAnalysisQuota ?? null)
        if (!quota.allowed) {
          return yield* new QuotaExceeded({ detail: `This key's daily analysis quota is used up; it resets in ${quota.resetSeconds} s (00:00 UTC).`, retry_after: quota.resetSeconds })
        }
        const id = yield* inStore(deps, deps.runner.submit({ principal: p, depth: asked.analysis_depth ?? "standard", store: asked.store === true, callbackUrl: asked.callback_url, input })).pipe(
          Effect.tapError(() => deps.refundQuota(p, acceptedAt))
        )
        if (id === undefined) {
          // Not queued: it does not count against the day's quota.
          yield* deps.refundQuota(p, acceptedAt)
          return yield* new Unavailable({ detail: "The server has as many analyses waiting as it accepts; retry in a minute.", failed: ["queue"] })
        }
        yield* audit(deps, "analysis_submitted", p, { analysis_id: id, kind: input.kind, store: asked.store === true })
        return { analysis_id: id, status: "queued" as const, links: links(id) }
      })
    return handlers
      .handle("submit", ({ payload, query }) =>
        Effect.gen(function*() {
          const p = yield* requireRole("analyst")
          const body: unknown = payload
          if (body instanceof Uint8Array) {
            if (body.length === 0) return yield* new InvalidRequest({ detail: "The body is empty; send log lines or gzip of them." })
            return yield* submitOne(p, { ...query, store: query.store === "true" }, { kind: "raw", bytes: body, format: query.format ?? "auto" })
          }
          if ("object" in (body as object)) {
            const request = body as typeof ObjectRequest.Type
            // Another tenant's object is "not found", exactly like one that never existed.
            const upload = yield* inStore(deps, asTenant(p.tenant, p.keyId, findUpload(request.object)))
            if (upload === undefined) return yield* new InvalidRequest({ detail: `No uploaded object ${request.object} (it may have expired); upload it again with POST /uploads.` })
            return yield* submitOne(p, request, {
              kind: "object",
              id: upload.id,
              path: join(deps.uploadDir, upload.id),
              bytes: upload.bytes,
              format: request.format ?? upload.format
            })
          }
          const request = body as typeof CoordinationRequest.Type
          return yield* submitOne(p, request, { kind: "sessions", body: request })
        }))
      .handle("bulk", ({ payload }) =>
        Effect.gen(function*() {
          const p = yield* requireRole("analyst")
          // Every batch is checked before any is queued: a refused batch (a private callback_url,
          // too many sessions) refuses the request whole. Before, the 400 came after the batches
          // ahead of it were queued and counted against the quota, their ids never returned.
          for (const batch of payload.batches) yield* checkOne(batch, { kind: "sessions", body: batch })
          const analyses = []
          for (const batch of payload.batches) analyses.push(yield* submitOne(p, batch, { kind: "sessions", body: batch }))
          return { analyses }
        }))
      .handle("status", ({ params, query }) =>
        Effect.gen(function*() {
          const p = yield* Principal
          // ?wait=N: an unfinished analysis of this process holds the answer until it finishes
          // (or N seconds pass), so a client learns of its Result at once without polling.
          const waiting = deps.runner.live(params.id)
          if (query.wait !== undefined && query.wait > 0 && waiting !== undefined && waiting.tenant === p.tenant) {
            yield* Effect.promise(() => waiting.finished).pipe(Effect.timeoutOption(`${query.wait} seconds`))
          }
          // Queued or running here: answered from memory (polls must not queue on the store).
          const running = deps.runner.live(params.id)
          if (running !== undefined && running.tenant === p.tenant) {
            return {
              analysis_id: running.id,
              status: running.startedAt === null ? "queued" as const : "running" as const,
              analysis_depth: running.depth,
              sessions: running.sessions,
              created_at: running.createdAt,
              started_at: running.startedAt,
              finished_at: null,
              progress: running.progress,
              links: links(running.id)
            }
          }
          const a = yield* inStore(deps, asTenant(p.tenant, p.keyId, findApiAnalysis(params.id)))
          // Another tenant's analysis is "not found", exactly like one that never existed.
          if (a === undefined) return yield* new NotFound({ detail: `No analysis ${params.id}; check the id returned when you submitted it.` })
          const progress = null
          return {
            analysis_id: a.id,
            status: a.status,
            analysis_depth: a.depth,
            sessions: a.sessions,
            created_at: a.createdAt,
            started_at: a.startedAt,
            finished_at: a.finishedAt,
            progress,
            ...(a.resultJson === null ? {} : { result: JSON.parse(a.resultJson) as unknown }),
            ...(a.extrasJson === null ? {} : JSON.parse(a.extrasJson) as Pick<typeof AnalysisStatus.Type, "workflow" | "stored">),
            ...(a.error === null ? {} : { error: a.error }),
            links: links(a.id)
          }
        }))
  })

const uploadInfo = ({ id, ...u }: StoredUpload) => ({ object: id, name: u.name, format: u.format, bytes: u.bytes, sha256: u.sha256, created_at: u.createdAt, expires_at: u.expiresAt })

const uploadsGroup = (deps: HandlerDeps) =>
  HttpApiBuilder.group(CoordinationApi, "uploads", (handlers) => {
    mkdirSync(deps.uploadDir, { recursive: true })
    return handlers
      .handle("create", ({ payload, query }) =>
        Effect.gen(function*() {
          const p = yield* requireRole("analyst")
          if (payload.length === 0) return yield* new InvalidRequest({ detail: "The body is empty; send log lines or gzip of them." })
          const id = `up-${randomBytes(12).toString("hex")}`
          const path = join(deps.uploadDir, id)
          // The file first, then the row: a row never names bytes that are not there.
          yield* Effect.promise(() => writeFile(path, payload, { mode: 0o600 }))
          const stored = yield* inStore(deps, asTenant(p.tenant, p.keyId, insertUpload({
            id,
            tenant: p.tenant,
            keyId: p.keyId,
            name: query.name ?? "",
            format: query.format ?? "auto",
            bytes: payload.length,
            sha256: createHash("sha256").update(payload).digest("hex"),
            expiresAt: new Date(Date.now() + deps.uploadTtlMs).toISOString()
          }))).pipe(Effect.tapError(() => Effect.promise(() => rm(path, { force: true }))))
          yield* audit(deps, "upload_created", p, { object: id, bytes: payload.length })
          return uploadInfo(stored)
        }))
      .handle("list", () =>
        Effect.gen(function*() {
          const p = yield* Principal
          return { uploads: (yield* inStore(deps, asTenant(p.tenant, p.keyId, listUploads(500)))).map(uploadInfo) }
        }))
      .handle("delete", ({ params }) =>
        Effect.gen(function*() {
          const p = yield* requireRole("analyst")
          if (!(yield* inStore(deps, asTenant(p.tenant, p.keyId, deleteUpload(params.id))))) {
            return yield* new NotFound({ detail: `No uploaded object ${params.id}; see GET /uploads.` })
          }
          // An analysis reading it now keeps its open file; the name is gone for new ones.
          yield* Effect.promise(() => rm(join(deps.uploadDir, params.id), { force: true }))
          yield* audit(deps, "upload_deleted", p, { object: params.id })
        }))
  })

/** An opaque page cursor: the (last_seen, id) of the page's last row. */
const encodeCursor = (c: { readonly lastSeen: string; readonly id: string }): string => Buffer.from(JSON.stringify([c.lastSeen, c.id])).toString("base64url")
const decodeCursor = (text: string): { lastSeen: string; id: string } | undefined => {
  try {
    const [lastSeen, id] = JSON.parse(Buffer.from(text, "base64url").toString("utf8")) as [unknown, unknown]
    // No NUL inside either: PostgreSQL text cannot hold one, and the query would fail as a 503.
    return typeof lastSeen === "string" && typeof id === "string" && !Number.isNaN(Date.parse(lastSeen)) && !`${lastSeen}${id}`.includes("\u0000") ? { lastSeen, id } : undefined
  } catch {
    return undefined
  }
}

const campaignsGroup = (deps: HandlerDeps) =>
  HttpApiBuilder.group(CoordinationApi, "campaigns", (handlers) =>
    handlers
      .handle("list", ({ query }) =>
        Effect.gen(function*() {
          const p = yield* Principal
          for (const [name, value] of [["first_seen_after", query.first_seen_after], ["last_seen_before", query.last_seen_before]] as const) {
            if (value !== undefined && Number.isNaN(Date.parse(value))) return yield* new InvalidRequest({ detail: `${name} must be an ISO 8601 time, like 2026-01-31T00:00:00Z.` })
          }
          const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor)
          if (query.cursor !== undefined && after === undefined) return yield* new InvalidRequest({ detail: "cursor is not one this server returned; start again without it." })
          const page = yield* inStore(deps, asTenant(p.tenant, p.keyId, listTenantCampaigns({
            status: query.status,
            firstSeenAfter: query.first_seen_after,
            lastSeenBefore: query.last_seen_before,
            minConfidence: query.min_confidence,
            indicator: query.indicator,
            limit: query.limit ?? 100,
            after
          })))
          return { campaigns: page.campaigns, next_cursor: page.next === undefined ? null : encodeCursor(page.next) }
        }))
      .handle("get", ({ params }) =>
        Effect.gen(function*() {
          const p = yield* Principal
          const c = yield* inStore(deps, asTenant(p.tenant, p.keyId, findTenantCampaign(params.id)))
          if (c === undefined) return yield* new NotFound({ detail: `No campaign ${params.id}; see GET /campaigns.` })
          return c
        }))
      .handle("timeline", ({ params }) =>
        Effect.gen(function*() {
          const p = yield* Principal
          const days = yield* inStore(deps, asTenant(p.tenant, p.keyId, tenantCampaignTimeline(params.id, p.tenant)))
          if (days === undefined) return yield* new NotFound({ detail: `No campaign ${params.id}; see GET /campaigns.` })
          return { campaign_id: params.id, days }
        })))

const keyInfo = ({ key_hash: _, ...k }: import("./ApiRepository.ts").StoredKey) => k

const keysGroup = (deps: HandlerDeps) =>
  HttpApiBuilder.group(CoordinationApi, "keys", (handlers) =>
    handlers
      .handle("create", ({ payload }) =>
        Effect.gen(function*() {
          const p = yield* requireRole("admin")
          const secret = issueSecret("key")
          const stored = yield* inStore(deps, insertKey({
            id: secret.id,
            tenant: p.tenant,
            role: payload.role,
            name: payload.name ?? "",
            hash: secret.hash,
            expiresAt: payload.expires_in_days === undefined ? null : new Date(Date.now() + payload.expires_in_days * 86_400_000).toISOString(),
            dailyAnalysisQuota: payload.daily_analysis_quota ?? null
          }))
          yield* audit(deps, "key_created", p, { key_id: stored.id, role: stored.role })
          return { ...keyInfo(stored), key: secret.text }
        }))
      .handle("list", () =>
        Effect.gen(function*() {
          const p = yield* requireRole("admin")
          return { keys: (yield* inStore(deps, listKeys(p.tenant))).map(keyInfo) }
        }))
      .handle("revoke", ({ params }) =>
        Effect.gen(function*() {
          const p = yield* requireRole("admin")
          if (!(yield* inStore(deps, revokeKey(params.id, p.tenant)))) return yield* new NotFound({ detail: `No live key ${params.id} in this tenant; see GET /keys.` })
          yield* inStore(deps, revokeRefreshTokensOfKey(params.id))
          yield* audit(deps, "key_revoked", p, { key_id: params.id })
        })))

const webhooksGroup = (deps: HandlerDeps) =>
  HttpApiBuilder.group(CoordinationApi, "webhooks", (handlers) =>
    handlers.handle("secret", () =>
      Effect.gen(function*() {
        // Whoever may set a callback_url may configure its receiver.
        const p = yield* requireRole("analyst")
        yield* audit(deps, "webhook_secret_read", p, {})
        return { tenant: p.tenant, secret: deps.webhookSecret(p.tenant), algorithm: "HMAC-SHA256" as const, header: "Coord-Signature" as const }
      })))

/** Every group's handlers. */
export const handlersLayer = (deps: HandlerDeps) =>
  Layer.mergeAll(healthGroup(deps), refreshGroup(deps), tokensGroup(deps), analysesGroup(deps), uploadsGroup(deps), campaignsGroup(deps), keysGroup(deps), webhooksGroup(deps))

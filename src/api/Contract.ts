/**
 * The HTTP API as data: every endpoint, its inputs, its answers and its errors. The server
 * (Server.ts, Handlers.ts), the OpenAPI document at /openapi.json and the docs page at /docs
 * are all derived from this one definition, so they cannot drift apart.
 *
 * Bodies are strict: an unknown field is a 400, not silently dropped (PayloadParseOptions
 * below). Sizes are bounded here where the bound is fixed, and in the handlers where it is
 * configurable (the session count).
 */
import * as Schema from "effect/Schema"
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiMiddleware, HttpApiSchema, OpenApi } from "effect/http-api"
import { StoredCampaign } from "../store/AnalysisRepository.ts"
import { ENGINE_VERSION } from "../version.ts"
import { Authentication } from "./auth/Principal.ts"
import { Forbidden, InvalidRequest, NotFound, QuotaExceeded, ServerFailure, TooLarge, Unauthorized, Unavailable, UnsupportedMediaType } from "./Problems.ts"

/** An analysis submitted over the API: "an-" and 24 hex digits. */
export const AnalysisId = Schema.String.check(Schema.isPattern(/^an-[0-9a-f]{24}$/))
/** An object uploaded with POST /uploads: "up-" and 24 hex digits. */
export const UploadId = Schema.String.check(Schema.isPattern(/^up-[0-9a-f]{24}$/))
/** A stored campaign: "c-" and 16 hex digits. */
export const CampaignId = Schema.String.check(Schema.isPattern(/^c-[0-9a-f]{16}$/))
/** An API key's id (the middle part of the key). */
export const KeyId = Schema.String.check(Schema.isPattern(/^[A-Za-z0-9]{12}$/))

const bounded = (max: number) => Schema.String.check(Schema.isMaxLength(max))
/**
 * A bounded string that reaches PostgreSQL as a text parameter (stored, or compared in SQL).
 * PostgreSQL text cannot hold NUL: one sent there failed the statement, which answered a 503
 * "store unavailable" for a bad request. Refused here as the 400 it is. (Attack payloads are
 * `bounded`: they go to the analysis, never into a text column, and may carry NULs.)
 */
const text = (max: number) =>
  Schema.String.check(Schema.isMaxLength(max), Schema.isPattern(/^[^\u0000]*$/, { message: "must not contain a NUL character (U+0000)" }))

export const Depth = Schema.Literals(["minimal", "standard", "deep"])
export const Role = Schema.Literals(["viewer", "analyst", "admin"])

/** One session of the earlier engine's request body. */
export const AttackSessionInput = Schema.Struct({
  source_ip: bounded(64),
  timestamp: Schema.Union([bounded(64), Schema.Number]),
  payload: Schema.optionalKey(bounded(65_536)),
  target_port: Schema.optionalKey(Schema.NullOr(Schema.Number)),
  protocol: Schema.optionalKey(bounded(16))
})

/** The earlier engine's body, with its options. */
export const CoordinationRequest = Schema.Struct({
  attack_sessions: Schema.Array(AttackSessionInput).check(Schema.isMaxLength(100_000)).annotate({
    description: "2..10,000 sessions by default (the server's --min-sessions and --max-sessions); never more than 100,000."
  }),
  analysis_depth: Schema.optionalKey(Depth),
  callback_url: Schema.optionalKey(text(2048)),
  /** Analyse with the tenant's stored history and keep it: campaigns tracked across runs (GET /campaigns). */
  store: Schema.optionalKey(Schema.Boolean)
})

export const RawFormat = Schema.Literals(["auto", "cowrie", "ecs", "firewall", "webhoneypot", "sessions"])

/** An analysis of an object uploaded earlier (POST /uploads), by its name. */
export const ObjectRequest = Schema.Struct({
  object: UploadId,
  /** The object's format; default the one given at upload. */
  format: Schema.optionalKey(RawFormat),
  analysis_depth: Schema.optionalKey(Depth),
  callback_url: Schema.optionalKey(text(2048)),
  store: Schema.optionalKey(Schema.Boolean)
})

/** Raw logs in any format `analyze` reads (cowrie, ECS, firewall, web honeypot), plain or gzip. */
const RawLogs = (contentType: string) => Schema.Uint8Array.pipe(HttpApiSchema.asUint8Array({ contentType }))
export const RAW_LOG_CONTENT_TYPES = ["application/x-ndjson", "application/jsonl", "text/plain", "application/gzip", "application/octet-stream"] as const

export const Links = Schema.Struct({ self: Schema.String, result: Schema.String })

export const Accepted = Schema.Struct({
  analysis_id: Schema.String,
  status: Schema.Literal("queued"),
  links: Links
}).pipe(HttpApiSchema.status(202))

export const AnalysisStatus = Schema.Struct({
  analysis_id: Schema.String,
  status: Schema.Literals(["queued", "running", "completed", "failed"]),
  analysis_depth: Depth,
  sessions: Schema.Number,
  created_at: Schema.String,
  started_at: Schema.NullOr(Schema.String),
  finished_at: Schema.NullOr(Schema.String),
  progress: Schema.NullOr(Schema.Struct({ stage: Schema.String, done: Schema.Number, total: Schema.Number })),
  /** The Result v1 document (docs/result.schema.json) once completed. */
  result: Schema.optionalKey(Schema.Unknown),
  /** What a deep analysis adds: the narrative and the enrichment tools' reports. */
  workflow: Schema.optionalKey(Schema.Struct({
    narrative: Schema.NullOr(Schema.String),
    tools: Schema.Array(Schema.Struct({ tool: Schema.String, status: Schema.String, detail: Schema.String }))
  })),
  /** What a stored analysis wrote to the tenant's history (the Result names campaigns by their stored ids); sessions the history holds unchanged are not written again. */
  stored: Schema.optionalKey(Schema.Struct({
    sessions_written: Schema.Number,
    campaigns_created: Schema.Number,
    campaigns_updated: Schema.Number,
    campaigns_concluded: Schema.Number
  })),
  error: Schema.optionalKey(Schema.String),
  links: Links
})

export const RawQuery = {
  format: Schema.optionalKey(RawFormat),
  analysis_depth: Schema.optionalKey(Depth),
  callback_url: Schema.optionalKey(text(2048)),
  store: Schema.optionalKey(Schema.Literals(["true", "false"]))
}

export class AnalysesApi extends HttpApiGroup.make("analyses")
  .add(
    HttpApiEndpoint.post("submit", "/analyze/coordination", {
      query: RawQuery,
      payload: [CoordinationRequest, ObjectRequest, ...RAW_LOG_CONTENT_TYPES.map(RawLogs)],
      success: Accepted,
      error: [InvalidRequest, TooLarge, UnsupportedMediaType, Forbidden, QuotaExceeded, Unavailable]
    }),
    HttpApiEndpoint.post("bulk", "/analyze/bulk", {
      payload: Schema.Struct({ batches: Schema.Array(CoordinationRequest).check(Schema.isMinLength(1), Schema.isMaxLength(100)) }),
      success: Schema.Struct({ analyses: Schema.Array(Schema.Struct({ analysis_id: Schema.String, status: Schema.Literal("queued"), links: Links })) }).pipe(
        HttpApiSchema.status(202)
      ),
      error: [InvalidRequest, TooLarge, Forbidden, QuotaExceeded, Unavailable]
    }),
    HttpApiEndpoint.get("status", "/analyze/:id", {
      params: { id: AnalysisId },
      /** Long poll: hold the answer up to this many seconds while the analysis is unfinished. */
      query: { wait: Schema.optionalKey(Schema.NumberFromString.check(Schema.isInt(), Schema.isBetween({ minimum: 0, maximum: 30 }))) },
      success: AnalysisStatus,
      error: [NotFound, Unavailable]
    })
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({ title: "Analyses", description: "Submit sessions or raw logs; poll for the Result v1." }))
{}


export class CampaignsApi extends HttpApiGroup.make("campaigns")
  .add(
    HttpApiEndpoint.get("list", "/campaigns", {
      query: {
        status: Schema.optionalKey(Schema.Literals(["active", "dormant", "concluded"])),
        first_seen_after: Schema.optionalKey(text(40)),
        last_seen_before: Schema.optionalKey(text(40)),
        min_confidence: Schema.optionalKey(Schema.NumberFromString.check(Schema.isBetween({ minimum: 0, maximum: 1 }))),
        indicator: Schema.optionalKey(bounded(2048)),
        limit: Schema.optionalKey(Schema.NumberFromString.check(Schema.isInt(), Schema.isBetween({ minimum: 1, maximum: 500 }))),
        cursor: Schema.optionalKey(text(200))
      },
      success: Schema.Struct({ campaigns: Schema.Array(StoredCampaign), next_cursor: Schema.NullOr(Schema.String) }),
      error: [InvalidRequest, Unavailable]
    }),
    HttpApiEndpoint.get("get", "/campaigns/:id", {
      params: { id: CampaignId },
      success: Schema.Struct({ ...StoredCampaign.fields, sessions: Schema.Array(Schema.String), indicators: Schema.Array(Schema.Struct({ type: Schema.String, value: Schema.String, name: Schema.optionalKey(Schema.String) })) }),
      error: [NotFound, Unavailable]
    }),
    HttpApiEndpoint.get("timeline", "/campaigns/:id/timeline", {
      params: { id: CampaignId },
      success: Schema.Struct({ campaign_id: Schema.String, days: Schema.Array(Schema.Struct({ day: Schema.String, sessions: Schema.Number, source_ips: Schema.Number })) }),
      error: [NotFound, Unavailable]
    })
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({ title: "Campaigns", description: "Campaigns tracked across stored analyses." }))
{}

export const Upload = Schema.Struct({
  object: Schema.String,
  name: Schema.String,
  format: Schema.String,
  bytes: Schema.Number,
  sha256: Schema.String,
  created_at: Schema.String,
  expires_at: Schema.String
})

/** Raw logs uploaded once and analysed by name, as often and at as many depths as wanted. */
export class UploadsApi extends HttpApiGroup.make("uploads")
  .add(
    HttpApiEndpoint.post("create", "/uploads", {
      query: { format: Schema.optionalKey(RawFormat), name: Schema.optionalKey(text(200)) },
      payload: RAW_LOG_CONTENT_TYPES.map(RawLogs),
      success: Upload.pipe(HttpApiSchema.status(201)),
      error: [InvalidRequest, TooLarge, UnsupportedMediaType, Forbidden, Unavailable]
    }),
    HttpApiEndpoint.get("list", "/uploads", { success: Schema.Struct({ uploads: Schema.Array(Upload) }), error: [Unavailable] }),
    HttpApiEndpoint.delete("delete", "/uploads/:id", { params: { id: UploadId }, success: HttpApiSchema.NoContent, error: [Forbidden, NotFound, Unavailable] })
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({
    title: "Uploads",
    description: "Raw logs (any format `analyze` reads, plain or gzip) kept for a while and analysed by name: POST /analyze/coordination {\"object\": id}."
  }))
{}

export const TokenPair = Schema.Struct({
  access_token: Schema.String,
  token_type: Schema.Literal("Bearer"),
  expires_in: Schema.Number,
  refresh_token: Schema.String,
  refresh_expires_in: Schema.Number
})

/** Token issuance from a key, and revocation: behind authentication. */
export class TokensApi extends HttpApiGroup.make("tokens")
  .add(
    HttpApiEndpoint.post("issue", "/auth/token", { success: TokenPair, error: [Forbidden, Unavailable] }),
    HttpApiEndpoint.post("revoke", "/auth/revoke", {
      payload: Schema.Struct({ token: bounded(4096) }),
      success: HttpApiSchema.NoContent,
      error: [InvalidRequest, Unavailable]
    })
  )
  .middleware(Authentication)
{}

/** Refreshing needs no other credential than the refresh token itself. */
export class RefreshApi extends HttpApiGroup.make("refresh").add(
  HttpApiEndpoint.post("refresh", "/auth/refresh", {
    payload: Schema.Struct({ refresh_token: bounded(200) }),
    success: TokenPair,
    error: [Unauthorized, Unavailable]
  })
) {}

export const KeyInfo = Schema.Struct({
  id: Schema.String,
  tenant: Schema.String,
  role: Role,
  name: Schema.String,
  created_at: Schema.String,
  expires_at: Schema.NullOr(Schema.String),
  revoked_at: Schema.NullOr(Schema.String),
  last_used_at: Schema.NullOr(Schema.String),
  daily_analysis_quota: Schema.NullOr(Schema.Number)
})

export class KeysApi extends HttpApiGroup.make("keys")
  .add(
    HttpApiEndpoint.post("create", "/keys", {
      payload: Schema.Struct({
        role: Role,
        name: Schema.optionalKey(text(200)),
        expires_in_days: Schema.optionalKey(Schema.Number.check(Schema.isInt(), Schema.isBetween({ minimum: 1, maximum: 3650 }))),
        daily_analysis_quota: Schema.optionalKey(Schema.Number.check(Schema.isInt(), Schema.isBetween({ minimum: 0, maximum: 1_000_000 })))
      }),
      success: Schema.Struct({ ...KeyInfo.fields, key: Schema.String }).pipe(HttpApiSchema.status(201)),
      error: [Forbidden, InvalidRequest, Unavailable]
    }),
    HttpApiEndpoint.get("list", "/keys", { success: Schema.Struct({ keys: Schema.Array(KeyInfo) }), error: [Forbidden, Unavailable] }),
    HttpApiEndpoint.delete("revoke", "/keys/:id", { params: { id: KeyId }, success: HttpApiSchema.NoContent, error: [Forbidden, NotFound, Unavailable] })
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({ title: "Keys", description: "API keys of the caller's tenant (admin role)." }))
{}

/** The tenant's webhook signing secret (docs/webhooks.md says how receivers verify). */
export class WebhooksApi extends HttpApiGroup.make("webhooks")
  .add(
    HttpApiEndpoint.get("secret", "/webhooks/secret", {
      success: Schema.Struct({ tenant: Schema.String, secret: Schema.String, algorithm: Schema.Literal("HMAC-SHA256"), header: Schema.Literal("Coord-Signature") }),
      error: [Forbidden]
    })
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({ title: "Webhooks", description: "The secret that signs this tenant's webhook deliveries (analyst role)." }))
{}

export const Check = Schema.Struct({ name: Schema.String, ok: Schema.Boolean, detail: Schema.String })

export class HealthApi extends HttpApiGroup.make("health", { topLevel: true }).add(
  HttpApiEndpoint.get("live", "/health/live", { success: Schema.Struct({ status: Schema.Literal("ok") }) }),
  HttpApiEndpoint.get("ready", "/health/ready", { success: Schema.Struct({ status: Schema.Literal("ok"), checks: Schema.Array(Check) }), error: Unavailable }),
  HttpApiEndpoint.get("health", "/health", {
    success: Schema.Struct({ status: Schema.Literals(["ok", "degraded"]), version: Schema.String, checks: Schema.Array(Check) })
  })
) {}

export class CoordinationApi extends HttpApi.make("dshield-coord")
  .add(HealthApi)
  .add(RefreshApi)
  .add(TokensApi)
  .add(AnalysesApi)
  .add(UploadsApi)
  .add(CampaignsApi)
  .add(KeysApi)
  .add(WebhooksApi)
  // A request that fails decoding answers a 400 problem listing what was wrong, not an empty 400.
  .middleware(HttpApiMiddleware.ProblemDetails)
  .annotate(HttpApi.PayloadParseOptions, { onExcessProperty: "error" })
  .annotate(HttpApi.QueryParseOptions, { onExcessProperty: "error" })
  .annotateMerge(OpenApi.annotations({
    title: "DShield Coordination Engine",
    version: ENGINE_VERSION,
    description: "Groups honeypot attack sessions into coordinated campaigns. Errors are RFC 9457 problem documents."
  }))
{}

export { ServerFailure, Unauthorized }

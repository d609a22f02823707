/**
 * `dshield-coord serve`: the HTTP API on Bun.serve.
 *
 * Two layers, so each job sits in one place:
 * - the edge (this file), which sees every request before the API does: request id and
 *   client address, rate limits, body and JSON-depth caps, CORS, security headers, and every
 *   error answer turned into an RFC 9457 problem with the request id;
 * - the API (Contract.ts + Handlers.ts through Effect's HttpApi), which decodes strictly,
 *   authenticates, authorises and does the work.
 *
 * Analyses run through the Analyzer service the caller chose (AnalysisRunner.ts): this
 * process's analysis threads or the NATS pool, never on the loop that answers.
 */
import { randomUUID } from "node:crypto"
import { dirname, join, resolve } from "node:path"
import { rm } from "node:fs/promises"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Tracer from "effect/Tracer"
import { HttpRouter, HttpServer } from "effect/http"
import { HttpApiBuilder, HttpApiMiddleware, HttpApiScalar } from "effect/http-api"
import type { StoreConfig } from "../config/StoreConfig.ts"
import { MAX_JSON_DEPTH, jsonTextTooDeep } from "../ingest/formats/JsonLine.ts"
import { loadMigrations, migrate } from "../store/migrate.ts"
import { SqlStore, StoreError } from "../store/SqlStore.ts"
import { type AnalysisPlaces, makeAnalysisRunner } from "./AnalysisRunner.ts"
import { authenticationLayer } from "./auth/Authentication.ts"
import { type KeyRing, loadKeyRing, verifyAccessToken } from "./auth/Tokens.ts"
import { CoordinationApi } from "./Contract.ts"
import { type Check, handlersLayer } from "./Handlers.ts"
import { type EndpointClass, type RateLimitConfigError, resolveRateLimitPolicies } from "./RateLimitPolicy.ts"
import { RateLimits } from "./RateLimits.ts"
import { CLIENT_IP_HEADER, REQUEST_ID_HEADER } from "./requestInfo.ts"
import { sweepExpiredUploads } from "./TenantRepository.ts"
import { httpRequests, httpRequestSeconds } from "../metrics/engineMetrics.ts"
import { deliverCompletion, refusedCallback, tenantWebhookSecret, type WebhookSettings } from "./webhookDispatch.ts"

export interface ServeOptions {
  readonly host: string
  readonly port: number
  readonly store: StoreConfig
  /** The SQL store the configuration names (built by the caller: PostgreSQL or PGlite). */
  readonly sqlStore: Layer.Layer<SqlStore, StoreError>
  /**
   * Where analyses run (started by the caller for the server's lifetime, given the server's
   * open store: analysis threads here, or the NATS pool), with the readiness check of what
   * that depends on.
   */
  readonly places: (store: Context.Context<SqlStore>) => Effect.Effect<AnalysisPlaces & { readonly check?: (() => Effect.Effect<Check>) | undefined }, PlacesError, Scope.Scope>
  /** Analyses that may wait for a thread before submissions get 503. */
  readonly maxQueued: number
  readonly minSessions: number
  readonly maxSessions: number
  /** Request body cap in bytes (413 beyond). */
  readonly maxBodyBytes: number
  /** Origins allowed to call the API from a browser; empty = no CORS. */
  readonly corsOrigins: ReadonlyArray<string>
  /** Take the client address from X-Forwarded-For (only behind a proxy you run). */
  readonly trustProxy: boolean
  readonly jwtKeysFile: string | undefined
  readonly webhooks: WebhookSettings
  /** Where submitted bodies wait for their analysis. */
  readonly workDir: string
  /** Where uploaded objects (POST /uploads) are kept, and for how long. */
  readonly uploadDir: string
  readonly uploadTtlMs: number
}

/** Why the analysis places could not start (NATS unreachable, a bad setting): a sentence. */
export interface PlacesError {
  readonly _tag: string
  readonly message: string
}

/** The server cannot listen where it was told to (a usage problem: another port or host). */
export class ListenError extends Schema.TaggedError<ListenError>()("ListenError", { message: Schema.String }) {}

export interface RunningServer {
  readonly url: string
  readonly port: number
}

const SECURITY_HEADERS: Record<string, string> = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
  "cross-origin-resource-policy": "same-origin",
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'"
}
/** The docs page runs the inlined API reference script and styles. */
const DOCS_CSP = "default-src 'none'; script-src 'unsafe-inline' 'self'; style-src 'unsafe-inline'; img-src data:; font-src data:; connect-src 'self'; frame-ancestors 'none'"

const STATUS_TITLES: Record<number, string> = {
  400: "Invalid request",
  401: "Authentication required",
  403: "Forbidden",
  404: "Not found",
  405: "Method not allowed",
  413: "Request too large",
  415: "Unsupported media type",
  429: "Too many requests",
  500: "The server failed",
  503: "A dependency is unavailable"
}

/**
 * Problem types of the edge's own answers: those of Problems.ts, with their titles
 * (STATUS_TITLES), so an answer validates against the schema /openapi.json declares.
 */
const EDGE_TYPES: Record<number, string> = {
  400: "urn:dshield-coord:problem:invalid-request",
  401: "urn:dshield-coord:problem:unauthorized",
  404: "urn:dshield-coord:problem:not-found",
  413: "urn:dshield-coord:problem:too-large",
  415: "urn:dshield-coord:problem:unsupported-media-type",
  429: "urn:dshield-coord:problem:rate-limited",
  500: "urn:dshield-coord:problem:server-failure",
  503: "urn:dshield-coord:problem:unavailable"
}

/** A client's path as an answer repeats it: at most 120 characters (a 5,000-character path came back whole). */
const shortPath = (path: string): string => (path.length > 120 ? `${path.slice(0, 119)}…` : path)

/** Fields every request body schema of the API has: an "excess property" error naming one comes from another body form. */
const BODY_FIELDS = new Set(["attack_sessions", "analysis_depth", "callback_url", "store", "object", "format", "batches", "token", "refresh_token"])

interface SchemaIssue {
  readonly path: ReadonlyArray<string | number>
  readonly message: string
}

/**
 * The API framework's answer to a request its schema refused (type about:blank, "Request
 * validation failed", the issues of every form the body could take) as this API's
 * invalid-request problem: the issues that concern the request as sent, in one sentence. A body
 * `{attack_sessions, bogus}` was also told that `attack_sessions` is an excess property (of the
 * `{object}` form).
 */
const invalidRequestOf = (doc: Record<string, unknown>): Record<string, unknown> => {
  const all = (Array.isArray(doc.errors) ? doc.errors : []) as ReadonlyArray<SchemaIssue>
  const relevant = all.filter((e) => !(e.message === "Expected no excess property" && BODY_FIELDS.has(String(e.path.at(-1)))))
  const issues = (relevant.length > 0 ? relevant : all).map((e) => {
    // The framework's own prefix (payload, params, query) says where; the rest is the field.
    const [where, ...field] = e.path
    const place = where === "payload" ? "body field" : where === "params" ? "path parameter" : where === "urlParams" || where === "query" ? "query parameter" : String(where ?? "request")
    return { path: e.path, message: e.message, said: `${field.length > 0 ? `${place} ${field.join(".")}` : place}: ${e.message}` }
  })
  const said = issues.slice(0, 3).map((i) => i.said).join("; ")
  return {
    type: EDGE_TYPES[400],
    status: 400,
    title: STATUS_TITLES[400],
    detail: issues.length === 0 ? "The request does not match the API's schema; see /openapi.json." : `The request does not match the API's schema (${said}${issues.length > 3 ? `; ${issues.length - 3} more` : ""}); see /openapi.json.`,
    errors: issues.map(({ path, message }) => ({ path, message }))
  }
}

const problem = (status: number, detail: string, requestId: string, extra: Record<string, unknown> = {}): Response =>
  new Response(JSON.stringify({ type: EDGE_TYPES[status] ?? "about:blank", status, title: STATUS_TITLES[status] ?? "Error", detail, request_id: requestId, ...extra }), {
    status,
    headers: { "content-type": "application/problem+json" }
  })

/** The API's paths as metric labels: ids folded into their templates, anything else "other" (no label per attacker-chosen path). */
const KNOWN_PATHS = new Set(["/analyze/coordination", "/analyze/bulk", "/campaigns", "/auth/token", "/auth/refresh", "/auth/revoke", "/keys", "/uploads", "/webhooks/secret", "/health", "/health/live", "/health/ready", "/openapi.json", "/docs"])
const PATH_TEMPLATES: ReadonlyArray<readonly [RegExp, string]> = [
  [/^\/analyze\/[^/]+$/, "/analyze/{id}"],
  [/^\/campaigns\/[^/]+\/timeline$/, "/campaigns/{id}/timeline"],
  [/^\/campaigns\/[^/]+$/, "/campaigns/{id}"],
  [/^\/keys\/[^/]+$/, "/keys/{id}"],
  [/^\/uploads\/[^/]+$/, "/uploads/{id}"]
]
const endpointLabel = (path: string): string => (KNOWN_PATHS.has(path) ? path : PATH_TEMPLATES.find(([re]) => re.test(path))?.[1] ?? "other")
const KNOWN_METHODS = new Set(["GET", "POST", "DELETE", "OPTIONS", "HEAD"])

/** Which rate-limit class a request falls in: submissions cost more than reads. */
const endpointClass = (method: string, path: string): EndpointClass => (method === "POST" && (path.startsWith("/analyze") || path === "/uploads") ? "submit" : "read")

const digestOf = (text: string): string => new Bun.CryptoHasher("sha256").update(text).digest("hex").slice(0, 32)

/**
 * A rate-limit bucket for the credential presented, never the secret itself. An access token
 * whose signature verifies counts as the key it was issued from (its subject), so all tokens
 * of a key and every spelling of "Bearer" share one bucket. (A digest of the whole header
 * gave each token — minted at will with POST /auth/token — and each spelling of the scheme a
 * bucket of its own: the per-principal limit multiplied without end.) An API key counts by a
 * digest of its exact text: it is not verified here, and counting an unverified key by its id
 * would let anyone who knows the id use up that key's limit with wrong secrets. So a key used
 * directly and through its tokens has two buckets, at most twice its limit.
 */
const credentialBucket = async (request: Request, ring: KeyRing): Promise<string | undefined> => {
  const key = request.headers.get("x-api-key")
  if (key !== null && key !== "") return digestOf(key)
  const auth = request.headers.get("authorization")
  if (auth === null || auth === "") return undefined
  const bearer = /^bearer\s+(\S+)\s*$/i.exec(auth)
  if (bearer === null) return digestOf(auth)
  const checked = await verifyAccessToken(ring, bearer[1]!, Math.floor(Date.now() / 1000))
  return checked.ok ? `key:${checked.principal.keyId}` : digestOf(bearer[1]!)
}

/** Reads a body up to `max` bytes; undefined when it is larger. */
const readCapped = async (request: Request, max: number): Promise<Uint8Array | undefined> => {
  if (request.body === null) return new Uint8Array(0)
  const reader = request.body.getReader()
  const chunks: Array<Uint8Array> = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > max) {
      await reader.cancel().catch(() => undefined)
      return undefined
    }
    chunks.push(value)
  }
  const out = new Uint8Array(size)
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.byteLength
  }
  return out
}

/** The dependencies `/health` and `/health/ready` check. */
const dependencyChecks = (
  store: Context.Context<SqlStore>,
  limits: Context.Context<RateLimits>,
  options: ServeOptions,
  placesCheck: (() => Effect.Effect<Check>) | undefined
) => (): Effect.Effect<ReadonlyArray<Check>> =>
  Effect.gen(function*() {
    const storeName = options.store.databaseUrl === undefined ? "embedded store" : "postgresql"
    const storeCheck = yield* Effect.result(Context.get(store, SqlStore).query("SELECT 1").pipe(Effect.timeout("5 seconds")))
    const checks: Array<Check> = [{ name: storeName, ok: storeCheck._tag === "Success", detail: storeCheck._tag === "Success" ? "answers" : String((storeCheck.failure as { message?: string }).message ?? storeCheck.failure) }]
    if (options.store.redisUrl !== undefined) {
      const status = yield* Context.get(limits, RateLimits).status()
      checks.push({ name: "redis", ok: !status.degraded, detail: status.detail })
    }
    if (placesCheck !== undefined) checks.push(yield* placesCheck())
    return checks
  })

export const startServer = (options: ServeOptions): Effect.Effect<RunningServer, StoreError | RateLimitConfigError | ListenError | PlacesError, Scope.Scope> =>
  Effect.gen(function*() {
    const store = yield* Layer.build(options.sqlStore)
    yield* Effect.flatMap(loadMigrations(), migrate).pipe(Effect.provideContext(store))
    // Analyses a previous server process accepted but did not finish will never finish.
    yield* Context.get(store, SqlStore).query(
      "UPDATE api_analyses SET status = 'failed', finished_at = now(), error = 'The server restarted before the analysis finished; submit it again.' WHERE status IN ('queued', 'running')"
    )
    const ring = yield* Effect.try({
      try: () =>
        loadKeyRing({
          env: process.env.DSHIELD_JWT_KEYS,
          file: options.jwtKeysFile,
          fallbackPath: join(options.store.databaseUrl === undefined ? dirname(resolve(options.store.dataDir)) : resolve(".dshield-coord"), "jwt-keys.json")
        }),
      catch: (error) => error as Error
    }).pipe(Effect.orDie)
    // The limits of DSHIELD_RATE_LIMIT_* and DSHIELD_DAILY_ANALYSES (the help and docs promise
    // them); without this the layers fell back to the built-in defaults and the variables were
    // silently ignored. A malformed value stops the start-up with its message.
    const policies = yield* resolveRateLimitPolicies(process.env)
    const limits = yield* Layer.build(options.store.redisUrl === undefined ? RateLimits.layerMemory({ policies }) : RateLimits.layerRedis(options.store.redisUrl, { policies }))
    const limiter = Context.get(limits, RateLimits)
    // Expired uploads go, rows and files, now and every ten minutes.
    const sweep = Effect.gen(function*() {
      const ids = yield* sweepExpiredUploads().pipe(Effect.provideContext(store))
      yield* Effect.promise(() => Promise.all(ids.map((id) => rm(join(options.uploadDir, id), { force: true }))))
    }).pipe(Effect.catchCause((cause) => Effect.logWarning("sweeping expired uploads failed", cause)))
    yield* Effect.forkScoped(Effect.repeat(sweep, Schedule.spaced("10 minutes")))
    const places = yield* options.places(store)
    const runner = yield* makeAnalysisRunner({
      places,
      workDir: options.workDir,
      maxQueued: options.maxQueued,
      store,
      onFinished: (f) => deliverCompletion(f, options.webhooks, store)
    })
    const api = HttpApiBuilder.layer(CoordinationApi, { openapiPath: "/openapi.json" }).pipe(
      Layer.provide(handlersLayer({
        store,
        ring,
        runner,
        minSessions: options.minSessions,
        maxSessions: options.maxSessions,
        uploadDir: options.uploadDir,
        uploadTtlMs: options.uploadTtlMs,
        checks: dependencyChecks(store, limits, options, places.check),
        refusedCallback: (url) => refusedCallback(url, options.webhooks),
        webhookSecret: (tenant) => tenantWebhookSecret(options.webhooks.secret, tenant),
        consumeQuota: (p, limit) =>
          limiter.consumeAnalysisQuota(p.keyId, Date.now(), limit).pipe(
            Effect.map((q) => ({ allowed: q.allowed, resetSeconds: q.resetSeconds })),
            // The limiter refusing to answer refuses the analysis (fail closed).
            Effect.orElseSucceed(() => ({ allowed: false, resetSeconds: 60 }))
          ),
        refundQuota: (p, acceptedAtMs) => Effect.ignore(limiter.refundAnalysisQuota(p.keyId, acceptedAtMs))
      })),
      Layer.provide(authenticationLayer(ring, store)),
      Layer.provide(HttpApiMiddleware.layerProblemDetails({ includeDetails: true }))
    )
    const routes = Layer.mergeAll(api, HttpApiScalar.layer(CoordinationApi, { path: "/docs" }))
    const { handler, dispose } = HttpRouter.toWebHandler(routes.pipe(Layer.provide(HttpServer.layerServices)), { disableLogger: true })
    yield* Effect.addFinalizer(() => Effect.promise(() => dispose()))
    // Requests run on the handler's own runtime: given this process's tracer (when tracing is
    // on), Effect's HTTP tracing makes a server span per request (named by the method, the
    // route in http.route), a child of the caller's span when the request carries a W3C
    // traceparent; the handlers' spans are its children.
    const tracer = yield* Effect.tracer
    const requestContext = tracer === Tracer.nativeTracer ? undefined : Context.make(Tracer.Tracer, tracer)

    const edge = async (request: Request, server: Bun.Server<undefined>): Promise<Response> => {
      const requestId = randomUUID()
      const url = new URL(request.url)
      const forwarded = options.trustProxy ? request.headers.get("x-forwarded-for")?.split(",")[0]?.trim() : undefined
      const clientIp = forwarded !== undefined && forwarded !== "" ? forwarded : server.requestIP(request)?.address ?? "unknown"
      const origin = request.headers.get("origin")
      const corsAllowed = origin !== null && options.corsOrigins.includes(origin)
      const finish = (response: Response, rate?: { limit: number; remaining: number; reset: number }): Response => {
        const headers = new Headers(response.headers)
        for (const [k, v] of Object.entries(SECURITY_HEADERS)) headers.set(k, v)
        if (url.pathname === "/docs") headers.set("content-security-policy", DOCS_CSP)
        headers.set("x-request-id", requestId)
        if (corsAllowed) {
          headers.set("access-control-allow-origin", origin!)
          headers.set("vary", "Origin")
          headers.set("access-control-expose-headers", "RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Retry-After, X-Request-Id")
        }
        if (rate !== undefined) {
          headers.set("ratelimit-limit", String(rate.limit))
          headers.set("ratelimit-remaining", String(rate.remaining))
          headers.set("ratelimit-reset", String(rate.reset))
        }
        return new Response(response.body, { status: response.status, statusText: response.statusText, headers })
      }
      if (request.method === "OPTIONS") {
        if (!corsAllowed) return finish(problem(403, "This origin may not call the API from a browser; ask the operator to add it to --cors-origins.", requestId))
        const preflight = new Response(null, { status: 204 })
        preflight.headers.set("access-control-allow-methods", "GET, POST, DELETE")
        preflight.headers.set("access-control-allow-headers", "Authorization, Content-Type, X-API-Key")
        preflight.headers.set("access-control-max-age", "600")
        return finish(preflight)
      }
      const publicPath = url.pathname.startsWith("/health") || url.pathname === "/openapi.json" || url.pathname === "/docs"
      let rate: { limit: number; remaining: number; reset: number } | undefined
      if (!publicPath || url.pathname === "/docs") {
        const decision = await Effect.runPromise(Effect.result(limiter.check({ principal: await credentialBucket(request, ring), ip: clientIp, endpoint: endpointClass(request.method, url.pathname), nowMs: Date.now() })))
        if (decision._tag === "Failure") return finish(problem(503, "The rate limiter cannot answer; retry in a minute.", requestId, { failed: ["rate-limiter"] }))
        const d = decision.success
        rate = { limit: d.limit, remaining: d.remaining, reset: d.resetSeconds }
        if (!d.allowed) {
          const denied = finish(problem(429, `Too many requests (${d.policy} limit of ${d.limit} per ${Math.round(d.windowMs / 1000)} s); retry after ${d.retryAfterSeconds ?? 1} s.`, requestId), rate)
          denied.headers.set("retry-after", String(d.retryAfterSeconds ?? 1))
          return denied
        }
      }
      // The body, capped before anything parses it.
      let body: Uint8Array | undefined
      if (request.method !== "GET" && request.method !== "HEAD") {
        const declared = Number(request.headers.get("content-length") ?? "NaN")
        if (declared > options.maxBodyBytes) return finish(problem(413, `The body is ${declared} bytes; the limit is ${options.maxBodyBytes}. Split the sessions over several requests (or /analyze/bulk).`, requestId), rate)
        body = await readCapped(request, options.maxBodyBytes).catch(() => new Uint8Array(0))
        if (body === undefined) return finish(problem(413, `The body is over the ${options.maxBodyBytes}-byte limit. Split the sessions over several requests.`, requestId), rate)
        // Media types are case-insensitive (RFC 9110), and a body without a Content-Type is
        // decoded as JSON by the API: "Application/JSON" and no type at all skipped the depth
        // check while their bodies were parsed as JSON.
        const type = (request.headers.get("content-type") ?? "").toLowerCase()
        if ((type === "" || type.includes("json")) && !type.includes("ndjson") && !type.includes("jsonl") && jsonTextTooDeep(new TextDecoder().decode(body), MAX_JSON_DEPTH)) {
          return finish(problem(400, `The JSON body nests deeper than ${MAX_JSON_DEPTH} levels; no request of this API needs that.`, requestId), rate)
        }
      }
      const headers = new Headers(request.headers)
      headers.set(REQUEST_ID_HEADER, requestId)
      headers.set(CLIENT_IP_HEADER, clientIp)
      const inner = new Request(request.url, { method: request.method, headers, ...(body === undefined ? {} : { body }) })
      let response: Response
      try {
        response = await handler(inner, requestContext)
      } catch {
        response = problem(500, "The server failed on this request; report it with the request id.", requestId)
      }
      // Every error answer is a problem document carrying the request id.
      if (response.status >= 400) {
        const type = response.headers.get("content-type") ?? ""
        const text = await response.text()
        if (type.includes("application/problem+json")) {
          try {
            const parsed = JSON.parse(text) as Record<string, unknown>
            const doc = response.status === 400 && parsed.type === "about:blank" ? invalidRequestOf(parsed) : parsed
            response = new Response(JSON.stringify({ ...doc, request_id: requestId }), { status: response.status, headers: response.headers })
            // A 429 says when to come back (the quota's reset; rate limits set it at the edge).
            if (response.status === 429 && typeof doc.retry_after === "number" && !response.headers.has("retry-after")) {
              response.headers.set("retry-after", String(doc.retry_after))
            }
          } catch {
            response = problem(response.status, "The server sent an unreadable error; report it with the request id.", requestId)
          }
        } else {
          const detail = response.status === 404
            ? `No endpoint ${request.method} ${shortPath(url.pathname)}; see /openapi.json or /docs.`
            : response.status === 415
            ? `Content-Type ${request.headers.get("content-type") ?? "(none)"} is not accepted here; send ${url.pathname === "/uploads" ? "" : "application/json, or "}raw logs as application/x-ndjson, application/jsonl, text/plain, application/gzip or application/octet-stream.`
            : response.status === 405
            ? `${request.method} is not allowed on ${shortPath(url.pathname)}; see /openapi.json.`
            : text.slice(0, 200) || (STATUS_TITLES[response.status] ?? "Error")
          response = problem(response.status, detail, requestId)
        }
      }
      return finish(response, rate)
    }

    // The edge enforces the body cap itself (declared length, then the streamed count; it
    // never reads past the cap), so every oversized request gets the 413 problem document.
    // Bun's own limit must not cut in first: at maxBodyBytes + 1 KiB it answered anything
    // larger with a bare 413 (no problem document, no request id, no security headers).
    const server = yield* Effect.try({
      try: () =>
        Bun.serve({
          hostname: options.host,
          port: options.port,
          maxRequestBodySize: Number.MAX_SAFE_INTEGER,
          fetch: async (request, bunServer) => {
            const startedAt = performance.now()
            const response = await edge(request, bunServer)
            const labels = { method: KNOWN_METHODS.has(request.method) ? request.method : "other", endpoint: endpointLabel(new URL(request.url).pathname) }
            httpRequests.inc({ ...labels, status: String(response.status) })
            httpRequestSeconds.observe(labels, (performance.now() - startedAt) / 1000)
            return response
          }
        }),
      catch: (error) =>
        new ListenError({
          message: /EADDRINUSE|in use/i.test(String(error))
            ? `Port ${options.port} on ${options.host} is already in use; stop the other server or choose --port.`
            : `Cannot listen on ${options.host}:${options.port} (${String((error as Error).message ?? error)}); check --host and --port.`
        })
    })
    yield* Effect.addFinalizer(() => Effect.promise(() => server.stop(true)))
    return { url: `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${server.port}`, port: server.port ?? options.port }
  })

/**
 * The Authentication middleware's implementation: an `X-API-Key` is checked against its
 * stored salted hash, expiry and revocation; a bearer access token against the key ring, its
 * revocation list and the key it was issued from (revoking a key ends its tokens at once).
 * Every refusal is a 401 problem with one sentence, and an audit event.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { HttpServerRequest } from "effect/http"
import type { SqlStore } from "../../store/SqlStore.ts"
import { accessTokenRevoked, appendAudit, findKey, touchKey } from "../ApiRepository.ts"
import { Unauthorized } from "../Problems.ts"
import { type RequestInfo, requestInfo } from "../requestInfo.ts"
import { Authentication, Principal, type PrincipalShape } from "./Principal.ts"
import { parseSecret, secretMatches } from "./secrets.ts"
import { type KeyRing, verifyAccessToken } from "./Tokens.ts"

const NO_CREDENTIALS = "Send an API key in the X-API-Key header or an access token as Authorization: Bearer TOKEN."

/** A failed authentication: audited, then a 401 problem. */
const refuseWith = (reason: string, keyId: string | null, store: Context.Context<SqlStore>, info: RequestInfo) =>
  Effect.gen(function*() {
    yield* appendAudit({ event: "auth_failed", tenant: null, actor: keyId, clientIp: info.clientIp, requestId: info.requestId, detail: { reason, path: info.path } }).pipe(
      Effect.provideContext(store),
      Effect.ignore
    )
    return yield* new Unauthorized({ detail: `Authentication failed: ${reason}.`, request_id: info.requestId })
  })

const lastTouched = new Map<string, number>()

/**
 * The principal an API key stands for, or a 401; audited unless `audited` is false (the
 * request's refusal is audited elsewhere: one audit row per refused request).
 */
export const checkApiKey = (text: string, store: Context.Context<SqlStore>, nowMs: number, info: RequestInfo, audited = true) =>
  Effect.gen(function*() {
    const refuse = (reason: string, keyId: string | null) =>
      audited ? refuseWith(reason, keyId, store, info) : Effect.fail(new Unauthorized({ detail: `Authentication failed: ${reason}.`, request_id: info.requestId }))
    const parsed = parseSecret("key", text)
    if (parsed === undefined) return yield* refuse("the API key is malformed", null)
    const key = yield* findKey(parsed.id).pipe(Effect.provideContext(store), Effect.orElseSucceed(() => undefined))
    // The same answer for an unknown id and a wrong secret: nothing to learn from the difference.
    if (key === undefined || !secretMatches(key.key_hash, parsed.secret)) return yield* refuse("the API key is not valid", key === undefined ? null : key.id)
    if (key.revoked_at !== null) return yield* refuse("the API key has been revoked", key.id)
    if (key.expires_at !== null && Date.parse(key.expires_at) <= nowMs) return yield* refuse("the API key has expired", key.id)
    // last_used_at is kept to the minute: one write a minute per key, not one per request.
    if ((lastTouched.get(key.id) ?? 0) < nowMs - 60_000) {
      lastTouched.set(key.id, nowMs)
      yield* touchKey(key.id).pipe(Effect.provideContext(store), Effect.ignore)
    }
    return { keyId: key.id, tenant: key.tenant, role: key.role, via: "key", dailyAnalysisQuota: key.daily_analysis_quota } satisfies PrincipalShape
  })

/** The principal an access token stands for, or a 401. */
export const checkAccessToken = (token: string, ring: KeyRing, store: Context.Context<SqlStore>, nowMs: number, info: RequestInfo) =>
  Effect.gen(function*() {
    const refuse = (reason: string, keyId: string | null) => refuseWith(reason, keyId, store, info)
    const checked = yield* Effect.promise(() => verifyAccessToken(ring, token, Math.floor(nowMs / 1000)))
    if (!checked.ok) return yield* refuse(checked.reason, null)
    const p = checked.principal
    const revoked = yield* accessTokenRevoked(p.tokenId!).pipe(Effect.provideContext(store), Effect.orElseSucceed(() => true))
    if (revoked) return yield* refuse("the access token has been revoked", p.keyId)
    const key = yield* findKey(p.keyId).pipe(Effect.provideContext(store), Effect.orElseSucceed(() => undefined))
    if (key === undefined || key.revoked_at !== null) return yield* refuse("the key this token was issued from has been revoked", p.keyId)
    if (key.expires_at !== null && Date.parse(key.expires_at) <= nowMs) return yield* refuse("the key this token was issued from has expired", p.keyId)
    return { ...p, dailyAnalysisQuota: key.daily_analysis_quota } satisfies PrincipalShape
  })

export const authenticationLayer = (ring: KeyRing, store: Context.Context<SqlStore>): Layer.Layer<Authentication> =>
  Layer.succeed(Authentication, {
    apiKey: (effect, { credential }) =>
      Effect.gen(function*() {
        const text = Redacted.value(credential)
        // No key: the bearer scheme is tried next (and answers for both when it has nothing either).
        if (text === "") return yield* new Unauthorized({ detail: NO_CREDENTIALS })
        // With a bearer token beside it, the bearer scheme decides and audits a refusal: one
        // audit row per refused request, none for a request its token lets in.
        const request = yield* HttpServerRequest.HttpServerRequest
        const bearerToo = /^bearer\s+\S/i.test(request.headers.authorization ?? "")
        const principal = yield* checkApiKey(text, store, Date.now(), yield* requestInfo, !bearerToo)
        return yield* Effect.provideService(effect, Principal, principal)
      }),
    bearer: (effect, { credential }) =>
      Effect.gen(function*() {
        const token = Redacted.value(credential)
        if (token === "") {
          const request = yield* HttpServerRequest.HttpServerRequest
          const key = request.headers["x-api-key"]
          // A key was sent and refused: its reason, not "send credentials".
          const info = yield* requestInfo
          // (Already audited by the key's scheme, which ran first: its reason, not a second row.)
          if (key !== undefined && key !== "") {
            return yield* checkApiKey(key, store, Date.now(), info, false).pipe(
              Effect.flatMap(() => Effect.fail(new Unauthorized({ detail: "Authentication failed: the API key is not valid.", request_id: info.requestId })))
            )
          }
          return yield* refuseWith("no credentials were sent", null, store, info).pipe(Effect.mapError((e) => new Unauthorized({ detail: NO_CREDENTIALS, request_id: e.request_id })))
        }
        const principal = yield* checkAccessToken(token, ring, store, Date.now(), yield* requestInfo)
        return yield* Effect.provideService(effect, Principal, principal)
      })
  })

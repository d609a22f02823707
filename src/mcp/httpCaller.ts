/**
 * Who is calling the MCP server over HTTP: the engine's API key in `X-API-Key` or in
 * `Authorization: Bearer <key>` (MCP clients configure bearer headers more easily than
 * others), or an access token issued by `serve`'s POST /auth/token in the bearer header.
 * Checked by the HTTP API's own code (src/api/auth/Authentication.ts: salted hash, expiry,
 * revocation, the key a token came from), which also writes refusals to the audit log.
 * Every request is checked, so a revoked key stops working at once.
 */
import { randomUUID } from "node:crypto"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { checkAccessToken, checkApiKey } from "../api/auth/Authentication.ts"
import type { PrincipalShape } from "../api/auth/Principal.ts"
import { parseSecret } from "../api/auth/secrets.ts"
import type { KeyRing } from "../api/auth/Tokens.ts"
import type { Unauthorized } from "../api/Problems.ts"
import type { SqlStore } from "../store/SqlStore.ts"
import type { Caller } from "./Caller.ts"

export const NO_CREDENTIALS = "Send an engine API key in the X-API-Key header or as Authorization: Bearer <key> (dshield-coord keys create makes one)."

/** The caller a request's credentials stand for, or why not (one sentence). */
export const callerOfRequest = (
  request: Request,
  clientIp: string | null,
  store: Context.Context<SqlStore>,
  ring: KeyRing
): Effect.Effect<Caller, { readonly reason: string }> => {
  const apiKey = request.headers.get("x-api-key")?.trim() ?? ""
  const authorization = request.headers.get("authorization")?.trim() ?? ""
  const bearer = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1] ?? ""
  const info = { requestId: randomUUID(), clientIp, path: new URL(request.url).pathname }
  const now = Date.now()
  const checked: Effect.Effect<PrincipalShape, Unauthorized> | undefined = apiKey !== ""
    ? checkApiKey(apiKey, store, now, info)
    : bearer === ""
    ? undefined
    : parseSecret("key", bearer) !== undefined
    ? checkApiKey(bearer, store, now, info)
    : checkAccessToken(bearer, ring, store, now, info)
  if (checked === undefined) return Effect.fail({ reason: NO_CREDENTIALS })
  return checked.pipe(
    Effect.map((principal): Caller => ({ tenant: principal.tenant, role: principal.role, actor: principal.keyId })),
    Effect.mapError((refusal) => ({ reason: refusal.detail ?? "Authentication failed." }))
  )
}

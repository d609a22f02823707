/**
 * The NATS API's check of API keys and access tokens: the same keys, tokens, roles and audit
 * as the HTTP API (src/api/auth), applied before a `coord.v1.*` request is decoded. The
 * credential rides in the Coord-Api-Key header: a key (`dsk_…`) or `Bearer <access token>`.
 *
 * Roles: `analyze` needs analyst; `result` and `status` need viewer. Analyses on the pool
 * are not stored per tenant, so the tenant of the key only appears in the audit log.
 */
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { checkAccessToken, checkApiKey } from "../../src/api/auth/Authentication.ts"
import type { PrincipalShape, Role } from "../../src/api/auth/Principal.ts"
import type { Unauthorized } from "../../src/api/Problems.ts"
import type { KeyRing } from "../../src/api/auth/Tokens.ts"
import type { SqlStore } from "../../src/store/SqlStore.ts"
import type { Refusal } from "../transport/NatsTransport.ts"

const RANK: Record<Role, number> = { viewer: 0, analyst: 1, admin: 2 }

/** The least role each coord.v1 message needs; a message not listed needs analyst. */
export const NATS_API_ROLES: Readonly<Record<string, Role>> = { analyze: "analyst", result: "viewer", status: "viewer" }

export const makeKeyAuthorizer = (store: Context.Context<SqlStore>, ring: KeyRing) =>
  (message: string, credential: string | undefined, requestId: string): Promise<Refusal | undefined> =>
    Effect.runPromise(Effect.gen(function*() {
      if (credential === undefined || credential.trim() === "") {
        return { status: 401, reason: "Send an API key (or Bearer access token) in the Coord-Api-Key header; set DSHIELD_API_KEY for the CLI" } satisfies Refusal
      }
      const info = { requestId, clientIp: null, path: `coord.v1.${message}` }
      const bearer = /^bearer\s+(\S+)\s*$/i.exec(credential)
      const check: Effect.Effect<PrincipalShape, Unauthorized> = bearer === null
        ? checkApiKey(credential.trim(), store, Date.now(), info)
        : checkAccessToken(bearer[1]!, ring, store, Date.now(), info)
      const checked = yield* Effect.result(check)
      if (checked._tag === "Failure") return { status: 401, reason: checked.failure.detail ?? "Authentication failed" } satisfies Refusal
      const needed = NATS_API_ROLES[message] ?? "analyst"
      if (RANK[checked.success.role] < RANK[needed]) {
        return { status: 403, reason: `coord.v1.${message} needs the ${needed} role; the key in use has the ${checked.success.role} role` } satisfies Refusal
      }
      return undefined
    }))

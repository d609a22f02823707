/**
 * Who is calling: the principal an API key or access token stands for, the roles and what
 * each may do, and the middleware declaration that requires one (its implementation, which
 * reads the store, is in Authentication.ts so that the contract carries no server code).
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { HttpApiMiddleware, HttpApiSecurity } from "effect/http-api"
import { Forbidden, InvalidRequest, RateLimited, Unauthorized } from "../Problems.ts"

export const ROLES = ["viewer", "analyst", "admin"] as const
export type Role = (typeof ROLES)[number]

export interface PrincipalShape {
  /** The API key this request acts for (directly, or through a token issued from it). */
  readonly keyId: string
  readonly tenant: string
  readonly role: Role
  /** "key" or "token": how the request authenticated. */
  readonly via: "key" | "token"
  /** The access token's id, when authenticated by token (for revocation). */
  readonly tokenId?: string | undefined
  /** The key's own daily analysis quota (null: the server's default), read when it was checked. */
  readonly dailyAnalysisQuota?: number | null | undefined
}

export class Principal extends Context.Service<Principal, PrincipalShape>()("dshield-coord/api/Principal") {}

/** viewer < analyst < admin: each role may do what the ones before it may. */
const RANK: Record<Role, number> = { viewer: 0, analyst: 1, admin: 2 }

/** Fails with 403 unless the caller's role is at least `role`. */
export const requireRole = (role: Role): Effect.Effect<PrincipalShape, Forbidden, Principal> =>
  Effect.gen(function*() {
    const p = yield* Principal
    if (RANK[p.role] >= RANK[role]) return p
    return yield* new Forbidden({ detail: `This needs the ${role} role; the key in use has the ${p.role} role.` })
  })

/** Authentication by `X-API-Key` or by `Authorization: Bearer <access token>`. */
export class Authentication extends HttpApiMiddleware.Service<Authentication, { provides: Principal }>()("dshield-coord/api/Authentication", {
  security: {
    apiKey: HttpApiSecurity.apiKey({ key: "X-API-Key", in: "header" }),
    bearer: HttpApiSecurity.bearer
  },
  // Answers every authenticated endpoint may give before its handler runs, declared here once:
  // the edge's rate limits, and a request its schema refuses (the framework's answer, which
  // Server.ts words as an invalid-request problem).
  error: [Unauthorized, RateLimited, InvalidRequest]
}) {}

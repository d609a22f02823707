/**
 * Who calls a tool, and what they may do. Over stdio the caller is the local user who started
 * the server (every tool, the tenant of --tenant); over HTTP it is the engine API key (or an
 * access token issued from one) sent with the request: its tenant scopes the stored campaigns
 * and the server's result files, its role says which tools it may call — the API's rule,
 * viewer < analyst < admin (src/api/auth/Principal.ts).
 */
import * as Effect from "effect/Effect"
import type { Role } from "../api/auth/Principal.ts"
import { ToolRefusal } from "./ToolRefusal.ts"

export interface Caller {
  readonly tenant: string
  /** Undefined for the local user over stdio, who may call every tool. */
  readonly role: Role | undefined
  /** Who acts, as the audit log names them (the key id, or "mcp:local"). */
  readonly actor: string
}

export const localCaller = (tenant: string): Caller => ({ tenant, role: undefined, actor: "mcp:local" })

const RANK: Record<Role, number> = { viewer: 0, analyst: 1, admin: 2 }

/** Refuses unless the caller's role is at least `role`. */
export const requireRole = (caller: Caller, role: Role, tool: string): Effect.Effect<void, ToolRefusal> =>
  caller.role === undefined || RANK[caller.role] >= RANK[role]
    ? Effect.void
    : Effect.fail(new ToolRefusal({ message: `${tool} needs the ${role} role; the API key in use has the ${caller.role} role.` }))

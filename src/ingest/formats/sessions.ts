/**
 * The earlier engine's request body:
 * `{"attack_sessions":[{"source_ip","timestamp","payload","target_port","protocol"}, ...]}`.
 * Each element is one session; its id is derived from its content (stable across runs and
 * machines), with an occurrence suffix when the same element appears twice.
 */
import { createHash } from "node:crypto"
import type { HoneypotEvent } from "../../domain/Event.ts"
import { hasOversizedField, normaliseIp, parseAnyTimestamp } from "../validate.ts"
import { asPort, type LineOutcome, Reject, str } from "./Format.ts"

/** True when a parsed JSON document is the earlier engine's body. */
export const isSessionsBody = (doc: unknown): doc is { attack_sessions: Array<unknown> } =>
  doc !== null && typeof doc === "object" && Array.isArray((doc as Record<string, unknown>).attack_sessions)

/** Parses every element of the body, in order; one outcome per element. */
export const parseSessionsBody = (body: { attack_sessions: Array<unknown> }): Array<LineOutcome> => {
  const seen = new Map<string, number>()
  return body.attack_sessions.map((item): LineOutcome => {
    if (item === null || typeof item !== "object" || Array.isArray(item)) return Reject.notAnObject
    if (hasOversizedField(item)) return Reject.fieldTooLarge
    const o = item as Record<string, unknown>
    const ipRaw = str(o.source_ip)
    if (ipRaw === undefined) return Reject.missingField
    const srcIp = normaliseIp(ipRaw)
    if (srcIp === undefined) return Reject.badIp
    const ts = parseAnyTimestamp(o.timestamp)
    if (Number.isNaN(ts)) return Reject.badTimestamp
    const port = asPort(o.target_port)
    if (port === "bad") return Reject.badPort
    const payload = str(o.payload) ?? ""
    const protocol = (str(o.protocol) ?? "other").toLowerCase()
    const digest = createHash("sha256")
      .update(JSON.stringify([srcIp, ts, port ?? null, protocol, payload]))
      .digest("hex")
      .slice(0, 16)
    const n = (seen.get(digest) ?? 0) + 1
    seen.set(digest, n)
    const event: { -readonly [K in keyof HoneypotEvent]: HoneypotEvent[K] } = {
      kind: "payload",
      sourceEventId: "attack_session",
      sessionKey: n === 1 ? `req-${digest}` : `req-${digest}-${n}`,
      ts,
      srcIp,
      protocol,
      input: payload
    }
    if (port !== undefined) event.dstPort = port
    return event
  })
}

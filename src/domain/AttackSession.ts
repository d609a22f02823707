/**
 * An attack session: everything one client did in one connection (cowrie) or one burst of
 * activity (firewall, web honeypot), in the order it happened.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
/** @category models */
export const Credential = Schema.Struct({
  username: Schema.String,
  password: Schema.String,
  success: Schema.Boolean
})
export interface Credential extends Schema.Schema.Type<typeof Credential> {}

/** @category models */
export const Transfer = Schema.Struct({
  url: Schema.NullOr(Schema.String),
  sha256: Schema.NullOr(Schema.String),
  filename: Schema.NullOr(Schema.String)
})
export interface Transfer extends Schema.Schema.Type<typeof Transfer> {}

/** @category models */
export const SessionProtocol = Schema.Literals(["ssh", "telnet", "http", "tcp", "udp", "icmp", "other"])
export type SessionProtocol = typeof SessionProtocol.Type

/**
 * Times are ISO-8601 UTC strings with millisecond precision.
 *
 * @category models
 */
export const AttackSession = Schema.Struct({
  id: Schema.String,
  sensor: Schema.NullOr(Schema.String),
  protocol: SessionProtocol,
  src_ip: Schema.NullOr(Schema.String),
  src_port: Schema.NullOr(Schema.Int),
  dst_ip: Schema.NullOr(Schema.String),
  dst_port: Schema.NullOr(Schema.Int),
  start: Schema.String,
  end: Schema.String,
  client_version: Schema.NullOr(Schema.String),
  hassh: Schema.NullOr(Schema.String),
  credentials: Schema.Array(Credential),
  commands: Schema.Array(Schema.String),
  downloads: Schema.Array(Transfer),
  uploads: Schema.Array(Transfer),
  ssh_keys_added: Schema.Array(Schema.String),
  tcpip_forwards: Schema.Array(Schema.String),
  /** Web honeypot requests ("METHOD url") and user agents; empty for other formats. */
  http_requests: Schema.Array(Schema.String),
  user_agent: Schema.NullOr(Schema.String),
  event_count: Schema.Int
})
export interface AttackSession extends Schema.Schema.Type<typeof AttackSession> {}

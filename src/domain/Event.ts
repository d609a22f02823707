/**
 * The normalised honeypot event: what every input format is parsed into before sessionisation.
 *
 * Formats differ (cowrie JSON, ECS documents, iptables lines, web honeypot JSON, the earlier
 * engine's request body) but they all describe the same few things happening in a session.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
/**
 * What happened. One kind per cowrie eventid family; `web.request` and `firewall.packet`
 * come from the web honeypot and iptables logs, `payload` from the earlier engine's body.
 *
 * @category models
 */
export const EventKind = Schema.Literals([
  "session.connect",
  "session.closed",
  "session.params",
  "client.version",
  "client.kex",
  "client.fingerprint",
  "client.size",
  "client.var",
  "login.success",
  "login.failed",
  "command.input",
  "command.failed",
  "command.success",
  "file.download",
  "file.download_failed",
  "file.upload",
  "tcpip.request",
  "tcpip.data",
  "log.open",
  "log.closed",
  "web.request",
  "firewall.packet",
  "payload",
  "other"
])
export type EventKind = typeof EventKind.Type

/**
 * One normalised event. Optional fields are present only when the source carried them.
 * `ts` is milliseconds since the Unix epoch (UTC).
 *
 * @category models
 */
export const HoneypotEvent = Schema.Struct({
  kind: EventKind,
  /** The source's own name for the event (cowrie eventid, ECS event.outcome, ...). */
  sourceEventId: Schema.String,
  sessionKey: Schema.String,
  ts: Schema.Number,
  sensor: Schema.optional(Schema.String),
  protocol: Schema.optional(Schema.String),
  srcIp: Schema.optional(Schema.String),
  srcPort: Schema.optional(Schema.Number),
  dstIp: Schema.optional(Schema.String),
  dstPort: Schema.optional(Schema.Number),
  username: Schema.optional(Schema.String),
  password: Schema.optional(Schema.String),
  input: Schema.optional(Schema.String),
  url: Schema.optional(Schema.String),
  sha256: Schema.optional(Schema.String),
  filename: Schema.optional(Schema.String),
  version: Schema.optional(Schema.String),
  hassh: Schema.optional(Schema.String),
  key: Schema.optional(Schema.String),
  fingerprint: Schema.optional(Schema.String),
  /** direct-tcpip forward target, "host:port". */
  forwardTarget: Schema.optional(Schema.String),
  /** Web honeypot: HTTP method and user agent. */
  method: Schema.optional(Schema.String),
  userAgent: Schema.optional(Schema.String)
})
export interface HoneypotEvent extends Schema.Schema.Type<typeof HoneypotEvent> {}

/**
 * Cowrie events as DShield-SIEM stores them in Elasticsearch (ECS field names), either as
 * exported JSON lines (one `_source` or one hit per line) or as a whole `_search` response.
 *
 * The ECS document is mapped back onto cowrie's field names, then parsed by the cowrie
 * parser, so both formats produce identical events for the same activity.
 */
import { cowrieEventFromObject } from "./cowrie.ts"
import { type LineFormat, type LineOutcome, parseJsonObjectLine } from "./Format.ts"

/**
 * Reads `a.b.c` from either a nested object or a flattened key, in any mix: "a.b.c",
 * {a: {b: {c}}}, {"a.b": {c}}, {a: {"b.c"}}.
 *
 * Fix: the previous loop only tried flattened keys below the first level, so {"a.b": {c}}
 * (Logstash writes dotted field names literally, next to nested objects) was not found.
 */
export const getPath = (doc: Record<string, unknown>, path: string): unknown => {
  if (Object.hasOwn(doc, path)) return doc[path]
  for (let dot = path.indexOf("."); dot > 0; dot = path.indexOf(".", dot + 1)) {
    const head = path.slice(0, dot)
    if (!Object.hasOwn(doc, head)) continue
    const node = doc[head]
    if (node === null || typeof node !== "object" || Array.isArray(node)) continue
    const found = getPath(node as Record<string, unknown>, path.slice(dot + 1))
    if (found !== undefined) return found
  }
  return undefined
}

const first = (doc: Record<string, unknown>, ...paths: Array<string>): unknown => {
  for (const p of paths) {
    const v = getPath(doc, p)
    if (v !== undefined && v !== null) return Array.isArray(v) ? v[0] : v
  }
  return undefined
}

/** The event document inside a line: a bare `_source`, or a hit that wraps one. */
const sourceOf = (value: Record<string, unknown>): Record<string, unknown> => {
  const inner = value._source
  return inner !== null && typeof inner === "object" && !Array.isArray(inner) ? (inner as Record<string, unknown>) : value
}

/** Maps one ECS document onto a normalised event (via cowrie's field names). */
export const ecsEventFromDocument = (value: Record<string, unknown>): LineOutcome => {
  const doc = sourceOf(value)
  const outcome = first(doc, "event.outcome", "event.action", "eventid")
  const eventid = typeof outcome === "string"
    ? (outcome.startsWith("cowrie.") ? outcome : `cowrie.${outcome}`)
    : undefined
  const hasshField = first(doc, "ssh.client", "ssh.hassh", "hassh")
  const hassh = hasshField !== null && typeof hasshField === "object"
    ? (hasshField as Record<string, unknown>).hassh
    : hasshField
  const cowrieShaped: Record<string, unknown> = {
    eventid,
    session: first(doc, "event.code", "session"),
    sensor: first(doc, "observer.name", "host.name", "agent.name", "sensor"),
    // DShield-SIEM renames src_ip to source.address; source.ip exists only when its GeoIP
    // lookup succeeded (fix: the address was lost for documents without it).
    src_ip: first(doc, "source.ip", "source.address", "src_ip"),
    src_port: first(doc, "source.port", "src_port"),
    dst_ip: first(doc, "destination.ip", "dst_ip", "destination.address"),
    dst_port: first(doc, "destination.port", "dst_port"),
    protocol: first(doc, "network.protocol", "network.application", "protocol"),
    username: first(doc, "user.name", "username"),
    password: first(doc, "user.password", "password"),
    input: first(doc, "source.user.command", "process.command_line", "input"),
    url: first(doc, "url.original", "url.full", "url"),
    shasum: first(doc, "file.hash.sha256", "shasum"),
    destfile: first(doc, "file.path", "destfile"),
    filename: first(doc, "file.name", "filename"),
    // DShield-SIEM renames cowrie's client `version` to process.name (read for client.version only).
    version: first(doc, "ssh.version", "user_agent.original", "version", "process.name"),
    hassh,
    key: first(doc, "ssh.key", "key"),
    fingerprint: first(doc, "ssh.fingerprint", "fingerprint")
  }
  return cowrieEventFromObject(cowrieShaped, first(doc, "@timestamp", "timestamp"))
}

const parseLine = (line: string): LineOutcome => {
  const o = parseJsonObjectLine(line)
  return typeof o === "string" ? o : ecsEventFromDocument(o)
}

/** @category formats */
export const EcsFormat: LineFormat = {
  name: "ecs",
  sniff: (line) => line.includes("\"@timestamp\"") && (line.includes("\"event\"") || line.includes("\"event.")),
  parseLine
}

/**
 * The hits of an Elasticsearch `_search` response (`{"hits":{"hits":[{"_source":...}]}}`),
 * or undefined when the document is not one.
 */
export const searchResponseHits = (doc: unknown): Array<unknown> | undefined => {
  if (doc === null || typeof doc !== "object") return undefined
  const hits = (doc as Record<string, unknown>).hits
  if (hits === null || typeof hits !== "object") return undefined
  const inner = (hits as Record<string, unknown>).hits
  return Array.isArray(inner) ? inner : undefined
}

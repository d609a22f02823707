/**
 * The threat-intelligence feed: indicators pulled from MISP by `dshield-coord import --misp`
 * (src/export/mispClient.ts searchAttributes), kept as one JSON file, and read by the tool
 * coordinator's threat-intel tool to say which of an analysis's source addresses (and other
 * indicators) the feed already knows, from which event and with which tags.
 *
 * A file, not a table: the tool coordinator runs wherever its role runs (in process, or on a
 * worker of the pool) and needs no store connection to read it; `DSHIELD_THREAT_INTEL` points
 * a worker at a shared copy. Importing again merges: an indicator is kept once, with one
 * sighting per MISP attribute (a newer attribute timestamp replaces the older sighting).
 * The file is written whole to a temporary name and renamed, so a reader never sees half.
 */
import { createHash } from "node:crypto"
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs"
import { dirname } from "node:path"
import { isIP } from "node:net"
import { ipv4Number, ipv6Number } from "../enrichment/RangeTable.ts"
import type { MispAttribute } from "../export/mispClient.ts"

/** Where the feed lives unless told: beside the embedded store's default directory. */
export const DEFAULT_FEED_PATH = "./.dshield-coord/threat-intel.json"

export const feedPath = (flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string =>
  (flag !== undefined && flag !== "" ? flag : undefined) ?? (env.DSHIELD_THREAT_INTEL !== undefined && env.DSHIELD_THREAT_INTEL !== "" ? env.DSHIELD_THREAT_INTEL : DEFAULT_FEED_PATH)

export type FeedIndicatorType = "ip" | "cidr" | "sha256" | "url" | "domain"

export interface FeedSighting {
  /** The MISP server it came from (its base URL). */
  readonly source: string
  readonly attribute_uuid: string
  readonly misp_type: string
  readonly event_uuid: string
  readonly event_info: string
  readonly tags: ReadonlyArray<string>
  /** The attribute's MISP timestamp (unix seconds). */
  readonly timestamp: number
  readonly to_ids: boolean
}

export interface FeedIndicator {
  readonly type: FeedIndicatorType
  readonly value: string
  readonly sightings: ReadonlyArray<FeedSighting>
}

export interface FeedImport {
  readonly source: string
  readonly tags: ReadonlyArray<string>
  readonly since: string | null
  readonly attributes: number
  readonly kept: number
}

export interface ThreatIntelFeed {
  readonly version: 1
  /** Every import into this file, oldest first. */
  readonly imports: ReadonlyArray<FeedImport>
  /** By type, then value. */
  readonly indicators: ReadonlyArray<FeedIndicator>
}

export const EMPTY_FEED: ThreatIntelFeed = { version: 1, imports: [], indicators: [] }

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/** The feed's indicators of one MISP attribute: none for types the engine never observes. */
export const indicatorsOfAttribute = (a: Pick<MispAttribute, "type" | "value">): Array<{ type: FeedIndicatorType; value: string }> => {
  const value = a.value.trim()
  const address = (v: string): Array<{ type: FeedIndicatorType; value: string }> => (isIP(v) === 0 ? [] : [{ type: "ip", value: v.toLowerCase() }])
  switch (a.type) {
    case "ip-src":
    case "ip-dst": {
      const cidr = value.includes("/") ? cidrOf(value) : undefined
      return cidr !== undefined ? [{ type: "cidr", value: cidr }] : address(value)
    }
    case "ip-src|port":
    case "ip-dst|port":
      return address(value.split("|")[0]!)
    case "domain|ip": {
      const [domain = "", ip = ""] = value.split("|")
      return [...(domain === "" ? [] : [{ type: "domain" as const, value: domain.toLowerCase() }]), ...address(ip)]
    }
    case "domain":
    case "hostname":
      return value === "" ? [] : [{ type: "domain", value: value.toLowerCase() }]
    case "url":
    case "uri":
      return value === "" ? [] : [{ type: "url", value }]
    case "sha256":
      return /^[0-9a-fA-F]{64}$/.test(value) ? [{ type: "sha256", value: value.toLowerCase() }] : []
    default:
      return []
  }
}

/** A network in CIDR notation, normalised (host bits cleared); undefined when it is not one. */
export const cidrOf = (text: string): string | undefined => {
  const m = /^([^/\s]+)\/(\d{1,3})$/.exec(text.trim())
  if (m === null) return undefined
  const bits = Number(m[2])
  const v4 = ipv4Number(m[1]!)
  if (v4 >= 0) {
    if (bits > 32) return undefined
    const base = bits === 0 ? 0 : (v4 & (~0 << (32 - bits))) >>> 0
    return `${[24, 16, 8, 0].map((s) => (base >>> s) & 255).join(".")}/${bits}`
  }
  const v6 = ipv6Number(m[1]!)
  if (v6 === undefined || bits > 128) return undefined
  const mask = bits === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - bits)) - 1n)
  const base = v6 & mask
  const groups = Array.from({ length: 8 }, (_, k) => ((base >> BigInt(112 - 16 * k)) & 0xffffn).toString(16))
  return `${groups.join(":")}/${bits}`
}

/**
 * The feed's networks by prefix length, each length a map from the network's base address
 * (as a number, as cidrOf normalised it) to its indicators: an address is checked against
 * each length present (at most 33 for IPv4, 129 for IPv6), never against every network.
 */
const networkIndex = (networks: ReadonlyArray<FeedIndicator>) => {
  const v4 = new Map<number, Map<number, Array<FeedIndicator>>>()
  const v6 = new Map<number, Map<bigint, Array<FeedIndicator>>>()
  const add = <K>(byBits: Map<number, Map<K, Array<FeedIndicator>>>, bits: number, key: K, n: FeedIndicator): void => {
    const byKey = byBits.get(bits) ?? new Map<K, Array<FeedIndicator>>()
    byKey.set(key, [...(byKey.get(key) ?? []), n])
    byBits.set(bits, byKey)
  }
  for (const n of networks) {
    const [net = "", bitsText] = n.value.split("/")
    const bits = Number(bitsText)
    const a = ipv4Number(net)
    if (a >= 0) add(v4, bits, a, n)
    else {
      const b = ipv6Number(net)
      if (b !== undefined) add(v6, bits, b, n)
    }
  }
  return (ip: string): Array<FeedIndicator> => {
    const a = ipv4Number(ip)
    if (a >= 0) return [...v4].flatMap(([bits, byKey]) => byKey.get(bits === 0 ? 0 : (a & (~0 << (32 - bits))) >>> 0) ?? [])
    const b = ipv6Number(ip)
    if (b === undefined) return []
    return [...v6].flatMap(([bits, byKey]) => byKey.get(bits === 0 ? 0n : (b >> BigInt(128 - bits)) << BigInt(128 - bits)) ?? [])
  }
}

/** The indicator of one line of a plain list (IP, CIDR, sha256, URL or domain; # comments); undefined when none. */
export const indicatorOfListLine = (raw: string): { type: FeedIndicatorType; value: string } | undefined => {
  const value = raw.replace(/\s#.*$/, "").replace(/^#.*$/, "").trim()
  if (value === "") return undefined
  if (isIP(value) !== 0) return { type: "ip", value: value.toLowerCase() }
  const cidr = cidrOf(value)
  if (cidr !== undefined) return { type: "cidr", value: cidr }
  if (/^[0-9a-fA-F]{64}$/.test(value)) return { type: "sha256", value: value.toLowerCase() }
  if (/^(https?|ftp|tftp):\/\/\S+$/i.test(value)) return { type: "url", value }
  if (/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i.test(value)) return { type: "domain", value: value.toLowerCase() }
  return undefined
}

/**
 * The feed with these attributes merged in, and what the import kept: how many attributes
 * gave an indicator, and the MISP types that gave none (with counts).
 */
export const mergeAttributes = (
  feed: ThreatIntelFeed,
  attributes: ReadonlyArray<MispAttribute>,
  imported: { readonly source: string; readonly tags: ReadonlyArray<string>; readonly since: string | null }
): { feed: ThreatIntelFeed; kept: number; unsupported: Record<string, number> } => {
  const byKey = new Map<string, { type: FeedIndicatorType; value: string; sightings: Map<string, FeedSighting> }>()
  for (const i of feed.indicators) byKey.set(`${i.type}\n${i.value}`, { type: i.type, value: i.value, sightings: new Map(i.sightings.map((s) => [`${s.source}\n${s.attribute_uuid}`, s])) })
  let kept = 0
  const unsupported: Record<string, number> = {}
  for (const a of attributes) {
    const found = indicatorsOfAttribute(a)
    if (found.length === 0) {
      unsupported[a.type] = (unsupported[a.type] ?? 0) + 1
      continue
    }
    kept++
    const sighting: FeedSighting = {
      source: imported.source,
      attribute_uuid: a.uuid,
      misp_type: a.type,
      event_uuid: a.eventUuid,
      event_info: a.eventInfo,
      tags: [...a.tags].sort(compare),
      timestamp: a.timestamp,
      to_ids: a.toIds
    }
    for (const { type, value } of found) {
      const key = `${type}\n${value}`
      const entry = byKey.get(key) ?? { type, value, sightings: new Map<string, FeedSighting>() }
      const sightingKey = `${sighting.source}\n${sighting.attribute_uuid}`
      const before = entry.sightings.get(sightingKey)
      if (before === undefined || before.timestamp <= sighting.timestamp) entry.sightings.set(sightingKey, sighting)
      byKey.set(key, entry)
    }
  }
  const indicators = [...byKey.values()]
    .map((e) => ({ type: e.type, value: e.value, sightings: [...e.sightings.values()].sort((x, y) => compare(x.source, y.source) || compare(x.attribute_uuid, y.attribute_uuid)) }))
    .sort((x, y) => compare(x.type, y.type) || compare(x.value, y.value))
  const record: FeedImport = { source: imported.source, tags: [...imported.tags], since: imported.since, attributes: attributes.length, kept }
  return { feed: { version: 1, imports: [...feed.imports, record], indicators }, kept, unsupported }
}

/** Why a feed could not be read, as one sentence; undefined when there is no file at all. */
export type FeedRead = { readonly feed: ThreatIntelFeed } | { readonly missing: true } | { readonly error: string }

export const readFeed = (path: string): FeedRead => {
  let text: string
  try {
    text = readFileSync(path, "utf8")
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") return { missing: true }
    return { error: `the threat-intel feed ${path} could not be read (${(error as { code?: string }).code ?? String(error)})` }
  }
  try {
    const parsed = JSON.parse(text) as ThreatIntelFeed
    if (parsed?.version !== 1 || !Array.isArray(parsed.indicators) || !Array.isArray(parsed.imports)) {
      return { error: `${path} is not a threat-intel feed written by dshield-coord import` }
    }
    return { feed: parsed }
  } catch {
    return { error: `${path} is not JSON; import the feed again with dshield-coord import --misp` }
  }
}

export const writeFeed = (path: string, feed: ThreatIntelFeed): void => {
  mkdirSync(dirname(path), { recursive: true })
  const temporary = `${path}.${process.pid}.tmp`
  writeFileSync(temporary, `${JSON.stringify(feed, null, 2)}\n`)
  renameSync(temporary, path)
}

/** The feed's indicators among these values of one type (each value once, in input order). */
export const feedMatches = (feed: ThreatIntelFeed, type: FeedIndicatorType, values: ReadonlyArray<string>): Array<FeedIndicator> => {
  const byValue = new Map(feed.indicators.filter((i) => i.type === type).map((i) => [i.value, i] as const))
  // An address also matches the networks of the feed that hold it (its sightings merged in).
  const holdingNetworks = networkIndex(type === "ip" ? feed.indicators.filter((i) => i.type === "cidr") : [])
  const out: Array<FeedIndicator> = []
  const seen = new Set<string>()
  for (const raw of values) {
    const value = type === "url" ? raw : raw.toLowerCase()
    if (seen.has(value)) continue
    const exact = byValue.get(value)
    const holding = type === "ip" ? holdingNetworks(value) : []
    if (exact === undefined && holding.length === 0) continue
    seen.add(value)
    out.push({ type, value, sightings: [...(exact?.sightings ?? []), ...holding.flatMap((n) => n.sightings)] })
  }
  return out
}

/**
 * The feed with the indicators of a plain list merged in (IP addresses, CIDR networks,
 * sha256 hashes, URLs, domains; one per line, # comments): each a sighting of `source` with
 * these tags. Lines that are none of these are counted, never guessed.
 */
export const mergeList = (
  feed: ThreatIntelFeed,
  text: string,
  imported: { readonly source: string; readonly tags: ReadonlyArray<string> }
): { feed: ThreatIntelFeed; kept: number; unreadable: Array<number> } => {
  const unreadable: Array<number> = []
  const attributes: Array<MispAttribute> = []
  text.split(/\r?\n/).forEach((line, k) => {
    const found = indicatorOfListLine(line)
    if (found === undefined) {
      if (line.replace(/#.*$/, "").trim() !== "") unreadable.push(k + 1)
      return
    }
    // As a MISP attribute of the list: its uuid is the line's content, so importing the same list again adds nothing.
    attributes.push({
      uuid: `list-${createHash("sha256").update(`${imported.source}\n${found.type}\n${found.value}`).digest("hex").slice(0, 32)}`,
      type: LIST_TYPES[found.type],
      value: found.value,
      timestamp: 0,
      toIds: true,
      eventUuid: "",
      eventInfo: `list ${imported.source}`,
      tags: [...imported.tags]
    })
  })
  const merged = mergeAttributes(feed, attributes, { source: imported.source, tags: imported.tags, since: null })
  return { feed: merged.feed, kept: merged.kept, unreadable }
}

/** The MISP type standing for each kind of list line (so one merge serves both imports). */
const LIST_TYPES: Record<FeedIndicatorType, string> = { ip: "ip-src", cidr: "ip-src", sha256: "sha256", url: "url", domain: "domain" }

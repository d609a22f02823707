/**
 * STIX 2.1 export of a Result v1: one bundle per run, so threat-intelligence platforms
 * (OpenCTI, MISP, TAXII feeds) can take the engine's campaigns without reading Result v1.
 *
 * What one campaign becomes:
 * - a `campaign` (name, first/last seen, `confidence` = round(100 × engine confidence), the
 *   assessment and evidence in `description` and in `x_dshield_*` properties);
 * - an `indicator` per indicator with a STIX observable (ip, sha256, url, domain) and an
 *   `indicates` relationship to the campaign; indicators are shared between the campaigns
 *   that carry them (a wave repeats its family's URL: one indicator, two relationships);
 * - an `attack-pattern` per ATT&CK technique (shared, with its mitre-attack external
 *   reference) and a `uses` relationship campaign → attack-pattern;
 * - an `observed-data` over the campaign's source addresses (`ipv4-addr` / `ipv6-addr`
 *   SCOs, `number_observed` = sessions) and a `sighting` of the campaign that cites it.
 *
 * Choices and why:
 * - Variants and waves are `campaign`s too, not `intrusion-set`s: a STIX campaign is "a set
 *   of malicious activities that occur over a period of time", which is what a variant (one
 *   payload of a family) and a wave (one burst of it) are. An intrusion-set asserts one
 *   organisation behind the activity, an attribution the engine does not make. The spec
 *   defines no relationship between two campaigns (`variant-of` is malware → malware), so a
 *   child is linked to its parent by the common `related-to`, child → parent, with
 *   `x_dshield_level` and `x_dshield_parent_campaign_id` saying which is which. Platforms
 *   merge campaigns by name (OpenCTI does), so a variant or wave named exactly like another
 *   campaign (a variant often carries its family's name) gets " (<level> <engine id>)"
 *   appended; families keep the engine's name.
 * - ssh_key, credential, command, hassh, client_version and user_agent have no STIX pattern
 *   the engine's value maps onto without guessing, so they get no `indicator` (a pattern
 *   would be invented, and a non-STIX `pattern_type` would be a pcre over nothing defined).
 *   They stay on the campaign, typed and verbatim, in `x_dshield_indicators_without_pattern`.
 *   So do ip and sha256 values that are not an IP address / 64 hex digits.
 * - The sighting is of the campaign (the spec allows any SDO in `sighting_of_ref`): every
 *   campaign has one, with or without an indicator, and "the campaign was seen N times" is
 *   what the sessions say.
 * - Ids are `<type>--UUIDv5`. SCOs use the spec's own rule (namespace 00abedb4-…, name =
 *   the canonical JSON of the ID contributing properties, `{"value":"…"}` for addresses), so
 *   other producers derive the same ids. Every other id is UUIDv5 in DSHIELD_STIX_NAMESPACE
 *   over stable content (the engine's campaign id, the pattern, the technique id, the ends
 *   of a relationship; the bundle over the run id and input digest): re-running the same
 *   input gives the same ids.
 * - Timestamps come from the Result, never the clock, so one Result gives one byte-identical
 *   bundle: `created` is when the object's data begins (the campaign's first_seen; the
 *   earliest one for a shared indicator), which stays put across re-runs, as STIX versioning
 *   asks of `created`; `modified` is the run's finished_at (no earlier than `created`): each
 *   run is a new version. The identity and the attack-patterns are the engine's own fixed
 *   objects and carry the fixed ENGINE_EPOCH.
 * - Objects are sorted by type (identity first, then SDOs, SCOs, relationships, sightings)
 *   and id; every object is built with its keys in a fixed order; empty lists are left out
 *   (the spec forbids empty lists).
 * - Custom properties (`x_dshield_*`, lowercase [a-z0-9_], 3–250 characters) are the
 *   spec's deprecated-but-valid way; a `toplevel-property-extension` definition could carry
 *   the same names later without renaming them.
 */
import { uuidV5 } from "./uuidV5.ts"
import { TECHNIQUE_NAMES } from "../analytics/attackTechniques.ts"
import { type Campaign, EvidenceKind, type Indicator } from "../domain/Campaign.ts"
import type { Result } from "../domain/Result.ts"
import { formatTimestamp, normaliseIp, parseIsoTimestamp } from "../ingest/validate.ts"

// ---------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------

/** Properties every SDO and SRO carries. */
export interface StixCommon {
  readonly spec_version: "2.1"
  readonly id: string
  readonly created_by_ref?: string
  readonly created: string
  readonly modified: string
}

export interface StixIdentity extends StixCommon {
  readonly type: "identity"
  readonly name: string
  readonly description: string
  readonly identity_class: "system"
}

export interface StixExternalReference {
  readonly source_name: string
  readonly external_id: string
  readonly url?: string
}

/** An engine indicator kept verbatim because it has no STIX pattern. */
export interface StixUnpatternedIndicator {
  readonly type: Indicator["type"]
  readonly value: string
}

export interface StixCampaign extends StixCommon {
  readonly type: "campaign"
  readonly name: string
  readonly description: string
  readonly first_seen: string
  readonly last_seen: string
  readonly confidence: number
  readonly x_dshield_campaign_id: string
  readonly x_dshield_parent_campaign_id?: string
  readonly x_dshield_level: Campaign["level"]
  readonly x_dshield_run_id: string
  readonly x_dshield_session_count: number
  readonly x_dshield_source_ip_count: number
  readonly x_dshield_assessment: Campaign["assessment"]
  readonly x_dshield_confidence: number
  readonly x_dshield_confidence_interval: readonly [number, number]
  readonly x_dshield_evidence?: Readonly<Partial<Record<EvidenceKind, { readonly score: number; readonly p_value: number; readonly detail: string }>>>
  readonly x_dshield_formed_by?: ReadonlyArray<{ readonly kind: string; readonly links: number }>
  readonly x_dshield_indicators_without_pattern?: ReadonlyArray<StixUnpatternedIndicator>
}

export interface StixIndicator extends StixCommon {
  readonly type: "indicator"
  readonly name: string
  readonly indicator_types: ReadonlyArray<string>
  readonly pattern: string
  readonly pattern_type: "stix"
  readonly pattern_version: "2.1"
  readonly valid_from: string
}

export interface StixAttackPattern extends StixCommon {
  readonly type: "attack-pattern"
  readonly name: string
  readonly external_references: ReadonlyArray<StixExternalReference>
}

export interface StixObservedData extends StixCommon {
  readonly type: "observed-data"
  readonly first_observed: string
  readonly last_observed: string
  readonly number_observed: number
  readonly object_refs: ReadonlyArray<string>
}

export interface StixRelationship extends StixCommon {
  readonly type: "relationship"
  readonly relationship_type: "indicates" | "uses" | "related-to"
  readonly description?: string
  readonly source_ref: string
  readonly target_ref: string
}

export interface StixSighting extends StixCommon {
  readonly type: "sighting"
  readonly description: string
  readonly first_seen: string
  readonly last_seen: string
  readonly count: number
  readonly sighting_of_ref: string
  readonly observed_data_refs?: ReadonlyArray<string>
}

/** An address SCO (no created/modified: SCOs are not versioned). */
export interface StixIpAddress {
  readonly type: "ipv4-addr" | "ipv6-addr"
  readonly spec_version: "2.1"
  readonly id: string
  readonly value: string
}

export type StixObject =
  | StixIdentity
  | StixCampaign
  | StixIndicator
  | StixAttackPattern
  | StixObservedData
  | StixRelationship
  | StixSighting
  | StixIpAddress

export interface StixBundle {
  readonly type: "bundle"
  readonly id: string
  readonly objects: ReadonlyArray<StixObject>
}

// ---------------------------------------------------------------------------------------
// Deterministic ids
// ---------------------------------------------------------------------------------------

/** The STIX 2.1 namespace for deterministic SCO ids (spec §2.9 / §3.4). */
export const STIX_SCO_NAMESPACE = "00abedb4-aa42-466c-9c01-fed23315a9b7"

/** This engine's namespace for every other id. Never change it: every exported id would. */
export const DSHIELD_STIX_NAMESPACE = "5b9b30e3-5e93-4ce3-bd47-3f276395f541"

/** An SDO/SRO/bundle id over stable parts; JSON keeps the parts unambiguous. */
const engineId = (type: string, ...parts: ReadonlyArray<string>): string =>
  `${type}--${uuidV5(DSHIELD_STIX_NAMESPACE, JSON.stringify([type, ...parts]))}`

/**
 * The spec's deterministic id of an address SCO: UUIDv5 over the canonical (RFC 8785) JSON
 * of its one ID contributing property, `value`. For one string key that is what
 * JSON.stringify writes.
 */
export const ipAddressId = (type: StixIpAddress["type"], value: string): string =>
  `${type}--${uuidV5(STIX_SCO_NAMESPACE, JSON.stringify({ value }))}`

// ---------------------------------------------------------------------------------------
// Patterns
// ---------------------------------------------------------------------------------------

/**
 * A STIX pattern string literal: in quotes, with `\` written `\\` and `'` written `\'`,
 * the only two escapes the grammar has (StringLiteral in STIXPattern.g4); every other
 * character, newlines included, stands for itself.
 */
export const patternLiteral = (value: string): string => `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`

const SHA256 = /^[0-9a-f]{64}$/i

interface Patterned {
  readonly pattern: string
  readonly name: string
}

/** The STIX pattern of an engine indicator, or undefined when it has no observable. */
export const indicatorPattern = (indicator: Indicator): Patterned | undefined => {
  switch (indicator.type) {
    case "ip": {
      const ip = normaliseIp(indicator.value)
      if (ip === undefined) return undefined
      const type = ip.includes(":") ? "ipv6-addr" : "ipv4-addr"
      return { pattern: `[${type}:value = ${patternLiteral(ip)}]`, name: `${type === "ipv4-addr" ? "IPv4" : "IPv6"} address ${ip}` }
    }
    case "sha256": {
      if (!SHA256.test(indicator.value)) return undefined
      const hash = indicator.value.toLowerCase()
      return { pattern: `[file:hashes.'SHA-256' = ${patternLiteral(hash)}]`, name: `File SHA-256 ${hash}` }
    }
    case "url":
      return { pattern: `[url:value = ${patternLiteral(indicator.value)}]`, name: `URL ${indicator.value}` }
    case "domain":
      return { pattern: `[domain-name:value = ${patternLiteral(indicator.value)}]`, name: `Domain ${indicator.value}` }
    default:
      return undefined
  }
}

// ---------------------------------------------------------------------------------------
// Fixed engine objects
// ---------------------------------------------------------------------------------------

/** The created/modified time of the engine's fixed objects: the engine's first commit. */
export const ENGINE_EPOCH = "2026-11-28T18:32:05.000Z"

export const ENGINE_IDENTITY: StixIdentity = {
  type: "identity",
  spec_version: "2.1",
  id: engineId("identity", "dshield-coordination-engine"),
  created: ENGINE_EPOCH,
  modified: ENGINE_EPOCH,
  name: "DShield Coordination Engine",
  description: "Groups DShield honeypot attack sessions into coordinated campaigns with calibrated, evidence-backed confidence.",
  identity_class: "system"
}

const TECHNIQUE_ID = /^T(\d{4})(?:\.(\d{3}))?$/

/** The attack-pattern of one ATT&CK technique id. */
export const attackPattern = (technique: string): StixAttackPattern => {
  const m = TECHNIQUE_ID.exec(technique)
  const url = m === null ? undefined : `https://attack.mitre.org/techniques/T${m[1]}/${m[2] === undefined ? "" : `${m[2]}/`}`
  const name = TECHNIQUE_NAMES[technique] ?? technique
  return {
    type: "attack-pattern",
    spec_version: "2.1",
    id: engineId("attack-pattern", technique),
    created_by_ref: ENGINE_IDENTITY.id,
    created: ENGINE_EPOCH,
    modified: ENGINE_EPOCH,
    name,
    external_references: [
      url === undefined
        ? { source_name: "mitre-attack", external_id: technique }
        : { source_name: "mitre-attack", external_id: technique, url }
    ]
  }
}

// ---------------------------------------------------------------------------------------
// The bundle
// ---------------------------------------------------------------------------------------

/** A Result timestamp in STIX form (UTC, milliseconds), or the fallback when malformed. */
const stixTime = (iso: string, fallback: string): string => {
  const ms = parseIsoTimestamp(iso)
  return Number.isFinite(ms) ? formatTimestamp(ms) : fallback
}

const later = (a: string, b: string): string => (a >= b ? a : b)

const percent = (confidence: number): number => Math.min(100, Math.max(0, Math.round(confidence * 100)))

const words = (s: string): string => s.replace(/_/g, " ")

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`

const evidenceOf = (campaign: Campaign): StixCampaign["x_dshield_evidence"] => {
  const out: Partial<Record<EvidenceKind, { score: number; p_value: number; detail: string }>> = {}
  for (const kind of EvidenceKind.literals) {
    const e = campaign.evidence[kind]
    if (e !== undefined) out[kind] = { score: e.score, p_value: e.p_value, detail: e.detail }
  }
  return Object.keys(out).length === 0 ? undefined : out
}

const describeCampaign = (campaign: Campaign, parent: Campaign | undefined, first: string, last: string): string => {
  const level = parent === undefined ? campaign.level : `${campaign.level} of ${parent.level} "${parent.name}"`
  const sentences = [
    `DShield Coordination Engine ${level}: ${plural(campaign.sessions.length, "honeypot session")} from ${
      plural(campaign.source_ips.length, "source address", "source addresses")
    }, ${first} to ${last}.`,
    `Assessment: ${words(campaign.assessment)} (confidence ${campaign.confidence.toFixed(2)}, interval ${
      campaign.confidence_interval[0].toFixed(2)
    }–${campaign.confidence_interval[1].toFixed(2)}).`
  ]
  const evidence = EvidenceKind.literals.flatMap((kind) => {
    const e = campaign.evidence[kind]
    return e === undefined ? [] : [`${words(kind)} score ${e.score.toFixed(2)}, p = ${e.p_value.toPrecision(2)}`]
  })
  if (evidence.length > 0) sentences.push(`Evidence: ${evidence.join("; ")}.`)
  if (campaign.formed_by.length > 0) {
    sentences.push(`Formed by ${campaign.formed_by.map((f) => `${words(f.kind)} (${plural(f.links, "link")})`).join(", ")}.`)
  }
  return sentences.join(" ")
}

const TYPE_ORDER: ReadonlyArray<StixObject["type"]> = [
  "identity",
  "campaign",
  "indicator",
  "attack-pattern",
  "observed-data",
  "ipv4-addr",
  "ipv6-addr",
  "relationship",
  "sighting"
]

const byTypeThenId = (a: StixObject, b: StixObject): number =>
  TYPE_ORDER.indexOf(a.type) - TYPE_ORDER.indexOf(b.type) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/** The STIX 2.1 bundle of one run: pure, and byte-identical for the same Result. */
export const stixBundle = (result: Result): StixBundle => {
  const runTime = stixTime(result.run.finished_at, ENGINE_EPOCH)
  const objects = new Map<string, StixObject>()
  const add = (o: StixObject): void => {
    objects.set(o.id, o)
  }
  add(ENGINE_IDENTITY)
  const common = (id: string, created: string) =>
    ({ spec_version: "2.1", id, created_by_ref: ENGINE_IDENTITY.id, created, modified: later(runTime, created) }) as const

  const byId = new Map(result.campaigns.map((c) => [c.id, c] as const))
  const nameCount = new Map<string, number>()
  for (const c of result.campaigns) nameCount.set(c.name, (nameCount.get(c.name) ?? 0) + 1)
  // Platforms merge campaigns by name (OpenCTI does): a variant named like its family gets
  // its level and id appended; a family keeps its name.
  const nameOf = (c: Campaign): string => c.level === "family" || nameCount.get(c.name) === 1 ? c.name : `${c.name} (${c.level} ${c.id})`
  const campaignRef = (c: Campaign): string => engineId("campaign", c.id)
  const relationship = (
    relationship_type: StixRelationship["relationship_type"],
    source_ref: string,
    target_ref: string,
    created: string,
    description?: string
  ): StixRelationship => ({
    type: "relationship",
    ...common(engineId("relationship", relationship_type, source_ref, target_ref), created),
    relationship_type,
    ...(description === undefined ? {} : { description }),
    source_ref,
    target_ref
  })

  // Indicators are shared: first collect, per pattern, the earliest campaign start.
  const patterned = new Map<string, Patterned & { valid_from: string }>()
  for (const c of result.campaigns) {
    const first = stixTime(c.first_seen, runTime)
    for (const indicator of c.indicators) {
      const p = indicatorPattern(indicator)
      if (p === undefined) continue
      const seen = patterned.get(p.pattern)
      if (seen === undefined || first < seen.valid_from) patterned.set(p.pattern, { ...p, valid_from: first })
    }
  }
  for (const p of patterned.values()) {
    add({
      type: "indicator",
      ...common(engineId("indicator", p.pattern), p.valid_from),
      name: p.name,
      indicator_types: ["malicious-activity"],
      pattern: p.pattern,
      pattern_type: "stix",
      pattern_version: "2.1",
      valid_from: p.valid_from
    })
  }

  for (const c of result.campaigns) {
    const first = stixTime(c.first_seen, runTime)
    const last = later(stixTime(c.last_seen, first), first)
    const parent = c.parent_id === null ? undefined : byId.get(c.parent_id)
    const id = campaignRef(c)
    const withoutPattern = c.indicators
      .filter((i) => indicatorPattern(i) === undefined)
      .map((i): StixUnpatternedIndicator => ({ type: i.type, value: i.value }))
    const evidence = evidenceOf(c)
    add({
      type: "campaign",
      ...common(id, first),
      name: nameOf(c),
      description: describeCampaign(c, parent, first, last),
      first_seen: first,
      last_seen: last,
      confidence: percent(c.confidence),
      x_dshield_campaign_id: c.id,
      ...(c.parent_id === null ? {} : { x_dshield_parent_campaign_id: c.parent_id }),
      x_dshield_level: c.level,
      x_dshield_run_id: result.run.id,
      x_dshield_session_count: c.sessions.length,
      x_dshield_source_ip_count: c.source_ips.length,
      x_dshield_assessment: c.assessment,
      x_dshield_confidence: c.confidence,
      x_dshield_confidence_interval: [c.confidence_interval[0], c.confidence_interval[1]],
      ...(evidence === undefined ? {} : { x_dshield_evidence: evidence }),
      ...(c.formed_by.length === 0 ? {} : { x_dshield_formed_by: c.formed_by.map((f) => ({ kind: f.kind, links: f.links })) }),
      ...(withoutPattern.length === 0 ? {} : { x_dshield_indicators_without_pattern: withoutPattern })
    })

    if (parent !== undefined) {
      add(relationship("related-to", id, campaignRef(parent), first, `${c.level} of ${parent.level} "${parent.name}"`))
    }
    for (const indicator of c.indicators) {
      const p = indicatorPattern(indicator)
      if (p !== undefined) add(relationship("indicates", engineId("indicator", p.pattern), id, first))
    }
    for (const technique of c.ttps) {
      const ap = attackPattern(technique)
      add(ap)
      add(relationship("uses", id, ap.id, first))
    }

    const addressRefs = new Set<string>()
    for (const raw of c.source_ips) {
      const ip = normaliseIp(raw)
      if (ip === undefined) continue
      const type = ip.includes(":") ? "ipv6-addr" : "ipv4-addr"
      const sco: StixIpAddress = { type, spec_version: "2.1", id: ipAddressId(type, ip), value: ip }
      add(sco)
      addressRefs.add(sco.id)
    }
    const observedId = engineId("observed-data", c.id)
    const observed = addressRefs.size > 0 && c.sessions.length > 0
    if (observed) {
      add({
        type: "observed-data",
        ...common(observedId, first),
        first_observed: first,
        last_observed: last,
        number_observed: Math.min(c.sessions.length, 999_999_999),
        object_refs: [...addressRefs].sort()
      })
    }
    add({
      type: "sighting",
      ...common(engineId("sighting", c.id), first),
      description: `${plural(c.sessions.length, "session")} of this ${c.level} reached DShield honeypots from ${
        plural(c.source_ips.length, "source address", "source addresses")
      }.`,
      first_seen: first,
      last_seen: last,
      count: Math.min(c.sessions.length, 999_999_999),
      sighting_of_ref: id,
      ...(observed ? { observed_data_refs: [observedId] } : {})
    })
  }

  return {
    type: "bundle",
    id: engineId("bundle", result.run.id, result.run.input_digest),
    objects: [...objects.values()].sort(byTypeThenId)
  }
}

/** The bundle as written to files: two-space JSON with a final newline. */
export const serializeStixBundle = (bundle: StixBundle): string => `${JSON.stringify(bundle, null, 2)}\n`

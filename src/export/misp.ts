/**
 * MISP export of a Result v1: one MISP event per campaign family, in the MISP core format
 * (`{"Event": {...}}`), as `events/add` and `events/edit` take it (see mispClient.ts) and as
 * MISP's "Import from MISP JSON" reads it.
 *
 * Sources relied on (commits are the snapshots read):
 * - MISP core format, draft-dulaunoy-misp-core-format-20, https://github.com/MISP/misp-rfc
 *   misp-core-format/raw.md (b10f23a): the Event, Attribute, EventReport and Tag fields and
 *   their JSON types (ids, codes and timestamps are strings), the category/type matrix,
 *   the distribution, threat_level_id and analysis codes, and "if the event was never
 *   published, the publish_timestamp MUST be set to 0".
 * - MISP itself, https://github.com/MISP/MISP (bb0909a): app/Model/MispAttribute.php
 *   (typeDefinitions: default category and to_ids of each type; categoryDefinitions),
 *   app/Lib/Tools/AttributeValidationTool.php (an `ssh-fingerprint` is MD5 hex or
 *   `SHA256:<base64 of 32 bytes>`; hashes are lower-cased hex of a fixed length),
 *   app/Model/Event.php `_add`/`_edit` and app/Model/EventReport.php `editReport` (attributes
 *   and reports are matched by uuid on edit, and only replaced when their timestamp is newer).
 * - Taxonomies, https://github.com/MISP/misp-taxonomies (7591c55): `tlp` (clear, green,
 *   amber, red) and `estimative-language:likelihood-probability` (7 bands, 5–95 %).
 * - Galaxy, https://github.com/MISP/misp-galaxy (9434ace) clusters/mitre-attack-pattern.json:
 *   cluster values are "<technique name> - <id>", attached by the tag
 *   `misp-galaxy:mitre-attack-pattern="<value>"`.
 *
 * How the Result maps (type, category, to_ids; every pair is valid in the RFC's matrix):
 *
 * | Result                     | MISP type         | category              | to_ids |
 * |----------------------------|-------------------|-----------------------|--------|
 * | source_ips, `ip` indicator | ip-src            | Network activity      | true   |
 * | `sha256`                   | sha256            | Payload delivery      | true   |
 * | `url`                      | url               | Network activity      | true   |
 * | `domain`                   | domain            | Network activity      | true   |
 * | `ssh_key` (fingerprint)    | ssh-fingerprint   | Network activity      | false  |
 * | `ssh_key` (the public key) | text              | Persistence mechanism | false  |
 * | `hassh`                    | hassh-md5         | Network activity      | false  |
 * | `client_version`           | text              | Network activity      | false  |
 * | `user_agent`               | user-agent        | Network activity      | false  |
 * | `credential`               | text              | Other                 | false  |
 * | `command`                  | text              | Other                 | false  |
 * | `asn`                      | AS                | Network activity      | false  |
 * | the family and each variant and wave | campaign-id | Attribution       | false  |
 *
 * - MISP has no type for an SSH public key. The key's OpenSSH SHA256 fingerprint (what
 *   `ssh-keygen -lf` prints) goes in `ssh-fingerprint`, under Network activity, the only
 *   category MISP allows for that type; the key itself goes in `text` under Persistence
 *   mechanism, as it was written to authorized_keys (T1098.004).
 * - to_ids (actionable for detection) is true only for addresses, URLs, domains and file
 *   hashes. A hassh, SSH client version or user agent is shared by every user of the same
 *   library, so alone it would flag legitimate clients; credentials and commands are context.
 * - Client versions ("SSH-2.0-Go") are `text`: MISP has no SSH banner type.
 * - Sub-campaigns (variants and waves) are `campaign-id` attributes, one per sub-campaign,
 *   with their own first_seen/last_seen and a comment naming level, parent, size and
 *   confidence; the evidence report tabulates them. Not MISP objects: no object template in
 *   MISP describes a sub-group of a campaign, and a custom template would have to be installed
 *   on every instance the event reaches.
 * - A value MISP would refuse for its type (not an IP address, not 64 hex digits, …; rules of
 *   AttributeValidationTool.php) is exported as `text` under Other instead, with a comment.
 * - An ip-src attribute's first_seen/last_seen are the family's (the Result has no per-address
 *   times); its comment says so.
 * - threat_level_id: "2" (Medium) when the campaign delivers payloads or plants persistence
 *   (file hashes, URLs, domains, SSH keys, or T1105/T1098.004/T1053.003/T1496/T1562.004),
 *   "3" (Low) otherwise; never "1" (High): honeypot telemetry says nothing about a real victim.
 * - analysis "1" (Ongoing): the campaign may continue, and later runs update the event.
 * - distribution follows the TLP: red and amber "0" (your organisation only), green "1"
 *   (this community only), clear "3" (all communities). Default TLP: amber. Attributes and
 *   the report inherit ("5"). The event is not published (publishing sends alerts and syncs:
 *   an analyst's decision), so publish_timestamp is "0".
 * - Confidence tag: the engine's confidence is a calibrated probability that the campaign is
 *   coordinated, so it maps onto the likelihood-probability bands (< 5 % almost-no-chance,
 *   < 20 % very-unlikely, < 45 % unlikely, < 55 % roughly-even-chance, < 80 % likely,
 *   < 95 % very-likely, otherwise almost-certain).
 * - ATT&CK tags use the galaxy value from ATTACK_PATTERN_NAMES, which covers every technique the
 *   engine's rules can report. For a technique missing from it the value is built the galaxy's
 *   way from the name the Result gives (`techniques[].name`, sub-technique part only: "Brute
 *   Force: Password Guessing" → "Password Guessing - T1110.001"), which matches the cluster when
 *   ATT&CK and the galaxy agree on the name; with no name at all the tag carries the bare id
 *   (`misp-galaxy:mitre-attack-pattern="T1234"`), which MISP keeps as a plain tag not linked to
 *   any cluster.
 * - `orgName` becomes `Orgc: {name}`. MISP replaces Orgc with the API key's organisation
 *   unless the key's user is a sync user; a sync user's push is filed under the organisation
 *   of that name (Organisation::captureOrg looks it up by name when no uuid is given).
 *
 * Determinism: nothing reads the clock or a random source. uuids are UUIDv5 (RFC 4122 §4.3,
 * SHA-1) under MISP_EXPORT_NAMESPACE: the event's from the campaign id, an attribute's from
 * campaign id + MISP type + value, the report's from the campaign id; so a re-export of the
 * same campaign lands on the same event, attributes and report (MISP matches them by uuid and
 * adds nothing twice). Every timestamp is the run's finished_at, so the same Result gives
 * byte-identical JSON, and a later run's export is newer than an earlier one's, which is what
 * MISP's edit requires of attributes and reports before it replaces them.
 */
import { createHash } from "node:crypto"
import { uuidV5 } from "./uuidV5.ts"
import { isIP } from "node:net"
import type { Campaign, Evidence, EvidenceKind, IndicatorType } from "../domain/Campaign.ts"
import type { Result } from "../domain/Result.ts"

/** Traffic Light Protocol levels of MISP's `tlp` taxonomy (TLP 2.0 names). */
export type Tlp = "clear" | "green" | "amber" | "red"

export interface MispExportOptions {
  /** Default "amber". */
  readonly tlp?: Tlp
  /** The creator organisation's name, as MISP knows it (see the header). */
  readonly orgName?: string
}

/** A tag by name only: MISP finds or creates it and derives the colour from the name. */
export interface MispTag {
  readonly name: string
  readonly exportable: boolean
}

export interface MispAttribute {
  readonly uuid: string
  readonly type: string
  readonly category: string
  readonly value: string
  readonly to_ids: boolean
  readonly comment: string
  /** "5": inherit the event's distribution. */
  readonly distribution: string
  readonly sharing_group_id: string
  readonly timestamp: string
  readonly deleted: boolean
  readonly disable_correlation: boolean
  readonly first_seen?: string
  readonly last_seen?: string
}

export interface MispEventReport {
  readonly uuid: string
  readonly name: string
  /** Markdown. */
  readonly content: string
  readonly distribution: string
  readonly sharing_group_id: string
  readonly timestamp: string
  readonly deleted: boolean
}

export interface MispEventBody {
  readonly uuid: string
  readonly info: string
  /** YYYY-MM-DD, the family's first_seen day (UTC). */
  readonly date: string
  readonly threat_level_id: string
  readonly analysis: string
  readonly distribution: string
  readonly sharing_group_id: string
  readonly published: boolean
  /** Unix seconds, as a string: the run's finished_at. */
  readonly timestamp: string
  readonly publish_timestamp: string
  readonly Orgc?: { readonly name: string }
  readonly Attribute: ReadonlyArray<MispAttribute>
  readonly Tag: ReadonlyArray<MispTag>
  readonly EventReport: ReadonlyArray<MispEventReport>
}

/** One event in the MISP core format. */
export interface MispEvent {
  readonly Event: MispEventBody
}

// ---------------------------------------------------------------------------------------------
// UUIDv5
// ---------------------------------------------------------------------------------------------

/** RFC 4122 Appendix C: the namespace for URL names. */
const URL_NAMESPACE = "6ba7b811-9dad-11d1-80b4-00c04fd430c8"

/**
 * The namespace of every uuid this export makes. Never change it: it is what makes a re-export
 * land on the events already in MISP.
 */
export const MISP_EXPORT_NAMESPACE = uuidV5(URL_NAMESPACE, "urn:dshield-coord:misp-export")

export const mispEventUuid = (campaignId: string): string => uuidV5(MISP_EXPORT_NAMESPACE, campaignId)
export const mispAttributeUuid = (campaignId: string, type: string, value: string): string =>
  uuidV5(MISP_EXPORT_NAMESPACE, `${campaignId}|attribute|${type}|${value}`)
const reportUuid = (campaignId: string): string => uuidV5(MISP_EXPORT_NAMESPACE, `${campaignId}|event-report|evidence`)

// ---------------------------------------------------------------------------------------------
// Vocabularies
// ---------------------------------------------------------------------------------------------

/**
 * misp-galaxy mitre-attack-pattern cluster values for the techniques the engine emits
 * (misp-galaxy 9434ace, clusters/mitre-attack-pattern.json, matched on meta.external_id).
 */
export const ATTACK_PATTERN_NAMES: Readonly<Record<string, string>> = {
  "T1016": "System Network Configuration Discovery",
  "T1033": "System Owner/User Discovery",
  "T1046": "Network Service Discovery",
  "T1053.003": "Cron",
  "T1057": "Process Discovery",
  "T1059.004": "Unix Shell",
  "T1070.002": "Clear Linux or Mac System Logs",
  "T1070.003": "Clear Command History",
  "T1070.004": "File Deletion",
  "T1078": "Valid Accounts",
  "T1082": "System Information Discovery",
  "T1083": "File and Directory Discovery",
  "T1090": "Proxy",
  "T1098": "Account Manipulation",
  "T1098.004": "SSH Authorized Keys",
  "T1105": "Ingress Tool Transfer",
  "T1110.001": "Password Guessing",
  "T1140": "Deobfuscate/Decode Files or Information",
  "T1190": "Exploit Public-Facing Application",
  "T1222.002": "Linux and Mac Permissions",
  "T1496": "Resource Hijacking",
  "T1548.003": "Sudo and Sudo Caching",
  "T1562.004": "Disable or Modify System Firewall"
}

/**
 * The galaxy tag of one ATT&CK technique id: the table's name, else the sub-technique part of
 * `resultName`, else the bare id (see the header).
 */
export const attackPatternTag = (techniqueId: string, resultName?: string): string => {
  const fromResult = resultName?.split(": ").pop()?.replace(/\s+/g, " ").replace(/"/g, "'").trim()
  const name = ATTACK_PATTERN_NAMES[techniqueId] ?? (fromResult === undefined || fromResult === "" ? undefined : fromResult)
  return `misp-galaxy:mitre-attack-pattern="${name === undefined ? techniqueId : `${name} - ${techniqueId}`}"`
}

/**
 * Technique names the Result carries (`techniques`, written by engines that name them; read
 * structurally so Results without the field work too).
 */
const techniqueNamesOf = (campaign: Campaign): ReadonlyMap<string, string> => {
  const named = (campaign as { readonly techniques?: ReadonlyArray<{ readonly id: string; readonly name: string }> }).techniques
  return new Map((named ?? []).map((t) => [t.id, t.name] as const))
}

/** estimative-language:likelihood-probability band of a probability. */
export const likelihoodTag = (confidence: number): string => {
  const band = confidence < 0.05
    ? "almost-no-chance"
    : confidence < 0.2
    ? "very-unlikely"
    : confidence < 0.45
    ? "unlikely"
    : confidence < 0.55
    ? "roughly-even-chance"
    : confidence < 0.8
    ? "likely"
    : confidence < 0.95
    ? "very-likely"
    : "almost-certain"
  return `estimative-language:likelihood-probability="${band}"`
}

const DISTRIBUTION_BY_TLP: Readonly<Record<Tlp, string>> = { red: "0", amber: "0", green: "1", clear: "3" }

/** Techniques that mean payload delivery or persistence (threat level Medium). */
const MEDIUM_TECHNIQUES = new Set(["T1105", "T1098.004", "T1053.003", "T1496", "T1562.004"])
const MEDIUM_INDICATORS = new Set<IndicatorType>(["sha256", "url", "domain", "ssh_key"])

const EVIDENCE_ORDER: ReadonlyArray<EvidenceKind> = [
  "temporal_correlation",
  "behavioral_similarity",
  "infrastructure_clustering",
  "geographic_proximity",
  "payload_similarity"
]

// ---------------------------------------------------------------------------------------------
// Formatting helpers
// ---------------------------------------------------------------------------------------------

const INFO_MAX = 256

const oneLine = (text: string): string => text.replace(/\s+/g, " ").trim()

const clip = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`)

const unixSeconds = (iso: string): number | undefined => {
  const ms = Date.parse(iso)
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000)
}

const dayOf = (iso: string): string => {
  const ms = Date.parse(iso)
  return Number.isNaN(ms) ? iso.slice(0, 10) : new Date(ms).toISOString().slice(0, 10)
}

const words = (label: string): string => label.replace(/_/g, " ")

const formatP = (p: number): string => (p === 0 ? "0" : p < 0.001 ? p.toExponential(2) : String(Number(p.toPrecision(3))))

const formatConfidence = (c: number): string => c.toFixed(3)

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`

/**
 * OpenSSH's SHA256 fingerprint of a public key line ("ssh-ed25519 AAAA..."): unpadded base64 of
 * the SHA-256 of the key blob. Undefined when the body is not a key blob of the named type (the
 * blob starts with the type as an SSH string, RFC 4253 §6.6).
 */
export const sshKeyFingerprint = (key: string): string | undefined => {
  const [kind, body] = key.trim().split(/\s+/)
  if (kind === undefined || body === undefined || !/^[A-Za-z0-9+/]+={0,3}$/.test(body)) return undefined
  const blob = Buffer.from(body, "base64")
  if (blob.length < 4) return undefined
  const length = blob.readUInt32BE(0)
  if (blob.subarray(4, 4 + length).toString("latin1") !== kind) return undefined
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`
}

// ---------------------------------------------------------------------------------------------
// The event
// ---------------------------------------------------------------------------------------------

interface Draft {
  readonly type: string
  readonly category: string
  readonly value: string
  readonly to_ids: boolean
  readonly comment: string
  readonly first_seen?: string
  readonly last_seen?: string
}

/** The family's variants and waves, in Result order. */
const descendantsOf = (family: Campaign, campaigns: ReadonlyArray<Campaign>): Array<Campaign> => {
  const byId = new Map(campaigns.map((c) => [c.id, c] as const))
  const rootOf = (campaign: Campaign): string => {
    let current = campaign
    const seen = new Set<string>()
    while (current.parent_id !== null && !seen.has(current.id)) {
      seen.add(current.id)
      const parent = byId.get(current.parent_id)
      if (parent === undefined) return current.parent_id
      current = parent
    }
    return current.id
  }
  return campaigns.filter((c) => c.id !== family.id && c.level !== "family" && rootOf(c) === family.id)
}

const campaignSummary = (c: Campaign): string =>
  `${plural(c.sessions.length, "session")} from ${plural(c.source_ips.length, "source address", "source addresses")}; confidence ${formatConfidence(c.confidence)} (${words(c.assessment)})`

const indicatorDrafts = (family: Campaign): Array<Draft> => {
  const window = { first_seen: family.first_seen, last_seen: family.last_seen }
  const drafts: Array<Draft> = []
  const ofType = (type: IndicatorType): Array<string> =>
    family.indicators.filter((i) => i.type === type).map((i) => i.value).sort()

  // A value MISP's validation would refuse for its type (AttributeValidationTool) is kept as text.
  const malformed = (what: string, value: string): Draft => ({
    type: "text",
    category: "Other",
    value,
    to_ids: false,
    comment: `${what} indicator of this campaign that is not in the format MISP requires for its type.`,
    ...window
  })
  const sources = new Set(family.source_ips)
  const candidates = [...new Set([...family.source_ips, ...ofType("ip")])].sort()
  for (const value of candidates.filter((ip) => isIP(ip) === 0)) drafts.push(malformed("Address", value))
  const addresses = candidates.filter((ip) => isIP(ip) !== 0)
  for (const ip of addresses) {
    drafts.push({
      type: "ip-src",
      category: "Network activity",
      value: ip,
      to_ids: true,
      comment: sources.has(ip)
        ? "Source address of sessions in this campaign; first/last seen are the campaign's, not this address's alone."
        : "Address indicator of this campaign; first/last seen are the campaign's.",
      ...window
    })
  }
  for (const hash of ofType("sha256")) {
    if (!/^[0-9a-f]{64}$/i.test(hash)) {
      drafts.push(malformed("SHA-256", hash))
      continue
    }
    drafts.push({ type: "sha256", category: "Payload delivery", value: hash.toLowerCase(), to_ids: true, comment: "SHA-256 of a file downloaded or dropped in the campaign's sessions.", ...window })
  }
  for (const url of ofType("url")) {
    drafts.push({ type: "url", category: "Network activity", value: url, to_ids: true, comment: "URL the campaign's sessions downloaded from.", ...window })
  }
  for (const raw of ofType("domain")) {
    const domain = raw.toLowerCase().replace(/^\.+|\.+$/g, "")
    if (!/^[a-z0-9._-]+\.[a-z0-9-]{2,}$/.test(domain)) {
      drafts.push(malformed("Domain", raw))
      continue
    }
    drafts.push({ type: "domain", category: "Network activity", value: domain, to_ids: true, comment: "Host name in a URL the campaign's sessions downloaded from.", ...window })
  }
  for (const key of ofType("ssh_key")) {
    const fingerprint = sshKeyFingerprint(key)
    if (fingerprint !== undefined) {
      drafts.push({ type: "ssh-fingerprint", category: "Network activity", value: fingerprint, to_ids: false, comment: `OpenSSH SHA256 fingerprint of the ${key.split(/\s+/)[0]} key the campaign wrote to authorized_keys.`, ...window })
    }
    drafts.push({ type: "text", category: "Persistence mechanism", value: key, to_ids: false, comment: "SSH public key the campaign wrote to authorized_keys (T1098.004).", ...window })
  }
  for (const hassh of ofType("hassh")) {
    if (!/^[0-9a-f]{32}$/i.test(hassh)) {
      drafts.push(malformed("hassh", hassh))
      continue
    }
    drafts.push({ type: "hassh-md5", category: "Network activity", value: hassh.toLowerCase(), to_ids: false, comment: "hassh of the SSH client most of the campaign's sessions used; shared by every user of that client library.", ...window })
  }
  for (const version of ofType("client_version")) {
    drafts.push({ type: "text", category: "Network activity", value: version, to_ids: false, comment: "SSH client version string most of the campaign's sessions sent (MISP has no SSH banner type).", ...window })
  }
  for (const agent of ofType("user_agent")) {
    drafts.push({ type: "user-agent", category: "Network activity", value: agent, to_ids: false, comment: "HTTP user agent most of the campaign's sessions sent.", ...window })
  }
  for (const credential of ofType("credential")) {
    drafts.push({ type: "text", category: "Other", value: credential, to_ids: false, comment: "Credential (user/password) the campaign's sessions logged in with.", ...window })
  }
  for (const asn of family.indicators.filter((i) => i.type === "asn").sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0))) {
    const number = asn.value.replace(/^AS/i, "")
    if (!/^\d+$/.test(number)) {
      drafts.push(malformed("Autonomous system", asn.value))
      continue
    }
    const organisation = asn.name === undefined || asn.name === "" ? "" : ` (${asn.name})`
    drafts.push({ type: "AS", category: "Network activity", value: number, to_ids: false, comment: `Autonomous system${organisation} announcing the addresses many of the campaign's sessions came from; a network, not an actor.`, ...window })
  }
  for (const command of ofType("command")) {
    drafts.push({ type: "text", category: "Other", value: command, to_ids: false, comment: "Command template the campaign's sessions ran.", ...window })
  }
  return drafts
}

const attributesOf = (family: Campaign, subcampaigns: ReadonlyArray<Campaign>, timestamp: string): Array<MispAttribute> => {
  const drafts: Array<Draft> = [
    {
      type: "campaign-id",
      category: "Attribution",
      value: family.id,
      to_ids: false,
      comment: `DShield Coordination Engine campaign family "${oneLine(family.name)}": ${campaignSummary(family)}.`,
      first_seen: family.first_seen,
      last_seen: family.last_seen
    },
    ...subcampaigns.map((c): Draft => ({
      type: "campaign-id",
      category: "Attribution",
      value: c.id,
      to_ids: false,
      comment: `${c.level === "variant" ? "Variant" : "Wave"} of ${c.parent_id ?? family.id}, "${oneLine(c.name)}": ${campaignSummary(c)}.`,
      first_seen: c.first_seen,
      last_seen: c.last_seen
    })),
    ...indicatorDrafts(family)
  ]
  // One attribute per (type, value): MISP drops repeats of a value/type/category on add, and
  // the uuid is derived from type and value.
  const seen = new Set<string>()
  const attributes: Array<MispAttribute> = []
  for (const d of drafts) {
    const key = `${d.type}|${d.value}`
    if (d.value === "" || seen.has(key)) continue
    seen.add(key)
    attributes.push({
      uuid: mispAttributeUuid(family.id, d.type, d.value),
      type: d.type,
      category: d.category,
      value: d.value,
      to_ids: d.to_ids,
      comment: d.comment,
      distribution: "5",
      sharing_group_id: "0",
      timestamp,
      deleted: false,
      disable_correlation: false,
      ...(d.first_seen === undefined ? {} : { first_seen: d.first_seen }),
      ...(d.last_seen === undefined ? {} : { last_seen: d.last_seen })
    })
  }
  return attributes
}

/** One sentence per evidence kind, with its p-value. */
export const evidenceSentence = (kind: EvidenceKind, evidence: Evidence): string => {
  const label = words(kind)
  const detail = oneLine(evidence.detail).replace(/[.;:\s]+$/, "")
  return `${label[0]!.toUpperCase()}${label.slice(1)} scored ${evidence.score.toFixed(3)} with p-value ${formatP(evidence.p_value)}${detail === "" ? "" : `: ${detail}`}.`
}

const cell = (text: string): string => oneLine(text).replace(/\|/g, "\\|")

const reportContent = (family: Campaign, subcampaigns: ReadonlyArray<Campaign>, result: Result, orgName: string | undefined): string => {
  const lines: Array<string> = [
    `# ${oneLine(family.name)}`,
    "",
    `Campaign family \`${family.id}\` found by the DShield Coordination Engine ${result.run.engine_version} in run \`${result.run.id}\` (finished ${result.run.finished_at})${orgName === undefined ? "" : ` and reported by ${oneLine(orgName)}`}.`,
    "",
    `- Assessment: ${words(family.assessment)}; confidence ${formatConfidence(family.confidence)} (interval ${formatConfidence(family.confidence_interval[0])}–${formatConfidence(family.confidence_interval[1])}).`,
    `- Activity: ${plural(family.sessions.length, "session")} from ${plural(family.source_ips.length, "source address", "source addresses")} between ${family.first_seen} and ${family.last_seen}.`,
    `- Formed by: ${family.formed_by.length === 0 ? "no recorded links" : family.formed_by.map((f) => `${words(f.kind)} (${plural(f.links, "link")})`).join(", ")}.`,
    `- ATT&CK techniques: ${family.ttps.length === 0 ? "none observed" : [...family.ttps].sort().join(", ")}.`,
    "",
    "## Evidence",
    ""
  ]
  const kinds = EVIDENCE_ORDER.filter((kind) => family.evidence[kind] !== undefined)
  if (kinds.length === 0) lines.push("No evidence statistics were computed for this campaign.")
  for (const kind of kinds) lines.push(`- ${evidenceSentence(kind, family.evidence[kind]!)}`)
  if (subcampaigns.length > 0) {
    lines.push(
      "",
      "## Variants and waves",
      "",
      "| Campaign | Level | Parent | Name | Sessions | Sources | First seen | Last seen | Confidence | Assessment |",
      "|---|---|---|---|---|---|---|---|---|---|"
    )
    for (const c of subcampaigns) {
      lines.push(
        `| \`${c.id}\` | ${c.level} | \`${c.parent_id ?? family.id}\` | ${cell(c.name)} | ${c.sessions.length} | ${c.source_ips.length} | ${c.first_seen} | ${c.last_seen} | ${formatConfidence(c.confidence)} | ${words(c.assessment)} |`
      )
    }
  }
  return `${lines.join("\n")}\n`
}

const threatLevelOf = (family: Campaign): string =>
  family.ttps.some((t) => MEDIUM_TECHNIQUES.has(t)) || family.indicators.some((i) => MEDIUM_INDICATORS.has(i.type)) ? "2" : "3"

const eventOf = (family: Campaign, result: Result, options: MispExportOptions): MispEvent => {
  const tlp = options.tlp ?? "amber"
  const seconds = unixSeconds(result.run.finished_at) ?? unixSeconds(family.last_seen) ?? 0
  const timestamp = String(seconds)
  const subcampaigns = descendantsOf(family, result.campaigns)
  const techniqueNames = techniqueNamesOf(family)
  const info = clip(oneLine(`DShield campaign: ${family.name} — ${words(family.assessment)} (confidence ${formatConfidence(family.confidence)})`), INFO_MAX)
  const tags: Array<MispTag> = [
    { name: `tlp:${tlp}`, exportable: true },
    { name: likelihoodTag(family.confidence), exportable: true },
    ...[...new Set(family.ttps)].sort().map((t) => ({ name: attackPatternTag(t, techniqueNames.get(t)), exportable: true }))
  ]
  return {
    Event: {
      uuid: mispEventUuid(family.id),
      info,
      date: dayOf(family.first_seen),
      threat_level_id: threatLevelOf(family),
      analysis: "1",
      distribution: DISTRIBUTION_BY_TLP[tlp],
      sharing_group_id: "0",
      published: false,
      timestamp,
      publish_timestamp: "0",
      ...(options.orgName === undefined ? {} : { Orgc: { name: options.orgName } }),
      Attribute: attributesOf(family, subcampaigns, timestamp),
      Tag: tags,
      EventReport: [
        {
          uuid: reportUuid(family.id),
          name: clip(oneLine(`Coordination evidence for ${family.id}: ${family.name}`), INFO_MAX),
          content: reportContent(family, subcampaigns, result, options.orgName),
          distribution: "5",
          sharing_group_id: "0",
          timestamp,
          deleted: false
        }
      ]
    }
  }
}

/** One MISP event per campaign family of the Result, in Result order. Pure: same Result, same events. */
export const mispEvents = (result: Result, options: MispExportOptions = {}): ReadonlyArray<MispEvent> =>
  result.campaigns.filter((c) => c.level === "family").map((family) => eventOf(family, result, options))

/** A MISP event as written to a file: two-space JSON with a final newline. */
export const serializeMispEvent = (event: MispEvent): string => `${JSON.stringify(event, null, 2)}\n`

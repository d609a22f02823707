/**
 * Sessions in, campaigns out: features → linkage (artefacts, MinHash-LSH behaviour) →
 * hierarchy → evidence and confidence → indicators and techniques. Pure and deterministic
 * (the seed drives every random draw). `analyzeFeatures` works from compact features alone,
 * so callers that stream sessions never hold them all.
 */
import { createHash } from "node:crypto"
import { techniqueCounts, techniquesOf } from "../analytics/attackTechniques.ts"
import { buildHierarchy, type CampaignDraft } from "../analytics/hierarchy.ts"
import { linkSessions } from "../analytics/linkage.ts"
import { scoreGroups } from "../analytics/scoring.ts"
import type { SessionGeography } from "../analytics/evidence.ts"
import { defaultGeography } from "../enrichment/Geography.ts"
import { sessionGeography } from "../enrichment/sessionGeography.ts"
import { collectGarbage, collectYoungGarbage } from "../analytics/memory.ts"
import { computeFeatures, type SessionFeatures } from "../analytics/sessionFeatures.ts"
import type { AnalysisConfig } from "../config/AnalysisConfig.ts"
import type { AttackSession } from "../domain/AttackSession.ts"
import type { Stage } from "../observability/TraceContext.ts"
import { assessmentFor, type Campaign, type Indicator, type IndicatorType } from "../domain/Campaign.ts"

export interface Analysis {
  readonly campaigns: Array<Campaign>
  readonly unclusteredSessions: number
}

const MAX_INDICATORS_PER_TYPE = 100

const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

const shorten = (s: string, max: number): string => (s.length > max ? `${s.slice(0, max - 1)}…` : s)

/**
 * Per-pair counters shared by every campaign's wordlist name: distinct sources per pair (the
 * source last counted for it, to count each once) and when it was first tried, reset after
 * each campaign.
 */
interface WordlistScratch {
  readonly sources: Int32Array
  readonly lastSource: Int32Array
  readonly firstMs: Float64Array
  readonly touched: Array<number>
}

/** A user name or password as a name shows it: quoted when it is empty or starts or ends with white space, which would read as another value. */
const credentialPart = (text: string): string => (text.length === 0 || /^\s|\s$/.test(text) ? JSON.stringify(text) : text)

/** `lastSource` of a pair no member has tried yet (source ids are ≥ -1: -1 is "no address"). */
const UNTOUCHED = -2

const wordlistScratch = (f: SessionFeatures): WordlistScratch => ({
  sources: new Int32Array(f.pairUser.length),
  lastSource: new Int32Array(f.pairUser.length).fill(UNTOUCHED),
  firstMs: new Float64Array(f.pairUser.length),
  touched: []
})

/**
 * The credentials a campaign's sources share, for its name: those tried by at least half its
 * sources (at least two; all of them in a wave of one source), in the order they were first
 * tried ("jesus/jesus123, banco/banco +5"). Undefined when no credential is shared. A campaign
 * its sources' shared wordlist formed is named "wordlist …"; one of sessions that share
 * logins and nothing else (a botnet's check login, hierarchy.ts) "logins …".
 */
const sharedCredentialsLabel = (members: Int32Array, features: SessionFeatures, scratch: WordlistScratch): string | undefined => {
  const { sources, lastSource, firstMs, touched } = scratch
  // Members by source, so each source counts once per pair without a set per pair.
  const bySource = Array.from(members).sort((x, y) => features.ipId[x]! - features.ipId[y]! || x - y)
  const sourceCount = new Set(bySource.map((i) => features.ipId[i]!)).size
  for (const i of bySource) {
    const ip = features.ipId[i]!
    for (let k = features.credentials.start(i), e = features.credentials.end(i); k < e; k++) {
      const pair = features.credentials.value(k)
      if (lastSource[pair] === UNTOUCHED) {
        touched.push(pair)
        firstMs[pair] = features.startMs[i]!
      } else if (features.startMs[i]! < firstMs[pair]!) firstMs[pair] = features.startMs[i]!
      if (lastSource[pair] !== ip) {
        lastSource[pair] = ip
        sources[pair]!++
      }
    }
  }
  const needed = sourceCount === 1 ? 1 : Math.max(2, Math.ceil(sourceCount / 2))
  const shared = touched.filter((pair) => sources[pair]! >= needed).sort((x, y) => firstMs[x]! - firstMs[y]! || x - y)
  for (const pair of touched) {
    sources[pair] = 0
    lastSource[pair] = UNTOUCHED
  }
  touched.length = 0
  if (shared.length === 0) return undefined
  const name = (pair: number) => shorten(`${credentialPart(features.usernames[features.pairUser[pair]!]!)}/${credentialPart(features.passwords[features.pairPassword[pair]!]!)}`, 32)
  return `${shared.slice(0, 2).map(name).join(", ")}${shared.length > 2 ? ` +${shared.length - 2}` : ""}`
}

/** A campaign's name from the artefact most of its members carry. */
const artefactLabel = (a: SessionFeatures["artefactTable"][number]): string => {
  switch (a.kind) {
    case "ssh_key":
      return `ssh key ${a.value.split(" ")[0]} …${a.value.slice(-8)}`
    case "sha256":
      return `payload ${a.value.slice(0, 12)}`
    case "url":
      return `download ${shorten(a.value, 48)}`
    case "command_sequence": {
      const lines = a.value.split("\n")
      return `commands "${shorten(lines[0]!, 40)}"${lines.length > 1 ? ` +${lines.length - 1}` : ""}`
    }
    default:
      return `${a.kind} ${shorten(a.value, 48)}`
  }
}

/** Whether fewer than half the members measured carry the draft's dominant artefact. */
const dominantIsMinority = (draft: CampaignDraft, features: SessionFeatures): boolean => {
  let carriers = 0
  for (const i of draft.scored) if (features.artefacts.includes(i, draft.dominant)) carriers++
  return 2 * carriers < draft.scored.length
}

const campaignName = (draft: CampaignDraft, features: SessionFeatures, firstIso: string, scratch: () => WordlistScratch): string => {
  // A campaign its shared wordlist formed is named by the wordlist when its most common artefact
  // is carried by a minority: 32 of 312 sessions running `uname -mn` do not name the other 280
  // logins of the same two wordlist sources.
  const byWordlist = draft.formedBy[0]?.kind === "wordlist" && draft.dominant >= 0 && dominantIsMinority(draft, features)
  const a = draft.dominant < 0 ? undefined : features.artefactTable[draft.dominant]!
  let label: string
  if (a === undefined || byWordlist) {
    const shared = sharedCredentialsLabel(draft.members, features, scratch())
    label = shared === undefined
      ? a === undefined ? "linked sessions" : artefactLabel(a)
      : draft.formedBy.some((f) => f.kind === "wordlist") && !draft.checkLogin
      ? `wordlist ${shared}`
      : `logins ${shared}`
  } else label = artefactLabel(a)
  return draft.level === "wave" ? `${label} — wave from ${firstIso.slice(0, 10)}` : label
}

const hostOf = (url: string): string | undefined => {
  const m = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/]*@)?(\[[^\]]+\]|[^:/?#]+)/i.exec(url)
  return m?.[1]?.toLowerCase()
}

const isIpLiteral = (host: string): boolean => /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.startsWith("[")

/** Autonomous systems and countries named per campaign: the networks most of its sessions come from. */
const MAX_NETWORK_INDICATORS = 5

/**
 * Per-artefact counters shared by every campaign's indicatorsOf: counts by artefact id and
 * the ids touched, reset after each campaign. A Map per campaign (and a key string and an
 * object per distinct artefact) was most of the report's garbage on a million sessions.
 */
interface IndicatorScratch {
  readonly counts: Int32Array
  readonly touched: Array<number>
}

const indicatorScratch = (f: SessionFeatures): IndicatorScratch => ({ counts: new Int32Array(f.artefactTable.length), touched: [] })

interface Counted {
  readonly value: string
  readonly count: number
  readonly name?: string
}

const byCountThenValue = (a: Counted, b: Counted): number => b.count - a.count || compareStrings(a.value, b.value)

/**
 * Indicators of a campaign, most frequent first within each type, capped per type; the
 * autonomous systems and countries of its sources when the geography knows them.
 */
const indicatorsOf = (members: Int32Array, f: SessionFeatures, geography: SessionGeography | undefined, scratch: IndicatorScratch): Array<Indicator> => {
  const { counts, touched } = scratch
  // Client fingerprints counted by (kind, string id) packed into one number: no string per
  // member (campaigns of a million sessions visit members millions of times).
  const CLIENT_KINDS = ["hassh", "client_version", "user_agent"] as const
  const shared = new Map<number, number>()
  for (const i of members) {
    for (let k = f.artefacts.start(i), e = f.artefacts.end(i); k < e; k++) {
      const id = f.artefacts.value(k)
      const seen = counts[id]!
      if (seen === 0) touched.push(id)
      counts[id] = seen + 1
    }
    for (let t = 0; t < 3; t++) {
      const id = t === 0 ? f.hasshId[i]! : t === 1 ? f.clientVersionId[i]! : f.userAgentId[i]!
      if (id < 0) continue
      const key = id * 4 + t
      shared.set(key, (shared.get(key) ?? 0) + 1)
    }
  }
  const lists = new Map<IndicatorType, Array<Counted>>()
  const push = (type: IndicatorType, entry: Counted): void => {
    const list = lists.get(type)
    if (list === undefined) lists.set(type, [entry])
    else list.push(entry)
  }
  // A host may be named by several URLs: its count is theirs together.
  const domains = new Map<string, number>()
  for (const id of touched) {
    const count = counts[id]!
    counts[id] = 0
    const a = f.artefactTable[id]!
    if (a.kind === "ssh_key" || a.kind === "sha256") push(a.kind, { value: a.value, count })
    else if (a.kind === "url") {
      push("url", { value: a.value, count })
      const host = hostOf(a.value)
      if (host !== undefined && !isIpLiteral(host)) domains.set(host, (domains.get(host) ?? 0) + count)
    } else if (a.kind === "credential" && count >= 2) push("credential", { value: a.value, count })
  }
  touched.length = 0
  for (const [value, count] of domains) push("domain", { value, count })
  // Client fingerprints only describe a campaign when most of its sessions share them.
  for (const [key, count] of shared) {
    if (count <= members.length / 2) continue
    push(CLIENT_KINDS[key % 4]!, { value: f.strings[Math.floor(key / 4)]!, count })
  }
  if (geography !== undefined) {
    const asnCounts = new Map<number, number>()
    const countryCounts = new Map<number, number>()
    for (const i of members) {
      const a = geography.asn[i]!
      if (a >= 0) asnCounts.set(a, (asnCounts.get(a) ?? 0) + 1)
      const c = geography.country[i]!
      if (c >= 0) countryCounts.set(c, (countryCounts.get(c) ?? 0) + 1)
    }
    for (const [a, count] of asnCounts) {
      // asns[a] is "AS<number> <organisation>": the number is the value, the rest its name.
      const label = geography.asns[a]!
      const space = label.indexOf(" ")
      push("asn", space < 0 ? { value: label, count } : { value: label.slice(0, space), count, name: label.slice(space + 1) })
    }
    for (const [c, count] of countryCounts) push("country", { value: geography.countries[c]!, count })
  }
  const order: Array<IndicatorType> = ["ssh_key", "sha256", "url", "domain", "credential", "hassh", "client_version", "user_agent", "asn", "country"]
  const out: Array<Indicator> = []
  for (const type of order) {
    const list = lists.get(type)
    if (list === undefined) continue
    list.sort(byCountThenValue)
    const cap = type === "asn" || type === "country" ? MAX_NETWORK_INDICATORS : MAX_INDICATORS_PER_TYPE
    for (const e of list.slice(0, cap)) out.push(e.name === undefined ? { type, value: e.value } : { type, value: e.value, name: e.name })
  }
  return out
}

/** The stages run as they are, untimed (runAnalysis passes one that times each as a span). */
const untimed: Stage = (_name, run) => run()

export const analyzeSessions = (sessions: Iterable<AttackSession>, config: AnalysisConfig): Analysis =>
  analyzeFeatures(computeFeatures(sessions), config)

/** `stage` runs each step (linkage, hierarchy, scoring, report) by name: a tracing hook. */
export const analyzeFeatures = (features: SessionFeatures, config: AnalysisConfig, stage: Stage = untimed): Analysis =>
  campaignsFromDrafts(features, draftCampaigns(features, config, stage), config, stage)

/** Pattern analysis: linkage and hierarchy, the campaigns' membership (no scores yet). */
export const draftCampaigns = (features: SessionFeatures, config: AnalysisConfig, stage: Stage = untimed): Array<CampaignDraft> => {
  collectGarbage(true, features.count)
  const linkage = stage("Analysis.linkage", () => linkSessions(features, {
    seed: config.seed,
    behaviourThreshold: config.behaviourThreshold,
    wordlistThreshold: config.wordlistThreshold,
    wordlistMinCredentials: config.wordlistMinCredentials,
    sourceWindowMs: config.sourceWindowMs,
    weakWindowMs: config.weakWindowMs
  }))
  collectGarbage(true, features.count)
  return stage("Analysis.hierarchy", () => buildHierarchy(features, linkage, {
    variantThreshold: config.variantThreshold,
    waveGapMs: config.waveGapMs,
    minSessions: config.minSessions
  }))
}

/** Confidence scoring and the campaign report for drafted campaigns. */
export const campaignsFromDrafts = (features: SessionFeatures, drafts: ReadonlyArray<CampaignDraft>, config: AnalysisConfig, stage: Stage = untimed): Analysis => {
  collectGarbage(true, features.count)
  // Only when there is something to score: the databases take a moment to load.
  const geography = drafts.length === 0 ? undefined : sessionGeography(features, defaultGeography())
  const scores = stage("Analysis.scoring", () =>
    scoreGroups(drafts, features, { seed: config.seed, permutations: config.permutations, bootstrap: config.bootstrap, geography }))
  collectGarbage(true, features.count)
  return stage("Analysis.report", () => reportCampaigns(features, drafts, scores, geography))
}

/** The campaigns as Result v1 has them: names, members, indicators, techniques, ordered. */
const reportCampaigns = (features: SessionFeatures, drafts: ReadonlyArray<CampaignDraft>, scores: ReturnType<typeof scoreGroups>, geography: SessionGeography | undefined): Analysis => {
  // Each draft's member ids, sorted once: they name the campaign and are its `sessions` list.
  const memberIds = drafts.map((d) => Array.from(d.members, (i) => features.ids[i]!).sort(compareStrings))
  const ids = drafts.map((d, index) => {
    collectYoungGarbage(index, features.count)
    const hash = createHash("sha256").update(`${d.level}\n`).update(memberIds[index]!.join("\n"))
    return `c-${hash.digest("hex").slice(0, 16)}`
  })
  const scratch = indicatorScratch(features)
  let wordlistCounters: WordlistScratch | undefined
  const wordlists = (): WordlistScratch => (wordlistCounters ??= wordlistScratch(features))
  const campaigns: Array<Campaign> = drafts.map((draft, index) => {
    collectYoungGarbage(index, features.count)
    let first = Infinity
    let last = -Infinity
    let techniques = 0
    const ruleMasks: Array<number> = []
    const ips = new Set<string>()
    for (const i of draft.members) {
      if (features.startMs[i]! < first) first = features.startMs[i]!
      if (features.endMs[i]! > last) last = features.endMs[i]!
      techniques |= features.techniques[i]!
      ruleMasks.push(features.techniques[i]!)
      const ip = features.ipId[i]!
      if (ip >= 0) ips.add(features.ips[ip]!)
    }
    const firstIso = new Date(first).toISOString()
    // Coordination needs several actors: one source address is single-source activity,
    // whatever its evidence says (the evidence is still reported).
    const score = ips.size < 2 ? { ...scores[index]!, confidence: 0, interval: [0, 0] as const } : scores[index]!
    return {
      id: ids[index]!,
      parent_id: draft.parent === null ? null : ids[draft.parent]!,
      level: draft.level,
      name: campaignName(draft, features, firstIso, wordlists),
      sessions: memberIds[index]!,
      source_ips: [...ips].sort(compareStrings),
      first_seen: firstIso,
      last_seen: new Date(last).toISOString(),
      confidence: score.confidence,
      confidence_interval: [score.interval[0], score.interval[1]],
      assessment: assessmentFor(score.confidence, ips.size),
      evidence: score.evidence,
      indicators: indicatorsOf(draft.members, features, geography, scratch),
      ttps: techniquesOf(techniques),
      techniques: techniqueCounts(ruleMasks),
      formed_by: draft.formedBy.map((f) => ({ kind: f.kind, links: f.links }))
    }
  })
  const clustered = new Uint8Array(features.count)
  let clusteredCount = 0
  for (const d of drafts) {
    if (d.level !== "family") continue
    for (const i of d.members) if (clustered[i] === 0) {
      clustered[i] = 1
      clusteredCount++
    }
  }
  return { campaigns: orderCampaigns(campaigns), unclusteredSessions: features.count - clusteredCount }
}

/**
 * Families by size (largest first, then first seen, then id), each followed by its
 * descendants in the same order: a reader sees a family with its variants and waves.
 */
const orderCampaigns = (campaigns: Array<Campaign>): Array<Campaign> => {
  const byParent = new Map<string | null, Array<Campaign>>()
  for (const c of campaigns) {
    const list = byParent.get(c.parent_id)
    if (list === undefined) byParent.set(c.parent_id, [c])
    else list.push(c)
  }
  const cmp = (a: Campaign, b: Campaign): number =>
    b.sessions.length - a.sessions.length || compareStrings(a.first_seen, b.first_seen) || compareStrings(a.id, b.id)
  const out: Array<Campaign> = []
  const visit = (parent: string | null): void => {
    for (const c of (byParent.get(parent) ?? []).slice().sort(cmp)) {
      out.push(c)
      visit(c.id)
    }
  }
  visit(null)
  return out
}

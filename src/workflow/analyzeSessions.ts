/**
 * Sessions in, campaigns out: features → linkage (artefacts, MinHash-LSH behaviour) → hierarchy → evidence and
 * confidence → indicators and techniques. Pure and deterministic (the seed drives every
 * random draw).
 */
import { attackTechniques } from "../analytics/attackTechniques.ts"
import { scoreGroups } from "../analytics/scoring.ts"
import { buildHierarchy, type CampaignDraft } from "../analytics/hierarchy.ts"
import { linkSessions } from "../analytics/linkage.ts"
import { computeFeatures, type SessionFeatures } from "../analytics/sessionFeatures.ts"
import type { AttackSession } from "../domain/AttackSession.ts"
import { assessmentFor, type Campaign, type Indicator, type IndicatorType } from "../domain/Campaign.ts"
import type { AnalysisConfig } from "../config/AnalysisConfig.ts"
import { sha256Hex } from "../config/AnalysisConfig.ts"

export interface Analysis {
  readonly campaigns: Array<Campaign>
  readonly unclusteredSessions: number
}

const MAX_INDICATORS_PER_TYPE = 100

const campaignId = (draft: CampaignDraft, sessions: ReadonlyArray<AttackSession>): string => {
  const ids = Array.from(draft.members, (i) => sessions[i]!.id).sort()
  return `c-${sha256Hex(`${draft.level}\n${ids.join("\n")}`).slice(0, 16)}`
}

const shorten = (s: string, max: number): string => (s.length > max ? `${s.slice(0, max - 1)}…` : s)

const campaignName = (draft: CampaignDraft, features: SessionFeatures, first: string): string => {
  const a = draft.dominant < 0 ? { kind: "none", value: "" } : features.artefactTable[draft.dominant]!
  const label = a.kind === "none"
    ? "linked sessions"
    : a.kind === "marker"
    ? `marker ${shorten(a.value, 40)}`
    : a.kind === "file"
    ? `file ${shorten(a.value, 40)}`
    : a.kind === "credential"
    ? `credential ${shorten(a.value, 40)}`
    : a.kind === "client"
    ? `client ${shorten(a.value, 48)}`
    : a.kind === "ssh_key"
    ? `ssh key ${a.value.split(" ")[0]} …${a.value.slice(-8)}`
    : a.kind === "sha256"
    ? `payload ${a.value.slice(0, 12)}`
    : a.kind === "url"
    ? `download ${shorten(a.value, 48)}`
    : `commands "${shorten(a.value.split("\n")[0]!, 40)}"${a.value.includes("\n") ? ` +${a.value.split("\n").length - 1}` : ""}`
  return draft.level === "wave" ? `${label} — wave from ${first.slice(0, 10)}` : label
}

const hostOf = (url: string): string | undefined => {
  const m = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/]*@)?(\[[^\]]+\]|[^:/?#]+)/i.exec(url)
  return m?.[1]?.toLowerCase()
}

const isIpLiteral = (host: string): boolean => /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.startsWith("[")

/** Indicators of a campaign, most frequent first within each type, capped per type. */
const indicatorsOf = (members: ReadonlyArray<AttackSession>): Array<Indicator> => {
  const counts = new Map<string, { type: IndicatorType; value: string; count: number }>()
  const add = (type: IndicatorType, value: string | null): void => {
    if (value === null || value.length === 0) return
    const key = `${type}\u0000${value}`
    const e = counts.get(key)
    if (e === undefined) counts.set(key, { type, value, count: 1 })
    else e.count++
  }
  const half = members.length / 2
  const shared = new Map<string, { type: IndicatorType; value: string; count: number }>()
  for (const s of members) {
    for (const key of s.ssh_keys_added) add("ssh_key", key)
    for (const t of [...s.downloads, ...s.uploads]) {
      add("sha256", t.sha256)
      add("url", t.url)
      const host = t.url === null ? undefined : hostOf(t.url)
      if (host !== undefined && !isIpLiteral(host)) add("domain", host)
    }
    for (const [type, value] of [["hassh", s.hassh], ["client_version", s.client_version], ["user_agent", s.user_agent]] as const) {
      if (value === null) continue
      const key = `${type}\u0000${value}`
      const e = shared.get(key)
      if (e === undefined) shared.set(key, { type, value, count: 1 })
      else e.count++
    }
  }
  // Client fingerprints only describe a campaign when most of its sessions share them.
  for (const e of shared.values()) if (e.count > half) counts.set(`${e.type}\u0000${e.value}`, e)
  const order: Array<IndicatorType> = ["ssh_key", "sha256", "url", "domain", "hassh", "client_version", "user_agent"]
  const out: Array<Indicator> = []
  for (const type of order) {
    const ofType = [...counts.values()].filter((e) => e.type === type)
    ofType.sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0))
    for (const e of ofType.slice(0, MAX_INDICATORS_PER_TYPE)) out.push({ type: e.type, value: e.value })
  }
  return out
}

const sortedUnique = (values: Iterable<string>): Array<string> => [...new Set(values)].sort()

export const analyzeSessions = (sessions: ReadonlyArray<AttackSession>, config: AnalysisConfig): Analysis => {
  const features: SessionFeatures = computeFeatures(sessions)
  const linkage = linkSessions(features, { seed: config.seed, behaviourThreshold: config.behaviourThreshold })
  const drafts = buildHierarchy(features, linkage, {
    variantThreshold: config.variantThreshold,
    waveGapMs: config.waveGapMs,
    minSessions: config.minSessions
  })
  const scores = scoreGroups(drafts, features, {
    seed: config.seed,
    permutations: config.permutations,
    bootstrap: config.bootstrap
  })
  const ids = drafts.map((d) => campaignId(d, sessions))
  const campaigns: Array<Campaign> = drafts.map((draft, index) => {
    const members = Array.from(draft.members, (i) => sessions[i]!)
    let first = members[0]!.start
    let last = members[0]!.end
    for (const s of members) {
      if (s.start < first) first = s.start
      if (s.end > last) last = s.end
    }
    const score = scores[index]!
    return {
      id: ids[index]!,
      parent_id: draft.parent === null ? null : ids[draft.parent]!,
      level: draft.level,
      name: campaignName(draft, features, first),
      sessions: members.map((s) => s.id).sort(),
      source_ips: sortedUnique(members.flatMap((s) => (s.src_ip === null ? [] : [s.src_ip]))),
      first_seen: first,
      last_seen: last,
      confidence: score.confidence,
      confidence_interval: [score.interval[0], score.interval[1]],
      assessment: assessmentFor(score.confidence),
      evidence: score.evidence,
      indicators: indicatorsOf(members),
      ttps: attackTechniques(members)
    }
  })
  const clustered = new Set<number>()
  for (const d of drafts) if (d.level === "family") for (const i of d.members) clustered.add(i)
  return { campaigns: orderCampaigns(campaigns), unclusteredSessions: sessions.length - clustered.size }
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
    b.sessions.length - a.sessions.length || (a.first_seen < b.first_seen ? -1 : a.first_seen > b.first_seen ? 1 : 0) ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  const out: Array<Campaign> = []
  const visit = (parent: string | null): void => {
    const children = (byParent.get(parent) ?? []).slice().sort(cmp)
    for (const c of children) {
      out.push(c)
      visit(c.id)
    }
  }
  visit(null)
  return out
}

/**
 * What the MCP tools answer: small views of the engine's documents, sized for a model's
 * context. A Result v1 of a month of cowrie logs is hundreds of kilobytes (every session id
 * of every campaign, four evidence paragraphs each); an assistant needs which campaigns
 * there are, how sure the engine is, and what identifies them — and where the whole document
 * is when it needs more. So: counts instead of lists, the top families only, a few
 * indicators and techniques each (values clipped), numbers to three decimals.
 */
import type { Campaign, Evidence, EvidenceKind, Indicator } from "../domain/Campaign.ts"
import type { SetAssessment } from "../domain/AssessmentResult.ts"
import type { Result } from "../domain/Result.ts"
import { evidenceSentence } from "../export/misp.ts"
import type { StoredCampaign } from "../store/AnalysisRepository.ts"

/** Indicators and techniques shown per campaign. */
const SHOWN_INDICATORS = 5
const SHOWN_TECHNIQUES = 5
/** Longest indicator value or name shown (an SSH key is ~400 characters, a command line more). */
const VALUE_CHARS = 100

const round3 = (x: number): number => Math.round(x * 1000) / 1000

const clip = (text: string, max = VALUE_CHARS): string => {
  const line = text.replace(/\s+/g, " ").trim()
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`
}

/** Artefacts that identify an actor first, then what many actors share. */
const INDICATOR_RANK: Record<string, number> = {
  ssh_key: 0,
  sha256: 1,
  url: 2,
  domain: 3,
  credential: 4,
  command: 5,
  ip: 6,
  hassh: 7,
  client_version: 8,
  user_agent: 9
}

export interface ShortIndicator {
  readonly type: string
  readonly value: string
}

export const topIndicators = (indicators: ReadonlyArray<{ readonly type: string; readonly value: string }>, count = SHOWN_INDICATORS): Array<ShortIndicator> =>
  indicators
    .map((indicator, i) => ({ indicator, i }))
    .sort((a, b) => (INDICATOR_RANK[a.indicator.type] ?? 99) - (INDICATOR_RANK[b.indicator.type] ?? 99) || a.i - b.i)
    .slice(0, count)
    .map(({ indicator }) => ({ type: indicator.type, value: clip(indicator.value) }))

export interface ShortTechnique {
  readonly id: string
  readonly name: string
  readonly sessions: number
}

/** The techniques most sessions show (ids alone when a Result predates technique names). */
const topTechniques = (campaign: { readonly ttps: ReadonlyArray<string>; readonly techniques?: Campaign["techniques"] }): Array<ShortTechnique> =>
  campaign.techniques === undefined
    ? campaign.ttps.slice(0, SHOWN_TECHNIQUES).map((id) => ({ id, name: "", sessions: 0 }))
    : [...campaign.techniques]
      .sort((a, b) => b.sessions - a.sessions || (a.id < b.id ? -1 : 1))
      .slice(0, SHOWN_TECHNIQUES)
      .map((t) => ({ id: t.id, name: t.name, sessions: t.sessions }))

export interface FamilySummary {
  readonly id: string
  readonly name: string
  readonly assessment: string
  readonly confidence: number
  readonly confidence_interval: readonly [number, number]
  readonly sessions: number
  readonly source_ips: number
  readonly first_seen: string
  readonly last_seen: string
  readonly variants: number
  readonly waves: number
  /** The link kinds that formed the family, most unions first. */
  readonly formed_by: ReadonlyArray<string>
  readonly indicators: ReadonlyArray<ShortIndicator>
  readonly indicators_total: number
  readonly techniques: ReadonlyArray<ShortTechnique>
  readonly techniques_total: number
}

export interface AnalysisSummary {
  readonly run_id: string
  readonly engine_version: string
  readonly input: { readonly files: number; readonly events: number; readonly sessions: number; readonly rejected_lines: number }
  readonly families: number
  readonly variants: number
  readonly waves: number
  /** Families assessed likely or highly coordinated. */
  readonly coordinated_families: number
  readonly unclustered_sessions: number
  readonly shown: number
  readonly top_families: ReadonlyArray<FamilySummary>
  /** The whole Result v1 (every campaign with its sessions and evidence), on the server's disk. */
  readonly result_file: string
  readonly result_bytes: number
  readonly next: string
}

const familySummary = (family: Campaign, all: ReadonlyArray<Campaign>): FamilySummary => {
  // Descendants: campaigns whose chain of parents reaches the family.
  const parentOf = new Map(all.map((c) => [c.id, c.parent_id] as const))
  const inFamily = (c: Campaign): boolean => {
    let parent = c.parent_id
    for (let hops = 0; parent !== null && parent !== undefined && hops < 8; hops++) {
      if (parent === family.id) return true
      parent = parentOf.get(parent) ?? null
    }
    return false
  }
  const descendants = all.filter(inFamily)
  return {
    id: family.id,
    name: clip(family.name, 120),
    assessment: family.assessment,
    confidence: round3(family.confidence),
    confidence_interval: [round3(family.confidence_interval[0]), round3(family.confidence_interval[1])],
    sessions: family.sessions.length,
    source_ips: family.source_ips.length,
    first_seen: family.first_seen,
    last_seen: family.last_seen,
    variants: descendants.filter((c) => c.level === "variant").length,
    waves: descendants.filter((c) => c.level === "wave").length,
    formed_by: family.formed_by.map((f) => f.kind),
    indicators: topIndicators(family.indicators),
    indicators_total: family.indicators.length,
    techniques: topTechniques(family),
    techniques_total: family.ttps.length
  }
}

const COORDINATED = new Set(["highly_coordinated", "likely_coordinated"])

/** A run in a few kilobytes: counts, the `top` largest families, and where the whole Result is. */
export const analysisSummary = (result: Result, top: number, resultFile: { readonly path: string; readonly bytes: number }): AnalysisSummary => {
  const families = result.campaigns.filter((c) => c.level === "family")
  const shown = families.slice(0, top)
  return {
    run_id: result.run.id,
    engine_version: result.run.engine_version,
    input: {
      files: result.input.files.length,
      events: result.input.events,
      sessions: result.input.sessions,
      rejected_lines: Object.values(result.input.rejected).reduce((a, n) => a + n, 0)
    },
    families: families.length,
    variants: result.campaigns.filter((c) => c.level === "variant").length,
    waves: result.campaigns.filter((c) => c.level === "wave").length,
    coordinated_families: families.filter((c) => COORDINATED.has(c.assessment)).length,
    unclustered_sessions: result.unclustered_sessions,
    shown: shown.length,
    top_families: shown.map((f) => familySummary(f, result.campaigns)),
    result_file: resultFile.path,
    result_bytes: resultFile.bytes,
    next: families.length === 0
      ? "No campaign was found; the sessions look independent."
      : "assess_sessions {run_id, campaign_id} re-tests one campaign against the rest of this input; export_campaign {run_id, campaign_id, format} gives it as STIX 2.1 or MISP; result_file has every campaign with its sessions."
  }
}

const EVIDENCE_ORDER: ReadonlyArray<EvidenceKind> = ["temporal_correlation", "behavioral_similarity", "infrastructure_clustering", "geographic_proximity", "payload_similarity"]

/** Each kind of evidence as one sentence with its score and p-value. */
export const evidenceSentences = (evidence: Partial<Record<EvidenceKind, Evidence>>): Array<string> =>
  EVIDENCE_ORDER.flatMap((kind) => (evidence[kind] === undefined ? [] : [evidenceSentence(kind, evidence[kind]!)]))

export interface AssessmentSummary {
  readonly assessment: string
  readonly confidence: number
  readonly confidence_interval: readonly [number, number]
  readonly sessions: number
  readonly source_ips: number
  readonly first_seen: string
  readonly last_seen: string
  /** What the evidence was measured against, and what that means for it. */
  readonly compared_with: string
  readonly evidence: ReadonlyArray<string>
  readonly indicators: ReadonlyArray<ShortIndicator>
  readonly techniques: ReadonlyArray<ShortTechnique>
}

const comparedWith = (population: SetAssessment["null_population"], referenceIs: string): string =>
  population.kind === "reference"
    ? `${population.sessions} ${referenceIs}`
    : population.kind === "stored_history"
    ? `${population.sessions} sessions of the stored history`
    : `${population.sessions} synthetic background sessions — not your traffic, so temporal and infrastructure evidence against them mean little (give run_id or reference_run_id for your own)`

/**
 * One assessment of a set of sessions, without the set's session and address lists;
 * `referenceIs` says what the reference sessions were (the rest of their input, another run's).
 */
export const assessmentSummary = (a: SetAssessment, referenceIs = "other sessions of the same input (the sensor's own traffic)"): AssessmentSummary => ({
  assessment: a.assessment,
  confidence: round3(a.confidence),
  confidence_interval: [round3(a.confidence_interval[0]), round3(a.confidence_interval[1])],
  sessions: a.sessions.length,
  source_ips: a.source_ips.length,
  first_seen: a.first_seen,
  last_seen: a.last_seen,
  compared_with: comparedWith(a.null_population, referenceIs),
  evidence: evidenceSentences(a.evidence),
  indicators: topIndicators(a.indicators as ReadonlyArray<Indicator>),
  techniques: topTechniques(a)
})

/** A stored campaign as one compact row. */
export const campaignRow = (c: StoredCampaign) => ({
  id: c.id,
  parent_id: c.parent_id,
  level: c.level,
  name: clip(c.name, 120),
  state: c.state,
  assessment: c.assessment,
  confidence: round3(c.confidence),
  sessions: c.session_count,
  source_ips: c.source_ip_count,
  first_seen: c.first_seen,
  last_seen: c.last_seen
})

/** Session ids and indicators shown of one stored campaign. */
const SHOWN_SESSION_IDS = 20
const SHOWN_STORED_INDICATORS = 20

/** One stored campaign: the row (with its session count), the first session ids, the first indicators. */
export const storedCampaignDetail = (
  c: StoredCampaign & { readonly sessions: ReadonlyArray<string>; readonly indicators: ReadonlyArray<{ readonly type: string; readonly value: string }> }
) => ({
  ...campaignRow(c),
  session_ids: c.sessions.slice(0, SHOWN_SESSION_IDS),
  indicators: topIndicators(c.indicators, SHOWN_STORED_INDICATORS),
  indicators_total: c.indicators.length
})

/**
 * "Are these N sessions coordinated?" — one assessment of a given set of sessions, with the
 * same evidence and calibrated confidence as a campaign.
 *
 * The evidence compares the set with a null population drawn from the user's own traffic:
 * the log the sessions came from (`--reference`), else the stored history when a store is
 * configured. Only when neither exists is it a synthetic background (independent attackers
 * with popular credentials and common recon, from the generator, spread over the set's own
 * time span) — and the result says so: `null_population.kind` names the population used.
 * A synthetic null is not the sensor's traffic: its time spread and networks differ, so
 * temporal and infrastructure evidence against it are weak indications at best.
 *
 * A set from one source address is single-source activity (confidence 0), as in `analyze`.
 */
import { techniqueCounts, techniquesOf } from "../analytics/attackTechniques.ts"
import { dominantArtefact } from "../analytics/hierarchy.ts"
import { scoreGroups } from "../analytics/scoring.ts"
import { defaultGeography } from "../enrichment/Geography.ts"
import { sessionGeography } from "../enrichment/sessionGeography.ts"
import { FeatureBuilder } from "../analytics/sessionFeatures.ts"
import type { AnalysisConfig } from "../config/AnalysisConfig.ts"
import type { AttackSession } from "../domain/AttackSession.ts"
import { assessmentFor, type Indicator } from "../domain/Campaign.ts"
import type { SetAssessment } from "../domain/AssessmentResult.ts"
import { generateSessions } from "../synthetic/generateSessions.ts"

/** Size of the synthetic background: four times the set, at least this many sessions. */
export const MIN_SYNTHETIC_BACKGROUND = 2000


const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/** Background sessions of the generator, moved into [startMs, endMs]. */
const syntheticBackground = (count: number, seed: number, startMs: number, endMs: number): Array<AttackSession> => {
  const out: Array<AttackSession> = []
  const span = Math.max(endMs - startMs, 60 * 60 * 1000)
  const days = Math.max(1, span / 86_400_000)
  // Generate enough sessions that `count` of them are background (about two thirds are).
  for (const s of generateSessions({ sessions: Math.ceil(count * 1.6) + 10, seed, startMs, days })) {
    if (s.label.family !== "-") continue
    out.push({ ...s.session, id: `bg-${s.session.id}` })
    if (out.length === count) break
  }
  return out
}

/** Where the null population comes from, in order of preference. */
export type NullPopulationKind = "reference" | "stored_history" | "synthetic_background"

export interface AssessOptions {
  readonly config: AnalysisConfig
  /** Sessions to compare with (the sensor's own traffic); empty → the synthetic background. */
  readonly reference: ReadonlyArray<AttackSession>
  /** What `reference` is: the logs given with `--reference` (default) or the stored history. */
  readonly referenceKind?: "reference" | "stored_history" | undefined
}

export const assessSessions = (set: ReadonlyArray<AttackSession>, options: AssessOptions): SetAssessment => {
  if (set.length === 0) throw new RangeError("There are no sessions to assess.")
  const ids = new Set(set.map((s) => s.id))
  let startMs = Infinity
  let endMs = -Infinity
  for (const s of set) {
    startMs = Math.min(startMs, Date.parse(s.start))
    endMs = Math.max(endMs, Date.parse(s.end))
  }
  const fromTraffic = options.reference.filter((s) => !ids.has(s.id))
  const nullKind: NullPopulationKind = fromTraffic.length > 0 ? options.referenceKind ?? "reference" : "synthetic_background"
  const others = fromTraffic.length > 0
    ? fromTraffic
    : syntheticBackground(Math.max(MIN_SYNTHETIC_BACKGROUND, 4 * set.length), options.config.seed, startMs, endMs)

  const builder = new FeatureBuilder()
  for (const s of set) builder.add(s)
  for (const s of others) builder.add(s)
  const features = builder.finish()
  const members = Int32Array.from(set.keys())
  const dominant = dominantArtefact(members, features)
  const [score] = scoreGroups([{ members, dominant }], features, {
    seed: options.config.seed,
    permutations: options.config.permutations,
    bootstrap: options.config.bootstrap,
    // Real traffic only: a synthetic background's addresses are nowhere.
    geography: nullKind === "synthetic_background" ? undefined : sessionGeography(features, defaultGeography())
  })

  let techniques = 0
  const indicators = new Map<string, Indicator>()
  for (let i = 0; i < set.length; i++) {
    techniques |= features.techniques[i]!
    for (const id of features.artefacts.get(i)) {
      const a = features.artefactTable[id]!
      if (a.kind === "ssh_key" || a.kind === "sha256" || a.kind === "url") indicators.set(`${a.kind}\u0000${a.value}`, { type: a.kind, value: a.value })
    }
  }
  const sourceIps = [...new Set(set.flatMap((s) => (s.src_ip === null ? [] : [s.src_ip])))].sort(compare)
  // Coordination needs several actors: one source address is single-source activity.
  const confidence = sourceIps.length < 2 ? 0 : score!.confidence
  const interval: readonly [number, number] = sourceIps.length < 2 ? [0, 0] : score!.interval
  return {
    sessions: set.map((s) => s.id).sort(compare),
    source_ips: sourceIps,
    first_seen: new Date(startMs).toISOString(),
    last_seen: new Date(endMs).toISOString(),
    confidence,
    confidence_interval: [interval[0], interval[1]],
    assessment: assessmentFor(confidence, sourceIps.length),
    evidence: score!.evidence,
    indicators: [...indicators.values()].sort((a, b) => compare(a.type, b.type) || compare(a.value, b.value)),
    ttps: techniquesOf(techniques),
    techniques: techniqueCounts(features.techniques.subarray(0, set.length)),
    null_population: { kind: nullKind, sessions: others.length }
  }
}

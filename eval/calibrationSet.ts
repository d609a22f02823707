/**
 * Labelled groups for fitting and checking the confidence model.
 *
 * The model answers "is this group of sessions coordinated?" for any group — the campaigns
 * the engine forms, and the arbitrary sets `assess` receives. So the rows are both:
 * - every campaign the engine forms on the data (all levels), with the link kinds that
 *   formed it;
 * - probes: random sets of sessions, random subsets of one true campaign, and mixtures of
 *   the two, with sizes drawn from the engine's own campaign sizes (no link kinds: a given set).
 * Groups from fewer than two source addresses are left out: the engine reports them as
 * single-source activity with confidence 0, whatever the model says.
 *
 * Two kinds of data:
 *
 * 1. Synthetic ground truth (src/synthetic): every session's true family is known. A group is
 *    coordinated when at least 90% of its sessions come from one true (non-background) family.
 *    The generator's campaigns all run shell commands; real campaigns also come without any
 *    (SFTP uploads of one payload, a key pushed by an automated client, a botnet logging in
 *    with its own credential). So the data is augmented with such campaigns: background
 *    sessions (clients, addresses and times unchanged) turned in place into campaign sessions
 *    that share one payload hash, one SSH key, or one credential pair (a random rare one, or a
 *    name-derived one like `nproc/nproc`) and nothing else.
 *
 * 2. Real corpora labelled by published signatures (eval/labels/signatures.json, applied by
 *    eval/labeller — nothing from the engine). Labels cover a minority of sessions, so a
 *    group's truth is only used where the labels decide it:
 *    - an engine campaign is coordinated when ≥ 90% of its sessions carry one family's label;
 *      not coordinated when even counting every unlabelled member for its largest labelled
 *      family it stays below 90%; otherwise (a mostly unlabelled group) it is left out;
 *    - probe groups are built from the labels: subsets of one labelled family (coordinated),
 *      uniform draws from the whole log (not coordinated unless ≥ 90% carry one label: a
 *      random draw of a log is the null model itself), and half-and-half mixtures of one
 *      labelled family with sessions from addresses that never carry that family's label
 *      (not coordinated).
 */
import { featureVector } from "../src/analytics/confidenceModel.ts"
import { EvidenceContext, measureGroup } from "../src/analytics/evidence.ts"
import type { CampaignDraft } from "../src/analytics/hierarchy.ts"
import { dominantArtefact } from "../src/analytics/hierarchy.ts"
import { Prng } from "../src/analytics/Prng.ts"
import { groupShape } from "../src/analytics/scoring.ts"
import { FeatureBuilder, type SessionFeatures } from "../src/analytics/sessionFeatures.ts"
import { type AnalysisConfig, DEFAULT_CONFIG } from "../src/config/AnalysisConfig.ts"
import type { AttackSession } from "../src/domain/AttackSession.ts"
import type { CampaignLevel } from "../src/domain/Campaign.ts"
import { draftCampaigns } from "../src/pipeline/analyzeSessions.ts"
import type { SyntheticSession } from "../src/synthetic/generateSessions.ts"

export type RowSource = "engine" | "background" | "campaign" | "mixture"

export interface CalibrationRow {
  /** Where the group comes from: `seed:<n>` for synthetic data, the corpus name for real data. */
  readonly origin: string
  readonly source: RowSource
  /** The campaign level for engine rows; null for probes. */
  readonly level: CampaignLevel | null
  readonly size: number
  readonly sources: number
  readonly features: Float64Array
  readonly coordinated: boolean
}

/** The share of one true family a group must reach to count as coordinated. */
export const COORDINATED_SHARE = 0.9

/** Largest family count among members and the members without a family ("-"). */
const familyCounts = (members: ArrayLike<number>, family: ReadonlyArray<string>): { best: number; unknown: number } => {
  const counts = new Map<string, number>()
  let best = 0
  let unknown = 0
  for (let i = 0; i < members.length; i++) {
    const f = family[members[i]!]!
    if (f === "-") {
      unknown++
      continue
    }
    const c = (counts.get(f) ?? 0) + 1
    counts.set(f, c)
    if (c > best) best = c
  }
  return { best, unknown }
}

/** Ground truth known for every session (synthetic): ≥ 90% of one true family. */
const isCoordinated = (members: ArrayLike<number>, family: ReadonlyArray<string>): boolean =>
  familyCounts(members, family).best >= COORDINATED_SHARE * members.length

/**
 * Partial truth (real labels): coordinated, not coordinated, or undecided (null) when the
 * unlabelled members could tip it either way.
 */
const decidedByLabels = (members: ArrayLike<number>, family: ReadonlyArray<string>): boolean | null => {
  const { best, unknown } = familyCounts(members, family)
  if (best >= COORDINATED_SHARE * members.length) return true
  if (best + unknown < COORDINATED_SHARE * members.length) return false
  return null
}

/** Draws k distinct items of `from` (partial Fisher–Yates on a copy), sorted. */
const sample = (from: ReadonlyArray<number>, k: number, prng: Prng): Int32Array => {
  const copy = from.slice()
  for (let i = 0; i < k; i++) {
    const j = i + prng.int(copy.length - i)
    const t = copy[i]!
    copy[i] = copy[j]!
    copy[j] = t
  }
  return Int32Array.from(copy.slice(0, k)).sort()
}

const distinctIps = (members: ArrayLike<number>, f: SessionFeatures): number => {
  const ips = new Set<number>()
  for (let i = 0; i < members.length; i++) if (f.ipId[members[i]!]! >= 0) ips.add(f.ipId[members[i]!]!)
  return ips.size
}

interface ProbeSpec {
  /** Sessions random sets are drawn from. */
  readonly background: ReadonlyArray<number>
  /** True (or labelled) families, member indices ascending. */
  readonly families: ReadonlyArray<ReadonlyArray<number>>
  /** Sessions a mixture with family `k` draws its other half from. */
  readonly others: (k: number) => ReadonlyArray<number>
  /** At most ⌈|family| / 2⌉ probes per family (real labels: few, small families). */
  readonly perFamilyCap: boolean
}

interface Truth {
  readonly engine: (members: Int32Array) => boolean | null
  readonly probe: (members: Int32Array, source: RowSource) => boolean
}

/** Measures the engine's campaigns and the probe groups of one data set. */
/** One engine campaign, labelled or not: what the distribution of confidence is taken over. */
export interface EngineCampaign {
  readonly level: CampaignLevel
  readonly size: number
  readonly sources: number
  readonly features: Float64Array
  /** The labels' verdict; null when they do not decide it. */
  readonly coordinated: boolean | null
}

const groupRows = (
  f: SessionFeatures,
  drafts: ReadonlyArray<CampaignDraft>,
  probes: ProbeSpec,
  truth: Truth,
  origin: string,
  seed: number,
  permutations: number
): { rows: Array<CalibrationRow>; campaigns: Array<EngineCampaign> } => {
  const ctx = new EvidenceContext(f, permutations, seed)
  const rows: Array<CalibrationRow> = []
  const campaigns: Array<EngineCampaign> = []
  const add = (
    source: RowSource,
    level: CampaignLevel | null,
    members: Int32Array,
    dominant: number,
    formedBy: CampaignDraft["formedBy"] | undefined,
    label: string,
    coordinated: boolean | null,
    whole?: Int32Array
  ): void => {
    const shape = groupShape({ members, dominant, formedBy }, f)
    if (source !== "engine" && (coordinated === null || shape.distinctIps < 2)) return
    const raw = measureGroup(members, dominant, ctx, seed, label).raw
    const features = featureVector(raw, shape, permutations)
    if (source === "engine") campaigns.push({ level: level!, size: whole?.length ?? members.length, sources: whole === undefined ? shape.distinctIps : distinctIps(whole, f), features, coordinated })
    if (coordinated === null || shape.distinctIps < 2) return
    rows.push({ origin, source, level, size: members.length, sources: shape.distinctIps, features, coordinated })
  }
  // An engine campaign is measured on its scored members (hierarchy.ts: without the further
  // logins of sources already in it) and judged on what is measured: is the group the
  // evidence speaks about coordinated? (Whether those logins belong is the linkage's
  // question, scored by the evaluation, not by confidence.)
  drafts.forEach((d, i) => add("engine", d.level, d.scored, d.dominant, d.formedBy, `engine:${i}`, truth.engine(d.scored), d.members))

  const prng = new Prng(seed, "calibration-probes")
  const sizes = drafts.filter((d) => distinctIps(d.members, f) >= 2).map((d) => d.members.length)
  const families = probes.families.filter((fam) => fam.length >= 2 && distinctIps(fam, f) >= 2)
  // Each probe of a family is a random subset of it: a small family offers few distinct
  // subsets, so it gets at most ⌈|family| / 2⌉ probes (else a 4-session family would be
  // counted sixty times over).
  const budget = families.map((fam) => (probes.perFamilyCap ? Math.ceil(fam.length / 2) : Infinity))
  const count = probes.perFamilyCap ? Math.min(Math.max(60, sizes.length), budget.reduce((a, b) => a + b, 0)) : Math.max(60, sizes.length)
  for (let k = 0; k < count && sizes.length > 0; k++) {
    const size = Math.max(2, sizes[prng.int(sizes.length)]!)
    if (probes.background.length >= size) {
      const members = sample(probes.background, size, prng)
      add("background", null, members, dominantArtefact(members, f), undefined, `background:${k}`, truth.probe(members, "background"))
    }
    const open = families.map((_, i) => i).filter((i) => budget[i]! > 0)
    if (open.length === 0) continue
    const which = open[prng.int(open.length)]!
    budget[which] = budget[which]! - 1
    const fam = families[which]!
    const members = sample(fam, Math.min(size, fam.length), prng)
    add("campaign", null, members, dominantArtefact(members, f), undefined, `campaign:${k}`, truth.probe(members, "campaign"))
    const half = Math.max(1, Math.floor(members.length / 2))
    const others = probes.others(probes.families.indexOf(fam))
    if (others.length >= half) {
      const mixed = Int32Array.from([...sample(fam, Math.min(half, fam.length), prng), ...sample(others, half, prng)]).sort()
      add("mixture", null, mixed, dominantArtefact(mixed, f), undefined, `mixture:${k}`, truth.probe(mixed, "mixture"))
    }
  }
  return { rows, campaigns }
}

const hex = (prng: Prng, length: number): string => {
  let out = ""
  while (out.length < length) out += prng.nextU32().toString(16).padStart(8, "0")
  return out.slice(0, length)
}

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

/**
 * Campaigns that share only a payload, a key or a rare credential: background sessions turned
 * into campaign sessions in place (the chosen session gets the shared artefact and the
 * campaign's label; nothing else changes). In place, not as copies: a copy would leave its
 * original — same address, same time — in the background, and the engine rightly ties
 * sessions of one address an instant apart together.
 */
const artefactOnlyCampaigns = (all: Array<SyntheticSession>, seed: number): void => {
  const prng = new Prng(seed, "artefact-only-campaigns")
  const background: Array<number> = []
  all.forEach((s, i) => {
    if (s.label.family === "-") background.push(i)
  })
  const campaigns = Math.max(10, Math.floor(background.length / 1500))
  for (let k = 0; k < campaigns && background.length > 0; k++) {
    // Heavy-tailed sizes: mostly a handful of sessions, sometimes dozens.
    const size = Math.min(background.length, 2 + Math.floor(2 ** (prng.next() * 6)))
    const family = `A${String(k).padStart(4, "0")}`
    const shared = prng.next()
    const byKey = shared < 0.3
    const byCredential = shared >= 0.65
    // The credential: a random rare pair, or (half the time) a name-derived pair such as a
    // botnet's `nproc/nproc` check login — dictionary-like by form, so the engine does not
    // make it an artefact, and only the shared-credential statistic sees it.
    const word = Array.from({ length: 6 }, () => "abcdefghijklmnopqrstuvwxyz"[prng.int(26)]).join("")
    const credential = prng.next() < 0.5
      ? { username: "root", password: `${hex(prng, 6)}Qx${hex(prng, 4)}`, success: true }
      : { username: word, password: word, success: false }
    const sha = hex(prng, 64)
    let key = "ssh-rsa AAAAB3NzaC1yc2E"
    for (let c = 0; c < 200; c++) key += BASE64[prng.int(64)]
    for (let m = 0; m < size && background.length > 0; m++) {
      // Take a background session out of the background (swap-remove).
      const at = prng.int(background.length)
      const index = background[at]!
      background[at] = background[background.length - 1]!
      background.pop()
      const source = all[index]!.session
      const session = byKey
        ? { ...source, ssh_keys_added: [key] }
        : byCredential
        ? { ...source, credentials: [...source.credentials, credential] }
        : { ...source, uploads: [...source.uploads, { url: null, sha256: sha, filename: `/tmp/${family.toLowerCase()}.bin` }] }
      all[index] = { session, label: { family, variant: family, wave: "-", coordinated: true } }
    }
  }
}

const configFor = (seed: number): AnalysisConfig => ({ ...DEFAULT_CONFIG, seed })

/** Rows from one synthetic data set (ground truth for every session). */
export const calibrationRows = (sessions: Iterable<SyntheticSession>, seed: number, permutations = 199): Array<CalibrationRow> => {
  const all = Array.from(sessions)
  artefactOnlyCampaigns(all, seed)
  const builder = new FeatureBuilder()
  const family: Array<string> = []
  for (const s of all) {
    builder.add(s.session)
    family.push(s.label.family)
  }
  const f = builder.finish()
  const drafts = draftCampaigns(f, configFor(seed))
  const background: Array<number> = []
  const byFamily = new Map<string, Array<number>>()
  family.forEach((fam, i) => {
    if (fam === "-") background.push(i)
    else {
      const list = byFamily.get(fam)
      if (list === undefined) byFamily.set(fam, [i])
      else list.push(i)
    }
  })
  const families = [...byFamily.values()].sort((a, b) => a[0]! - b[0]!)
  const truth: Truth = { engine: (m) => isCoordinated(m, family), probe: (m) => isCoordinated(m, family) }
  return groupRows(f, drafts, { background, families, others: () => background, perFamilyCap: false }, truth, `seed:${seed}`, seed, permutations).rows
}

/** A session's signature label: its family, or absent. */
export type LabelOf = (sessionId: string) => string | undefined

/**
 * Rows from one real corpus labelled by signatures. `seed` is the analysis seed (the one a
 * user's `analyze` would use).
 */
export const realCalibrationRows = (
  corpus: string,
  sessions: ReadonlyArray<AttackSession>,
  labelOf: LabelOf,
  seed: number,
  permutations = 199
): { rows: Array<CalibrationRow>; campaigns: Array<EngineCampaign>; labelled: number; sessions: number } => {
  const builder = new FeatureBuilder()
  for (const s of sessions) builder.add(s)
  const f = builder.finish()
  const family: Array<string> = Array.from({ length: f.count }, (_, i) => labelOf(f.ids[i]!) ?? "-")
  const drafts = draftCampaigns(f, configFor(seed))
  const byFamily = new Map<string, Array<number>>()
  family.forEach((fam, i) => {
    if (fam === "-") return
    const list = byFamily.get(fam)
    if (list === undefined) byFamily.set(fam, [i])
    else list.push(i)
  })
  const names = [...byFamily.keys()].sort()
  const families = names.map((n) => byFamily.get(n)!)
  const all = Array.from({ length: f.count }, (_, i) => i)
  // Mixtures draw their other half from addresses that never carry the family's label.
  const others = names.map((name) => {
    const ips = new Set<number>()
    for (const i of byFamily.get(name)!) ips.add(f.ipId[i]!)
    return all.filter((i) => family[i] !== name && !ips.has(f.ipId[i]!))
  })
  const truth: Truth = {
    engine: (m) => decidedByLabels(m, family),
    probe: (m, source) => (source === "campaign" ? true : source === "mixture" ? false : isCoordinated(m, family))
  }
  const { rows, campaigns } = groupRows(f, drafts, { background: all, families, others: (k) => others[k] ?? [], perFamilyCap: true }, truth, corpus, seed, permutations)
  return { rows, campaigns, labelled: family.filter((x) => x !== "-").length, sessions: f.count }
}

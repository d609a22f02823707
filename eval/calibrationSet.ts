/**
 * Labelled groups for fitting and checking the confidence model, from synthetic ground truth.
 *
 * The model answers "is this group of sessions coordinated?" for any group — the campaigns
 * the engine forms, and the arbitrary sets `assess` receives. So the rows are both:
 * - every campaign the engine forms on the data (all levels);
 * - probes: random sets of background sessions, random subsets of one true campaign, and
 *   mixtures of the two, with sizes drawn from the engine's own campaign sizes.
 * A group is truly coordinated when at least 90% of its sessions come from one true
 * (non-background) family — the same rule `eval` uses.
 *
 * The generator's campaigns all run shell commands. Real campaigns also come without any:
 * SFTP/SCP uploads of one payload, a key pushed by an automated client. So the data is
 * augmented with such campaigns: copies of background sessions (their clients, addresses and
 * times unchanged) that share one payload hash, one SSH key, or one rare credential pair
 * (a botnet logging in with its own credential) and nothing else.
 */
import { featureVector, type GroupShape } from "../src/analytics/confidenceModel.ts"
import { EvidenceContext, measureGroup } from "../src/analytics/evidence.ts"
import { buildHierarchy, DEFAULT_HIERARCHY, dominantArtefact } from "../src/analytics/hierarchy.ts"
import { DEFAULT_LINKAGE, linkSessions } from "../src/analytics/linkage.ts"
import { Prng } from "../src/analytics/Prng.ts"
import { FeatureBuilder, type SessionFeatures } from "../src/analytics/sessionFeatures.ts"
import type { SyntheticSession } from "../src/synthetic/generateSessions.ts"

export interface CalibrationRow {
  readonly source: "engine" | "background" | "campaign" | "mixture"
  readonly size: number
  readonly features: Float64Array
  readonly coordinated: boolean
}

/** The share of one true family a group must reach to count as coordinated. */
export const COORDINATED_SHARE = 0.9

const isCoordinated = (members: ArrayLike<number>, family: ReadonlyArray<string>): boolean => {
  const counts = new Map<string, number>()
  let best = 0
  for (let i = 0; i < members.length; i++) {
    const f = family[members[i]!]!
    if (f === "-") continue
    const c = (counts.get(f) ?? 0) + 1
    counts.set(f, c)
    if (c > best) best = c
  }
  return best >= COORDINATED_SHARE * members.length
}

const shapeOf = (members: Int32Array, dominant: number, f: SessionFeatures): GroupShape => {
  const ips = new Set<number>()
  for (const i of members) ips.add(f.ipId[i]!)
  return { size: members.length, distinctIps: ips.size, dominantKind: dominant < 0 ? null : f.artefactTable[dominant]!.kind }
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

const hex = (prng: Prng, length: number): string => {
  let out = ""
  while (out.length < length) out += prng.nextU32().toString(16).padStart(8, "0")
  return out.slice(0, length)
}

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

/** Campaigns that share only a payload or a key: copies of background sessions. */
const artefactOnlyCampaigns = (background: ReadonlyArray<SyntheticSession>, seed: number): Array<SyntheticSession> => {
  const prng = new Prng(seed, "artefact-only-campaigns")
  const out: Array<SyntheticSession> = []
  const campaigns = Math.max(10, Math.floor(background.length / 1500))
  for (let k = 0; k < campaigns && background.length > 0; k++) {
    // Heavy-tailed sizes: mostly a handful of sessions, sometimes dozens.
    const size = Math.min(background.length, 2 + Math.floor(2 ** (prng.next() * 6)))
    const family = `A${String(k).padStart(4, "0")}`
    // What the campaign shares: an SSH key, a payload, or (a botnet logging in with its own
    // credential, nothing else) a rare credential pair.
    const shared = prng.next()
    const byKey = shared < 0.3
    const byCredential = shared >= 0.65
    const credential = { username: "root", password: `${hex(prng, 6)}Qx${hex(prng, 4)}`, success: true }
    const sha = hex(prng, 64)
    let key = "ssh-rsa AAAAB3NzaC1yc2E"
    for (let c = 0; c < 200; c++) key += BASE64[prng.int(64)]
    for (let m = 0; m < size; m++) {
      const source = background[prng.int(background.length)]!
      const id = `${source.session.id}${family}${m}`
      const session = byKey
        ? { ...source.session, id, ssh_keys_added: [key] }
        : byCredential
        ? { ...source.session, id, credentials: [credential] }
        : { ...source.session, id, uploads: [{ url: null, sha256: sha, filename: `/tmp/${family.toLowerCase()}.bin` }] }
      out.push({ session, label: { family, variant: family, wave: "-", coordinated: true } })
    }
  }
  return out
}

export const calibrationRows = (sessions: Iterable<SyntheticSession>, seed: number, permutations = 199): Array<CalibrationRow> => {
  const builder = new FeatureBuilder()
  const family: Array<string> = []
  const backgroundSessions: Array<SyntheticSession> = []
  for (const s of sessions) {
    builder.add(s.session)
    family.push(s.label.family)
    if (s.label.family === "-") backgroundSessions.push(s)
  }
  for (const s of artefactOnlyCampaigns(backgroundSessions, seed)) {
    builder.add(s.session)
    family.push(s.label.family)
  }
  const f = builder.finish()
  const drafts = buildHierarchy(f, linkSessions(f, { seed, ...DEFAULT_LINKAGE }), DEFAULT_HIERARCHY)
  const ctx = new EvidenceContext(f, permutations, seed)
  const rows: Array<CalibrationRow> = []
  const add = (source: CalibrationRow["source"], members: Int32Array, dominant: number, label: string): void => {
    const raw = measureGroup(members, dominant, ctx, seed, label).raw
    rows.push({ source, size: members.length, features: featureVector(raw, shapeOf(members, dominant, f), permutations), coordinated: isCoordinated(members, family) })
  }
  drafts.forEach((d, i) => add("engine", d.members, d.dominant, `engine:${i}`))

  const prng = new Prng(seed, "calibration-probes")
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
  const sizes = drafts.map((d) => d.members.length)
  const probes = Math.max(50, drafts.length)
  for (let k = 0; k < probes && sizes.length > 0; k++) {
    const size = Math.max(2, sizes[prng.int(sizes.length)]!)
    if (background.length >= size) {
      const members = sample(background, size, prng)
      add("background", members, dominantArtefact(members, f), `background:${k}`)
    }
    const fam = families[prng.int(families.length)]
    if (fam !== undefined && fam.length >= 2) {
      const members = sample(fam, Math.min(size, fam.length), prng)
      add("campaign", members, dominantArtefact(members, f), `campaign:${k}`)
      const half = Math.max(1, Math.floor(members.length / 2))
      if (background.length >= half) {
        const mixed = Int32Array.from([...sample(fam, Math.min(half, fam.length), prng), ...sample(background, half, prng)]).sort()
        add("mixture", mixed, dominantArtefact(mixed, f), `mixture:${k}`)
      }
    }
  }
  return rows
}

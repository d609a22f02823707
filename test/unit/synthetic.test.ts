/**
 * The synthetic ground-truth generator: determinism, start order, label structure (families
 * nest variants, waves separated by silences, background share), the artefact model
 * (variants stay similar, rare credentials and keys stay inside one family, popular
 * credentials and client fingerprints are shared) and a round trip through the engine's own
 * cowrie ingest.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { createHash } from "node:crypto"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { gunzipSync } from "node:zlib"
import { normalizeCommand } from "../../src/analytics/normalizeCommand.ts"
import { ingest } from "../../src/ingest/ingest.ts"
import { renderCowrie, sessionToCowrieLines } from "../../src/synthetic/cowrieWriter.ts"
import { generateSessions, planCampaigns, type SyntheticSession } from "../../src/synthetic/generateSessions.ts"
import { LABELS_HEADER, writeDataset } from "../../src/synthetic/writeDataset.ts"

let tmp = ""
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "dshield-synthetic-"))
})
afterAll(() => {
  if (tmp !== "") rmSync(tmp, { recursive: true, force: true })
})

const sha256File = (path: string): string => createHash("sha256").update(readFileSync(path)).digest("hex")

const HOUR = 3_600_000
const DAY = 24 * HOUR

/** One generated data set kept in memory for the structural tests (20k sessions, seed 7). */
const N = 20_000
let all: Array<SyntheticSession> = []
beforeAll(() => {
  all = [...generateSessions({ sessions: N, seed: 7 })]
})

const groupBy = <T>(items: ReadonlyArray<T>, key: (t: T) => string): Map<string, Array<T>> => {
  const out = new Map<string, Array<T>>()
  for (const item of items) {
    const k = key(item)
    const list = out.get(k)
    if (list === undefined) out.set(k, [item])
    else list.push(item)
  }
  return out
}

const campaignSessions = (): Array<SyntheticSession> => all.filter((s) => s.label.family !== "-")

describe("determinism", () => {
  test("the same seed writes identical bytes; another seed writes different ones", async () => {
    const a = await writeDataset({ sessions: 3000, seed: 42, outDir: join(tmp, "a") })
    const b = await writeDataset({ sessions: 3000, seed: 42, outDir: join(tmp, "b") })
    const c = await writeDataset({ sessions: 3000, seed: 43, outDir: join(tmp, "c") })
    expect(a.sessions).toBe(3000)
    expect(b).toEqual({ ...a, cowriePath: b.cowriePath, labelsPath: b.labelsPath })
    expect(sha256File(a.cowriePath)).toBe(sha256File(b.cowriePath))
    expect(sha256File(a.labelsPath)).toBe(sha256File(b.labelsPath))
    expect(sha256File(c.cowriePath)).not.toBe(sha256File(a.cowriePath))
    expect(sha256File(c.labelsPath)).not.toBe(sha256File(a.labelsPath))
    expect(a.bytes).toBe(readFileSync(a.cowriePath).length)
  })

  test("gzip output is deterministic and decompresses to the plain file", async () => {
    const plain = await writeDataset({ sessions: 1500, seed: 5, outDir: join(tmp, "plain") })
    const gz1 = await writeDataset({ sessions: 1500, seed: 5, outDir: join(tmp, "gz1"), gzip: true })
    const gz2 = await writeDataset({ sessions: 1500, seed: 5, outDir: join(tmp, "gz2"), gzip: true })
    expect(gz1.cowriePath.endsWith("cowrie.json.gz")).toBe(true)
    expect(sha256File(gz1.cowriePath)).toBe(sha256File(gz2.cowriePath))
    expect(gunzipSync(readFileSync(gz1.cowriePath)).equals(readFileSync(plain.cowriePath))).toBe(true)
    expect(gz1.rawBytes).toBe(plain.bytes)
    expect(gz1.bytes).toBeLessThan(plain.bytes / 4)
  })

  test("worker threads change nothing: 1, 2 or 3 workers write the same bytes", async () => {
    const one = await writeDataset({ sessions: 3500, seed: 8, outDir: join(tmp, "w1"), workers: 1 })
    const two = await writeDataset({ sessions: 3500, seed: 8, outDir: join(tmp, "w2"), workers: 2 })
    const three = await writeDataset({ sessions: 3500, seed: 8, outDir: join(tmp, "w3"), workers: 3, gzip: true })
    const oneGz = await writeDataset({ sessions: 3500, seed: 8, outDir: join(tmp, "w1gz"), workers: 1, gzip: true })
    expect(two.workers).toBe(2)
    expect(sha256File(two.cowriePath)).toBe(sha256File(one.cowriePath))
    expect(sha256File(two.labelsPath)).toBe(sha256File(one.labelsPath))
    expect(sha256File(three.cowriePath)).toBe(sha256File(oneGz.cowriePath))
    expect(sha256File(three.labelsPath)).toBe(sha256File(one.labelsPath))
    expect([two.sessions, two.events]).toEqual([one.sessions, one.events])
  })

  test("invalid options fail before any file is written", async () => {
    const dir = join(tmp, "never")
    await expect(writeDataset({ sessions: -5, seed: 1, outDir: dir })).rejects.toThrow(RangeError)
    expect(() => readFileSync(join(dir, "labels.tsv"))).toThrow()
  })

  test("generateSessions is a pure function of its options", () => {
    const first = [...generateSessions({ sessions: 500, seed: 9, startMs: Date.UTC(2023, 0, 1), days: 20 })]
    const again = [...generateSessions({ sessions: 500, seed: 9, startMs: Date.UTC(2023, 0, 1), days: 20 })]
    expect(JSON.stringify(again)).toBe(JSON.stringify(first))
    expect(first[0]!.session.start >= "2023-01-01").toBe(true)
    expect(first.at(-1)!.session.start < "2023-01-22").toBe(true)
  })
})

describe("stream", () => {
  test("exactly N sessions, in non-decreasing start order, with unique 12-hex ids", () => {
    expect(all.length).toBe(N)
    const ids = new Set<string>()
    let previous = ""
    for (const { session } of all) {
      expect(session.start >= previous).toBe(true)
      previous = session.start
      expect(session.id).toMatch(/^[0-9a-f]{12}$/)
      ids.add(session.id)
      expect(session.end >= session.start).toBe(true)
      expect(session.protocol === "ssh" || session.protocol === "telnet").toBe(true)
      expect(session.http_requests).toEqual([])
      expect(session.user_agent).toBeNull()
    }
    expect(ids.size).toBe(N)
  })

  test("small and empty runs work", () => {
    expect([...generateSessions({ sessions: 0, seed: 1 })]).toEqual([])
    expect([...generateSessions({ sessions: 1, seed: 1 })].length).toBe(1)
    expect([...generateSessions({ sessions: 17, seed: 1 })].length).toBe(17)
  })

  test("invalid options are refused at once", () => {
    expect(() => generateSessions({ sessions: -1, seed: 1 })).toThrow(RangeError)
    expect(() => generateSessions({ sessions: 1.5, seed: 1 })).toThrow(RangeError)
    expect(() => generateSessions({ sessions: 10, seed: Number.NaN })).toThrow(RangeError)
  })
})

describe("labels", () => {
  test("background is 60–80% of sessions, labelled '-' and never coordinated", () => {
    const background = all.filter((s) => s.label.family === "-")
    const share = background.length / N
    expect(share).toBeGreaterThanOrEqual(0.6)
    expect(share).toBeLessThanOrEqual(0.8)
    for (const { label } of background) expect(label).toEqual({ family: "-", variant: "-", wave: "-", coordinated: false })
    for (const { label } of campaignSessions()) expect(label.coordinated).toBe(true)
    // Background actors leave no campaign artefacts.
    for (const { session } of background) {
      expect(session.downloads).toEqual([])
      expect(session.uploads).toEqual([])
      expect(session.ssh_keys_added).toEqual([])
    }
  })

  test("families scale with N, nest 1–4 variants, variants nest waves", () => {
    const families = groupBy(campaignSessions(), (s) => s.label.family)
    expect(families.size).toBe(Math.max(5, Math.round(N / 2000)))
    const sizes = [...families.values()].map((f) => f.length).sort((a, b) => b - a)
    // Heavy-tailed: the largest family is several times the median one.
    expect(sizes[0]!).toBeGreaterThan(3 * sizes[Math.floor(sizes.length / 2)]!)
    let multiVariant = 0
    for (const [family, sessions] of families) {
      const variants = groupBy(sessions, (s) => s.label.variant)
      expect(variants.size).toBeGreaterThanOrEqual(1)
      expect(variants.size).toBeLessThanOrEqual(4)
      if (variants.size > 1) multiVariant++
      for (const [variant, members] of variants) {
        expect(variant.startsWith(`${family}/v`)).toBe(true)
        for (const m of members) expect(m.label.wave.startsWith(`${variant}/w`)).toBe(true)
      }
    }
    expect(multiVariant).toBeGreaterThan(0)
  })

  test("waves of a variant are separated by silences of more than a day; inside a wave there is none", () => {
    const variants = groupBy(campaignSessions(), (s) => s.label.variant)
    let multiWave = 0
    for (const members of variants.values()) {
      const waves = [...groupBy(members, (s) => s.label.wave).values()].map((w) => ({
        first: Date.parse(w[0]!.session.start),
        last: Date.parse(w.at(-1)!.session.start),
        starts: w.map((s) => Date.parse(s.session.start))
      }))
      waves.sort((a, b) => a.first - b.first)
      if (waves.length > 1) multiWave++
      for (let i = 1; i < waves.length; i++) expect(waves[i]!.first - waves[i - 1]!.last).toBeGreaterThan(DAY)
      for (const w of waves) {
        expect(w.last - w.first).toBeLessThanOrEqual(4 * DAY)
        for (let j = 1; j < w.starts.length; j++) expect(w.starts[j]! - w.starts[j - 1]!).toBeLessThan(DAY)
      }
    }
    expect(multiWave).toBeGreaterThan(0)
  })

  test("the plan matches what is generated", () => {
    const plan = planCampaigns({ sessions: N, seed: 7 })
    const families = groupBy(campaignSessions(), (s) => s.label.family)
    expect(plan.background).toBe(N - campaignSessions().length)
    for (const c of plan.campaigns) {
      expect(families.get(c.family)?.length).toBe(c.sessions)
      expect(c.variants.reduce((a, v) => a + v.sessions, 0)).toBe(c.sessions)
    }
  })
})

const TOKEN_SPLIT = /[\s;|&()<>"'`]+/
const tokensOf = (commands: ReadonlyArray<string>): Set<string> => {
  const out = new Set<string>()
  for (const c of commands) for (const t of normalizeCommand(c).split(TOKEN_SPLIT)) if (t.length > 0) out.add(t)
  return out
}
const jaccard = (a: Set<string>, b: Set<string>): number => {
  let shared = 0
  for (const t of a) if (b.has(t)) shared++
  return shared / (a.size + b.size - shared)
}

describe("artefacts", () => {
  test("sibling variants keep most of their family's template (token Jaccard ≥ 0.6)", () => {
    const families = groupBy(campaignSessions().filter((s) => s.session.commands.length > 0), (s) => s.label.family)
    let compared = 0
    for (const sessions of families.values()) {
      // A variant's template: the token set of its most common normalised command sequence.
      const variants = [...groupBy(sessions, (s) => s.label.variant).values()].map((members) => {
        const bySequence = groupBy(members, (m) => m.session.commands.map((c) => normalizeCommand(c)).join("\n"))
        const typical = [...bySequence.values()].sort((a, b) => b.length - a.length)[0]!
        return tokensOf(typical[0]!.session.commands)
      })
      for (let i = 0; i < variants.length; i++) {
        for (let j = i + 1; j < variants.length; j++) {
          expect(jaccard(variants[i]!, variants[j]!)).toBeGreaterThanOrEqual(0.6)
          compared++
        }
      }
    }
    expect(compared).toBeGreaterThan(0)
  })

  test("per-host randomness: a campaign's raw command strings differ between sessions", () => {
    const withPasswords = campaignSessions().filter((s) => s.session.commands.some((c) => /chpasswd|passwd/.test(c)))
    expect(withPasswords.length).toBeGreaterThan(10)
    const raw = new Set(withPasswords.map((s) => s.session.commands.join("\n")))
    expect(raw.size / withPasswords.length).toBeGreaterThan(0.9)
  })

  test("planted keys and rare credentials stay inside one family; popular credentials do not", () => {
    const keyFamilies = new Map<string, Set<string>>()
    const credFamilies = new Map<string, Set<string>>()
    for (const { session, label } of all) {
      for (const k of session.ssh_keys_added) {
        if (label.family === "-") throw new Error("background planted a key")
        keyFamilies.set(k, (keyFamilies.get(k) ?? new Set()).add(label.family))
      }
      for (const c of session.credentials) {
        const pair = `${c.username}/${c.password}`
        credFamilies.set(pair, (credFamilies.get(pair) ?? new Set()).add(label.family))
      }
    }
    expect(keyFamilies.size).toBeGreaterThan(0)
    for (const families of keyFamilies.values()) expect(families.size).toBe(1)
    const plan = planCampaigns({ sessions: N, seed: 7 })
    for (const c of plan.campaigns) {
      if (c.rareCredential !== null) expect([...credFamilies.get(c.rareCredential) ?? []]).toEqual([c.family])
    }
    // root/123456 is everybody's: background and at least one campaign.
    const popular = credFamilies.get("root/123456") ?? new Set()
    expect(popular.has("-")).toBe(true)
    expect(popular.size).toBeGreaterThan(1)
  })

  test("client fingerprints are shared between unrelated kits and with the background", () => {
    const plan = planCampaigns({ sessions: 60_000, seed: 3 })
    const byHassh = groupBy(plan.campaigns.filter((c) => c.hassh !== null), (c) => c.hassh!)
    expect([...byHassh.values()].some((families) => families.length >= 2)).toBe(true)
    const backgroundHassh = new Set(all.filter((s) => s.label.family === "-").map((s) => s.session.hassh))
    expect(campaignSessions().some((s) => s.session.hassh !== null && backgroundHassh.has(s.session.hassh))).toBe(true)
  })

  test("worm-like campaigns spread over many /24s", () => {
    const plan = planCampaigns({ sessions: N, seed: 7 })
    const worms = plan.campaigns.filter((c) => c.ipMode === "worm").map((c) => c.family)
    const families = groupBy(campaignSessions(), (s) => s.label.family)
    const largest = worms.map((f) => families.get(f)!).sort((a, b) => b.length - a.length)[0]!
    const ips = new Set(largest.map((s) => s.session.src_ip!))
    const prefixes = new Set([...ips].map((ip) => ip.slice(0, ip.lastIndexOf("."))))
    expect(ips.size).toBeGreaterThan(20)
    expect(prefixes.size / ips.size).toBeGreaterThan(0.8)
  })
})

describe("cowrie round trip", () => {
  test("ingesting the written file rebuilds every session exactly, with no rejects", async () => {
    const dir = join(tmp, "roundtrip")
    const summary = await writeDataset({ sessions: 2000, seed: 11, outDir: dir })
    const labels = readFileSync(summary.labelsPath, "utf8").trimEnd().split("\n")
    expect(labels[0]).toBe(LABELS_HEADER)
    expect(labels.length).toBe(2001)

    const report = await ingest([join(dir, "cowrie.json")], { format: "auto" })
    expect(report.rejects.total).toBe(0)
    expect(report.unknownEventIds).toEqual({})
    expect(report.files[0]!.format).toBe("cowrie")
    expect(report.events).toBe(summary.events)
    expect(report.sessions.length).toBe(2000)

    const byId = new Map(report.sessions.map((s) => [s.id, s]))
    const expected = [...generateSessions({ sessions: 2000, seed: 11 })]
    for (const line of labels.slice(1)) {
      const [id, family, variant, wave, coordinated] = line.split("\t")
      const truth = expected.find((e) => e.session.id === id)!
      expect(truth.label).toEqual({ family: family!, variant: variant!, wave: wave!, coordinated: coordinated === "1" })
      const got = byId.get(id!)
      expect(got).toBeDefined()
      expect(got!.credentials).toEqual(truth.session.credentials)
      expect(got!.commands).toEqual(truth.session.commands)
      expect(got!.downloads).toEqual(truth.session.downloads)
      expect(got!.ssh_keys_added).toEqual(truth.session.ssh_keys_added)
    }
    // Beyond the brief: every field the engine builds comes back the same.
    for (const { session } of expected) expect(byId.get(session.id)).toEqual(session)
  })

  test("lines are cowrie JSON with microsecond timestamps increasing inside a session", () => {
    const sample = all.filter((_, i) => i % 97 === 0)
    for (const s of sample) {
      const lines = sessionToCowrieLines(s)
      expect(lines.length).toBe(s.session.event_count)
      expect(renderCowrie(s.session).events).toBe(lines.length)
      let previous = ""
      for (const line of lines) {
        const event = JSON.parse(line) as Record<string, unknown>
        expect(String(event.eventid)).toMatch(/^cowrie\./)
        expect(event.session).toBe(s.session.id)
        const ts = String(event.timestamp)
        expect(ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/)
        expect(ts >= previous).toBe(true)
        previous = ts
      }
      const first = JSON.parse(lines[0]!) as Record<string, unknown>
      expect(first.eventid).toBe("cowrie.session.connect")
      expect(first.protocol).toBe(s.session.protocol)
      expect((JSON.parse(lines.at(-1)!) as Record<string, unknown>).eventid).toBe("cowrie.session.closed")
    }
  })
})

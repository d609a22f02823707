/**
 * Streaming analysis: sessions handed from ingest to the feature builder as they finish give
 * exactly the sessions, in exactly the order, that reading everything first gives; input out
 * of time order is detected and read again whole; the Result is the same whichever way the
 * sessions travelled (on this thread, through the ingest thread, or held whole).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { gunzipSync } from "node:zlib"
import * as Effect from "effect/Effect"
import { Prng } from "../../src/analytics/Prng.ts"
import { DEFAULT_CONFIG } from "../../src/config/AnalysisConfig.ts"
import type { AttackSession } from "../../src/domain/AttackSession.ts"
import type { HoneypotEvent } from "../../src/domain/Event.ts"
import type { Result } from "../../src/domain/Result.ts"
import { ingest, ingestStream } from "../../src/ingest/ingest.ts"
import { SessionBuilder } from "../../src/ingest/SessionBuilder.ts"
import { runAnalysis, runAnalysisWithSessions } from "../../src/pipeline/runAnalysis.ts"
import { writeDataset } from "../../src/synthetic/writeDataset.ts"

const FIXTURES = resolve(import.meta.dir, "../fixtures")
const CORPORA = resolve(import.meta.dir, "../../../shared/corpora")
const RADEC = join(CORPORA, "radec73-2024-04.cowrie.json.gz")
const HAVE_CORPORA = existsSync(RADEC)

let tmp = ""
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "dshield-streaming-"))
})
afterAll(() => {
  if (tmp !== "") rmSync(tmp, { recursive: true, force: true })
})

const streamed = async (paths: ReadonlyArray<string>, syslogYear?: number) => {
  const sessions: Array<AttackSession> = []
  const outcome = await ingestStream(paths, { format: "auto", syslogYear }, (s) => sessions.push(s))
  return { outcome, sessions }
}

/** The Result without the fields that name the run's own instants. */
const comparable = (r: Result): string => JSON.stringify({ ...r, run: { ...r.run, id: "", started_at: "", finished_at: "" } })

const withThread = async <A>(value: "0" | "1", f: () => Promise<A>): Promise<A> => {
  const before = process.env.DSHIELD_INGEST_THREAD
  process.env.DSHIELD_INGEST_THREAD = value
  try {
    return await f()
  } finally {
    if (before === undefined) delete process.env.DSHIELD_INGEST_THREAD
    else process.env.DSHIELD_INGEST_THREAD = before
  }
}

const shuffled = <T>(items: ReadonlyArray<T>, seed: number): Array<T> => {
  const out = items.slice()
  const prng = new Prng(seed, "streaming-test")
  for (let i = out.length - 1; i > 0; i--) {
    const j = prng.int(i + 1)
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

describe("streamed sessions are the collected sessions", () => {
  const fixtures: Array<[string, number | undefined]> = [
    ["cowrie.json", undefined],
    ["ecs.jsonl", undefined],
    ["ecs-search.json", undefined],
    ["firewall.log", 2024],
    ["webhoneypot.json", undefined],
    ["sessions.json", undefined],
    ["garbage-mixed.json", undefined]
  ]
  for (const [name, year] of fixtures) {
    test(name, async () => {
      const path = join(FIXTURES, name)
      const whole = await ingest([path], { format: "auto", syslogYear: year })
      const { outcome, sessions } = await streamed([path], year)
      expect(outcome.streamed).toBe(true)
      expect(sessions).toEqual(whole.sessions)
      if (outcome.streamed) {
        expect(outcome.summary.sessionCount).toBe(whole.sessions.length)
        expect(outcome.summary.events).toBe(whole.events)
        expect(outcome.summary.rejects.toRecord()).toEqual(whole.rejects.toRecord())
      }
    })
  }

  test.skipIf(!HAVE_CORPORA)("every real corpus streams, in the collected order", async () => {
    for (const name of ["alvarogar-2022-07", "istec-tpot-2022-06", "kareiva-2018", "radec73-2024-04", "scriptzteam-2017-11"]) {
      const path = join(CORPORA, `${name}.cowrie.json.gz`)
      const whole = await ingest([path], { format: "auto" })
      const { outcome, sessions } = await streamed([path])
      expect(outcome.streamed).toBe(true)
      expect(sessions.length).toBe(whole.sessions.length)
      expect(JSON.stringify(sessions)).toBe(JSON.stringify(whole.sessions))
    }
  }, 120_000)
})

describe("input out of time order", () => {
  test.skipIf(!HAVE_CORPORA)("shuffled lines stop the stream, and the analysis reads them whole to the same Result", async () => {
    const lines = gunzipSync(readFileSync(RADEC)).toString("utf8").split("\n").filter((l) => l.length > 0)
    const path = join(tmp, "radec-shuffled.json")
    writeFileSync(path, `${shuffled(lines, 11).join("\n")}\n`)
    const { outcome } = await streamed([path])
    expect(outcome.streamed).toBe(false)
    const run = await Effect.runPromise(runAnalysis([path], DEFAULT_CONFIG))
    expect(run.mode).toBe("whole")
    const held = await Effect.runPromise(runAnalysisWithSessions([path], DEFAULT_CONFIG))
    expect(comparable(run.result)).toBe(comparable(held.result))
  }, 120_000)

  test.skipIf(!HAVE_CORPORA)("files given newest first are read oldest first and stream; files whose times interleave are read again whole; locally reordered lines still stream", async () => {
    const lines = gunzipSync(readFileSync(RADEC)).toString("utf8").split("\n").filter((l) => l.length > 0)
    const third = Math.floor(lines.length / 3)
    const parts = [lines.slice(0, third), lines.slice(third, 2 * third), lines.slice(2 * third)].map((part, i) => {
      const path = join(tmp, `radec-part${i}.json`)
      writeFileSync(path, `${part.join("\n")}\n`)
      return path
    })
    const newestFirst = [parts[2]!, parts[0]!, parts[1]!]
    expect((await streamed(newestFirst)).outcome.streamed).toBe(true)
    const run = await withThread("0", () => Effect.runPromise(runAnalysis(newestFirst, DEFAULT_CONFIG)))
    const held = await Effect.runPromise(runAnalysisWithSessions(newestFirst, DEFAULT_CONFIG))
    expect(run.mode).toBe("stream")
    expect(comparable(run.result)).toBe(comparable(held.result))
    // Listed as given, whatever order they were read in.
    expect(run.result.input.files.map((f) => f.path)).toEqual(newestFirst)

    // Every other line in each of two files: their times interleave, no order streams them.
    const interleaved = [0, 1].map((k) => {
      const path = join(tmp, `radec-interleaved${k}.json`)
      writeFileSync(path, `${lines.filter((_, i) => i % 2 === k).join("\n")}\n`)
      return path
    })
    expect((await streamed(interleaved)).outcome.streamed).toBe(false)
    const mixed = await withThread("0", () => Effect.runPromise(runAnalysis(interleaved, DEFAULT_CONFIG)))
    expect(mixed.mode).toBe("whole")
    expect(comparable(mixed.result)).toBe(comparable((await Effect.runPromise(runAnalysisWithSessions(interleaved, DEFAULT_CONFIG))).result))

    // Blocks of 100 lines with their halves swapped: a few seconds of disorder, as when two
    // sensors' logs are interleaved, stays within the stream's slack.
    const local: Array<string> = []
    for (let i = 0; i < lines.length; i += 100) {
      const block = lines.slice(i, i + 100)
      local.push(...block.slice(50), ...block.slice(0, 50))
    }
    const localPath = join(tmp, "radec-local.json")
    writeFileSync(localPath, `${local.join("\n")}\n`)
    const whole = await ingest([localPath], { format: "auto" })
    const { outcome, sessions } = await streamed([localPath])
    expect(outcome.streamed).toBe(true)
    expect(JSON.stringify(sessions)).toBe(JSON.stringify(whole.sessions))
  }, 120_000)

  test("a firewall log out of order is detected; the same log in order streams", async () => {
    const prng = new Prng(5, "firewall")
    const rows: Array<[number, string]> = []
    for (let i = 0; i < 3000; i++) rows.push([prng.int(2 * 86400), `198.51.100.${1 + prng.int(40)}`])
    rows.sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    const line = ([t, ip]: [number, string]): string => {
      const d = new Date(Date.UTC(2024, 3, 1) + t * 1000)
      const time = d.toISOString().slice(11, 19)
      return `Apr ${String(d.getUTCDate()).padStart(2, " ")} ${time} fw kernel: [1.0] DSHIELDINPUT IN=eth0 OUT= SRC=${ip} DST=192.0.2.10 LEN=44 TTL=244 ID=1 PROTO=TCP SPT=5000 DPT=23 WINDOW=1 RES=0x00 SYN URGP=0`
    }
    const inOrder = join(tmp, "fw.log")
    const outOfOrder = join(tmp, "fw-shuffled.log")
    writeFileSync(inOrder, `${rows.map(line).join("\n")}\n`)
    writeFileSync(outOfOrder, `${shuffled(rows, 3).map(line).join("\n")}\n`)
    const whole = await ingest([inOrder], { format: "auto", syslogYear: 2024 })
    expect(whole.sessions.length).toBeGreaterThan(100)
    const a = await streamed([inOrder], 2024)
    expect(a.outcome.streamed).toBe(true)
    expect(a.sessions).toEqual(whole.sessions)
    const b = await streamed([outOfOrder], 2024)
    expect(b.outcome.streamed).toBe(false)
  })
})

describe("the session builder holds only sessions in progress", () => {
  const event = (kind: HoneypotEvent["kind"], session: string, ts: number): HoneypotEvent => ({
    kind,
    sourceEventId: `cowrie.${kind}`,
    sessionKey: session,
    ts,
    srcIp: "192.0.2.1"
  })

  test("closed sessions are handed on in (start, id) order and dropped", () => {
    const out: Array<AttackSession> = []
    const builder = new SessionBuilder(undefined, (s) => out.push(s))
    let held = 0
    const t0 = Date.UTC(2024, 3, 1)
    // 20,000 sessions, one a second, each 90 s long: about 90 overlap at any time.
    for (let i = 0; i < 20_000; i++) {
      const start = t0 + i * 1000
      builder.add(event("session.connect", `s${i}`, start))
      if (i >= 45) builder.add(event("command.input", `s${i - 45}`, start))
      if (i >= 90) builder.add(event("session.closed", `s${i - 90}`, start))
      held = Math.max(held, builder.size)
    }
    expect(builder.end()).toBe(true)
    expect(out.length).toBe(20_000)
    for (let i = 1; i < out.length; i++) expect(out[i - 1]!.start <= out[i]!.start).toBe(true)
    // The reorder slack (15 minutes of input time) bounds what is held.
    expect(held).toBeLessThan(2000)
  })

  test("an event for a session already handed on stops the stream", () => {
    const builder = new SessionBuilder(undefined, () => undefined)
    const t0 = Date.UTC(2024, 3, 1)
    builder.add(event("session.connect", "a", t0))
    builder.add(event("session.closed", "a", t0 + 1000))
    // Two hours later: "a" is handed on.
    for (let i = 0; i < 2000; i++) builder.add(event("session.connect", `b${i}`, t0 + 2 * 3_600_000 + i))
    expect(builder.streamed).toBeGreaterThan(0)
    builder.add(event("command.input", "a", t0 + 2 * 3_600_000 + 5000))
    expect(builder.outOfOrder).toContain("after the session was handed on")
    expect(builder.end()).toBe(false)
  })
})

describe("the Result does not depend on how sessions reached the features", () => {
  test("on this thread, through the ingest thread, held whole: byte-identical", async () => {
    const dir = join(tmp, "generated")
    const summary = await writeDataset({ sessions: 3000, seed: 5, outDir: dir })
    const onThread = await withThread("0", () => Effect.runPromise(runAnalysis([summary.cowriePath], DEFAULT_CONFIG)))
    const viaThread = await withThread("1", () => Effect.runPromise(runAnalysis([summary.cowriePath], DEFAULT_CONFIG)))
    const held = await Effect.runPromise(runAnalysisWithSessions([summary.cowriePath], DEFAULT_CONFIG))
    expect(onThread.mode).toBe("stream")
    expect(viaThread.mode).toBe("thread")
    expect(onThread.result.input.sessions).toBe(3000)
    expect(comparable(viaThread.result)).toBe(comparable(onThread.result))
    expect(comparable(held.result)).toBe(comparable(onThread.result))
    expect(viaThread.report.rejects.toRecord()).toEqual(held.report.rejects.toRecord())
  }, 120_000)

  test("a file that cannot be read is an input error through the ingest thread too", async () => {
    const missing = join(tmp, "missing.json")
    const exit = await withThread("1", () => Effect.runPromiseExit(runAnalysis([missing], DEFAULT_CONFIG)))
    expect(exit._tag).toBe("Failure")
    expect(JSON.stringify(exit)).toContain("InputError")
  })
})

describe("a named pipe is read once", () => {
  // A pipe's writer is gone after the first reading: looking at its head first, or reading it
  // again after streaming stopped, waited for another writer forever.
  const pipeOf = (name: string, source: string): { path: string; writer: ReturnType<typeof Bun.spawn> } => {
    const path = join(tmp, name)
    expect(Bun.spawnSync(["mkfifo", path]).exitCode).toBe(0)
    return { path, writer: Bun.spawn(["sh", "-c", `cat "${source}" > "${path}"`]) }
  }

  test("alone, and beside a file: the same Result as the file itself, read whole", async () => {
    const dir = join(tmp, "for-pipes")
    const summary = await writeDataset({ sessions: 1500, seed: 9, outDir: dir })
    const lines = readFileSync(summary.cowriePath, "utf8").split("\n")
    const half = lines.indexOf(lines.find((l, i) => i > lines.length / 2 && l.includes("session.connect"))!)
    const first = join(tmp, "first-half.json")
    const second = join(tmp, "second-half.json")
    writeFileSync(first, `${lines.slice(0, half).join("\n")}\n`)
    writeFileSync(second, lines.slice(half).join("\n"))
    const fromFile = await Effect.runPromise(runAnalysis([summary.cowriePath], DEFAULT_CONFIG))

    const whole = pipeOf("whole.pipe", summary.cowriePath)
    const fromPipe = await Effect.runPromise(runAnalysis([whole.path], DEFAULT_CONFIG))
    expect(await whole.writer.exited).toBe(0)
    expect(fromPipe.mode).toBe("whole")
    expect(JSON.stringify(fromPipe.result.campaigns)).toBe(JSON.stringify(fromFile.result.campaigns))

    // The later half through the pipe, named first: read in the order given, once.
    const later = pipeOf("later.pipe", second)
    const mixed = await Effect.runPromise(runAnalysis([later.path, first], DEFAULT_CONFIG))
    expect(await later.writer.exited).toBe(0)
    expect(mixed.result.input.sessions).toBe(fromFile.result.input.sessions)
    expect(JSON.stringify(mixed.result.campaigns)).toBe(JSON.stringify(fromFile.result.campaigns))

    // As users run it: the whole process ends, with the file's campaigns.
    const cli = pipeOf("cli.pipe", summary.cowriePath)
    const out = join(tmp, "from-pipe.json")
    const run = Bun.spawn([resolve(import.meta.dir, "../../bin/dshield-coord"), "analyze", "--quiet", "--out", out, cli.path], { stderr: "pipe" })
    const timer = setTimeout(() => run.kill("SIGKILL"), 30_000)
    const code = await run.exited
    clearTimeout(timer)
    expect(code).toBe(0)
    expect(await cli.writer.exited).toBe(0)
    expect(JSON.stringify((JSON.parse(readFileSync(out, "utf8")) as Result).campaigns)).toBe(JSON.stringify(fromFile.result.campaigns))
  }, 60_000)
})

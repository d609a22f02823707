/**
 * Hostile input among good cowrie lines: a line nested 100,000 deep, a line of 200,000 keys,
 * binary data, gzip bombs. Each is rejected and counted under its reason at its file:line,
 * every good line around it is kept, and none costs unbounded time or memory. Every input is
 * generated here into a temp dir (nothing large is committed); random bytes come from the
 * engine's seeded Prng, so the inputs are the same on every run.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { spawnSync } from "node:child_process"
import { createCipheriv } from "node:crypto"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { constants as zlibConstants, gzipSync } from "node:zlib"
import { Prng } from "../../src/analytics/Prng.ts"
import type { Result } from "../../src/domain/Result.ts"
import { ingest, type IngestReport } from "../../src/ingest/ingest.ts"
import { MAX_JSON_DEPTH, MAX_JSON_KEYS } from "../../src/ingest/formats/JsonLine.ts"
import { BOMB_LINE_BYTES, BOMB_RATIO, MAX_LINE_CHARS } from "../../src/ingest/readLines.ts"
import { hasOversizedField } from "../../src/ingest/validate.ts"

const REPO = resolve(import.meta.dir, "../..")

let tmp = ""
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "dshield-hostile-"))
})
afterAll(() => {
  if (tmp !== "") rmSync(tmp, { recursive: true, force: true })
})

/** One good cowrie session of four events (connect, failed login, command, close). */
const session = (n: number): Array<string> => {
  const id = `g${String(n).padStart(11, "0")}`
  const ip = `192.0.2.${(n % 250) + 1}`
  const at = (s: number): string => `2024-04-01T10:${String(Math.floor(s / 60) % 60).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}.000000Z`
  const base = { session: id, src_ip: ip, sensor: "hp-1" }
  return [
    JSON.stringify({ eventid: "cowrie.session.connect", ...base, src_port: 40000 + n, dst_ip: "198.51.100.7", dst_port: 22, protocol: "ssh", timestamp: at(n) }),
    JSON.stringify({ eventid: "cowrie.login.failed", ...base, username: "root", password: `pw${n}`, timestamp: at(n + 1) }),
    JSON.stringify({ eventid: "cowrie.command.input", ...base, input: `echo ${n}`, timestamp: at(n + 2) }),
    JSON.stringify({ eventid: "cowrie.session.closed", ...base, timestamp: at(n + 3) })
  ]
}

/** Good sessions [from, to) as lines. */
const sessions = (from: number, to: number): Array<string> => {
  const out: Array<string> = []
  for (let n = from; n < to; n++) out.push(...session(n))
  return out
}

const sessionIds = (from: number, to: number): Array<string> => {
  const out: Array<string> = []
  for (let n = from; n < to; n++) out.push(`g${String(n).padStart(11, "0")}`)
  return out
}

const deepArrays = (depth: number): string => `{"eventid":"cowrie.command.input","x":${"[".repeat(depth)}${"]".repeat(depth)}}`
const deepObjects = (depth: number): string => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`
/** `keys` keys of five bytes each (`"":0,`), 1,000,000 bytes for 200,000: under the 1 MiB line limit. */
const shortKeys = (keys: number): string => `{${new Array<string>(keys).fill('"":0').join(",")}}`
/** `keys` distinct keys, about 2.3 MB for 200,000: over the line limit. */
const longKeys = (keys: number): string => `{${Array.from({ length: keys }, (_, i) => `"key${i}":${i}`).join(",")}}`

/** Deterministic noise: the engine's Prng, one byte per draw (NULs, invalid UTF-8, newlines). */
const noise = (bytes: number, seed: number): Buffer => {
  const rng = new Prng(seed, "hostile-input")
  const out = Buffer.alloc(bytes)
  for (let i = 0; i < bytes; i++) out[i] = rng.int(256)
  return out
}

/** Fast deterministic pseudo-random bytes for large inputs: AES-CTR over zeros with a fixed key. */
const keystream = (bytes: number): Buffer =>
  createCipheriv("aes-128-ctr", Buffer.alloc(16, 7), Buffer.alloc(16, 0)).update(Buffer.alloc(bytes))

/**
 * A gzip bomb of `members` identical members, each inflating to `memberBytes` of `fill` (no
 * newline anywhere): members concatenate into one endless line, so 128 members of 16 MiB are
 * 2 GiB of zeros from about 2 MB on disk, built in milliseconds.
 */
const bomb = (memberBytes: number, members: number, fill = 0): Buffer => {
  const member = gzipSync(Buffer.alloc(memberBytes, fill), { level: 9 })
  return Buffer.concat(new Array<Buffer>(members).fill(member))
}

const text = (lines: ReadonlyArray<string>): Buffer => Buffer.from(`${lines.join("\n")}\n`)

/** Time bounds are generous (the machine running tests may be busy); before these limits a 2 GiB
 * bomb took 6-47 s and 1.2 GB, and a deep line ended the run. */
const timed = async (paths: ReadonlyArray<string>): Promise<{ report: IngestReport; ms: number }> => {
  const t0 = performance.now()
  const report = await ingest(paths, { format: "auto" })
  return { report, ms: performance.now() - t0 }
}

const ids = (report: IngestReport): Array<string> => report.sessions.map((s) => s.id).sort()

describe("one hostile line between good lines", () => {
  test.each([
    ["arrays nested 100,000 deep", () => deepArrays(100_000), "too_deep"],
    ["objects nested 100,000 deep", () => deepObjects(100_000), "too_deep"],
    ["arrays nested 100,000 deep, never closed", () => `{"a":${"[".repeat(100_000)}`, "too_deep"],
    ["200,000 short keys (under 1 MiB)", () => shortKeys(200_000), "too_many_keys"],
    ["200,000 long keys (over 1 MiB)", () => longKeys(200_000), "line_too_long"]
  ] as const)("%s: rejected with its reason at its line, all good sessions kept, in bounded time", async (_name, make, reason) => {
    const path = join(tmp, `one-${reason}-${_name.length}.json`)
    const before = sessions(0, 10)
    const after = sessions(10, 20)
    writeFileSync(path, text([...before, make(), ...after]))
    const { report, ms } = await timed([path])
    expect(report.rejects.toRecord()).toEqual({ [reason]: 1 })
    expect(report.rejects.samples[0]).toMatchObject({ reason, file: path, line: before.length + 1 })
    expect(ids(report)).toEqual(sessionIds(0, 20))
    expect(report.events).toBe(80)
    expect(report.sessions.every((s) => s.event_count === 4 && s.commands.length === 1)).toBe(true)
    expect(ms).toBeLessThan(10_000)
  }, 30_000)

  test("nesting up to the limit is accepted; one level more is too_deep", async () => {
    const path = join(tmp, "depth-limit.json")
    const ok = JSON.stringify({ ...JSON.parse(session(1)[2]!), x: JSON.parse(`${"[".repeat(MAX_JSON_DEPTH - 1)}${"]".repeat(MAX_JSON_DEPTH - 1)}`) })
    const tooDeep = JSON.stringify({ ...JSON.parse(session(2)[2]!), x: JSON.parse(`${"[".repeat(MAX_JSON_DEPTH)}${"]".repeat(MAX_JSON_DEPTH)}`) })
    writeFileSync(path, text([...session(0), ok, tooDeep]))
    const { report } = await timed([path])
    expect(report.rejects.toRecord()).toEqual({ too_deep: 1 })
    expect(report.events).toBe(5)
  })

  test("keys up to the limit are accepted; one more is too_many_keys", async () => {
    const path = join(tmp, "keys-limit.json")
    const withKeys = (n: number, keys: number): string => {
      const o: Record<string, unknown> = JSON.parse(session(n)[2]!)
      const extra: Record<string, number> = {}
      // The event has 6 keys and `extra` is one more: keys - 7 inside it makes `keys` in all.
      for (let i = 0; i < keys - 7; i++) extra[`k${i}`] = i
      return JSON.stringify({ ...o, extra })
    }
    writeFileSync(path, text([...session(0), withKeys(1, MAX_JSON_KEYS), withKeys(2, MAX_JSON_KEYS + 1)]))
    const { report } = await timed([path])
    expect(report.rejects.toRecord()).toEqual({ too_many_keys: 1 })
    expect(report.events).toBe(5)
  })

  test("the same hostile lines in an ECS export and a web honeypot log are rejected, not fatal", async () => {
    const ecs = join(tmp, "hostile.ecs.json")
    const ecsLine = (n: number): string =>
      JSON.stringify({ "@timestamp": "2024-04-01T10:00:00.000Z", event: { outcome: "session.connect", code: `e${n}` }, source: { address: "192.0.2.9" } })
    writeFileSync(ecs, text([ecsLine(1), ecsLine(2), deepArrays(100_000), shortKeys(200_000), ecsLine(3)]))
    const web = join(tmp, "hostile.web.json")
    const webLine = (n: number): string => JSON.stringify({ time: 1711965600 + n, sip: "192.0.2.7", url: `/x${n}`, useragent: "ua" })
    writeFileSync(web, text([webLine(1), webLine(2), deepObjects(100_000), webLine(3)]))
    const { report } = await timed([ecs, web])
    expect(report.files.map((f) => f.format)).toEqual(["ecs", "webhoneypot"])
    expect(report.rejects.toRecord()).toEqual({ too_deep: 2, too_many_keys: 1 })
    expect(report.events).toBe(6)
  })

  test("a one-line document nested 100,000 deep is too_deep, not a crash", async () => {
    const path = join(tmp, "deep-document.json")
    writeFileSync(path, `{"attack_sessions":[{"source_ip":"192.0.2.1","timestamp":1711965600,"payload":${"[".repeat(100_000)}${"]".repeat(100_000)}}]}`)
    const { report } = await timed([path])
    expect(report.rejects.toRecord()).toEqual({ too_deep: 1 })
  })

  test("hasOversizedField walks a value nested a million deep without recursion", () => {
    let v: unknown = "x".repeat(70_000)
    for (let i = 0; i < 1_000_000; i++) v = [v]
    expect(hasOversizedField(v)).toBe(true)
  })
})

describe("binary data between good lines", () => {
  test("random bytes (NULs, invalid UTF-8, stray newlines) are counted as binary or malformed_json; every good line is kept", async () => {
    const path = join(tmp, "binary.json")
    const blob = noise(64 * 1024, 11)
    const blobLines = blob.toString("latin1").split("\n").length
    writeFileSync(path, Buffer.concat([text(sessions(0, 10)), blob, Buffer.from("\n"), text(sessions(10, 20))]))
    const { report } = await timed([path])
    const counts = report.rejects.toRecord()
    expect(Object.keys(counts).every((r) => r === "binary" || r === "malformed_json")).toBe(true)
    expect(counts.binary ?? 0).toBeGreaterThan(0)
    // Every line of the blob is rejected, except ones that are empty or only whitespace.
    const blank = blob.toString("latin1").split("\n").filter((l) => l.replace(/\r$/, "").trim().length === 0).length
    expect(report.rejects.total).toBe(blobLines - blank)
    expect(ids(report)).toEqual(sessionIds(0, 20))
    expect(report.events).toBe(80)
    // Excerpts shown to the user carry no control characters.
    for (const s of report.rejects.samples) expect(s.excerpt).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/)
  })

  test("a JSON line with invalid UTF-8 inside a string value is kept (as U+FFFD), like a decoder would", async () => {
    const path = join(tmp, "latin1-password.json")
    const [connect, login, command, closed] = session(1) as [string, string, string, string]
    const bad = Buffer.from(login.replace("pw1", "pw\u0001X"), "latin1")
    bad[bad.indexOf(1)] = 0xe9 // a lone Latin-1 é: not UTF-8
    writeFileSync(path, Buffer.concat([Buffer.from(`${connect}\n`), bad, Buffer.from(`\n${command}\n${closed}\n`)]))
    const { report } = await timed([path])
    expect(report.rejects.total).toBe(0)
    expect(report.sessions[0]!.credentials).toEqual([{ username: "root", password: "pw\uFFFDX", success: false }])
  })
})

describe("gzip bombs", () => {
  test("2 GiB of zeros on one line after good lines: refused quickly as gzip_bomb at its line; the lines before are kept", async () => {
    const path = join(tmp, "bomb-after.json.gz")
    const good = sessions(0, 25)
    writeFileSync(path, Buffer.concat([gzipSync(text(good)), bomb(16 << 20, 128)]))
    const rssBefore = process.memoryUsage().rss
    const { report, ms } = await timed([path])
    expect(report.rejects.toRecord()).toEqual({ gzip_bomb: 1 })
    const sample = report.rejects.samples[0]!
    expect(sample).toMatchObject({ reason: "gzip_bomb", file: path, line: good.length + 1 })
    expect(sample.excerpt).toMatch(/^gzip bomb: line 101 inflates past 32 MiB at \d+:1/)
    expect(ids(report)).toEqual(sessionIds(0, 25))
    expect(report.files[0]!.lines).toBe(good.length + 1)
    expect(ms).toBeLessThan(15_000)
    // Generous sanity bound (measured figures are in docs/benchmarks.md): the line is never buffered.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(400 * 1024 * 1024)
  }, 60_000)

  test("a file that is only a bomb, no newline at all, is skipped with gzip_bomb, not an error", async () => {
    const path = join(tmp, "bomb-only.gz")
    writeFileSync(path, bomb(16 << 20, 128, 0x41))
    const { report, ms } = await timed([path])
    expect(report.rejects.toRecord()).toEqual({ gzip_bomb: 1 })
    expect(report.skippedFiles).toHaveLength(1)
    expect(report.skippedFiles[0]!.reason).toMatch(/^gzip bomb: line 1 /)
    expect(report.sessions).toEqual([])
    expect(ms).toBeLessThan(15_000)
  }, 60_000)

  test("a bomb that opens like a JSON document ([0,0,0,...) is not buffered as one", async () => {
    const path = join(tmp, "bomb-document.json.gz")
    const member = gzipSync(Buffer.from("0,".repeat(8 << 20)), { level: 9 })
    writeFileSync(path, Buffer.concat([gzipSync(Buffer.from("[")), ...new Array<Buffer>(64).fill(member)]))
    const rssBefore = process.memoryUsage().rss
    const { report, ms } = await timed([path])
    expect(report.rejects.toRecord()).toEqual({ gzip_bomb: 1 })
    expect(ms).toBeLessThan(15_000)
    // Buffered up to the bomb threshold at most (plus its doubling), never to 1 GiB.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(400 * 1024 * 1024)
  }, 60_000)

  test("a bomb between good members: the lines before it are kept, the rest of the file is not read (documented)", async () => {
    const path = join(tmp, "bomb-middle.json.gz")
    writeFileSync(path, Buffer.concat([gzipSync(text(sessions(0, 5))), bomb(16 << 20, 16), gzipSync(text(sessions(5, 10)))]))
    const { report } = await timed([path])
    expect(report.rejects.toRecord()).toEqual({ gzip_bomb: 1 })
    expect(ids(report)).toEqual(sessionIds(0, 5))
  }, 60_000)

  test("a gzip of many valid short lines compressing beyond the bomb ratio is NOT a bomb: every line is read", async () => {
    const path = join(tmp, "repetitive.json.gz")
    // One session's four lines, 25,000 times over (the same session: a legitimate, if odd, log).
    const lines = session(7)
    const repeated = Buffer.from(`${lines.join("\n")}\n`.repeat(25_000))
    const gz = gzipSync(repeated, { level: 9 })
    expect(repeated.length / gz.length).toBeGreaterThan(BOMB_RATIO)
    writeFileSync(path, gz)
    const { report } = await timed([path])
    expect(report.rejects.total).toBe(0)
    expect(report.events).toBe(100_000)
    expect(ids(report)).toEqual(sessionIds(7, 8))
  }, 60_000)

  test("one long line that compresses poorly is line_too_long, not a bomb, and the lines after it are kept", async () => {
    const path = join(tmp, "long-random-line.json.gz")
    const long = keystream(BOMB_LINE_BYTES / 4 * 3 + (1 << 20)).toString("base64")
    expect(long.length).toBeGreaterThan(BOMB_LINE_BYTES)
    writeFileSync(path, gzipSync(Buffer.concat([text(sessions(0, 5)), Buffer.from(`${long}\n`), text(sessions(5, 10))]), { level: zlibConstants.Z_BEST_SPEED }))
    const { report } = await timed([path])
    expect(report.rejects.toRecord()).toEqual({ line_too_long: 1 })
    expect(ids(report)).toEqual(sessionIds(0, 10))
  }, 60_000)
})


describe("the CLI on a file mixing every hostile input with good cowrie lines", () => {
  test("exit 0, a Result whose input.rejected counts each reason, every good session present, bounded memory", () => {
    const path = join(tmp, "mixed-hostile.json.gz")
    const parts: Array<Buffer> = [
      gzipSync(text(sessions(0, 10))),
      gzipSync(text([deepArrays(100_000), ...sessions(10, 20), deepObjects(100_000), ...sessions(20, 30)])),
      gzipSync(text([shortKeys(200_000), ...sessions(30, 40), longKeys(200_000), ...sessions(40, 50)])),
      gzipSync(Buffer.concat([noise(16 * 1024, 5).map((b) => (b === 10 ? 0 : b)), Buffer.from("\n")])),
      gzipSync(text(sessions(50, 60))),
      bomb(16 << 20, 128)
    ]
    writeFileSync(path, Buffer.concat(parts))
    const out = join(tmp, "r.json")
    const timeBin = existsSync("/usr/bin/time") ? ["/usr/bin/time", "-f", "%M"] : []
    const bun = resolve(REPO, "node_modules/.bin/bun")
    const cmd = [...timeBin, existsSync(bun) ? bun : "bun", "src/cli/main.ts", "analyze", path, "--out", out, "--quiet"]
    const t0 = performance.now()
    const r = spawnSync(cmd[0]!, cmd.slice(1), { cwd: REPO, encoding: "utf8", timeout: 120_000 })
    const ms = performance.now() - t0
    expect(r.status).toBe(0)
    const result = JSON.parse(readFileSync(out, "utf8")) as Result
    expect(result.input.rejected).toEqual({ binary: 1, gzip_bomb: 1, line_too_long: 1, too_deep: 2, too_many_keys: 1 })
    expect(result.input.sessions).toBe(60)
    expect(result.input.events).toBe(240)
    expect(ms).toBeLessThan(60_000)
    if (timeBin.length > 0) {
      // Peak RSS in KiB on the last stderr line; a generous sanity bound (figures in docs/benchmarks.md).
      const peakKiB = Number(r.stderr.trim().split("\n").at(-1))
      expect(peakKiB).toBeGreaterThan(0)
      expect(peakKiB).toBeLessThan(1024 * 1024)
    }
  }, 120_000)
})

test("MAX_LINE_CHARS stays the 1 MiB the README documents", () => {
  expect(MAX_LINE_CHARS).toBe(1024 * 1024)
})

describe("floods of empty lines", () => {
  test("a gzip of 34 million empty and blank lines before good lines: bounded memory and time, every good line kept", async () => {
    const path = join(tmp, "newlines.json.gz")
    const empty = gzipSync(Buffer.alloc(16 << 20, 10), { level: 9 })
    const blank = gzipSync(Buffer.from(" \u00a0\n".repeat(2 << 20)), { level: 9 })
    writeFileSync(path, Buffer.concat([empty, empty, blank, gzipSync(text(sessions(0, 10)))]))
    const rssBefore = process.memoryUsage().rss
    const { report, ms } = await timed([path])
    expect(report.rejects.total).toBe(0)
    expect(ids(report)).toEqual(sessionIds(0, 10))
    expect(report.files[0]!.lines).toBe(2 * (16 << 20) + (2 << 20) + 40)
    expect(ms).toBeLessThan(20_000)
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(400 * 1024 * 1024)
  }, 60_000)
})

import { describe, expect, test } from "bun:test"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { basename, join, resolve } from "node:path"
import Ajv2020 from "ajv/dist/2020.js"
import { gzipSync } from "node:zlib"
import type { Result } from "../../src/domain/Result.ts"
import { resultJsonSchema } from "../../src/cli/commands/schema.ts"
import { migratedTemplatePath, templatePath } from "../../src/store/pgliteTemplate.ts"
import { HAVE_CORPORA, RADEC, REPO, runCli, withoutRunTimes } from "./helpers.ts"

const tmp = mkdtempSync(join(tmpdir(), "dshield-cli-"))

describe("help and usage", () => {
  test.each([[[]], [["--help"]], [["analyze", "--help"]], [["schema", "--help"]], [["version", "--help"]]])(
    "%p prints usage and exits 0",
    (args) => {
      const r = runCli(args)
      expect(r.code).toBe(0)
      expect(r.stdout).toContain("Usage:")
    }
  )

  test("version prints the package version", () => {
    const pkg = JSON.parse(readFileSync(resolve(REPO, "package.json"), "utf8")) as { version: string }
    expect(runCli(["version"]).stdout.trim()).toBe(pkg.version)
  })

  test.each([
    [["analyze"], /at least one input/],
    [["analyze", "--bogus", "x"], /Unknown option --bogus/],
    [["analyze", "--format", "xml", "x"], /--format must be one of/],
    [["analyze", "--seed=abc", "x"], /--seed must be a whole number/],
    [["frobnicate"], /Unknown command "frobnicate"/]
  ])("%p is a usage error: exit 2 with one sentence", (args, message) => {
    const r = runCli(args)
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(message)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
  })

  test("a missing path is exit 2 with one clear sentence", () => {
    const r = runCli(["analyze", join(tmp, "does-not-exist.json")])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/does not exist; check the path\.\n$/)
  })

  test("an explicit file of unknown format is exit 2 and names --format", () => {
    const path = join(tmp, "notes.txt")
    writeFileSync(path, "just some notes\nnothing to see\n")
    const r = runCli(["analyze", path])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("--format")
  })
})

const cowrieLine = (session: string, eventid: string, extra: Record<string, unknown>, ts: string): string =>
  JSON.stringify({ eventid, session, src_ip: "192.0.2.10", sensor: "s1", timestamp: ts, ...extra })

describe("the same file twice", () => {
  test("named twice, inside a named directory, or copied: read once, with a warning naming the file it repeats", () => {
    const dir = join(tmp, "twice")
    mkdirSync(dir, { recursive: true })
    const log = join(dir, "cowrie.json")
    const copy = join(tmp, "cowrie-copy.json")
    writeFileSync(log, readFileSync(resolve(REPO, "test/fixtures/cowrie.json")))
    writeFileSync(copy, readFileSync(log))
    const once = runCli(["analyze", "--quiet", "--out", join(tmp, "once.json"), log])
    expect(once.code).toBe(0)
    const single = withoutRunTimes(readFileSync(join(tmp, "once.json"), "utf8"))
    for (const [name, inputs] of [["named twice", [log, log]], ["a directory and a file in it", [dir, log]], ["a copy", [log, copy]]] as const) {
      const out = join(tmp, `twice-${name.replaceAll(" ", "-")}.json`)
      const r = runCli(["analyze", "--out", out, ...inputs])
      expect(r.code).toBe(0)
      expect(r.stderr).toContain(`warning: skipped ${inputs[1]}: the same bytes as ${log}, which is read once.`)
      // Every event counted once: the Result is the single file's.
      expect(withoutRunTimes(readFileSync(out, "utf8"))).toBe(single)
    }
  })

  test("a gzip copy of a plain log, or the log compressed twice: read once; another log of the same length is read", () => {
    const log = join(tmp, "content.json")
    const text = readFileSync(resolve(REPO, "test/fixtures/cowrie.json"))
    writeFileSync(log, text)
    const fast = join(tmp, "content-1.json.gz")
    const best = join(tmp, "content-9.json.gz")
    writeFileSync(fast, gzipSync(text, { level: 1 }))
    writeFileSync(best, gzipSync(text, { level: 9 }))
    const once = runCli(["analyze", "--quiet", "--out", join(tmp, "content-once.json"), log])
    expect(once.code).toBe(0)
    const single = withoutRunTimes(readFileSync(join(tmp, "content-once.json"), "utf8"))
    const out = join(tmp, "content-copies.json")
    const r = runCli(["analyze", "--out", out, log, fast, best])
    expect(r.code).toBe(0)
    for (const copy of [fast, best]) expect(r.stderr).toContain(`warning: skipped ${copy}: the same log as ${log} (one of them compressed), which is read once.`)
    expect(withoutRunTimes(readFileSync(out, "utf8"))).toBe(single)
    // Same content length, other content (its sessions renamed): both are read.
    const other = join(tmp, "content-other.json.gz")
    writeFileSync(other, gzipSync(Buffer.from(text.toString("latin1").replaceAll('"session": "', '"session": "z').replaceAll('"session":"', '"session":"z').slice(0, text.length), "latin1")))
    const both = runCli(["analyze", "--quiet", "--out", join(tmp, "content-both.json"), log, other])
    expect(both.code).toBe(0)
    expect((JSON.parse(readFileSync(join(tmp, "content-both.json"), "utf8")) as { input: { files: Array<unknown> } }).input.files).toHaveLength(2)
  })
})

describe("an older copy of a log that kept growing", () => {
  test("a plain file whose bytes begin a longer one given with it is skipped; one that departs from it later is read", () => {
    const text = readFileSync(resolve(REPO, "test/fixtures/cowrie.json"))
    const lines = text.toString("utf8").split("\n").filter((l) => l.length > 0)
    const now = join(tmp, "growing-now.json")
    const earlier = join(tmp, "growing-earlier.json")
    const forked = join(tmp, "growing-forked.json")
    writeFileSync(now, text)
    // Copied while the log was being written: it even ends inside a line.
    writeFileSync(earlier, text.subarray(0, Math.floor(text.length / 2)))
    // The same first lines, then other events: another log, read.
    writeFileSync(forked, `${lines.slice(0, 2).join("\n")}\n${cowrieLine("ffffffffffff", "cowrie.session.connect", { src_port: 4000, dst_ip: "198.51.100.1", dst_port: 22, protocol: "ssh" }, "2024-04-01T00:00:00Z")}\n`)
    expect(runCli(["analyze", "--quiet", "--out", join(tmp, "growing-alone.json"), now]).code).toBe(0)
    const alone = withoutRunTimes(readFileSync(join(tmp, "growing-alone.json"), "utf8"))
    const r = runCli(["analyze", "--out", join(tmp, "growing-both.json"), earlier, now])
    expect(r.code).toBe(0)
    expect(r.stderr).toContain(`warning: skipped ${earlier}: its bytes are the start of ${now}, which is read (an older copy of the same log).`)
    expect(withoutRunTimes(readFileSync(join(tmp, "growing-both.json"), "utf8"))).toBe(alone)
    // Its longer log given only compressed, beside a plain copy of that: still read once.
    const nowGz = join(tmp, "growing-now.json.gz")
    writeFileSync(nowGz, gzipSync(text))
    const g = runCli(["analyze", "--out", join(tmp, "growing-gz.json"), nowGz, now, earlier])
    expect(g.code).toBe(0)
    expect(g.stderr).toContain(`warning: skipped ${earlier}: its bytes are the start of ${nowGz}, which is read (an older copy of the same log).`)
    expect((JSON.parse(readFileSync(join(tmp, "growing-gz.json"), "utf8")) as { input: { events: number } }).input.events)
      .toBe((JSON.parse(readFileSync(join(tmp, "growing-alone.json"), "utf8")) as { input: { events: number } }).input.events)
    const f = runCli(["analyze", "--quiet", "--out", join(tmp, "growing-forked-out.json"), forked, now])
    expect(f.code).toBe(0)
    expect((JSON.parse(readFileSync(join(tmp, "growing-forked-out.json"), "utf8")) as { input: { files: Array<unknown> } }).input.files).toHaveLength(2)
  })
})

describe("strict mode and rejects", () => {
  const path = join(tmp, "mixed.json")
  writeFileSync(
    path,
    [
      cowrieLine("aaaaaaaaaaaa", "cowrie.session.connect", { src_port: 4000, dst_ip: "198.51.100.1", dst_port: 22, protocol: "ssh" }, "2024-04-01T00:00:00Z"),
      "{not json",
      cowrieLine("aaaaaaaaaaaa", "cowrie.session.closed", {}, "2024-04-01T00:00:05Z")
    ].join("\n") + "\n"
  )

  test("a reject is reported with file:line and the run still succeeds", () => {
    const r = runCli(["analyze", path])
    expect(r.code).toBe(0)
    expect(r.stderr).toContain(`${path}:2: malformed_json`)
  })

  test("--strict turns a reject into exit 2 but still writes the result", () => {
    const out = join(tmp, "strict.json")
    const r = runCli(["analyze", "--strict", "--quiet", "--out", out, path])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("--strict")
    const result = JSON.parse(readFileSync(out, "utf8")) as Result
    expect(result.input.rejected).toEqual({ malformed_json: 1 })
    expect(result.input.events).toBe(2)
    expect(result.input.sessions).toBe(1)
  })

  test("stdin input, gzip detected by content, JSON to stdout with --out -", () => {
    const r = runCli(["analyze", "--quiet", "--out", "-", "-"], gzipSync(readFileSync(path)))
    expect(r.code).toBe(0)
    const result = JSON.parse(r.stdout) as Result
    expect(result.input.files[0]!.path).toBe("<stdin>")
    expect(result.input.events).toBe(2)
  })
})

describe.skipIf(!HAVE_CORPORA)("analyze on a real corpus", () => {
  const outA = join(tmp, "a.json")
  const outB = join(tmp, "b.json")
  const first = HAVE_CORPORA ? runCli(["analyze", "--quiet", "--out", outA, RADEC]) : undefined
  const textA = HAVE_CORPORA ? readFileSync(outA, "utf8") : ""
  const result = (HAVE_CORPORA ? JSON.parse(textA) : {}) as Result

  test("succeeds and matches the corpus README counts", () => {
    expect(first!.code).toBe(0)
    expect(result.input.events).toBe(40333)
    expect(result.input.sessions).toBe(7700)
    expect(result.input.rejected).toEqual({})
  })

  test("validates against docs/result.schema.json (independent validator)", () => {
    const schema = JSON.parse(readFileSync(resolve(REPO, "docs/result.schema.json"), "utf8")) as object
    const ajv = new Ajv2020({ strict: false, allErrors: true })
    const validate = ajv.compile(schema)
    const ok = validate(result)
    expect(validate.errors ?? []).toEqual([])
    expect(ok).toBe(true)
    // And the validator is not vacuous: a broken result fails.
    expect(validate({ ...result, campaigns: [{ ...result.campaigns[0], confidence: 1.5 }] })).toBe(false)
  })

  test("two runs give byte-identical results apart from run id and times", () => {
    const second = runCli(["analyze", "--quiet", "--out", outB, RADEC])
    expect(second.code).toBe(0)
    const textB = readFileSync(outB, "utf8")
    expect(withoutRunTimes(textB)).toBe(withoutRunTimes(textA))
    expect(withoutRunTimes(textA)).not.toBe(textA)
  })

  test("the hierarchy is consistent: children inside parents, one campaign per level per session", () => {
    const byId = new Map(result.campaigns.map((c) => [c.id, c]))
    expect(byId.size).toBe(result.campaigns.length)
    const perLevel = new Map<string, Set<string>>()
    for (const c of result.campaigns) {
      if (c.parent_id !== null) {
        const parent = byId.get(c.parent_id)!
        expect(parent).toBeDefined()
        const parentSessions = new Set(parent.sessions)
        for (const s of c.sessions) expect(parentSessions.has(s)).toBe(true)
      } else {
        expect(c.level).toBe("family")
      }
      const seen = perLevel.get(c.level) ?? new Set<string>()
      for (const s of c.sessions) {
        expect(seen.has(s)).toBe(false)
        seen.add(s)
      }
      perLevel.set(c.level, seen)
      expect(c.confidence_interval[0]).toBeLessThanOrEqual(c.confidence)
      expect(c.confidence_interval[1]).toBeGreaterThanOrEqual(c.confidence)
    }
    const families = perLevel.get("family")!
    expect(result.unclustered_sessions).toBe(result.input.sessions - families.size)
  })

  test("finds the SSH-key campaign that plants one key from many IPs", () => {
    const keyFamily = result.campaigns.find((c) => c.level === "family" && c.indicators.some((i) => i.type === "ssh_key"))
    expect(keyFamily).toBeDefined()
    expect(keyFamily!.sessions.length).toBeGreaterThan(200)
    expect(keyFamily!.source_ips.length).toBeGreaterThan(50)
    expect(keyFamily!.ttps).toContain("T1098.004")
  })
})

test("docs/result.schema.json is generated from the current domain schema", () => {
  const committed = JSON.parse(readFileSync(resolve(REPO, "docs/result.schema.json"), "utf8")) as unknown
  expect(committed).toEqual(resultJsonSchema())
})

describe("migrate and config", () => {
  test("migrate on an embedded store applies once, then reports up to date", () => {
    // Without the migrated template (only the initdb one in the cache): the migrations run.
    const cache = join(tmp, "cache-initdb-only")
    mkdirSync(cache, { recursive: true })
    symlinkSync(templatePath(), join(cache, basename(templatePath())))
    const withCache = (args: Array<string>) => {
      const r = Bun.spawnSync([process.execPath, resolve(REPO, "src/cli/main.ts"), ...args], { cwd: REPO, env: { ...process.env, DSHIELD_CACHE_DIR: cache }, stdout: "pipe", stderr: "pipe" })
      return { code: r.exitCode, stdout: r.stdout.toString() }
    }
    const dir = join(tmp, "store-migrated-here")
    const first = withCache(["migrate", "--data-dir", dir])
    expect(first.code).toBe(0)
    expect(first.stdout).toContain("applied 0001_core_schema")
    const second = withCache(["migrate", "--data-dir", dir])
    expect(second.code).toBe(0)
    expect(second.stdout).toContain("up to date")
    // With the install's migrated template (npm install made it): a new store is a copy of it,
    // every migration already applied.
    const migrations = readdirSync(resolve(REPO, "migrations")).filter((f) => /^\d{4}_.*\.sql$/.test(f)).length
    expect(existsSync(migratedTemplatePath())).toBe(true)
    const copied = runCli(["migrate", "--data-dir", join(tmp, "store")])
    expect(copied.code).toBe(0)
    expect(copied.stdout).toContain(`up to date (${migrations} already applied)`)
  }, 60_000)

  test("a PostgreSQL that cannot be reached is one sentence naming it, for analyze --store and campaigns list", () => {
    // Port 1: nothing listens there, the connection is refused at once.
    const url = "postgres://root@127.0.0.1:1/nowhere"
    const input = join(tmp, "tiny.json")
    writeFileSync(input, readFileSync(resolve(REPO, "test/fixtures/cowrie.json")))
    for (const args of [["analyze", "--store", "--database-url", url, "--quiet", "--out", join(tmp, "unreached.json"), input], ["campaigns", "list", "--database-url", url]]) {
      const r = runCli(args)
      expect(r.code).toBe(1)
      expect(r.stderr.trim().split("\n")).toHaveLength(1)
      expect(r.stderr).toContain("Cannot connect to PostgreSQL at postgres://root@127.0.0.1:1/nowhere; check DATABASE_URL and that the server is running.")
    }
  }, 60_000)

  test("reading a store that was never made says so and makes none; an unwritable --data-dir is one sentence", () => {
    const never = join(tmp, "typo", "db")
    const listed = runCli(["campaigns", "list", "--data-dir", never])
    expect(listed.code).toBe(0)
    expect(listed.stdout).toContain(`No store in ${never} yet`)
    for (const args of [["campaigns", "show", "c-0123456789abcdef", "--data-dir", never], ["export", "--campaign", "c-0123456789abcdef", "--data-dir", never, "--stix", join(tmp, "x.stix.json")]]) {
      const r = runCli(args)
      expect(r.code).toBe(2)
      expect(r.stderr.trim().split("\n")).toHaveLength(1)
      expect(r.stderr).toContain(`There is no store in ${never}`)
    }
    expect(runCli(["keys", "list", "--data-dir", never]).stdout).toContain("No API keys yet (no store in")
    for (const args of [["keys", "revoke", "dsk_0123456789ab", "--data-dir", never], ["audit", "tail", "--data-dir", never]]) {
      const r = runCli(args)
      expect(r.code).toBe(2)
      expect(r.stderr.trim().split("\n")).toHaveLength(1)
      expect(r.stderr).toMatch(/[Tt]here is no store in /)
      expect(r.stderr).toContain(never)
    }
    const status = runCli(["ops", "status", "--data-dir", never])
    expect(status.code).toBe(0)
    expect(JSON.parse(status.stdout).database).toMatchObject({ status: "not_created" })
    expect(existsSync(join(tmp, "typo"))).toBe(false)
    const unwritable = runCli(["analyze", "--store", "--data-dir", "/proc/dshield-store", "--quiet", "--out", join(tmp, "never.json"), resolve(REPO, "test/fixtures/cowrie.json")])
    expect(unwritable.code).toBe(1)
    expect(unwritable.stderr.trim().split("\n")).toHaveLength(1)
    expect(unwritable.stderr).toContain("Cannot create the embedded store's directory /proc/dshield-store (ENOENT); give a writable --data-dir.")
  }, 60_000)

  test("analyze --store of a missing input is one sentence and leaves no store behind", () => {
    const dir = join(tmp, "never-made")
    const r = runCli(["analyze", "--store", "--data-dir", dir, join(tmp, "no-such-input.json")])
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
    expect(r.stderr).toContain("does not exist")
    expect(existsSync(dir)).toBe(false)
  })

  test("analyze --store keeps a single-source campaign (migration 0002 allows its assessment)", () => {
    const data = join(tmp, "single-source")
    const gen = runCli(["generate", "--sessions", "100", "--seed", "5", "--out", data])
    expect(gen.code).toBe(0)
    const out = join(tmp, "single-source.json")
    const stored = runCli(["analyze", "--store", "--data-dir", join(data, "db"), "--out", out, "--quiet", join(data, "cowrie.json")])
    expect(stored.stderr).toBe("")
    expect(stored.code).toBe(0)
    const result = JSON.parse(readFileSync(out, "utf8")) as { campaigns: Array<{ assessment: string; confidence: number }> }
    const single = result.campaigns.filter((c) => c.assessment === "single_source")
    expect(single.length).toBeGreaterThan(0)
    expect(single.every((c) => c.confidence === 0)).toBe(true)
  }, 120_000)

  test("ops status reports a Redis that does not answer as degraded, and the store as ok", () => {
    const r = runCli(["ops", "status", "--data-dir", join(tmp, "store"), "--redis-url", "redis://127.0.0.1:1"])
    expect(r.code).toBe(0)
    const status = JSON.parse(r.stdout) as { database: { status: string; backend: string }; cache: { status: string; degraded: boolean } }
    expect(status.database).toMatchObject({ status: "ok", backend: "pglite" })
    expect(status.cache).toMatchObject({ status: "degraded", degraded: true })
  }, 30_000)

  test("config redacts the database password", () => {
    const r = runCli(["config", "--database-url", "postgres://analyst:hunter2@db.example:5432/coord"])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain("postgres://analyst:***@db.example:5432/coord")
    expect(r.stdout).not.toContain("hunter2")
  })
})

describe("a signal before the work is done", () => {
  test("analyze stopped by SIGINT or SIGTERM exits 130 or 143 and writes no Result", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dshield-signal-"))
    expect(runCli(["generate", "--sessions", "60000", "--seed", "21", "--out", dir, "--quiet"]).code).toBe(0)
    for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
      const out = join(dir, `${signal}.json`)
      const run = Bun.spawn([process.execPath, resolve(REPO, "src/cli/main.ts"), "analyze", "--quiet", "--out", out, join(dir, "cowrie.json")], { cwd: REPO, stdout: "ignore", stderr: "pipe" })
      await Bun.sleep(700)
      run.kill(signal)
      expect({ signal, code: await run.exited }).toEqual({ signal, code })
      expect(existsSync(out)).toBe(false)
    }
  }, 60_000)
})

/**
 * One process at a time per embedded store (src/store/dataDirLock.ts). Two `analyze --store`
 * runs at once on one data directory used to both succeed while one's writes replayed over
 * the other's (an analysis row lost, its Result kept, sessions of one run missing).
 */
import { describe, expect, test } from "bun:test"
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { hostname, tmpdir } from "node:os"
import { join } from "node:path"
import { LOCK_FILE, lockDataDir } from "../../src/store/dataDirLock.ts"
import { CORPORA, HAVE_CORPORA, runCli } from "../cli/helpers.ts"

const tmp = mkdtempSync(join(tmpdir(), "dshield-lock-"))
const ALVAROGAR = join(CORPORA, "alvarogar-2022-07.cowrie.json.gz")

/** The pid of a process that has exited (a stale lock's owner). */
const deadPid = (): number => {
  const child = Bun.spawnSync(["true"])
  expect(child.exitCode).toBe(0)
  return child.pid
}

describe("embedded store lock", () => {
  test("held by this thread: counted, removed when the last holder lets go", () => {
    const dir = join(tmp, "counted")
    const first = lockDataDir(dir)
    const second = lockDataDir(dir)
    expect(readFileSync(join(dir, LOCK_FILE), "utf8")).toBe(`${process.pid} ${hostname()}\n`)
    first()
    first()
    expect(existsSync(join(dir, LOCK_FILE))).toBe(true)
    second()
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false)
  })

  test("a lock whose process is gone is taken over; an unreadable one too", () => {
    const dir = join(tmp, "stale")
    lockDataDir(dir)() // makes the directory
    writeFileSync(join(dir, LOCK_FILE), `${deadPid()} ${hostname()}\n`)
    const release = lockDataDir(dir)
    expect(readFileSync(join(dir, LOCK_FILE), "utf8")).toBe(`${process.pid} ${hostname()}\n`)
    release()
    writeFileSync(join(dir, LOCK_FILE), "garbage")
    lockDataDir(dir)()
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false)
  })

  test.skipIf(process.platform !== "linux")("a lock whose pid now belongs to an unrelated program is taken over", async () => {
    const dir = join(tmp, "reused-pid")
    lockDataDir(dir)()
    const other = Bun.spawn(["sleep", "30"])
    try {
      writeFileSync(join(dir, LOCK_FILE), `${other.pid} ${hostname()}\n`)
      const release = lockDataDir(dir)
      expect(readFileSync(join(dir, LOCK_FILE), "utf8")).toBe(`${process.pid} ${hostname()}\n`)
      release()
    } finally {
      other.kill()
      await other.exited
    }
  })

  test("a lock from another host is never taken over", () => {
    const dir = join(tmp, "other-host")
    lockDataDir(dir)()
    writeFileSync(join(dir, LOCK_FILE), `${deadPid()} some-other-host\n`)
    expect(() => lockDataDir(dir)).toThrow(/in use by dshield-coord process \d+ on some-other-host; wait for it to finish/)
  })

  test.skipIf(!HAVE_CORPORA)("analyze --store or campaigns list on a store another process holds: exit 1, one sentence, nothing written; a killed holder's lock is taken over", () => {
    const out = join(tmp, "result.json")
    /** `analyze --store` into `dir` while this process holds it: exit 1, one sentence naming this process. */
    const expectRefusedAnalysis = (dir: string) => {
      const refused = runCli(["analyze", "--store", "--data-dir", dir, "--quiet", "--out", out, ALVAROGAR])
      expect(refused.code).toBe(1)
      expect(refused.stderr.trim().split("\n")).toHaveLength(1)
      expect(refused.stderr).toContain(`The embedded store at ${dir} is in use by dshield-coord process ${process.pid}`)
    }
    // This test process plays the other process: it holds the lock, the CLI is a child.
    // A new store: refused before anything is copied into it.
    const fresh = join(tmp, "fresh")
    const holdFresh = lockDataDir(fresh)
    expectRefusedAnalysis(fresh)
    expect(existsSync(out)).toBe(false)
    expect(existsSync(join(fresh, "PG_VERSION"))).toBe(false)
    holdFresh()

    // A store that holds an analysis: refused for writing and for reading while held.
    const dir = join(tmp, "store")
    const stored = runCli(["analyze", "--store", "--data-dir", dir, "--quiet", "--out", out, ALVAROGAR])
    expect(stored.stderr).toBe("")
    expect(stored.code).toBe(0)
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false)
    const before = readFileSync(out, "utf8")
    const release = lockDataDir(dir)
    expectRefusedAnalysis(dir)
    expect(readFileSync(out, "utf8")).toBe(before)
    const listed = runCli(["campaigns", "list", "--data-dir", dir])
    expect(listed.code).toBe(1)
    expect(listed.stderr).toContain("is in use by")
    release()

    // A run killed while it held the store leaves its lock; the next run takes it over.
    writeFileSync(join(dir, LOCK_FILE), `${deadPid()} ${hostname()}\n`)
    const again = runCli(["campaigns", "list", "--data-dir", dir])
    expect(again.code).toBe(0)
    expect(again.stdout).toContain("family")
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false)
  }, 120_000)
})

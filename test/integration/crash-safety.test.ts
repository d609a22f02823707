/**
 * Issue acceptance: `kill -9` of a process in the middle of storing a large analysis leaves
 * PostgreSQL consistent — no partial analysis, no orphan rows — and a rerun completes it.
 */
import { afterAll, describe, expect, test } from "bun:test"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { REPO, runCli } from "../cli/helpers.ts"
import { POSTGRES_ADMIN_URL, postgresUrlFor, serviceAvailable } from "./services.ts"

const HAVE_POSTGRES = await serviceAvailable("PostgreSQL", 5432)
const DATABASE = `dshield_coord_crash_${process.pid}`
const URL = postgresUrlFor(DATABASE)

const psql = (url: string, statement: string): string => {
  const r = Bun.spawnSync(["psql", url, "-Atq", "-c", statement], { stdout: "pipe", stderr: "pipe" })
  if (r.exitCode !== 0) throw new Error(`psql failed: ${r.stderr.toString()}`)
  return r.stdout.toString().trim()
}
if (HAVE_POSTGRES) {
  psql(POSTGRES_ADMIN_URL, `DROP DATABASE IF EXISTS ${DATABASE}`)
  psql(POSTGRES_ADMIN_URL, `CREATE DATABASE ${DATABASE}`)
}
afterAll(() => {
  if (HAVE_POSTGRES) psql(POSTGRES_ADMIN_URL, `DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`)
})

const counts = (): Record<string, number> => {
  const row = psql(
    URL,
    "SELECT (SELECT count(*) FROM analysis_sessions) || ',' || (SELECT count(*) FROM attack_sessions) || ',' || (SELECT count(*) FROM campaigns) || ',' || (SELECT count(*) FROM campaign_sessions) || ',' || (SELECT count(*) FROM analysis_results)"
  )
  const [analyses, sessions, campaigns, memberships, results] = row.split(",").map(Number)
  return { analyses: analyses!, sessions: sessions!, campaigns: campaigns!, memberships: memberships!, results: results! }
}

describe.skipIf(!HAVE_POSTGRES)("crash safety on PostgreSQL", () => {
  test("kill -9 while the analysis is being written leaves nothing partial; a rerun completes it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dshield-crash-"))
    expect(runCli(["generate", "--sessions", "60000", "--seed", "9", "--out", dir, "--quiet"]).code).toBe(0)
    expect(runCli(["migrate", "--database-url", URL, "--quiet"]).code).toBe(0)
    const input = join(dir, "cowrie.json")

    const child = Bun.spawn([process.execPath, resolve(REPO, "src/cli/main.ts"), "analyze", "--store", "--database-url", URL, "--quiet", input], {
      cwd: REPO,
      stdout: "ignore",
      stderr: "ignore"
    })
    // Wait until the child is inside its write transaction (an INSERT into attack_sessions
    // is running), then kill it without warning.
    let writing = false
    for (let i = 0; i < 600 && !writing; i++) {
      await Bun.sleep(50)
      writing = Number(psql(URL, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'INSERT INTO attack_sessions%'")) > 0
    }
    expect(writing).toBe(true)
    child.kill(9)
    await child.exited
    expect(child.signalCode).toBe("SIGKILL")
    // The server notices the dead connection and rolls its transaction back.
    for (let i = 0; i < 100; i++) {
      if (Number(psql(URL, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'")) === 0) break
      await Bun.sleep(50)
    }
    expect(counts()).toEqual({ analyses: 0, sessions: 0, campaigns: 0, memberships: 0, results: 0 })

    const rerun = runCli(["analyze", "--store", "--database-url", URL, "--quiet", input])
    expect(rerun.code).toBe(0)
    const after = counts()
    expect(after.analyses).toBe(1)
    expect(after.results).toBe(1)
    expect(after.sessions).toBe(60000)
    expect(after.campaigns).toBeGreaterThan(0)
  }, 180_000)
})

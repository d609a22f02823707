/**
 * The postgres store actor as a pool role: `worker --roles postgres --database-url DB` serves
 * one PostgreSQL database over NATS, and `campaigns … --nats` reads it through the pool with
 * no database connection of its own — the same answers as reading the database directly.
 */
import { afterAll, describe, expect, test } from "bun:test"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { REPO, runCli } from "../cli/helpers.ts"
import { natsServerAvailable, startPrivateServer, startWorkerWith } from "./natsAuthServer.ts"
import { POSTGRES_ADMIN_URL, postgresUrlFor, serviceAvailable } from "./services.ts"

const HAVE_POSTGRES = await serviceAvailable("PostgreSQL", 5432)
const DATABASE = `dshield_coord_role_${process.pid}`
const psqlAdmin = (statement: string): void => {
  const r = Bun.spawnSync(["psql", POSTGRES_ADMIN_URL, "-q", "-c", statement], { stdout: "pipe", stderr: "pipe" })
  if (r.exitCode !== 0) throw new Error(`psql failed: ${r.stderr.toString()}`)
}

describe.skipIf(!HAVE_POSTGRES || !natsServerAvailable())("postgres role", () => {
  let server: Awaited<ReturnType<typeof startPrivateServer>> | undefined
  let worker: Awaited<ReturnType<typeof startWorkerWith>> | undefined
  afterAll(async () => {
    worker?.kill("SIGTERM")
    await worker?.exited
    await server?.stop()
    psqlAdmin(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`)
  })

  test("campaigns list|show|timeline --nats answer from the pool's database", async () => {
    psqlAdmin(`DROP DATABASE IF EXISTS ${DATABASE}`)
    psqlAdmin(`CREATE DATABASE ${DATABASE}`)
    const db = postgresUrlFor(DATABASE)
    server = await startPrivateServer()
    // The role migrates the database when it starts.
    worker = await startWorkerWith(REPO, ["--roles", "postgres", "--pool", "2", "--nats", server.url, "--database-url", db])
    const dir = mkdtempSync(join(tmpdir(), "dshield-pgrole-"))
    expect(runCli(["generate", "--sessions", "600", "--seed", "31", "--out", dir, "--quiet"]).code).toBe(0)
    expect(runCli(["analyze", "--store", "--database-url", db, "--quiet", "--out", join(dir, "r.json"), join(dir, "cowrie.json")]).code).toBe(0)

    const direct = runCli(["campaigns", "list", "--database-url", db])
    const pooled = runCli(["campaigns", "list", "--nats", server.url])
    expect(pooled.stderr).toBe("")
    expect(pooled.code).toBe(0)
    expect(pooled.stdout).toBe(direct.stdout)
    const id = pooled.stdout.split("\n")[1]!.split(/\s+/)[0]!
    expect(id).toMatch(/^c-[0-9a-f]{16}$/)
    const shown = runCli(["campaigns", "show", id, "--nats", server.url])
    expect(shown.code).toBe(0)
    expect(shown.stdout).toBe(runCli(["campaigns", "show", id, "--database-url", db]).stdout)
    expect(runCli(["campaigns", "timeline", id, "--nats", server.url]).stdout).toContain("SESSIONS")
    // Both places at once is a usage error.
    expect(runCli(["campaigns", "list", "--nats", server.url, "--database-url", db]).code).toBe(2)
  }, 120_000)

  test("on the embedded store the role has one instance, and says so", async () => {
    server ??= await startPrivateServer()
    const embedded = Bun.spawn([process.execPath, join(REPO, "src/cli/main.ts"), "worker", "--roles", "postgres", "--pool", "2", "--nats", server.url, "--data-dir", join(mkdtempSync(join(tmpdir(), "dshield-pgrole-embedded-")), "db")], {
      cwd: REPO,
      stdout: "ignore",
      stderr: "pipe"
    })
    let text = ""
    for await (const chunk of embedded.stderr) {
      text += new TextDecoder().decode(chunk)
      if (text.includes("worker ready")) break
    }
    embedded.kill("SIGTERM")
    await embedded.exited
    expect(text).toContain("worker ready: postgres × 1 on")
  }, 60_000)
})

/**
 * Analyses through NATS worker pools give the same Result v1 as in process — for pools of
 * 1 and 4 — with the input uploaded by claim-check (the workers read no local path), and a
 * worker stops cleanly on SIGTERM. On a private nats-server, so only these workers answer.
 */
import { describe, expect, test } from "bun:test"
import { connect } from "nats"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { REPO, runCli, withoutRunTimes } from "../cli/helpers.ts"
import { natsServerAvailable, startPrivateServer, startWorkerWith } from "./natsAuthServer.ts"

const HAVE_NATS = natsServerAvailable()

describe.skipIf(!HAVE_NATS)("analysis on NATS worker pools", () => {
  const dir = mkdtempSync(join(tmpdir(), "dshield-nats-"))
  const input = join(dir, "cowrie.json")

  test("pools of 1 and 4 give the in-process result, byte for byte apart from run id and times; SIGTERM stops a worker cleanly", async () => {
    expect(runCli(["generate", "--sessions", "3000", "--seed", "21", "--out", dir, "--quiet"]).code).toBe(0)
    const manifest = join(dir, "manifest.json")
    expect(runCli(["analyze", "--quiet", "--out", join(dir, "local.json"), "--manifest", manifest, input]).code).toBe(0)
    const local = withoutRunTimes(readFileSync(join(dir, "local.json"), "utf8"))

    const server = await startPrivateServer()
    const NATS = server.url
    for (const pool of [1, 4]) {
      const worker = await startWorkerWith(REPO, ["--roles", "api", "--pool", String(pool), "--nats", NATS])
      try {
        const out = join(dir, `pool-${pool}.json`)
        const r = runCli(["analyze", "--nats", NATS, "--quiet", "--out", out, input])
        expect(r.stderr).toBe("")
        expect(r.code).toBe(0)
        expect(withoutRunTimes(readFileSync(out, "utf8"))).toBe(local)
        // The run recorded in process replays to the same digest on this pool.
        const replay = runCli(["replay", "--nats", NATS, manifest])
        expect(replay.code).toBe(0)
        expect(replay.stdout).toContain("on the NATS pool")
        // A request that does not decode: refused (400), and counted as an error.
        const nc = await connect({ servers: NATS })
        await nc.request("coord.v1.analyze", new TextEncoder().encode("null"), { timeout: 10_000 })
        await nc.close()
        // ops status lists the pool's instances through $SRV.STATS, with the requests counted
        // and timed to their answers (an analysis of 3,000 sessions takes far more than 1 ms).
        const status = JSON.parse(runCli(["ops", "status", "--data-dir", join(dir, "store"), "--nats", NATS]).stdout) as {
          actors: { instances: Array<{ service: string; requests: number; errors: number; average_processing_ms: number }> }
        }
        const orchestrators = status.actors.instances.filter((i) => i.service === "coord")
        expect(orchestrators.length).toBeGreaterThanOrEqual(pool)
        expect(orchestrators.reduce((a, i) => a + i.requests, 0)).toBeGreaterThanOrEqual(3)
        expect(orchestrators.reduce((a, i) => a + i.errors, 0)).toBe(1)
        expect(Math.max(...orchestrators.map((i) => i.average_processing_ms))).toBeGreaterThan(20)
      } finally {
        worker.kill("SIGTERM")
        expect(await worker.exited).toBe(0)
      }
    }
    await server.stop()
  }, 180_000)
})

/**
 * Request/reply over a real nats-server: a long analysis reports its progress to the caller
 * while it runs, and a caller that gives up (its ask interrupted, as Ctrl-C does) cancels the
 * analysis on the worker — the analysis thread stops and no Result is stored.
 */
import { afterAll, describe, expect, test } from "bun:test"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { API_GROUP, CoordApi } from "../../actors/api/CoordApi.ts"
import { uploadInputs } from "../../actors/transport/ClaimCheck.ts"
import { natsClient } from "../../actors/transport/NatsTransport.ts"
import { RESULTS_BUCKET } from "../../actors/transport/NatsResultStore.ts"
import { REPO, runCli } from "../cli/helpers.ts"
import { natsServerAvailable, privatePool } from "./natsAuthServer.ts"

describe.skipIf(!natsServerAvailable())("progress and cancellation of requests", () => {
  const pool = privatePool()
  afterAll(() => pool.close())

  test("progress reaches the caller; an interrupted ask stops the worker's analysis", async () => {
    const { nc } = await pool.start()
    const dir = mkdtempSync(join(tmpdir(), "dshield-progress-"))
    expect(runCli(["generate", "--sessions", "10000", "--seed", "29", "--out", dir, "--quiet"]).code).toBe(0)
    const api = natsClient(nc, CoordApi, { group: API_GROUP })
    const inputs = await Effect.runPromise(uploadInputs(nc, [join(dir, "cowrie.json")]))

    // Progress: the worker reads 10,000 sessions and reports how far it is.
    const plain = await pool.worker(REPO, ["--roles", "api", "--pool", "1"])
    const reports: Array<{ bytes: number; events: number }> = []
    const reply = await Effect.runPromise(api.ask("analyze", { inputs, config: { seed: 1 } }, { timeoutMs: 120_000, onProgress: (p) => reports.push(p) }))
    expect(reply.sessions).toBe(10_000)
    expect(reports.length).toBeGreaterThan(0)
    expect(reports.at(-1)!.events).toBeGreaterThan(0)
    plain.kill("SIGTERM")
    expect(await plain.exited).toBe(0)

    // Cancellation: the analysis thread is held 2 s before it starts (test hook); the caller
    // gives up after 0.5 s. Were the work not stopped, its Result would be stored a few
    // seconds later (hold + analysis on a cold thread); 15 s is well past that.
    await pool.worker(REPO, ["--roles", "api", "--pool", "1"], { ...process.env, DSHIELD_TEST_THREAD_BLOCK_MS: "2000" })
    const os = await nc.jetstream().views.os(RESULTS_BUCKET)
    const before = (await os.list()).length
    const asking = Effect.runFork(api.ask("analyze", { inputs, config: { seed: 2 } }, { timeoutMs: 120_000 }))
    await Bun.sleep(500)
    await Effect.runPromise(Fiber.interrupt(asking))
    await Bun.sleep(15_000)
    expect((await os.list()).length).toBe(before)
    // The worker goes on serving: the same inputs and config once more, waited for, are stored.
    const after = await Effect.runPromise(api.ask("analyze", { inputs, config: { seed: 2 } }, { timeoutMs: 120_000 }))
    expect(after.sessions).toBe(10_000)
    expect((await os.list()).length).toBe(before + 1)
  }, 180_000)

  // Its own server: no worker of the test above may take the request.
  const lonely = privatePool()
  afterAll(() => lonely.close())

  test("a worker killed mid-request: the caller stops waiting once its heartbeats stop, long before the deadline", async () => {
    const { nc } = await lonely.start()
    const dir = mkdtempSync(join(tmpdir(), "dshield-silence-"))
    expect(runCli(["generate", "--sessions", "500", "--seed", "30", "--out", dir, "--quiet"]).code).toBe(0)
    // The analysis thread is held 60 s; the request may take 10 minutes.
    const worker = await lonely.worker(REPO, ["--roles", "api", "--pool", "1"], { ...process.env, DSHIELD_TEST_THREAD_BLOCK_MS: "60000" })
    const api = natsClient(nc, CoordApi, { group: API_GROUP, silenceMs: 8_000 })
    const inputs = await Effect.runPromise(uploadInputs(nc, [join(dir, "cowrie.json")]))
    const t0 = Date.now()
    const asking = Effect.runPromise(Effect.flip(api.ask("analyze", { inputs, config: { seed: 3 } }, { timeoutMs: 600_000 })))
    // Heartbeats every 5 s: the caller has heard at least one before the worker dies.
    await Bun.sleep(6_000)
    worker.kill("SIGKILL")
    const error = await asking
    expect(error).toMatchObject({ _tag: "ActorUnavailable" })
    expect((error as { reason: string }).reason).toContain("stopped answering (no word from it for 8 s)")
    expect(Date.now() - t0).toBeLessThan(30_000)
  }, 60_000)
})

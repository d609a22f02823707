/**
 * Supervision that ends: a role whose restart budget is spent makes the worker process exit
 * non-zero with the reason, so systemd or Kubernetes starts a fresh one — no instance left
 * answering 503 forever. On a private nats-server, so only this worker answers.
 *
 * Test hook: DSHIELD_TEST_THREAD_CRASH=1 makes every analysis thread crash, so each analyze
 * request crashes the orchestrator; the fourth crash within 10 s spends its budget.
 */
import { afterAll, describe, expect, test } from "bun:test"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import { connect } from "nats"
import { Orchestrator } from "../../actors/orchestrator/Orchestrator.ts"
import { natsClient } from "../../actors/transport/NatsTransport.ts"
import { runCli } from "../cli/helpers.ts"
import { killLeftoverWorkers, startJobsWorker } from "./jobWorkers.ts"
import { natsServerAvailable, startPrivateServer } from "./natsAuthServer.ts"

const HAVE_SERVER = natsServerAvailable()
let stopServer: (() => Promise<void>) | undefined

afterAll(async () => {
  await killLeftoverWorkers()
  await stopServer?.()
})

describe.skipIf(!HAVE_SERVER)("worker supervision", () => {
  test("a role whose restart budget is spent makes the worker exit 1 with the reason", async () => {
    const server = await startPrivateServer()
    stopServer = server.stop
    const dir = mkdtempSync(join(tmpdir(), "dshield-escalate-"))
    expect(runCli(["generate", "--sessions", "200", "--seed", "5", "--out", dir, "--quiet"]).code).toBe(0)
    const worker = await startJobsWorker(
      ["--roles", "orchestrator", "--pool", "1", "--allow-paths", dir],
      { ...process.env, DSHIELD_TEST_THREAD_CRASH: "1" },
      server.url
    )
    const nc = await connect({ servers: server.url })
    try {
      const client = natsClient(nc, Orchestrator, { timeoutMs: 20_000 })
      const answers: Array<string> = []
      // Each request crashes the orchestrator (answered 503 "restarting"); the budget is 3
      // restarts in 10 s, so the fourth crash escalates and the worker stops.
      for (let i = 0; i < 6 && worker.proc.exitCode === null; i++) {
        const exit = await Effect.runPromiseExit(client.ask("analyze", { paths: [join(dir, "cowrie.json")], config: {} }))
        answers.push(exit._tag === "Failure" ? JSON.stringify(exit.cause) : "ok")
      }
      const code = await Promise.race([worker.proc.exited, Bun.sleep(30_000).then(() => "still running")])
      expect(code).toBe(1)
      expect(answers.some((a) => a.includes("restarting"))).toBe(true)
      expect(worker.stderr()).toContain("The orchestrator role (instance 1) escalated")
      expect(worker.stderr()).toContain("it was stopped instead of restarted again")
      expect(worker.stderr()).toContain("the worker exits so that its supervisor restarts it")
    } finally {
      await nc.close()
      if (worker.proc.exitCode === null) worker.proc.kill(9)
    }
  }, 90_000)
})

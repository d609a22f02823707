/**
 * A worker outlives its NATS server: when the connection is lost it reports itself not ready
 * and keeps reconnecting (no give-up after a fixed number of attempts, no `Effect.never`
 * zombie); when the server is back it is ready again and serves requests.
 *
 * Runs its own nats-server (JetStream, temporary store) on a free port, so stopping it
 * disturbs no other suite.
 */
import { afterAll, describe, expect, test } from "bun:test"
import { existsSync, mkdtempSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { connect, RequestStrategy } from "nats"
import { REPO } from "../cli/helpers.ts"
import { reachable, REQUIRE_SERVICES } from "./services.ts"

const NATS_SERVER = "/usr/sbin/nats-server"
const HAVE_SERVER = existsSync(NATS_SERVER)
if (!HAVE_SERVER) {
  if (REQUIRE_SERVICES) throw new Error(`${NATS_SERVER} is missing and REQUIRE_SERVICES=1: install nats-server.`)
  console.warn(`NOTICE: ${NATS_SERVER} is missing; the reconnect test is SKIPPED.`)
}

const freePort = (): Promise<number> =>
  new Promise((done) => {
    const server = createServer()
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port
      server.close(() => done(port))
    })
  })

const storeDir = mkdtempSync(join(tmpdir(), "dshield-nats-reconnect-"))
const started: Array<ReturnType<typeof Bun.spawn>> = []
const startServer = async (port: number) => {
  const server = Bun.spawn([NATS_SERVER, "-a", "127.0.0.1", "-p", String(port), "-js", "-sd", storeDir], { stdout: "ignore", stderr: "ignore" })
  started.push(server)
  for (let i = 0; i < 100 && !(await reachable(port)); i++) await Bun.sleep(50)
  return server
}

afterAll(async () => {
  for (const server of started) {
    if (server.exitCode === null) server.kill()
    await server.exited
  }
})

describe.skipIf(!HAVE_SERVER)("worker and a lost NATS server", () => {
  test("not ready while NATS is down, reconnects by itself, serves again", async () => {
    const port = await freePort()
    const url = `nats://127.0.0.1:${port}`
    let server = await startServer(port)
    const worker = Bun.spawn([process.execPath, resolve(REPO, "src/cli/main.ts"), "worker", "--roles", "pattern-analyzer", "--pool", "1", "--nats", url], {
      cwd: REPO,
      stdout: "ignore",
      stderr: "pipe"
    })
    let text = ""
    void (async () => {
      const reader = worker.stderr.getReader()
      while (true) {
        const { value, done } = await reader.read()
        if (done) break
        text += new TextDecoder().decode(value)
      }
    })()
    const waitFor = async (needle: string, timeoutMs = 30_000) => {
      const t0 = Date.now()
      while (!text.includes(needle)) {
        if (worker.exitCode !== null) throw new Error(`the worker exited (${worker.exitCode}): ${text}`)
        if (Date.now() - t0 > timeoutMs) throw new Error(`no "${needle}" within ${timeoutMs} ms: ${text}`)
        await Bun.sleep(50)
      }
    }
    try {
      await waitFor("worker ready:")
      server.kill()
      await server.exited
      await waitFor("worker not ready: the NATS connection was lost")
      // Longer than nats.js's default give-up (10 attempts × 2 s would be 20 s; here the
      // worker keeps trying): still alive, still not ready.
      await Bun.sleep(3_000)
      expect(worker.exitCode).toBe(null)
      server = await startServer(port)
      await waitFor("worker ready again: NATS reconnected.")
      // And it serves: $SRV finds the instance with its state.
      const nc = await connect({ servers: url })
      const found: Array<Record<string, unknown>> = []
      for (let i = 0; i < 40 && found.length === 0; i++) {
        for await (const s of await nc.services.client({ maxWait: 500, strategy: RequestStrategy.Timer }).stats("pattern-analyzer")) {
          found.push((s.endpoints?.[0]?.data ?? {}) as Record<string, unknown>)
        }
        if (found.length === 0) await Bun.sleep(250)
      }
      await nc.close()
      expect(found.length).toBe(1)
      expect(found[0]).toMatchObject({ role: "pattern-analyzer", instance: 1, ready: true, state: "running", restarts: 0 })
    } finally {
      worker.kill("SIGTERM")
      expect(await worker.exited).toBe(0)
    }
  }, 60_000)

  test("SIGTERM while NATS is down: the worker drains and exits 0, not waiting for the server", async () => {
    const port = await freePort()
    const url = `nats://127.0.0.1:${port}`
    const server = await startServer(port)
    const worker = Bun.spawn([process.execPath, resolve(REPO, "src/cli/main.ts"), "worker", "--roles", "api,jobs", "--pool", "1", "--grace", "2s", "--nats", url], {
      cwd: REPO,
      stdout: "ignore",
      stderr: "pipe"
    })
    let text = ""
    void (async () => {
      for await (const chunk of worker.stderr) text += new TextDecoder().decode(chunk)
    })()
    for (let i = 0; i < 600 && !text.includes("worker ready:"); i++) await Bun.sleep(50)
    expect(text).toContain("worker ready:")
    server.kill()
    await server.exited
    for (let i = 0; i < 200 && !text.includes("worker not ready"); i++) await Bun.sleep(50)
    const t0 = Date.now()
    worker.kill("SIGTERM")
    // Within the grace period and the bounded close: before the fix it never exited.
    const code = await Promise.race([worker.exited, Bun.sleep(25_000).then(() => "still running" as const)])
    if (code === "still running") worker.kill("SIGKILL")
    expect({ code, text: text.slice(-300) }).toMatchObject({ code: 0 })
    expect(Date.now() - t0).toBeLessThan(25_000)
  }, 60_000)
})

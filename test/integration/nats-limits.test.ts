/**
 * Hostile and long requests over a real nats-server — a private one (JetStream on, free port),
 * so that no other worker on the shared server joins the queue groups: every request decodes through its
 * Schema with bounds, and a bad one is a typed 400 — never a crash or an escalation; worker-
 * local paths are read only under --allow-paths roots (so /etc/passwd is a 400 and nothing
 * is read or stored); and a request's own deadline, not a constant, decides how long the
 * worker works on it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { execFileSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import { connect, headers, type NatsConnection, ServiceError } from "nats"
import { uploadInputs } from "../../actors/transport/ClaimCheck.ts"
import { RESULTS_BUCKET } from "../../actors/transport/NatsResultStore.ts"
import { REPO, runCli, withoutRunTimes } from "../cli/helpers.ts"
import { natsServerAvailable, startPrivateServer, startWorkerWith } from "./natsAuthServer.ts"

const HAVE_NATS = natsServerAvailable()
let server: Awaited<ReturnType<typeof startPrivateServer>> | undefined
let NATS = ""
beforeAll(async () => {
  if (!HAVE_NATS) return
  server = await startPrivateServer()
  NATS = server.url
}, 30_000)
afterAll(async () => {
  await server?.stop()
})

const encode = (body: unknown): Uint8Array => new TextEncoder().encode(typeof body === "string" ? body : JSON.stringify(body))

const call = async (nc: NatsConnection, subject: string, body: unknown, timeout = 60_000) => {
  const reply = await nc.request(subject, encode(body), { timeout })
  const payload = reply.data.length > 0 ? JSON.parse(new TextDecoder().decode(reply.data)) : undefined
  return ServiceError.isServiceError(reply) ? { error: ServiceError.toServiceError(reply)!, payload } : { ok: payload }
}

const resultCount = async (nc: NatsConnection): Promise<number> => (await (await nc.jetstream().views.os(RESULTS_BUCKET)).list()).length

describe.skipIf(!HAVE_NATS)("bounded requests and worker-local paths", () => {
  const dir = mkdtempSync(join(tmpdir(), "dshield-limits-"))
  const allowed = join(dir, "allowed")
  let worker: Awaited<ReturnType<typeof startWorkerWith>> | undefined
  let nc: NatsConnection
  beforeAll(async () => {
    mkdirSync(allowed)
    expect(runCli(["generate", "--sessions", "300", "--seed", "12", "--out", join(allowed, "logs"), "--quiet"]).code).toBe(0)
    symlinkSync("/etc/passwd", join(allowed, "passwd-link"))
    symlinkSync("/etc", join(allowed, "etc-link"))
    execFileSync("mkfifo", [join(allowed, "fifo")])
    nc = await connect({ servers: NATS })
    worker = await startWorkerWith(REPO, ["--roles", "api,orchestrator", "--pool", "1", "--nats", NATS, "--allow-paths", allowed])
  }, 60_000)
  afterAll(async () => {
    worker?.kill("SIGTERM")
    await worker?.exited
    await nc?.close()
  })

  test("malformed, wrongly typed or out-of-bounds requests are typed 400s, and the worker keeps serving", async () => {
    const before = await resultCount(nc)
    const bad: Array<unknown> = [
      "null",
      "[]",
      "\"text\"",
      { sessions: "all of them" },
      { sessions: [{ id: 1 }] },
      { sessions: [], paths: [join(allowed, "logs")] },
      {},
      { paths: [join(allowed, "logs")], config: { permutations: 1_000_000_000 } },
      { paths: [join(allowed, "logs")], config: { seed: -1 } },
      { paths: [join(allowed, "logs")], config: { format: "exe" } },
      { paths: [join(allowed, "logs")], config: { behaviourThreshold: 7 } },
      { paths: [join(allowed, "logs")], config: { unknownOption: 1 } },
      { paths: [join(allowed, "logs")], extra: true },
      { paths: [join(allowed, "logs")], timeout_ms: -5 },
      { paths: Array.from({ length: 300 }, () => join(allowed, "logs")) },
      { inputs: [{ path: "x", kind: "file", files: [{ name: "../../etc/passwd", object: `input-${"0".repeat(64)}`, sha256: "0".repeat(64), bytes: 1 }] }] }
    ]
    for (const body of bad) {
      const r = await call(nc, "coord.v1.analyze", body)
      expect(r.error?.code).toBe(400)
      expect(r.payload).toMatchObject({ _tag: "ApiError", code: "bad_request" })
      expect((r.payload as { message: string }).message).not.toContain("\n")
    }
    // The orchestrator's own message is bounded the same way: RequestRefused, 400.
    for (const body of ["null", { paths: "x" }, { paths: [join(allowed, "logs")], config: { permutations: 1e12 } }]) {
      const r = await call(nc, "coord.actor.orchestrator.analyze", body)
      expect(r.error?.code).toBe(400)
      expect(r.payload).toMatchObject({ _tag: "RequestRefused" })
    }
    expect(await resultCount(nc)).toBe(before)
    // Still serving, no restart: a valid request is answered.
    const fine = await call(nc, "coord.v1.analyze", { paths: [join(allowed, "logs")], config: { seed: 3 } })
    expect(fine.ok?.sessions).toBe(300)
    const stats: Array<{ restarts?: number }> = []
    for await (const s of await nc.services.client().stats("coord")) stats.push((s.endpoints?.[0]?.data ?? {}) as { restarts?: number })
    expect(stats.every((d) => (d.restarts ?? 0) === 0)).toBe(true)
  }, 120_000)

  test("/etc/passwd, traversal, symlink escapes, FIFOs and stdin are refused (400) and nothing is read or stored", async () => {
    const before = await resultCount(nc)
    const refused = [
      "/etc/passwd",
      "/root",
      `${allowed}/../../../etc/passwd`,
      join(allowed, "passwd-link"),
      join(allowed, "etc-link"),
      join(allowed, "etc-link", "passwd"),
      join(allowed, "fifo"),
      "-",
      "logs/cowrie.json",
      join(allowed, "missing.json")
    ]
    for (const path of refused) {
      for (const subject of ["coord.v1.analyze", "coord.actor.orchestrator.analyze"]) {
        const r = await call(nc, subject, { paths: [path] })
        expect(r.error?.code).toBe(400)
        expect(r.payload?._tag === "ApiError" ? r.payload.code : r.payload?._tag).toBe(subject === "coord.v1.analyze" ? "bad_request" : "RequestRefused")
        expect(r.payload.message).not.toContain("root:")
      }
    }
    // No result was stored for any of them (an analysis of /etc/passwd would have stored one).
    expect(await resultCount(nc)).toBe(before)
    // Under the root, a directory is read (as ingest reads directories: regular files only).
    const ok = await call(nc, "coord.v1.analyze", { paths: [join(allowed, "logs")] })
    expect(ok.ok?.sessions).toBe(300)
  }, 120_000)

  test("a worker without --allow-paths reads no local path at all; uploaded inputs work across machines", async () => {
    const uploadsOnly = await startWorkerWith(REPO, ["--roles", "orchestrator", "--pool", "1", "--nats", NATS], process.env)
    try {
      // Both workers now serve the orchestrator subject; ask until the uploads-only one answers.
      const answers = new Set<string>()
      for (let i = 0; i < 12 && !answers.has("refused"); i++) {
        const r = await call(nc, "coord.actor.orchestrator.analyze", { paths: [join(allowed, "logs", "cowrie.json")] })
        if (r.error !== undefined) {
          expect(r.payload).toMatchObject({ _tag: "RequestRefused" })
          expect(r.payload.message).toContain("does not read worker-local paths")
          answers.add("refused")
        } else answers.add("read")
      }
      expect(answers.has("refused")).toBe(true)
      const inputs = await Effect.runPromise(uploadInputs(nc, [join(allowed, "logs")]))
      expect(inputs[0]!.kind).toBe("directory")
      expect(inputs[0]!.files.map((f) => f.name)).toEqual(["cowrie.json", "labels.tsv"])
      const viaUpload = await call(nc, "coord.actor.orchestrator.analyze", { inputs })
      expect(viaUpload.ok?.sessions).toBe(300)
      // A digest that does not match the object is refused before any analysis.
      const forged = [{ ...inputs[0]!, files: [{ ...inputs[0]!.files[0]!, sha256: "f".repeat(64) }] }]
      const r = await call(nc, "coord.actor.orchestrator.analyze", { inputs: forged })
      expect(r.error?.code).toBe(400)
      expect(r.payload).toMatchObject({ _tag: "AnalysisFailed", kind: "input" })
    } finally {
      uploadsOnly.kill("SIGTERM")
      await uploadsOnly.exited
    }
  }, 120_000)
})

describe.skipIf(!HAVE_NATS)("deadlines come from the request", () => {
  test("with a 1 s default and a 2.5 s analysis, a request carrying a 60 s deadline (body or header) succeeds and one without a deadline gets 504 after 1 s", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dshield-deadline-"))
    expect(runCli(["generate", "--sessions", "300", "--seed", "14", "--out", dir, "--quiet"]).code).toBe(0)
    const input = join(dir, "cowrie.json")
    expect(runCli(["analyze", "--quiet", "--out", join(dir, "local.json"), input]).code).toBe(0)
    // The analysis thread is held 2.5 s (test hook), longer than the worker's 1 s default.
    const worker = await startWorkerWith(REPO, ["--roles", "api", "--pool", "1", "--nats", NATS, "--default-timeout", "1s", "--max-timeout", "1m"], {
      ...process.env,
      DSHIELD_TEST_THREAD_BLOCK_MS: "2500"
    })
    const nc = await connect({ servers: NATS })
    try {
      const inputs = await Effect.runPromise(uploadInputs(nc, [input]))
      const started = Date.now()
      // Each request names another seed: the same inputs and config would be answered from
      // the result cache at once, and this test is about analyses that take time.
      const long = await call(nc, "coord.v1.analyze", { inputs, timeout_ms: 60_000, config: { seed: 1 } })
      expect(long.ok?.sessions).toBe(300)
      expect(Date.now() - started).toBeGreaterThan(2000)
      // The deadline in the Coord-Timeout-Ms header alone does the same, down to the orchestrator.
      const h = headers()
      h.set("Coord-Timeout-Ms", "60000")
      const viaHeader = await nc.request("coord.v1.analyze", encode({ inputs, config: { seed: 2 } }), { timeout: 65_000, headers: h })
      expect(ServiceError.isServiceError(viaHeader)).toBe(false)
      expect(JSON.parse(new TextDecoder().decode(viaHeader.data)).sessions).toBe(300)
      // No deadline in the request: the worker's default (1 s) applies, answered 504.
      const short = await call(nc, "coord.v1.analyze", { inputs, config: { seed: 3 } })
      expect(short.error?.code).toBe(504)
      // From the api actor or, a moment earlier, from its orchestrator working to what was left.
      expect(short.payload._tag).toBe("ActorTimeout")
      expect(short.payload.timeoutMs).toBeGreaterThan(500)
      expect(short.payload.timeoutMs).toBeLessThanOrEqual(1000)
      // The CLI sends its --timeout as the deadline: the same analysis succeeds end to end.
      const r = runCli(["analyze", "--nats", NATS, "--timeout", "30s", "--quiet", "--out", join(dir, "remote.json"), input])
      expect(r.stderr).toBe("")
      expect(withoutRunTimes(readFileSync(join(dir, "remote.json"), "utf8"))).toBe(withoutRunTimes(readFileSync(join(dir, "local.json"), "utf8")))
      // A deadline beyond the worker's maximum is cut to it (1 min here), not refused.
      const capped = await call(nc, "coord.v1.analyze", { inputs, timeout_ms: 3_600_000, config: { seed: 4 } })
      expect(capped.ok?.sessions).toBe(300)
    } finally {
      worker.kill("SIGTERM")
      await worker.exited
      await nc.close()
    }
  }, 180_000)
})

describe.skipIf(!HAVE_NATS)("the results bucket's limits", () => {
  test("every role that writes results sets the configured TTL and byte limit (api workers reset them to the defaults)", async () => {
    const env = { ...process.env, DSHIELD_RESULTS_MAX_BYTES: String(1024 ** 3), DSHIELD_RESULTS_TTL_MS: String(3_600_000) }
    const nc = await connect({ servers: NATS })
    const jobs = await startWorkerWith(REPO, ["--roles", "jobs", "--pool", "1", "--nats", NATS], env)
    const api = await startWorkerWith(REPO, ["--roles", "api", "--pool", "1", "--nats", NATS], env)
    try {
      const config = (await (await nc.jetstreamManager()).streams.info(`OBJ_${RESULTS_BUCKET}`)).config
      expect({ max_bytes: config.max_bytes, max_age_ms: config.max_age / 1_000_000 }).toEqual({ max_bytes: 1024 ** 3, max_age_ms: 3_600_000 })
    } finally {
      for (const w of [jobs, api]) w.kill("SIGTERM")
      await Promise.all([jobs.exited, api.exited])
      await nc.close()
    }
  }, 60_000)
})

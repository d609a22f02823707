/**
 * Analyses over the HTTP API run through the same Analyzer service as `analyze` (issue 10):
 * the real `dshield-coord serve` on loopback, given a real honeypot log.
 *
 * - Stored analyses (`store: true`, as `analyze --store --tenant`): GET /campaigns lists the
 *   campaigns the Result names, by the same ids; a second run of the same log writes nothing
 *   new; another tenant sees none of them.
 * - Uploaded objects: a log uploaded once (POST /uploads) and analysed by name gives the same
 *   campaigns as `dshield-coord analyze FILE` on that file (the CLI's output is the reference,
 *   not a re-implementation); at depth deep the workflow adds its narrative and tool reports
 *   and finds the same campaigns. Objects belong to their tenant: another tenant can neither
 *   analyse, list nor delete them (the same answer as for an object that never existed).
 * - On the NATS pool (`serve --nats` with a `worker --require-keys` on a private nats-server):
 *   the same campaigns again, the pool called with the key in DSHIELD_API_KEY, and
 *   /health/ready naming NATS. Skipped with a notice without nats-server (failed under
 *   REQUIRE_SERVICES=1).
 * - Start-up failures are the operator's to fix: exit 2 with one sentence.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { CORPORA } from "../cli/helpers.ts"
import { childEnv, cli, cliOk, serve, type Serving, stopServers } from "./apiServer.ts"
import { natsServerAvailable, startPrivateServer, startWorkerWith } from "./natsAuthServer.ts"

const REPO = resolve(import.meta.dir, "../..")
const KAREIVA = resolve(CORPORA, "kareiva-2018.cowrie.json.gz")
const HAVE_KAREIVA = await Bun.file(KAREIVA).exists()
if (!HAVE_KAREIVA) console.warn(`NOTICE: ${KAREIVA} is missing; the API analysis tests are SKIPPED.`)
const HAVE_NATS = natsServerAvailable()

afterAll(stopServers)

interface Answer {
  readonly status: number
  // biome-ignore lint: the documents are checked field by field below
  readonly body: any
}

const call = async (server: Serving, path: string, init: { key?: string; method?: string; body?: string | Uint8Array; type?: string } = {}): Promise<Answer> => {
  const headers: Record<string, string> = {}
  if (init.key !== undefined) headers["x-api-key"] = init.key
  if (init.type !== undefined) headers["content-type"] = init.type
  const response = await fetch(`${server.url}${path}`, { method: init.method ?? (init.body === undefined ? "GET" : "POST"), headers, ...(init.body === undefined ? {} : { body: init.body }) })
  const text = await response.text()
  return { status: response.status, body: text === "" ? undefined : JSON.parse(text) }
}

/** Submits and waits (long polls) until the analysis has finished; its final status document. */
const analyse = async (server: Serving, key: string, body: unknown) => {
  const submitted = await call(server, "/analyze/coordination", { key, body: JSON.stringify(body), type: "application/json" })
  expect(submitted.status).toBe(202)
  const id = submitted.body.analysis_id as string
  for (let i = 0; i < 20; i++) {
    const polled = await call(server, `/analyze/${id}?wait=30`, { key })
    expect(polled.status).toBe(200)
    if (polled.body.status === "completed" || polled.body.status === "failed") return polled.body
  }
  throw new Error(`analysis ${id} did not finish in 10 minutes`)
}

/** What must agree between two analyses of one input: everything but the run's times and id. */
const comparable = (result: { campaigns: unknown; input: { sessions: number; events: number; files: Array<{ sha256: string }> }; unclustered_sessions: number }) => ({
  campaigns: result.campaigns,
  sessions: result.input.sessions,
  events: result.input.events,
  sha256: result.input.files.map((f) => f.sha256),
  unclustered: result.unclustered_sessions
})

describe.skipIf(!HAVE_KAREIVA)("HTTP API analyses through the Analyzer service", () => {
  const dir = mkdtempSync(join(tmpdir(), "dshield-api-analyses-"))
  const store = ["--data-dir", join(dir, "db")]
  const env = childEnv({})
  let server: Serving
  let reference: ReturnType<typeof comparable>
  const keys: Record<string, string> = {}

  beforeAll(async () => {
    for (const [name, role, tenant] of [["analystA", "analyst", "acme"], ["viewerA", "viewer", "acme"], ["analystB", "analyst", "globex"]] as const) {
      keys[name] = (await cliOk(["keys", "create", "--role", role, "--tenant", tenant, ...store], dir, env)).trim()
    }
    // The reference: the CLI on the same file.
    await cliOk(["analyze", KAREIVA, "--out", join(dir, "cli.json"), "--quiet"], dir, env)
    reference = comparable(JSON.parse(readFileSync(join(dir, "cli.json"), "utf8")))
    server = await serve(["--threads", "2", ...store], dir, env)
  }, 120_000)

  let object = ""

  test("an uploaded log, analysed by name, finds exactly the campaigns `analyze FILE` finds", async () => {
    const bytes = readFileSync(KAREIVA)
    const uploaded = await call(server, "/uploads?name=kareiva&format=cowrie", { key: keys.analystA, body: bytes, type: "application/gzip" })
    expect(uploaded.status).toBe(201)
    expect(uploaded.body).toMatchObject({ name: "kareiva", format: "cowrie", bytes: bytes.length, sha256: new Bun.CryptoHasher("sha256").update(bytes).digest("hex") })
    object = uploaded.body.object
    expect(object).toMatch(/^up-[0-9a-f]{24}$/)

    const done = await analyse(server, keys.analystA!, { object })
    expect(done.status).toBe("completed")
    expect(done.workflow).toBeUndefined()
    expect(reference.campaigns).not.toHaveLength(0)
    expect(comparable(done.result)).toEqual(reference)
    // The Result names the input as the API user knows it, not by the server's file path.
    expect(done.result.input.files[0].path).toBe(`upload:${object}`)
  }, 120_000)

  test("a log of no known format fails, named as the client knows it and with the API's advice, never by the server's file", async () => {
    const junk = new Uint8Array(4096).map((_, i) => (i * 7919 + 13) % 251)
    const direct = await call(server, "/analyze/coordination", { key: keys.analystA, body: junk, type: "application/octet-stream" })
    expect(direct.status).toBe(202)
    const uploaded = await call(server, "/uploads", { key: keys.analystA, body: junk, type: "application/octet-stream" })
    expect(uploaded.status).toBe(201)
    for (const [id, name] of [[direct.body.analysis_id, `upload:${direct.body.analysis_id}`], [undefined, `upload:${uploaded.body.object}`]] as const) {
      const done = id === undefined
        ? await analyse(server, keys.analystA!, { object: uploaded.body.object })
        : (await call(server, `/analyze/${id}?wait=30`, { key: keys.analystA })).body
      expect(done.status).toBe("failed")
      expect(done.error).toContain(`Cannot tell the format of ${name}`)
      expect(done.error).toContain("the format field, or ?format=")
      expect(done.error).not.toContain(dir)
      expect(done.error).not.toContain("--format")
    }
  }, 60_000)

  test("deep: the workflow's narrative and tool reports, and the same campaigns", async () => {
    const done = await analyse(server, keys.analystA!, { object, analysis_depth: "deep" })
    expect(done.status).toBe("completed")
    expect(done.analysis_depth).toBe("deep")
    expect(typeof done.workflow.narrative).toBe("string")
    expect(done.workflow.narrative).toContain("campaign families found")
    expect(done.workflow.tools.map((t: { tool: string }) => t.tool).sort()).toEqual(["asn-prefix", "geo", "threat-intel"])
    expect(comparable(done.result)).toEqual(reference)
  }, 120_000)

  test("store: the tenant's campaigns are tracked; the Result names them by the ids GET /campaigns knows; other tenants see none", async () => {
    await cliOk(["generate", "--sessions", "400", "--seed", "5", "--out", join(dir, "gen"), "--quiet"], dir, env)
    const log = readFileSync(join(dir, "gen", "cowrie.json"))
    const uploaded = await call(server, "/uploads?format=cowrie", { key: keys.analystA, body: log, type: "application/x-ndjson" })
    expect(uploaded.status).toBe(201)
    const refused = await call(server, "/analyze/coordination", { key: keys.analystA, body: JSON.stringify({ object: uploaded.body.object, store: true, analysis_depth: "deep" }), type: "application/json" })
    expect(refused.status).toBe(400)

    const first = await analyse(server, keys.analystA!, { object: uploaded.body.object, store: true })
    expect(first.status).toBe("completed")
    expect(first.stored.sessions_written).toBe(first.result.input.sessions)
    expect(first.stored.campaigns_created).toBe(first.result.campaigns.length)
    const ids = first.result.campaigns.map((c: { id: string }) => c.id).sort()
    expect(ids.length).toBeGreaterThan(0)
    const listed = await call(server, "/campaigns?limit=500", { key: keys.analystA })
    expect(listed.status).toBe(200)
    expect(listed.body.campaigns.map((c: { id: string }) => c.id).sort()).toEqual(ids)
    expect((await call(server, `/campaigns/${ids[0]}`, { key: keys.analystA })).status).toBe(200)

    // The same log again: its sessions are stored already, unchanged (none written, none
    // doubled); the same campaigns are updated (none created, none duplicated).
    expect(first.stored.sessions_written).toBe(first.result.input.sessions)
    const again = await analyse(server, keys.analystA!, { object: uploaded.body.object, store: true })
    expect(again.status).toBe("completed")
    expect(again.stored).toEqual({ sessions_written: 0, campaigns_created: 0, campaigns_updated: ids.length, campaigns_concluded: 0 })
    expect(again.result.campaigns.map((c: { id: string }) => c.id).sort()).toEqual(ids)
    expect((await call(server, "/campaigns?limit=500", { key: keys.analystA })).body.campaigns).toHaveLength(ids.length)

    // Not stored: the tracked campaigns are untouched.
    const plain = await analyse(server, keys.analystA!, { object: uploaded.body.object })
    expect(plain.stored).toBeUndefined()
    expect((await call(server, "/campaigns?limit=500", { key: keys.analystA })).body.campaigns).toHaveLength(ids.length)

    expect((await call(server, "/campaigns", { key: keys.analystB })).body.campaigns).toEqual([])
    expect((await call(server, `/campaigns/${ids[0]}`, { key: keys.analystB })).status).toBe(404)
  }, 180_000)

  test("objects are the tenant's: another tenant cannot analyse, list or delete them; viewers cannot upload", async () => {
    const foreign = await call(server, "/analyze/coordination", { key: keys.analystB, body: JSON.stringify({ object }), type: "application/json" })
    const unknown = await call(server, "/analyze/coordination", { key: keys.analystB, body: JSON.stringify({ object: "up-000000000000000000000000" }), type: "application/json" })
    expect(foreign.status).toBe(400)
    expect(foreign.body.detail).toBe(unknown.body.detail.replace("up-000000000000000000000000", object))
    expect((await call(server, "/uploads", { key: keys.analystB })).body.uploads).toEqual([])
    expect((await call(server, `/uploads/${object}`, { key: keys.analystB, method: "DELETE" })).status).toBe(404)
    expect((await call(server, "/uploads", { key: keys.analystA })).body.uploads.map((u: { object: string }) => u.object)).toContain(object)

    const viewerUpload = await call(server, "/uploads", { key: keys.viewerA, body: "x\n", type: "text/plain" })
    expect(viewerUpload.status).toBe(403)
    expect((await call(server, "/uploads", { key: keys.analystA, body: "", type: "text/plain" })).status).toBe(400)
    expect((await call(server, "/uploads", { body: "x\n", type: "text/plain" })).status).toBe(401)

    // Deleted, the name is gone for new analyses.
    expect((await call(server, `/uploads/${object}`, { key: keys.analystA, method: "DELETE" })).status).toBe(204)
    const gone = await call(server, "/analyze/coordination", { key: keys.analystA, body: JSON.stringify({ object }), type: "application/json" })
    expect(gone.status).toBe(400)
    expect(gone.body.detail).toContain("upload it again")
  }, 60_000)

  test("a port in use: exit 2 and one sentence", async () => {
    const port = new URL(server.url).port
    const other = await cli(["serve", "--port", port, "--quiet", "--data-dir", join(dir, "db2")], dir, env)
    expect(other.code).toBe(2)
    expect(other.stderr).toContain(`Port ${port} on 127.0.0.1 is already in use`)
  }, 60_000)
})

describe.skipIf(!HAVE_KAREIVA || !HAVE_NATS)("HTTP API analyses on the NATS pool (serve --nats)", () => {
  const dir = mkdtempSync(join(tmpdir(), "dshield-api-nats-"))
  let nats: Awaited<ReturnType<typeof startPrivateServer>> | undefined
  let worker: Awaited<ReturnType<typeof startWorkerWith>> | undefined
  afterAll(async () => {
    await stopServers()
    // The worker lost its NATS server in the test: it is not waited on to drain.
    worker?.kill("SIGTERM")
    if (worker !== undefined && !(await Promise.race([worker.exited.then(() => true), Bun.sleep(5000).then(() => false)]))) worker.kill("SIGKILL")
    await worker?.exited
    await nats?.stop()
  }, 30_000)

  test("the pool finds the campaigns `analyze FILE` finds; the pool's key comes from DSHIELD_API_KEY; ready names NATS", async () => {
    const env = childEnv({})
    nats = await startPrivateServer()
    // The pool checks keys of its own store; the server holds one of them for the pool.
    const workerStore = ["--data-dir", join(dir, "worker-db")]
    const poolKey = (await cliOk(["keys", "create", "--role", "analyst", "--tenant", "api-server", ...workerStore], dir, env)).trim()
    worker = await startWorkerWith(REPO, ["--roles", "api", "--pool", "1", "--nats", nats.url, "--require-keys", ...workerStore], env)

    const serverStore = ["--data-dir", join(dir, "server-db")]
    const key = (await cliOk(["keys", "create", "--role", "analyst", "--tenant", "acme", ...serverStore], dir, env)).trim()
    await cliOk(["analyze", KAREIVA, "--out", join(dir, "cli.json"), "--quiet"], dir, env)
    const reference = comparable(JSON.parse(readFileSync(join(dir, "cli.json"), "utf8")))

    // Without the pool's key, the pool refuses the analysis: the API reports it failed.
    const keyless = await serve(["--nats", nats.url, ...serverStore], dir, env)
    const uploaded = await call(keyless, "/uploads", { key, body: readFileSync(KAREIVA), type: "application/gzip" })
    expect(uploaded.status).toBe(201)
    const refused = await analyse(keyless, key, { object: uploaded.body.object })
    expect(refused.status).toBe("failed")
    expect(refused.error).toContain("Coord-Api-Key")
    await keyless.stop()

    const server = await serve(["--nats", nats.url, ...serverStore], dir, { ...env, DSHIELD_API_KEY: poolKey })
    const ready = await call(server, "/health/ready")
    expect(ready.status).toBe(200)
    expect(ready.body.checks.map((c: { name: string; ok: boolean }) => [c.name, c.ok])).toEqual([["embedded store", true], ["nats", true]])
    const done = await analyse(server, key, { object: uploaded.body.object })
    expect(done.status).toBe("completed")
    expect(comparable(done.result)).toEqual(reference)

    // NATS gone: ready answers 503 naming it, live still answers.
    await nats.stop()
    nats = undefined
    const notReady = await call(server, "/health/ready")
    expect(notReady.status).toBe(503)
    expect(notReady.body.failed).toEqual(["nats"])
    expect((await call(server, "/health/live")).status).toBe(200)
  }, 300_000)

  test("serve --nats with no NATS server there: exit 2 and one sentence", async () => {
    const r = await cli(["serve", "--port", "0", "--quiet", "--nats", "nats://127.0.0.1:1", "--data-dir", join(dir, "dead-db")], dir, childEnv({}))
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
    expect(r.stderr).toContain("NATS")
  }, 60_000)
})

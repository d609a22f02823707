/**
 * The NATS API with `worker --require-keys`, on a private nats-server: the HTTP API's keys,
 * tokens and roles decide who may call coord.v1.* (the credential in the Coord-Api-Key
 * header). Without a credential, with a wrong or revoked one: 401 `unauthorized`; a viewer
 * asking for an analysis: 403 `forbidden`; an analyst: served. The CLI sends DSHIELD_API_KEY.
 */
import { afterAll, describe, expect, test } from "bun:test"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { connect, headers, type NatsConnection, ServiceError } from "nats"
import { REPO, runCli } from "../cli/helpers.ts"
import { natsServerAvailable, startPrivateServer, startWorkerWith } from "./natsAuthServer.ts"

const HAVE_NATS = natsServerAvailable()

/** Makes keys of tenant acme in the store `keys create` is pointed at; each key's text. */
const keyMaker = (store: ReadonlyArray<string>) => (role: string): string => {
  const made = runCli(["keys", "create", "--role", role, "--tenant", "acme", ...store])
  expect(made.code).toBe(0)
  return made.stdout.trim()
}

describe.skipIf(!HAVE_NATS)("coord.v1 with worker --require-keys", () => {
  let worker: Awaited<ReturnType<typeof startWorkerWith>> | undefined
  let nc: NatsConnection | undefined
  let server: Awaited<ReturnType<typeof startPrivateServer>> | undefined
  afterAll(async () => {
    worker?.kill("SIGTERM")
    await worker?.exited
    await nc?.close()
    await server?.stop()
  })

  const call = async (endpoint: string, body: unknown, credential?: string) => {
    const h = headers()
    if (credential !== undefined) h.set("Coord-Api-Key", credential)
    const reply = await nc!.request(`coord.v1.${endpoint}`, new TextEncoder().encode(JSON.stringify(body)), { timeout: 60_000, headers: h })
    const payload = reply.data.length > 0 ? JSON.parse(new TextDecoder().decode(reply.data)) : undefined
    return ServiceError.isServiceError(reply) ? { code: ServiceError.toServiceError(reply)!.code, payload } : { code: 200, payload }
  }

  test("no, wrong or revoked credentials are 401, a viewer's analysis 403, an analyst's key and token are served", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dshield-nats-keys-"))
    const store = ["--data-dir", join(dir, "db")]
    const key = keyMaker(store)
    const viewer = key("viewer")
    const analyst = key("analyst")
    const revoked = key("analyst")
    expect(runCli(["keys", "revoke", revoked.split("_")[1]!, ...store]).code).toBe(0)
    // A known token key ring, so the test can sign an access token as the HTTP API would.
    const secret = Buffer.alloc(32, 7).toString("base64")
    const env = { ...process.env, DSHIELD_JWT_KEYS: `t1=${secret}` }
    server = await startPrivateServer()
    worker = await startWorkerWith(REPO, ["--roles", "api", "--pool", "1", "--nats", server.url, "--require-keys", ...store], env)
    nc = await connect({ servers: server.url })
    const sessions = [
      { id: "s1", src_ip: "203.0.113.1" },
      { id: "s2", src_ip: "203.0.113.2" }
    ]

    const none = await call("status", {})
    expect(none.code).toBe(401)
    expect(none.payload).toMatchObject({ _tag: "ApiError", code: "unauthorized" })
    expect(none.payload.message).toContain("Coord-Api-Key")
    const wrong = await call("status", {}, `${analyst.slice(0, -4)}AAAA`)
    expect(wrong.code).toBe(401)
    expect(wrong.payload.message).toContain("not valid")
    const gone = await call("status", {}, revoked)
    expect(gone.code).toBe(401)
    expect(gone.payload.message).toContain("revoked")
    expect((await call("status", {}, "Bearer not.a.token")).code).toBe(401)

    // Viewers read; only analysts analyse.
    expect((await call("status", {}, viewer)).code).toBe(200)
    const forbidden = await call("analyze", { sessions }, viewer)
    expect(forbidden.code).toBe(403)
    expect(forbidden.payload).toMatchObject({ _tag: "ApiError", code: "forbidden" })

    // An analyst's key, and an access token issued from it, reach the analysis (which then
    // refuses these two sketchy sessions on their own merits, 400, not 401/403).
    const served = await call("analyze", { sessions }, analyst)
    expect([200, 400]).toContain(served.code)
    expect(served.payload?.code).not.toBe("unauthorized")
    const { issueAccessToken, loadKeyRing } = await import("../../src/api/auth/Tokens.ts")
    const ring = loadKeyRing({ env: `t1=${secret}`, fallbackPath: join(dir, "unused.json") })
    const { token } = await issueAccessToken(ring, { keyId: analyst.split("_")[1]!, tenant: "acme", role: "analyst" }, Math.floor(Date.now() / 1000))
    expect((await call("status", {}, `Bearer ${token}`)).code).toBe(200)

    // The CLI: refused without DSHIELD_API_KEY (one sentence, exit 1), analysed with it.
    expect(runCli(["generate", "--sessions", "200", "--seed", "3", "--out", dir, "--quiet"]).code).toBe(0)
    const input = join(dir, "cowrie.json")
    const cli = (apiKey: string | undefined) =>
      Bun.spawnSync([process.execPath, resolve(REPO, "src/cli/main.ts"), "analyze", "--nats", server!.url, "--quiet", "--out", join(dir, "r.json"), input], {
        cwd: REPO,
        env: { ...process.env, DSHIELD_API_KEY: apiKey }
      })
    const refused = cli(undefined)
    expect(refused.exitCode).not.toBe(0)
    expect(refused.stderr.toString()).toContain("Coord-Api-Key")
    const ok = cli(analyst)
    expect(ok.stderr.toString()).toBe("")
    expect(ok.exitCode).toBe(0)
  }, 120_000)
})

describe.skipIf(!HAVE_NATS)("durable jobs with worker --roles jobs --require-keys", () => {
  let worker: Awaited<ReturnType<typeof startWorkerWith>> | undefined
  let server: Awaited<ReturnType<typeof startPrivateServer>> | undefined
  afterAll(async () => {
    worker?.kill("SIGTERM")
    await worker?.exited
    await server?.stop()
  })

  test("a job published without a key, with a wrong one or a viewer's is refused with the reason; an analyst's runs", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dshield-jobs-keys-"))
    const store = ["--data-dir", join(dir, "db")]
    const key = keyMaker(store)
    const viewer = key("viewer")
    const analyst = key("analyst")
    server = await startPrivateServer()
    worker = await startWorkerWith(REPO, ["--roles", "jobs", "--pool", "1", "--nats", server.url, "--require-keys", ...store])
    expect(runCli(["generate", "--sessions", "200", "--seed", "4", "--out", dir, "--quiet"]).code).toBe(0)
    const durable = (apiKey: string | undefined) =>
      Bun.spawnSync([process.execPath, resolve(REPO, "src/cli/main.ts"), "analyze", "--nats", server!.url, "--durable", "--quiet", "--out", join(dir, "r.json"), join(dir, "cowrie.json")], {
        cwd: REPO,
        env: { ...process.env, DSHIELD_API_KEY: apiKey }
      })
    const none = durable(undefined)
    expect(none.exitCode).toBe(1)
    expect(none.stderr.toString()).toContain("unauthorized: Send an API key")
    const wrong = durable(`${analyst.slice(0, -4)}AAAA`)
    expect(wrong.exitCode).toBe(1)
    expect(wrong.stderr.toString()).toContain("unauthorized")
    const weak = durable(viewer)
    expect(weak.exitCode).toBe(1)
    expect(weak.stderr.toString()).toContain("forbidden: coord.v1.analyze needs the analyst role")
    const ok = durable(analyst)
    expect(ok.stderr.toString()).toBe("")
    expect(ok.exitCode).toBe(0)
    expect(JSON.parse(await Bun.file(join(dir, "r.json")).text()).input.sessions).toBeGreaterThan(0)
  }, 180_000)
})

/**
 * NATS security, against a second nats-server started from deploy/nats/nats-server.conf
 * (test passwords, its own JetStream store, a free port): a client without credentials is
 * refused; a client cannot subscribe to worker subjects or publish to actor subjects; the
 * worker and a client, each with its own credentials, complete an analysis end to end (inputs
 * uploaded by claim-check). Also the connection options every command builds.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Redacted from "effect/Redacted"
import { connect, type NatsConnection } from "nats"
import { connectionOptions, redactUrl, resolveNatsSettings } from "../../actors/transport/NatsConnection.ts"
import { REPO, runCli, withoutRunTimes } from "../cli/helpers.ts"
import { type AuthServer, natsServerAvailable, passwordOf, startAuthServer, startTlsServer, startWorkerWith } from "./natsAuthServer.ts"

const AVAILABLE = natsServerAvailable()

/** Runs the CLI with extra environment (NATS_URL and friends). */
const runCliEnv = (args: ReadonlyArray<string>, env: Record<string, string>) => {
  const r = Bun.spawnSync([process.execPath, join(REPO, "src/cli/main.ts"), ...args], { cwd: REPO, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" })
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() }
}

/** The first asynchronous permission error the connection reports (or undefined within `ms`). */
const nextPermissionError = (nc: NatsConnection, ms: number): Promise<string | undefined> =>
  new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms)
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === "error" && /PERMISSIONS_VIOLATION/.test(String(s.data))) {
          clearTimeout(timer)
          resolve(String(s.data))
          return
        }
      }
    })()
  })

describe.skipIf(!AVAILABLE)("NATS security with deploy/nats/nats-server.conf", () => {
  let server: AuthServer
  const connections: Array<NatsConnection> = []
  beforeAll(async () => {
    server = await startAuthServer(REPO)
  }, 60_000)
  afterAll(async () => {
    for (const nc of connections) await nc.close().catch(() => undefined)
    await server?.stop()
  })

  test("a client without credentials (or with a wrong password) is refused, and the CLI says what to do", async () => {
    for (const options of [{}, { user: "client", pass: "wrong" }, { token: "not-a-user" }]) {
      const error = await connect({ servers: server.url, ...options, reconnect: false }).then((nc) => nc.close().then(() => undefined), (e: unknown) => e)
      expect((error as { code?: string }).code).toBe("AUTHORIZATION_VIOLATION")
    }
    const dir = mkdtempSync(join(tmpdir(), "dshield-auth-cli-"))
    writeFileSync(join(dir, "x.json"), "{}\n")
    const r = runCli(["analyze", "--nats", server.url, "--quiet", join(dir, "x.json")])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("refused the credentials")
    // The password never appears in what is printed.
    const wrong = runCli(["analyze", "--nats", `nats://client:s3cret-wrong@127.0.0.1:${server.port}`, "--quiet", join(dir, "x.json")])
    expect(wrong.code).toBe(2)
    expect(wrong.stderr).not.toContain("s3cret-wrong")
    expect(wrong.stderr).toContain("***@127.0.0.1")
  }, 60_000)

  test("a client cannot subscribe to worker subjects nor publish to actor subjects or the job queue", async () => {
    const nc = await connect({ servers: server.url, user: "client", pass: passwordOf("client") })
    connections.push(nc)
    // Subscriptions: the API endpoints and actor subjects belong to workers.
    for (const subject of ["coord.v1.analyze", "coord.actor.orchestrator.analyze", "coord.actor.>", "$SRV.PING"]) {
      const error = await new Promise<{ code?: string } | null>((resolve) => {
        nc.subscribe(subject, { callback: (err) => resolve(err as { code?: string } | null) })
        setTimeout(() => resolve(null), 2000)
      })
      expect(error?.code).toBe("PERMISSIONS_VIOLATION")
    }
    // Requests to actor subjects are refused by the server.
    const refused = await nc.request("coord.actor.orchestrator.analyze", new TextEncoder().encode("{}"), { timeout: 2000 }).then(() => undefined, (e: unknown) => e)
    expect((refused as { code?: string }).code).toBe("PERMISSIONS_VIOLATION")
    // Publishing a durable job or to an actor is refused too (reported asynchronously).
    for (const subject of ["coord.jobs.analyze", "coord.actor.pattern-analyzer.patterns"]) {
      const pending = nextPermissionError(nc, 2000)
      nc.publish(subject, new TextEncoder().encode("{}"))
      expect(await pending).toContain("PERMISSIONS_VIOLATION")
      // The server writes its log on its own schedule: wait for the line (up to 5 s).
      const line = `Publish Violation - User "client", Subject "${subject}"`
      for (let i = 0; i < 100 && !server.log().includes(line); i++) await Bun.sleep(50)
      expect(server.log()).toContain(line)
    }
    // An agent may only answer: it cannot call the client API.
    const agent = await connect({ servers: server.url, user: "agent", pass: passwordOf("agent") })
    connections.push(agent)
    const agentCall = await agent.request("coord.v1.status", new TextEncoder().encode("{}"), { timeout: 2000 }).then(() => undefined, (e: unknown) => e)
    expect((agentCall as { code?: string }).code).toBe("PERMISSIONS_VIOLATION")
  }, 60_000)

  test("a worker and a client, each with its credentials, complete an analysis end to end (claim-check upload, no shared path)", async () => {
    const logBefore = server.log().length
    const dir = mkdtempSync(join(tmpdir(), "dshield-auth-e2e-"))
    expect(runCli(["generate", "--sessions", "400", "--seed", "9", "--out", dir, "--quiet"]).code).toBe(0)
    const input = join(dir, "cowrie.json")
    const local = runCli(["analyze", "--quiet", "--out", join(dir, "local.json"), input])
    expect(local.stderr).toBe("")
    // The worker reads no local paths (none allowed): the input must arrive by upload.
    const worker = await startWorkerWith(REPO, ["--roles", "api", "--pool", "1", "--nats", server.urlFor("worker")])
    try {
      const remote = runCli(["analyze", "--nats", server.urlFor("client"), "--timeout", "2m", "--quiet", "--out", join(dir, "remote.json"), input])
      expect(remote.stderr).toBe("")
      expect(remote.code).toBe(0)
      expect(withoutRunTimes(readFileSync(join(dir, "remote.json"), "utf8"))).toBe(withoutRunTimes(readFileSync(join(dir, "local.json"), "utf8")))
      // The same through NATS_URL, and ops status with the ops user's credentials.
      const viaEnv = runCliEnv(["analyze", "--nats", "", "--quiet", "--out", join(dir, "env.json"), input], { NATS_URL: server.urlFor("client") })
      expect(viaEnv.code).toBe(0)
      const status = runCliEnv(["ops", "status", "--data-dir", join(dir, "store")], { NATS_URL: server.urlFor("ops") })
      const actors = (JSON.parse(status.stdout) as { actors: { nats: string; instances?: Array<{ service: string }> } }).actors
      expect(actors.nats).not.toContain(passwordOf("ops"))
      expect(actors.instances?.some((i) => i.service === "coord")).toBe(true)
    } finally {
      worker.kill("SIGTERM")
      await worker.exited
    }
    // Nothing the client, the worker or ops did here was refused by the server.
    expect(server.log().slice(logBefore)).not.toMatch(/Violation - User "(client|worker|ops)"/)
  }, 180_000)

  test("a submitter's durable job is run by a jobs worker with their own credentials; agents serve with theirs", async () => {
    const logBefore = server.log().length
    const dir = mkdtempSync(join(tmpdir(), "dshield-auth-jobs-"))
    expect(runCli(["generate", "--sessions", "300", "--seed", "10", "--out", dir, "--quiet"]).code).toBe(0)
    const input = join(dir, "cowrie.json")
    expect(runCli(["analyze", "--quiet", "--out", join(dir, "local.json"), input]).code).toBe(0)
    const jobs = await startWorkerWith(REPO, ["--roles", "jobs", "--pool", "1", "--nats", server.urlFor("jobs")])
    const agents = await startWorkerWith(REPO, ["--roles", "pattern-analyzer,confidence-scorer", "--pool", "1", "--nats", server.urlFor("agent")])
    try {
      const r = runCli(["analyze", "--nats", server.urlFor("submitter"), "--durable", "--timeout", "2m", "--quiet", "--out", join(dir, "job.json"), input])
      expect(r.stderr).toBe("")
      expect(r.code).toBe(0)
      expect(withoutRunTimes(readFileSync(join(dir, "job.json"), "utf8"))).toBe(withoutRunTimes(readFileSync(join(dir, "local.json"), "utf8")))
      // The client user may call coord.v1.* only: a durable job is refused, and the refusal names the user to use.
      const asClient = runCli(["analyze", "--nats", server.urlFor("client"), "--durable", "--timeout", "30s", "--quiet", "--out", join(dir, "refused.json"), input])
      expect(asClient.code).toBe(1)
      expect(asClient.stderr).toContain("the NATS user may not submit jobs: use the submitter user of deploy/nats")
    } finally {
      for (const w of [jobs, agents]) {
        w.kill("SIGTERM")
        await w.exited
      }
    }
    // The jobs worker and the agents were refused nothing; the submitter only its (ignored)
    // attempt to create the job queue's streams, which the jobs workers own.
    const log = server.log().slice(logBefore)
    expect(log).not.toMatch(/Violation - User "(jobs|agent)"/)
    for (const line of log.split("\n").filter((l) => l.includes('Violation - User "submitter"'))) expect(line).toMatch(/\$JS\.API\.(STREAM|CONSUMER)\.(INFO|CREATE)/)
  }, 180_000)
})

describe.skipIf(!AVAILABLE)("NATS over mutual TLS", () => {
  test("with --nats-tls-ca/--nats-tls-cert/--nats-tls-key a command connects; without the client certificate it is refused", async () => {
    const tls = await startTlsServer()
    if (tls === undefined) {
      console.warn("NOTICE: openssl is not installed; the TLS connection test is SKIPPED.")
      return
    }
    try {
      const dir = mkdtempSync(join(tmpdir(), "dshield-tls-"))
      const status = (args: Array<string>) =>
        (JSON.parse(runCli(["ops", "status", "--data-dir", join(dir, "store"), "--nats", tls.url, ...args]).stdout) as { actors: { instances?: unknown; error?: string } }).actors
      const ok = status(["--nats-tls-ca", tls.files.ca, "--nats-tls-cert", tls.files.cert, "--nats-tls-key", tls.files.key])
      expect(ok.error).toBeUndefined()
      expect(Array.isArray(ok.instances)).toBe(true)
      // The same through the environment.
      const viaEnv = runCliEnv(["ops", "status", "--data-dir", join(dir, "store"), "--nats", tls.url], { NATS_TLS_CA: tls.files.ca, NATS_TLS_CERT: tls.files.cert, NATS_TLS_KEY: tls.files.key })
      expect((JSON.parse(viaEnv.stdout) as { actors: { instances?: unknown } }).actors.instances).toBeDefined()
      // Without the client certificate the server refuses the connection.
      expect(status(["--nats-tls-ca", tls.files.ca]).error).toBeDefined()
    } finally {
      await tls.stop()
    }
  }, 240_000)
})

describe("NATS connection options (one builder for every command)", () => {
  const options = (flags: Parameters<typeof resolveNatsSettings>[0], env: Record<string, string> = {}) =>
    Effect.runPromiseExit(
      resolveNatsSettings(flags).pipe(
        Effect.flatMap((s) => connectionOptions(s)),
        Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env }))
      )
    )
  const ok = async (flags: Parameters<typeof resolveNatsSettings>[0], env: Record<string, string> = {}) => {
    const exit = await options(flags, env)
    if (!Exit.isSuccess(exit)) throw new Error(String(exit.cause))
    return exit.value
  }
  const failure = async (flags: Parameters<typeof resolveNatsSettings>[0], env: Record<string, string> = {}) => {
    const exit = await options(flags, env)
    expect(Exit.isFailure(exit)).toBe(true)
    return String(Exit.isFailure(exit) ? exit.cause : "")
  }

  test("user and password come out of the URL (percent-decoded); a lone user part is a token; NATS_URL is the fallback", async () => {
    const o = await ok({ url: "nats://worker:p%40ss@nats1:4222,nats://nats2:4222" })
    expect(o.servers).toEqual(["nats://nats1:4222", "nats://nats2:4222"])
    expect(o.user).toBe("worker")
    expect(o.pass).toBe("p@ss")
    const t = await ok({ url: "nats://s3cr3t@nats1:4222" })
    expect(t.token).toBe("s3cr3t")
    expect(t.user).toBeUndefined()
    const env = await ok({}, { NATS_URL: "nats://ops:pw@h:4333", NATS_TOKEN: "" })
    expect(env.servers).toEqual(["nats://h:4333"])
    expect(env.user).toBe("ops")
    const flagToken = await ok({ url: "nats://h:1" }, { NATS_TOKEN: "from-env" })
    expect(flagToken.token).toBe("from-env")
    expect(await failure({ url: "nats://u:p@h:1", token: "t" })).toContain("not both")
    expect(await failure({ url: "http://h:1" })).toContain("use nats://")
    expect(redactUrl("nats://u:pw@h:1,tok@h2:2")).toBe("nats://***@h:1,***@h2:2")
  })

  test("a .creds file and TLS files are checked and passed on; missing files are one sentence", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dshield-nats-opts-"))
    const creds = join(dir, "user.creds")
    writeFileSync(creds, "-----BEGIN NATS USER JWT-----\neyJ0eXAiOiJKV1QifQ.e30.x\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\nSUAIBDPBAUTWCWBKIO6XHQNINK5FWJW4OHLXC3HQ2KFE4PEJUA44CNHTC4\n------END USER NKEY SEED------\n")
    const withCreds = await ok({ url: "nats://h:1", creds })
    expect(typeof withCreds.authenticator).toBe("function")
    expect(await failure({ url: "nats://h:1", creds: join(dir, "missing.creds") })).toContain("Cannot read the NATS credentials file")
    writeFileSync(join(dir, "not.creds"), "hello\n")
    expect(await failure({ url: "nats://h:1", creds: join(dir, "not.creds") })).toContain("is not a NATS .creds file")
    for (const f of ["ca.pem", "cert.pem", "key.pem"]) writeFileSync(join(dir, f), "-----BEGIN CERTIFICATE-----\n")
    const tls = await ok({ url: "nats://h:1", tlsCa: join(dir, "ca.pem"), tlsCert: join(dir, "cert.pem"), tlsKey: join(dir, "key.pem") })
    expect(tls.tls).toEqual({ caFile: join(dir, "ca.pem"), certFile: join(dir, "cert.pem"), keyFile: join(dir, "key.pem") })
    expect((await ok({ url: "tls://h:1" })).tls).toEqual({})
    expect(await failure({ url: "nats://h:1", tlsCert: join(dir, "cert.pem") })).toContain("--nats-tls-key")
    const viaEnv = await ok({ url: "nats://h:1" }, { NATS_CREDS: creds, NATS_TLS_CA: join(dir, "ca.pem") })
    expect(typeof viaEnv.authenticator).toBe("function")
    expect(viaEnv.tls).toEqual({ caFile: join(dir, "ca.pem") })
    // Secrets stay redacted in the decoded settings.
    const settings = await Effect.runPromise(resolveNatsSettings({ url: "nats://h:1", token: "t0k" }))
    expect(String(settings.token)).not.toContain("t0k")
    expect(Redacted.value(settings.token!)).toBe("t0k")
  })
})

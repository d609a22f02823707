/**
 * A second nats-server for the security tests, started from deploy/nats/nats-server.conf
 * (copied into a temporary directory, with its own JetStream store, a free port and test
 * passwords hashed with bcrypt into passwords.conf). Skips visibly when nats-server is not
 * installed, unless REQUIRE_SERVICES=1.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { reachable, REQUIRE_SERVICES } from "./services.ts"

export const NATS_SERVER_BINARY = [process.env.NATS_SERVER_BIN, "/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"].find(
  (p): p is string => p !== undefined && existsSync(p)
)

/** Whether nats-server can be started here; a notice (or, under REQUIRE_SERVICES=1, an error) when not. */
export const natsServerAvailable = (): boolean => {
  if (NATS_SERVER_BINARY !== undefined) return true
  const message = "nats-server is not installed (looked in NATS_SERVER_BIN, /usr/sbin, /usr/bin, /usr/local/bin)"
  if (REQUIRE_SERVICES) throw new Error(`${message} and REQUIRE_SERVICES=1: install it (see ARCHITECTURE.md §6).`)
  console.warn(`NOTICE: ${message}; the NATS security tests are SKIPPED.`)
  return false
}

export const ROLES = ["client", "submitter", "worker", "jobs", "agent", "ops", "sensor", "live"] as const
export type Role = (typeof ROLES)[number]

/** Test passwords (not secrets: the server lives only for the test). */
export const passwordOf = (role: Role): string => `test-${role}-password`

const freePort = (): Promise<number> =>
  new Promise((res, rej) => {
    const server = createServer()
    server.once("error", rej)
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port
      server.close(() => res(port))
    })
  })

export interface AuthServer {
  readonly port: number
  /** nats://role:password@127.0.0.1:port */
  readonly urlFor: (role: Role) => string
  readonly url: string
  readonly log: () => string
  readonly stop: () => Promise<void>
}

export const startAuthServer = async (repo: string): Promise<AuthServer> => {
  const dir = mkdtempSync(join(tmpdir(), "dshield-nats-auth-"))
  const port = await freePort()
  const config = readFileSync(resolve(repo, "deploy/nats/nats-server.conf"), "utf8")
    .replace(/^listen: .*$/m, `listen: 127.0.0.1:${port}`)
    .replace(/store_dir: .*$/m, `store_dir: ${JSON.stringify(join(dir, "jetstream"))}`)
  if (!config.includes(`listen: 127.0.0.1:${port}`)) throw new Error("deploy/nats/nats-server.conf has no listen line to replace")
  writeFileSync(join(dir, "nats-server.conf"), config)
  const hashes: Array<string> = []
  for (const role of ROLES) {
    const hash = await Bun.password.hash(passwordOf(role), { algorithm: "bcrypt", cost: 4 })
    hashes.push(`${role.toUpperCase()}_PASSWORD_HASH: ${JSON.stringify(hash)}`)
  }
  writeFileSync(join(dir, "passwords.conf"), `${hashes.join("\n")}\n`, { mode: 0o600 })
  const logFile = join(dir, "server.log")
  const check = Bun.spawnSync([NATS_SERVER_BINARY!, "-c", join(dir, "nats-server.conf"), "-t"], { stdout: "pipe", stderr: "pipe" })
  if (check.exitCode !== 0) throw new Error(`deploy/nats/nats-server.conf does not parse: ${check.stderr.toString()}`)
  const server = Bun.spawn([NATS_SERVER_BINARY!, "-c", join(dir, "nats-server.conf"), "-l", logFile], { stdout: "ignore", stderr: "ignore" })
  for (let i = 0; i < 100 && !(await reachable(port)); i++) await Bun.sleep(50)
  if (!(await reachable(port))) throw new Error(`nats-server did not start on 127.0.0.1:${port}: ${existsSync(logFile) ? readFileSync(logFile, "utf8") : ""}`)
  return {
    port,
    url: `nats://127.0.0.1:${port}`,
    urlFor: (role) => `nats://${role}:${passwordOf(role)}@127.0.0.1:${port}`,
    log: () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : ""),
    stop: async () => {
      server.kill("SIGTERM")
      await server.exited
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** Starts `dshield-coord worker` with these arguments; resolves once it reports ready. */
export const startWorkerWith = async (repo: string, args: ReadonlyArray<string>, env: Record<string, string | undefined> = process.env) => {
  const worker = Bun.spawn([process.execPath, resolve(repo, "src/cli/main.ts"), "worker", ...args], { cwd: repo, env, stdout: "ignore", stderr: "pipe" })
  const reader = worker.stderr.getReader()
  let text = ""
  while (!text.includes("worker ready")) {
    const { value, done } = await reader.read()
    if (done) throw new Error(`worker exited before it was ready: ${text}`)
    text += new TextDecoder().decode(value)
  }
  reader.releaseLock()
  return worker
}

/**
 * A private nats-server with JetStream and no auth on a free port: tests that must know which
 * worker answers (queue groups are shared by everything on a server) get a server of their own.
 */
export const startPrivateServer = async (): Promise<{ readonly url: string; readonly stop: () => Promise<void> }> => {
  const dir = mkdtempSync(join(tmpdir(), "dshield-nats-private-"))
  const port = await freePort()
  const server = Bun.spawn([NATS_SERVER_BINARY!, "-a", "127.0.0.1", "-p", String(port), "-js", "-sd", join(dir, "jetstream")], { stdout: "ignore", stderr: "ignore" })
  for (let i = 0; i < 100 && !(await reachable(port)); i++) await Bun.sleep(50)
  if (!(await reachable(port))) throw new Error(`a private nats-server did not start on 127.0.0.1:${port}`)
  return {
    url: `nats://127.0.0.1:${port}`,
    stop: async () => {
      server.kill("SIGTERM")
      await server.exited
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/**
 * A nats-server requiring mutual TLS, with a throw-away CA, server certificate (for
 * 127.0.0.1) and client certificate made by openssl; undefined when openssl is missing.
 */
export const startTlsServer = async (): Promise<{ readonly url: string; readonly files: Record<"ca" | "cert" | "key", string>; readonly stop: () => Promise<void> } | undefined> => {
  if (Bun.which("openssl") === null) return undefined
  const dir = mkdtempSync(join(tmpdir(), "dshield-nats-tls-"))
  const f = (name: string) => join(dir, name)
  const openssl = (...args: Array<string>): void => {
    const r = Bun.spawnSync(["openssl", ...args], { cwd: dir, stdout: "pipe", stderr: "pipe" })
    if (r.exitCode !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr.toString()}`)
  }
  writeFileSync(f("san.ext"), "subjectAltName=IP:127.0.0.1\n")
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f("ca.key"), "-out", f("ca.pem"), "-days", "1", "-subj", "/CN=dshield-test-ca")
  openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f("server.key"), "-out", f("server.csr"), "-subj", "/CN=127.0.0.1")
  openssl("x509", "-req", "-in", f("server.csr"), "-CA", f("ca.pem"), "-CAkey", f("ca.key"), "-CAcreateserial", "-out", f("server.pem"), "-days", "1", "-extfile", f("san.ext"))
  openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f("client.key"), "-out", f("client.csr"), "-subj", "/CN=dshield-test-client")
  openssl("x509", "-req", "-in", f("client.csr"), "-CA", f("ca.pem"), "-CAkey", f("ca.key"), "-CAcreateserial", "-out", f("client.pem"), "-days", "1")
  const port = await freePort()
  const server = Bun.spawn(
    [NATS_SERVER_BINARY!, "-a", "127.0.0.1", "-p", String(port), "-js", "-sd", f("jetstream"), "--tlsverify", "--tlscert", f("server.pem"), "--tlskey", f("server.key"), "--tlscacert", f("ca.pem")],
    { stdout: "ignore", stderr: "ignore" }
  )
  for (let i = 0; i < 100 && !(await reachable(port)); i++) await Bun.sleep(50)
  if (!(await reachable(port))) throw new Error(`a TLS nats-server did not start on 127.0.0.1:${port}`)
  return {
    url: `nats://127.0.0.1:${port}`,
    files: { ca: f("ca.pem"), cert: f("client.pem"), key: f("client.key") },
    stop: async () => {
      server.kill("SIGTERM")
      await server.exited
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/**
 * A private nats-server with a connection to it and the workers a test starts on it; `close`
 * stops the workers (SIGTERM), the connection and the server. For `afterAll`.
 */
export const privatePool = () => {
  let server: Awaited<ReturnType<typeof startPrivateServer>> | undefined
  let nc: import("nats").NatsConnection | undefined
  const workers: Array<Awaited<ReturnType<typeof startWorkerWith>>> = []
  return {
    start: async () => {
      server = await startPrivateServer()
      nc = await (await import("nats")).connect({ servers: server.url })
      return { url: server.url, nc }
    },
    worker: async (repo: string, args: ReadonlyArray<string>, env: Record<string, string | undefined> = process.env) => {
      const worker = await startWorkerWith(repo, [...args, "--nats", server!.url], env)
      workers.push(worker)
      return worker
    },
    close: async () => {
      for (const w of workers) w.kill("SIGTERM")
      await Promise.all(workers.map((w) => w.exited))
      await nc?.close()
      await server?.stop()
    }
  }
}

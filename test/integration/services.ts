/**
 * Real services for integration tests. A test that needs a server skips with a visible
 * notice when it is not reachable — except under REQUIRE_SERVICES=1 (CI), where a missing
 * server fails the run.
 */
import { connect } from "node:net"

export const REQUIRE_SERVICES = process.env.REQUIRE_SERVICES === "1"

export const reachable = (port: number, host = "127.0.0.1", timeoutMs = 1000): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect({ port, host })
    const done = (ok: boolean): void => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once("connect", () => done(true))
    socket.once("error", () => done(false))
  })

/**
 * Whether tests of `name` can run. Throws under REQUIRE_SERVICES=1 when the server is
 * missing; otherwise prints a notice and returns false.
 */
export const serviceAvailable = async (name: string, port: number): Promise<boolean> => {
  if (await reachable(port)) return true
  const message = `${name} is not reachable on 127.0.0.1:${port}`
  if (REQUIRE_SERVICES) throw new Error(`${message} and REQUIRE_SERVICES=1: start it (see ARCHITECTURE.md §6).`)
  console.warn(`NOTICE: ${message}; its integration tests are SKIPPED.`)
  return false
}

export const POSTGRES_ADMIN_URL = process.env.TEST_POSTGRES_ADMIN_URL ?? "postgres://root@127.0.0.1:5432/postgres"
export const postgresUrlFor = (database: string): string => POSTGRES_ADMIN_URL.replace(/\/[^/?]*(\?|$)/, `/${database}$1`)

/** Starts `dshield-coord worker` and resolves once it reports ready on stderr. */
export const startWorker = async (
  repo: string,
  roles: string,
  pool = 1,
  env: Record<string, string | undefined> = process.env
) => {
  const { resolve } = await import("node:path")
  const worker = Bun.spawn([process.execPath, resolve(repo, "src/cli/main.ts"), "worker", "--roles", roles, "--pool", String(pool), "--nats", "nats://127.0.0.1:4222"], {
    cwd: repo,
    env,
    stdout: "ignore",
    stderr: "pipe"
  })
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
 * A fresh PostgreSQL database for one test file (created now, dropped by `drop`), or
 * undefined when PostgreSQL is not available.
 */
export const freshDatabase = (prefix: string, available: boolean): { readonly url: string; readonly drop: () => void } | undefined => {
  if (!available) return undefined
  const name = `${prefix}_${process.pid}`
  const psql = (statement: string): void => {
    const r = Bun.spawnSync(["psql", POSTGRES_ADMIN_URL, "-q", "-c", statement], { stdout: "pipe", stderr: "pipe" })
    if (r.exitCode !== 0) throw new Error(`psql failed: ${r.stderr.toString()}`)
  }
  psql(`DROP DATABASE IF EXISTS ${name}`)
  psql(`CREATE DATABASE ${name}`)
  return { url: postgresUrlFor(name), drop: () => psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) }
}

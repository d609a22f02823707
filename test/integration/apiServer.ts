/**
 * `dshield-coord serve` and the CLI as child processes, for the HTTP API's tests: the real
 * server on loopback (port 0, its address read from stdout), stopped with SIGTERM.
 */
import { resolve } from "node:path"

const MAIN = resolve(import.meta.dir, "../../src/cli/main.ts")
const decoder = new TextDecoder()


/** The environment of a child: this one's, without anything that would configure the API. */
export const childEnv = (extra: Record<string, string>): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(DATABASE_URL|REDIS_URL|DSHIELD_(RATE_LIMIT_.*|DAILY_ANALYSES|JWT_KEYS|WEBHOOK_SECRET|DATA_DIR))$/.test(k)) env[k] = v
  }
  return { ...env, ...extra }
}

export interface CliRun {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

export const cli = async (args: ReadonlyArray<string>, cwd: string, env: Record<string, string>): Promise<CliRun> => {
  const proc = Bun.spawn([process.execPath, MAIN, ...args], { cwd, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" })
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  return { code, stdout, stderr }
}

export const cliOk = async (args: ReadonlyArray<string>, cwd: string, env: Record<string, string>): Promise<string> => {
  const r = await cli(args, cwd, env)
  if (r.code !== 0) throw new Error(`dshield-coord ${args.join(" ")} failed (${r.code}): ${r.stderr}`)
  return r.stdout
}

export interface Serving {
  readonly url: string
  readonly stderr: () => string
  readonly stop: () => Promise<void>
}

const running: Array<Serving> = []

/** Starts `dshield-coord serve` and resolves with the base URL it prints first on stdout. */
export const serve = async (args: ReadonlyArray<string>, cwd: string, env: Record<string, string>): Promise<Serving> => {
  const proc = Bun.spawn([process.execPath, MAIN, "serve", "--port", "0", "--quiet", ...args], { cwd, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" })
  let err = ""
  void (async () => {
    for await (const chunk of proc.stderr) err += decoder.decode(chunk)
  })()
  const reader = proc.stdout.getReader()
  let out = ""
  while (!out.includes("\n")) {
    const { value, done } = await reader.read()
    if (done) throw new Error(`serve exited before printing its address: ${err}`)
    out += decoder.decode(value)
  }
  void (async () => {
    while (!(await reader.read()).done) {
      // keep the pipe drained
    }
  })().catch(() => undefined)
  let stopped: Promise<void> | undefined
  const server: Serving = {
    url: out.split("\n")[0]!.trim(),
    stderr: () => err,
    stop: () =>
      (stopped ??= (async () => {
        proc.kill("SIGTERM")
        const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(5000).then(() => false)])
        if (!exited) {
          proc.kill("SIGKILL")
          await proc.exited
        }
      })())
  }
  running.push(server)
  return server
}

/** Stops every server started here (each test file calls it in afterAll). */
export const stopServers = async (): Promise<void> => {
  await Promise.all(running.map((s) => s.stop()))
}


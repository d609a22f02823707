/**
 * Live mode under a sensor feed: `tail --rate R` replays a corpus into a private nats-server
 * while `ingest --from nats` (PostgreSQL) consumes it, committing every 10 s. Every 250 ms the
 * consumer's lag is sampled two ways:
 *
 * - by age: how long ago the oldest message the consumer has not read yet was stored in the
 *   stream (now − the stream's timestamp of message processed_seq + 1; 0 when all is read);
 * - by count: (stream last seq − processed seq) / rate.
 *
 * processed_seq is what the consumer reports on its status subject (every 250 ms, so a sample
 * can be up to ~250 ms pessimistic). At the end: max and p99 of both, the publish and the
 * total time, the commits, and whether the stored campaign families equal those of
 * `analyze` of the same file (member session sets).
 *
 * Run: npm run bench:live [-- CORPUS] [--rate N] [--commit-every 10s]
 *      (default ../shared/corpora/kareiva-2018.cowrie.json.gz at 10,000 lines/s)
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { cpus, loadavg, tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { createServer } from "node:net"
import { parseArgs } from "node:util"
import { connect, StorageType } from "nats"
import type { Result } from "../src/domain/Result.ts"
import type { LiveStatus } from "../src/live/LiveConsumer.ts"

const REPO = resolve(import.meta.dir, "..")
const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  allowPositionals: true,
  options: { rate: { type: "string" }, "commit-every": { type: "string" }, "session-timeout": { type: "string" } }
})
const CORPUS = positionals[0] ?? resolve(REPO, "../shared/corpora/kareiva-2018.cowrie.json.gz")
const RATE = Number(values.rate ?? "10000")
const COMMIT_EVERY = values["commit-every"] ?? "10s"
const SESSION_TIMEOUT = values["session-timeout"] ?? "5s"
const ADMIN = process.env.TEST_POSTGRES_ADMIN_URL ?? "postgres://root@127.0.0.1:5432/postgres"
const NATS_SERVER = [process.env.NATS_SERVER_BIN, "/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"].find((p) => p !== undefined && existsSync(p))
if (!existsSync(CORPUS)) throw new Error(`${CORPUS} does not exist; pass a corpus path.`)
if (NATS_SERVER === undefined) throw new Error("nats-server is not installed; set NATS_SERVER_BIN.")

const psql = (url: string, sql: string): string => {
  const r = spawnSync("psql", [url, "-At", "-c", sql], { encoding: "utf8" })
  if (r.status !== 0) throw new Error(`psql: ${r.stderr}`)
  return r.stdout.trim()
}
const freePort = (): Promise<number> =>
  new Promise((res) => {
    const s = createServer()
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port
      s.close(() => res(port))
    })
  })
const quantile = (xs: ReadonlyArray<number>, q: number): number => {
  if (xs.length === 0) return 0
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!
}
const cli = (args: ReadonlyArray<string>) => Bun.spawn([process.execPath, resolve(REPO, "src/cli/main.ts"), ...args], { cwd: REPO, stdout: "pipe", stderr: "pipe" })
const collect = (stream: ReadableStream<Uint8Array>, into: { text: string }, onLine?: (line: string) => void): void => {
  void (async () => {
    let partial = ""
    for await (const chunk of stream) {
      const text = new TextDecoder().decode(chunk)
      into.text += text
      partial += text
      const lines = partial.split("\n")
      partial = lines.pop()!
      for (const l of lines) onLine?.(l)
    }
  })()
}

const dir = mkdtempSync(join(tmpdir(), "dshield-bench-live-"))
const port = await freePort()
const server = Bun.spawn([NATS_SERVER, "-a", "127.0.0.1", "-p", String(port), "-js", "-sd", join(dir, "js")], { stdout: "ignore", stderr: "ignore" })
const DB = `live_bench_${process.pid}`
psql(ADMIN, `DROP DATABASE IF EXISTS ${DB}`)
psql(ADMIN, `CREATE DATABASE ${DB}`)
const DB_URL = ADMIN.replace(/\/[^/?]*(\?|$)/, `/${DB}$1`)
const url = `nats://127.0.0.1:${port}`

try {
  // The batch analysis of the same file: the families live mode must end with.
  const batchOut = join(dir, "batch.json")
  const batchStart = performance.now()
  const batch = spawnSync(process.execPath, [resolve(REPO, "src/cli/main.ts"), "analyze", "--quiet", "--out", batchOut, CORPUS], { cwd: REPO, encoding: "utf8" })
  if (batch.status !== 0) throw new Error(`analyze failed: ${batch.stderr}`)
  const batchMs = performance.now() - batchStart
  const batchResult = JSON.parse(readFileSync(batchOut, "utf8")) as Result
  const batchFamilies = batchResult.campaigns.filter((c) => c.level === "family").map((c) => [...c.sessions].sort().join(",")).sort()

  let nc
  for (let i = 0; i < 100; i++) {
    nc = await connect({ servers: url }).catch(() => undefined)
    if (nc !== undefined) break
    await Bun.sleep(50)
  }
  if (nc === undefined) throw new Error("nats-server did not start")
  const jsm = await nc.jetstreamManager()
  await jsm.streams.add({ name: "SENSORS", subjects: ["dshield.events.>"], storage: StorageType.File })

  let status: LiveStatus | undefined
  const sub = nc.subscribe("coord.live.status.bench")
  void (async () => {
    for await (const m of sub) status = JSON.parse(new TextDecoder().decode(m.data)) as LiveStatus
  })()

  // The consumer first (migrated and waiting), then the feed.
  const ingestErr = { text: "" }
  const commitLines: Array<{ at: number; line: string }> = []
  let ready = false
  const ingest = cli(["ingest", "--from", "nats", "--nats", url, "--stream", "SENSORS", "--subject", "dshield.events.>", "--consumer", "bench", "--database-url", DB_URL, "--commit-every", COMMIT_EVERY, "--session-timeout", SESSION_TIMEOUT, "--alert-subject", "none"])
  collect(ingest.stdout as ReadableStream<Uint8Array>, { text: "" })
  collect(ingest.stderr as ReadableStream<Uint8Array>, ingestErr, (line) => {
    if (line.includes("live: consuming")) ready = true
    if (line.includes("live: commit")) commitLines.push({ at: performance.now(), line })
  })
  while (!ready) {
    if (ingest.exitCode !== null) throw new Error(`ingest exited: ${ingestErr.text}`)
    await Bun.sleep(50)
  }

  const tailOut = { text: "" }
  const started = performance.now()
  const tail = cli(["tail", CORPUS, "--to", "nats", "--nats", url, "--stream", "SENSORS", "--subject", "dshield.events.cowrie", "--rate", String(RATE)])
  collect(tail.stdout as ReadableStream<Uint8Array>, tailOut)
  collect(tail.stderr as ReadableStream<Uint8Array>, { text: "" })
  let tailDoneMs: number | undefined
  void tail.exited.then(() => void (tailDoneMs = performance.now() - started))

  const byAge: Array<number> = []
  const byCount: Array<number> = []
  let caughtUpMs: number | undefined
  const loads: Array<number> = []
  while (true) {
    await Bun.sleep(250)
    const info = await jsm.streams.info("SENSORS")
    const last = info.state.last_seq
    const processed = status?.processed_seq ?? 0
    let age = 0
    if (processed < last) {
      const msg = await jsm.streams.getMessage("SENSORS", { seq: processed + 1 }).catch(() => undefined)
      age = msg === undefined ? 0 : Math.max(0, (Date.now() - msg.time.getTime()) / 1000)
    }
    byAge.push(age)
    if (RATE > 0) byCount.push((last - processed) / RATE)
    loads.push(loadavg()[0]!)
    if (tailDoneMs !== undefined && processed >= last) {
      caughtUpMs = performance.now() - started
      break
    }
    if (performance.now() - started > 15 * 60_000) throw new Error("the consumer did not catch up within 15 minutes")
  }
  const last = (await jsm.streams.info("SENSORS")).state.last_seq
  // The end of the stream: the consumer flushes when the stream has been quiet for the session timeout.
  while (true) {
    const row = psql(DB_URL, "SELECT floor_seq || '|' || (SELECT count(*) FROM jsonb_object_keys(open_sessions)) FROM live_offsets WHERE consumer = 'bench'")
    if (row === `${last + 1}|0`) break
    await Bun.sleep(250)
  }
  const drainedMs = performance.now() - started
  ingest.kill("SIGTERM")
  const ingestCode = await ingest.exited
  await sub.unsubscribe()
  await nc.close()

  const liveFamilies = psql(DB_URL, "SELECT string_agg(cs.session_id, ',' ORDER BY cs.session_id) FROM campaigns c JOIN campaign_sessions cs ON cs.campaign_id = c.id WHERE c.level = 'family' AND c.state <> 'concluded' GROUP BY c.id")
    .split("\n").filter((l) => l.length > 0).sort()
  const storedSessions = Number(psql(DB_URL, "SELECT count(*) FROM attack_sessions"))
  const same = liveFamilies.length === batchFamilies.length && liveFamilies.every((f, i) => f === batchFamilies[i])
  const commitMs = commitLines.map((c) => {
    const m = /\((\w+), (\d+) ms/.exec(c.line)
    return { at: (c.at - started) / 1000, why: m?.[1] ?? "?", took: Number(m?.[2] ?? NaN) / 1000 }
  })

  const cpu = cpus()
  console.log(`live mode: ${CORPUS.split("/").pop()} at ${RATE === 0 ? "full speed" : `${RATE.toLocaleString("en-US")} lines/s`} (commit every ${COMMIT_EVERY}, session timeout ${SESSION_TIMEOUT})`)
  console.log(`machine: ${cpu[0]?.model ?? "?"} × ${cpu.length}, ${new Date().toISOString().slice(0, 10)}, load average during the run ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`)
  console.log(tailOut.text.trim())
  console.log(`messages: ${last.toLocaleString("en-US")}; tail finished after ${((tailDoneMs ?? 0) / 1000).toFixed(1)} s (${Math.round(last / ((tailDoneMs ?? 1) / 1000)).toLocaleString("en-US")} lines/s)`)
  console.log(`consumer read everything ${((caughtUpMs! - tailDoneMs!) / 1000).toFixed(2)} s after the last publish; all committed (idle flush) after ${(drainedMs / 1000).toFixed(1)} s; exit code ${ingestCode}`)
  console.log(`lag by age of the oldest unread message: max ${Math.max(...byAge).toFixed(2)} s, p99 ${quantile(byAge, 0.99).toFixed(2)} s, p50 ${quantile(byAge, 0.5).toFixed(2)} s (${byAge.length} samples)`)
  if (RATE > 0) console.log(`lag by count ((last seq − processed) / rate): max ${Math.max(...byCount).toFixed(2)} s, p99 ${quantile(byCount, 0.99).toFixed(2)} s, p50 ${quantile(byCount, 0.5).toFixed(2)} s`)
  console.log(`commits (ended at, why, took): ${commitMs.map((c) => `${c.at.toFixed(1)} s (${c.why}, ${c.took.toFixed(1)} s)`).join(", ")}`)
  console.log(`families: live ${liveFamilies.length}, batch ${batchFamilies.length} — ${same ? "EQUAL" : "DIFFERENT"}; sessions stored ${storedSessions}, batch ${batchResult.input.sessions}; batch analyze took ${(batchMs / 1000).toFixed(1)} s`)
  if (process.env.BENCH_VERBOSE === "1") console.log(ingestErr.text)
  if (!same) process.exitCode = 1
} finally {
  server.kill("SIGTERM")
  await server.exited
  psql(ADMIN, `DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`)
  rmSync(dir, { recursive: true, force: true })
}

/**
 * Prometheus metrics of the processes an operator runs (issue 13): a `worker` serving every
 * role it can on a private nats-server, and `serve`, each with --metrics-port. After real
 * work — an analysis over coord.v1, a durable job, a deep workflow over the pool's agents, API
 * requests and an API analysis — one scrape shows every actor type with its messages and
 * latency histogram, the job consumer's lag, the cache look-ups, the HTTP requests by
 * endpoint and the analyses by status. Skipped with a notice without nats-server (failed
 * under REQUIRE_SERVICES=1).
 */
import { afterAll, describe, expect, test } from "bun:test"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { REPO, runCli } from "../cli/helpers.ts"
import { childEnv, cliOk } from "./apiServer.ts"
import { natsServerAvailable, startPrivateServer } from "./natsAuthServer.ts"

const HAVE_NATS = natsServerAvailable()
const MAIN = resolve(REPO, "src/cli/main.ts")
const decoder = new TextDecoder()

/** Starts a long-running command and resolves once a line of its stderr matches `ready`, with the match. */
const startUntil = async (args: ReadonlyArray<string>, ready: RegExp, env: Record<string, string | undefined> = process.env) => {
  const proc = Bun.spawn([process.execPath, MAIN, ...args], { cwd: REPO, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" })
  const reader = proc.stderr.getReader()
  let text = ""
  for (;;) {
    const match = ready.exec(text)
    if (match !== null) {
      void (async () => {
        while (!(await reader.read()).done) {
          // keep the pipe drained
        }
      })().catch(() => undefined)
      void new Response(proc.stdout).text()
      return { proc, match }
    }
    const { value, done } = await reader.read()
    if (done) throw new Error(`${args[0]} exited before it was ready: ${text}`)
    text += decoder.decode(value)
  }
}

const scrape = async (url: string): Promise<string> => {
  const response = await fetch(url)
  expect(response.status).toBe(200)
  expect(response.headers.get("content-type")).toContain("text/plain; version=0.0.4")
  return response.text()
}

/** The value of one sample, by its exact name and label text; undefined when absent. */
const sample = (text: string, series: string): number | undefined => {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe.skipIf(!HAVE_NATS)("metrics of a worker and of the API server", () => {
  const dir = mkdtempSync(join(tmpdir(), "dshield-metrics-"))
  const stops: Array<() => Promise<void>> = []
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop()
  }, 30_000)
  const stopping = (proc: Bun.Subprocess) => async () => {
    proc.kill("SIGTERM")
    if (!(await Promise.race([proc.exited.then(() => true), Bun.sleep(8000).then(() => false)]))) proc.kill("SIGKILL")
    await proc.exited
  }

  test("one scrape of a working worker shows every actor type, the job consumer's lag and the cache", async () => {
    const nats = await startPrivateServer()
    stops.push(nats.stop)
    const roles = "api,orchestrator,jobs,pattern-analyzer,confidence-scorer,tool-coordinator,inference,elasticsearch-enricher"
    const { proc, match } = await startUntil(["worker", "--roles", roles, "--pool", "1", "--nats", nats.url, "--metrics-port", "0"], /metrics on (http:\/\/\S+\/metrics)/)
    stops.push(stopping(proc))
    const metricsUrl = match[1]!
    expect(runCli(["generate", "--sessions", "300", "--seed", "3", "--out", dir, "--quiet"]).code).toBe(0)
    const input = join(dir, "cowrie.json")
    for (const extra of [[], [], ["--durable"], ["--depth", "deep"]]) {
      const run = runCli(["analyze", "--nats", nats.url, "--quiet", "--out", join(dir, "r.json"), ...extra, input])
      expect(run.stderr).toBe("")
      expect(run.code).toBe(0)
    }
    const text = await scrape(metricsUrl)
    for (const actor of ["coord", "orchestrator", "pattern-analyzer", "confidence-scorer", "tool-coordinator", "inference", "elasticsearch-enricher"]) {
      expect(text).toContain(`dshield_actor_state{actor="${actor}",instance="1",state="running"} 1`)
      expect(text).toContain(`dshield_actor_mailbox_depth{actor="${actor}",instance="1"} 0`)
    }
    // Messages and latency of the actors that did the work.
    expect(sample(text, 'dshield_actor_messages_total{actor="coord",message="analyze",outcome="ok"}')).toBeGreaterThanOrEqual(2)
    expect(sample(text, 'dshield_actor_messages_total{actor="pattern-analyzer",message="patterns",outcome="ok"}')).toBe(1)
    expect(sample(text, 'dshield_actor_message_duration_seconds_count{actor="orchestrator",message="analyze"}')).toBeGreaterThanOrEqual(3)
    // The second identical analysis was answered from the cache.
    expect(sample(text, 'dshield_cache_requests_total{result="hit"}')).toBeGreaterThanOrEqual(1)
    expect(sample(text, 'dshield_cache_requests_total{result="miss"}')).toBeGreaterThanOrEqual(1)
    // The durable job, and the consumer it came through, now empty.
    expect(sample(text, 'dshield_jobs_total{outcome="done"}')).toBe(1)
    expect(sample(text, 'dshield_jobs_consumer_pending{consumer="analyzers",stream="COORD_JOBS"}')).toBe(0)
    expect(sample(text, "process_resident_memory_bytes")).toBeGreaterThan(10_000_000)
  }, 180_000)

  test("the API server: requests by endpoint and status, analyses by status, ingest counts", async () => {
    const store = ["--data-dir", join(dir, "db")]
    const env = childEnv({})
    const key = (await cliOk(["keys", "create", "--role", "analyst", "--tenant", "acme", ...store], dir, env)).trim()
    const { proc, match } = await startUntil(["serve", "--port", "0", "--threads", "1", "--metrics-port", "0", ...store], /serving the API on (http:\/\/\S+) .*metrics on (http:\/\/\S+\/metrics)/, env)
    stops.push(stopping(proc))
    const [api, metricsUrl] = [match[1]!, match[2]!]
    const body = await Bun.file(join(dir, "cowrie.json")).bytes()
    const submitted = await fetch(`${api}/analyze/coordination?format=cowrie`, { method: "POST", headers: { "x-api-key": key, "content-type": "application/x-ndjson" }, body })
    expect(submitted.status).toBe(202)
    const { analysis_id } = await submitted.json() as { analysis_id: string }
    const done = await (await fetch(`${api}/analyze/${analysis_id}?wait=30`, { headers: { "x-api-key": key } })).json() as { status: string; result: { input: { events: number; sessions: number } } }
    expect(done.status).toBe("completed")
    expect((await fetch(`${api}/campaigns`)).status).toBe(401)
    expect((await fetch(`${api}/no/such/path/${"x".repeat(50)}`, { headers: { "x-api-key": key } })).status).toBe(404)

    const text = await scrape(metricsUrl)
    expect(sample(text, 'dshield_http_requests_total{endpoint="/analyze/coordination",method="POST",status="202"}')).toBe(1)
    expect(sample(text, 'dshield_http_requests_total{endpoint="/analyze/{id}",method="GET",status="200"}')).toBe(1)
    expect(sample(text, 'dshield_http_requests_total{endpoint="/campaigns",method="GET",status="401"}')).toBe(1)
    // An attacker's path is "other", not a label of its own.
    expect(sample(text, 'dshield_http_requests_total{endpoint="other",method="GET",status="404"}')).toBe(1)
    expect(text).not.toContain("xxxxxxxx")
    expect(sample(text, 'dshield_analyses_total{depth="standard",status="completed"}')).toBe(1)
    expect(sample(text, 'dshield_analysis_duration_seconds_count{depth="standard"}')).toBe(1)
    expect(sample(text, "dshield_ingest_events_total")).toBe(done.result.input.events)
    expect(sample(text, "dshield_ingest_sessions_total")).toBe(done.result.input.sessions)
    expect(sample(text, "dshield_analyses_waiting")).toBe(0)
  }, 120_000)
})

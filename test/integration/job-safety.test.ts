/**
 * Issue acceptance for durable jobs and worker supervision, against the real nats-server:
 * - SIGTERM mid-job: the worker stops taking work, finishes the job, acks it and exits 0;
 * - poison jobs (not JSON, not a job, refused by the orchestrator) are terminated and land
 *   in the dead-letter stream with the reason, and the worker keeps serving; the same
 *   analysis id submitted again after the dedupe window is answered by the claim, not re-run;
 * - a job whose analysis crashes on every delivery is dead-lettered after N deliveries.
 * (An escalated role exiting the worker non-zero: worker-supervision.test.ts.)
 *
 * Test hooks (read by the analysis threads): DSHIELD_TEST_THREAD_BLOCK_MS holds a thread as a
 * long analysis would; DSHIELD_TEST_THREAD_CRASH=1 makes every analysis thread crash.
 */
import { afterAll, describe, expect, test } from "bun:test"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { connect, type NatsConnection } from "nats"
import { jobNames } from "../../actors/transport/JobQueue.ts"
import { REPO, runCli, withoutRunTimes } from "../cli/helpers.ts"
import { dropNamespace, eventually, jobEnv, killLeftoverWorkers, NATS, startJobsWorker, uniqueNamespace } from "./jobWorkers.ts"
import { serviceAvailable } from "./services.ts"

const HAVE_NATS = await serviceAvailable("NATS", 4222)
const namespaces: Array<string> = []
let nc: NatsConnection | undefined
const connection = async (): Promise<NatsConnection> => (nc ??= await connect({ servers: NATS }))

afterAll(async () => {
  await killLeftoverWorkers()
  if (nc === undefined) return
  for (const ns of namespaces) await dropNamespace(nc, ns)
  await nc.close()
})

const dataset = (sessions: number, seed: number): { dir: string; input: string } => {
  const dir = mkdtempSync(join(tmpdir(), "dshield-jobsafety-"))
  expect(runCli(["generate", "--sessions", String(sessions), "--seed", String(seed), "--out", dir, "--quiet"]).code).toBe(0)
  return { dir, input: join(dir, "cowrie.json") }
}

const durableClient = (env: Record<string, string | undefined>, input: string, out: string) =>
  Bun.spawn([process.execPath, resolve(REPO, "src/cli/main.ts"), "analyze", "--nats", NATS, "--durable", "--quiet", "--out", out, input], {
    cwd: REPO,
    env,
    stdout: "ignore",
    stderr: "pipe"
  })

describe.skipIf(!HAVE_NATS)("durable jobs: shutdown, poison, repeated crashes", () => {
  test("SIGTERM mid-job: the job completes on that worker, is acked once, and the worker exits 0", async () => {
    const ns = uniqueNamespace("term")
    namespaces.push(ns)
    const names = jobNames({ namespace: ns })
    const jsm = await (await connection()).jetstreamManager()
    const { dir, input } = dataset(2000, 12)
    expect(runCli(["analyze", "--quiet", "--out", join(dir, "local.json"), input]).code).toBe(0)

    // The thread is held 5 s, so the job is certainly in flight when SIGTERM arrives.
    const worker = await startJobsWorker(["--roles", "jobs", "--pool", "1", "--grace", "60s"], jobEnv(ns, { DSHIELD_TEST_THREAD_BLOCK_MS: "5000" }))
    const client = durableClient(jobEnv(ns), input, join(dir, "job.json"))
    await eventually("the worker taking the job", async () => ((await jsm.consumers.info(names.stream, names.consumer).catch(() => undefined))?.num_ack_pending ?? 0) === 1)
    worker.proc.kill("SIGTERM")
    expect(await worker.proc.exited).toBe(0)
    expect(worker.stderr()).toContain("worker stopping: no new work")
    expect(worker.stderr()).toContain("worker stopped: work in flight finished.")
    // The job was finished by the stopping worker: delivered once, acked, answered.
    expect(await client.exited).toBe(0)
    const info = await jsm.consumers.info(names.stream, names.consumer)
    expect(info.delivered.consumer_seq).toBe(1)
    expect(info.num_ack_pending).toBe(0)
    expect((await jsm.streams.info(names.stream)).state.messages).toBe(0)
    expect(withoutRunTimes(readFileSync(join(dir, "job.json"), "utf8"))).toBe(withoutRunTimes(readFileSync(join(dir, "local.json"), "utf8")))
  }, 90_000)

  test("poison jobs land in the dead-letter stream with the reason; the worker keeps serving; a late duplicate is not run again", async () => {
    const ns = uniqueNamespace("poison")
    namespaces.push(ns)
    const names = jobNames({ namespace: ns })
    const c = await connection()
    const jsm = await c.jetstreamManager()
    const js = c.jetstream()
    const encode = (text: string): Uint8Array => new TextEncoder().encode(text)
    const worker = await startJobsWorker(["--roles", "jobs", "--pool", "1"], jobEnv(ns))
    try {
      await js.publish(names.subject, encode("this is not json {"), { msgID: "p-1" })
      await js.publish(names.subject, encode(JSON.stringify({ analysis_id: "has spaces and !", request: {} })), { msgID: "p-2" })
      await js.publish(names.subject, encode(JSON.stringify({ analysis_id: "refused-1", request: { config: { no_such_option: 1 } } })), { msgID: "p-3" })
      await eventually("three dead letters", async () => ((await jsm.streams.info(names.dlqStream).catch(() => undefined))?.state.messages ?? 0) === 3)
      // Ordered by the job's own stream sequence: the dead letters may be published in any order.
      const letters: Array<{ seq: number; reason: string }> = []
      for (let seq = 1; seq <= 3; seq++) {
        const m = await jsm.streams.getMessage(names.dlqStream, { seq })
        letters.push({ seq: Number(m.header.get("Coord-Dlq-Stream-Seq")), reason: m.header.get("Coord-Dlq-Reason") })
        expect(m.header.get("Coord-Dlq-Stream")).toBe(names.stream)
      }
      const reasons = letters.sort((a, b) => a.seq - b.seq).map((l) => l.reason)
      expect(reasons[0]).toBe("the job is not JSON")
      expect(reasons[1]).toContain("the job does not match the job schema")
      expect(reasons[2]).toContain("the orchestrator refused the request")
      // The refused job's id gets an answer, so its client stops waiting.
      // (The worker publishes the dead letter first, then the answer, then terminates the job, so
      // the two checks below wait for those steps rather than racing them.)
      const os = await js.views.os(names.resultsBucket)
      await eventually("the refused job's answer", async () => (await os.info("job-refused-1")) !== null)
      const refused = JSON.parse(new TextDecoder().decode((await os.getBlob("job-refused-1"))!)) as { failed: string; dead_lettered: boolean }
      expect(refused.dead_lettered).toBe(true)
      // Terminated, not left for redelivery.
      await eventually("the poison jobs terminated", async () => (await jsm.streams.info(names.stream)).state.messages === 0)

      // The worker keeps serving: a good job completes.
      const { dir, input } = dataset(300, 4)
      const client = durableClient(jobEnv(ns), input, join(dir, "job.json"))
      expect(await client.exited).toBe(0)
      expect(worker.proc.exitCode).toBe(null)
      const answers = (await os.list()).filter((o) => o.name.startsWith("job-") && o.name !== "job-refused-1")
      expect(answers.length).toBe(1)
      const id = answers[0]!.name.slice("job-".length)
      const before = await os.getBlob(`job-${id}`)

      // The same analysis id again, past JetStream's 2-minute dedupe (a new message id): the
      // stored answer stands; it is acked as a duplicate, not run, not dead-lettered.
      await js.publish(names.subject, encode(JSON.stringify({ analysis_id: id, request: { config: {} } })), { msgID: `${id}-again` })
      await eventually("the duplicate acked", async () => (await jsm.streams.info(names.stream)).state.messages === 0)
      expect((await jsm.streams.info(names.dlqStream)).state.messages).toBe(3)
      expect(await os.getBlob(`job-${id}`)).toEqual(before)
      expect((await os.list()).filter((o) => o.name.startsWith("job-")).length).toBe(2)
    } finally {
      worker.proc.kill("SIGTERM")
      expect(await worker.proc.exited).toBe(0)
    }
  }, 90_000)

  test("a job past its own deadline is answered once, not retried nor dead-lettered", async () => {
    const ns = uniqueNamespace("deadline")
    namespaces.push(ns)
    const names = jobNames({ namespace: ns })
    const jsm = await (await connection()).jetstreamManager()
    // The analysis is held 8 s; the job allows 2 s.
    const worker = await startJobsWorker(["--roles", "jobs", "--pool", "1"], jobEnv(ns, { DSHIELD_TEST_THREAD_BLOCK_MS: "8000" }))
    try {
      const { dir, input } = dataset(200, 7)
      const client = Bun.spawn([process.execPath, resolve(REPO, "src/cli/main.ts"), "analyze", "--nats", NATS, "--durable", "--timeout", "2s", "--quiet", "--out", join(dir, "job.json"), input], {
        cwd: REPO,
        env: jobEnv(ns),
        stdout: "ignore",
        stderr: "pipe"
      })
      expect(await client.exited).toBe(1)
      const told = await new Response(client.stderr as ReadableStream<Uint8Array>).text()
      expect(told).toContain("DeadlineExceeded: the analysis did not finish within its deadline (2 s)")
      await eventually("the job acked", async () => (await jsm.consumers.info(names.stream, names.consumer)).num_ack_pending === 0)
      const info = await jsm.consumers.info(names.stream, names.consumer)
      expect(info.delivered.consumer_seq).toBe(1)
      expect(await jsm.streams.info(names.dlqStream).then((s) => s.state.messages, () => 0)).toBe(0)
    } finally {
      worker.proc.kill("SIGTERM")
      expect(await worker.proc.exited).toBe(0)
    }
  }, 90_000)

  test("a job whose analysis keeps crashing is dead-lettered after N deliveries, and its client is told", async () => {
    const ns = uniqueNamespace("attempts")
    namespaces.push(ns)
    const names = jobNames({ namespace: ns })
    const jsm = await (await connection()).jetstreamManager()
    // Every analysis thread crashes; two deliveries are allowed, then the job is poison.
    const env = jobEnv(ns, { DSHIELD_TEST_THREAD_CRASH: "1", DSHIELD_JOB_MAX_ATTEMPTS: "2" })
    const worker = await startJobsWorker(["--roles", "jobs", "--pool", "1"], env)
    try {
      const { dir, input } = dataset(200, 6)
      const client = durableClient(env, input, join(dir, "job.json"))
      expect(await client.exited).toBe(1)
      // Dead-lettered at the first delivery past the two allowed. JetStream counts a delivery
      // to a pull request that expired before the message reached the worker (seen under
      // load), so the count may be one or two higher than the worker's own attempts.
      const told = await new Response(client.stderr as ReadableStream<Uint8Array>).text()
      const attempts = Number(/the job was delivered (\d+) times without finishing/.exec(told)?.[1])
      expect(attempts).toBeGreaterThanOrEqual(2)
      expect(attempts).toBeLessThanOrEqual(4)
      const letter = await jsm.streams.getMessage(names.dlqStream, { seq: 1 })
      expect(letter.header.get("Coord-Dlq-Reason")).toContain(`delivered ${attempts} times without finishing`)
      expect(letter.header.get("Coord-Dlq-Deliveries")).toBe(String(attempts + 1))
      // The answer is published before the job is terminated: wait for that step, do not race it.
      await eventually("the crashing job terminated", async () => (await jsm.streams.info(names.stream)).state.messages === 0)
      // Two crashes are within the restart budget: the worker is still up.
      expect(worker.proc.exitCode).toBe(null)
    } finally {
      worker.proc.kill("SIGTERM")
      expect(await worker.proc.exited).toBe(0)
    }
  }, 90_000)
})

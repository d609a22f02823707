/**
 * Issue acceptance: kill -9 of a worker in the middle of a durable analysis job — the job is
 * redelivered to another worker and completes exactly once (one result), with the same
 * Result v1 as in process.
 */
import { describe, expect, test } from "bun:test"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { connect } from "nats"
import { JOBS_CONSUMER, JOBS_STREAM } from "../../actors/transport/JobQueue.ts"
import { RESULTS_BUCKET } from "../../actors/transport/NatsResultStore.ts"
import { REPO, runCli, withoutRunTimes } from "../cli/helpers.ts"
import { serviceAvailable, startWorker } from "./services.ts"

const HAVE_NATS = await serviceAvailable("NATS", 4222)
const NATS = "nats://127.0.0.1:4222"
const ENV = { ...process.env, DSHIELD_JOB_ACK_WAIT_MS: "3000" }

const startJobsWorker = () => startWorker(REPO, "jobs", 1, ENV)

describe.skipIf(!HAVE_NATS)("durable jobs on JetStream", () => {
  test("kill -9 mid-job: redelivered, completed exactly once, same result as in process", async () => {
    const nc = await connect({ servers: NATS })
    const jsm = await nc.jetstreamManager()
    // A fresh stream, so the consumer gets this test's short ack wait.
    await jsm.streams.delete(JOBS_STREAM).catch(() => false)
    const jobsBefore = await (async () => {
      const os = await nc.jetstream().views.os(RESULTS_BUCKET)
      return (await os.list()).filter((o) => o.name.startsWith("job-")).length
    })()

    const dir = mkdtempSync(join(tmpdir(), "dshield-jobs-"))
    expect(runCli(["generate", "--sessions", "40000", "--seed", "31", "--out", dir, "--quiet"]).code).toBe(0)
    const input = join(dir, "cowrie.json")
    expect(runCli(["analyze", "--quiet", "--out", join(dir, "local.json"), input]).code).toBe(0)

    const first = await startJobsWorker()
    const client = Bun.spawn([process.execPath, resolve(REPO, "src/cli/main.ts"), "analyze", "--nats", NATS, "--durable", "--quiet", "--out", join(dir, "job.json"), input], {
      cwd: REPO,
      env: ENV,
      stdout: "ignore",
      stderr: "pipe"
    })
    // Kill the first worker while it holds the job (acked by nobody yet).
    let holding = false
    for (let i = 0; i < 200 && !holding; i++) {
      await Bun.sleep(50)
      const info = await jsm.consumers.info(JOBS_STREAM, JOBS_CONSUMER).catch(() => undefined)
      holding = (info?.num_ack_pending ?? 0) === 1
    }
    expect(holding).toBe(true)
    first.kill(9)
    await first.exited
    expect(first.signalCode).toBe("SIGKILL")

    const second = await startJobsWorker()
    try {
      expect(await client.exited).toBe(0)
      expect(withoutRunTimes(readFileSync(join(dir, "job.json"), "utf8"))).toBe(withoutRunTimes(readFileSync(join(dir, "local.json"), "utf8")))
      const info = await jsm.consumers.info(JOBS_STREAM, JOBS_CONSUMER)
      // One job in the stream, delivered at least twice: to the killed worker, then again.
      expect(info.delivered.stream_seq).toBe(1)
      expect(info.delivered.consumer_seq).toBeGreaterThanOrEqual(2)
      expect(info.num_ack_pending).toBe(0)
      const os = await nc.jetstream().views.os(RESULTS_BUCKET)
      expect((await os.list()).filter((o) => o.name.startsWith("job-")).length).toBe(jobsBefore + 1)
    } finally {
      second.kill("SIGTERM")
      await second.exited
      await nc.close()
    }
  }, 180_000)
})

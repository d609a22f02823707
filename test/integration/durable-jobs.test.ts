/**
 * Issue acceptance: kill -9 of a worker in the middle of a durable analysis job — the job is
 * redelivered to another worker and completes exactly once (one result, one claim), with
 * the same Result v1 as in process, byte for byte apart from the run id and times.
 *
 * The first worker's analysis thread is held for a while by the test hook
 * DSHIELD_TEST_THREAD_BLOCK_MS (a synchronous block, as a CPU-bound analysis), so the job is
 * certainly mid-flight when the worker is killed, however fast the machine.
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
const NAMESPACE = uniqueNamespace("kill")
const names = jobNames({ namespace: NAMESPACE })
let nc: NatsConnection | undefined

afterAll(async () => {
  await killLeftoverWorkers()
  if (nc !== undefined) {
    await dropNamespace(nc, NAMESPACE)
    await nc.close()
  }
})

describe.skipIf(!HAVE_NATS)("durable jobs on JetStream", () => {
  test("kill -9 mid-job: redelivered, completed exactly once, same result as in process", async () => {
    nc = await connect({ servers: NATS })
    const jsm = await nc.jetstreamManager()

    const dir = mkdtempSync(join(tmpdir(), "dshield-jobs-"))
    expect(runCli(["generate", "--sessions", "6000", "--seed", "31", "--out", dir, "--quiet"]).code).toBe(0)
    const input = join(dir, "cowrie.json")
    expect(runCli(["analyze", "--quiet", "--out", join(dir, "local.json"), input]).code).toBe(0)

    // The first worker's thread is held 60 s: it is killed long before it could finish.
    const first = await startJobsWorker(["--roles", "jobs", "--pool", "1"], jobEnv(NAMESPACE, { DSHIELD_TEST_THREAD_BLOCK_MS: "60000" }))
    const client = Bun.spawn([process.execPath, resolve(REPO, "src/cli/main.ts"), "analyze", "--nats", NATS, "--durable", "--quiet", "--out", join(dir, "job.json"), input], {
      cwd: REPO,
      env: jobEnv(NAMESPACE),
      stdout: "ignore",
      stderr: "pipe"
    })
    let secondStarted = false
    const second = (async () => {
      // Kill the first worker while it holds the job: unacked, claimed, heart-beating.
      await eventually("the first worker taking the job", async () => {
        const info = await jsm.consumers.info(names.stream, names.consumer).catch(() => undefined)
        return (info?.num_ack_pending ?? 0) === 1
      })
      // The claim follows the delivery by a moment: wait for it.
      const kv = await nc!.jetstream().views.kv(names.claimsBucket)
      const keys: Array<string> = []
      await eventually("the first worker claiming the job", async () => {
        keys.length = 0
        for await (const k of await kv.keys()) keys.push(k)
        return keys.length > 0
      })
      expect(keys.length).toBe(1)
      const claim = JSON.parse(new TextDecoder().decode((await kv.get(keys[0]!))!.value)) as { state: string }
      expect(claim.state).toBe("running")
      // Past one ack wait the job is still held: the heartbeat fires while the thread is blocked.
      await Bun.sleep(4_000)
      const held = await jsm.consumers.info(names.stream, names.consumer)
      expect(held.num_ack_pending).toBe(1)
      expect(held.delivered.consumer_seq).toBe(1)
      first.proc.kill(9)
      await first.proc.exited
      expect(first.proc.signalCode).toBe("SIGKILL")
      secondStarted = true
      return await startJobsWorker(["--roles", "jobs", "--pool", "1"], jobEnv(NAMESPACE))
    })()
    const worker2 = await second
    try {
      expect(secondStarted).toBe(true)
      expect(await client.exited).toBe(0)
      expect(withoutRunTimes(readFileSync(join(dir, "job.json"), "utf8"))).toBe(withoutRunTimes(readFileSync(join(dir, "local.json"), "utf8")))
      const info = await jsm.consumers.info(names.stream, names.consumer)
      // One job in the stream, delivered at least twice: to the killed worker, then again.
      expect(info.delivered.stream_seq).toBe(1)
      expect(info.delivered.consumer_seq).toBeGreaterThanOrEqual(2)
      expect(info.num_ack_pending).toBe(0)
      // Exactly one answer for the job, and its claim is done.
      const os = await nc.jetstream().views.os(names.resultsBucket)
      expect((await os.list()).filter((o) => o.name.startsWith("job-")).length).toBe(1)
      const kv = await nc.jetstream().views.kv(names.claimsBucket)
      const keys: Array<string> = []
      for await (const k of await kv.keys()) keys.push(k)
      const claim = JSON.parse(new TextDecoder().decode((await kv.get(keys[0]!))!.value)) as { state: string }
      expect(claim.state).toBe("done")
      // The buckets carry a TTL and a byte limit.
      const claims = await jsm.streams.info(`KV_${names.claimsBucket}`)
      expect(claims.config.max_age).toBeGreaterThan(0)
      expect(claims.config.max_bytes).toBeGreaterThan(0)
      const results = await jsm.streams.info(`OBJ_${names.resultsBucket}`)
      expect(results.config.max_age).toBeGreaterThan(0)
      expect(results.config.max_bytes).toBeGreaterThan(0)
    } finally {
      worker2.proc.kill("SIGTERM")
      expect(await worker2.proc.exited).toBe(0)
    }
  }, 120_000)
})

/**
 * Actor request/reply over NATS on loopback: throughput and latency percentiles for a small
 * message (an echo of a few bytes) against one actor instance served by this process, with
 * many requests in flight; the same on the in-process transport for comparison.
 *
 * Then: 8 analyses of 20,000 sessions submitted at once as durable jobs to `worker --pool 1`
 * and to `worker --pool 2` (analyses on worker threads): throughput of each and their ratio.
 *
 * Run: npm run bench:actors [-- REQUESTS CONCURRENCY]   (default 20,000 and 64)
 *      npm run bench:actors -- pool [rounds=N]           (only the pool comparison; 5 rounds)
 *      npm run bench:actors -- pool large=FILE           (one analysis of FILE on the pool vs in process)
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { connect } from "nats"
import { type ActorRef, protocol, spawn } from "../actors/kernel/Actor.ts"
import { existsSync, mkdtempSync } from "node:fs"
import { createServer } from "node:net"
import { availableParallelism, tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { Orchestrator, orchestratorBehaviour } from "../actors/orchestrator/Orchestrator.ts"
import { uploadInputs } from "../actors/transport/ClaimCheck.ts"
import { ensureJobStream, jobNames, jobQueueOptionsFromEnv, resultName, submitJob } from "../actors/transport/JobQueue.ts"
import { natsResultStore } from "../actors/transport/NatsResultStore.ts"
import { natsClient, serveOverNats } from "../actors/transport/NatsTransport.ts"
import { writeDataset } from "../src/synthetic/writeDataset.ts"

class Never extends Schema.TaggedError<Never>()("Never", {}) {}
const Echo = protocol(`bench-echo-${process.pid}`, "1.0.0", {
  echo: { payload: Schema.String, success: Schema.String, error: Never }
})
const POOL_ONLY = process.argv.includes("pool")
const CLAIM_CHECK = process.argv.includes("claim-check")
const DEFAULT_ENV = process.argv.includes("default-env")
const [requests = 20_000, concurrency = 64] = process.argv.slice(2).filter((a) => !["pool", "claim-check", "default-env"].includes(a) && !a.startsWith("rounds=") && !a.startsWith("large=")).map(Number)

const measure = (ref: ActorRef<typeof Echo>) =>
  Effect.gen(function*() {
    const latencies = new Float64Array(requests)
    let next = 0
    const worker = Effect.gen(function*() {
      while (next < requests) {
        const i = next++
        const t0 = performance.now()
        yield* ref.ask("echo", "ping-0123456789")
        latencies[i] = performance.now() - t0
      }
    })
    const t0 = performance.now()
    yield* Effect.all(Array.from({ length: concurrency }, () => worker), { concurrency: "unbounded" })
    const seconds = (performance.now() - t0) / 1000
    latencies.sort()
    const q = (p: number): string => latencies[Math.min(requests - 1, Math.floor(p * requests))]!.toFixed(2)
    return `${Math.round(requests / seconds).toLocaleString("en-US").padStart(8)} req/s   p50 ${q(0.5)} ms   p99 ${q(0.99)} ms`
  })

const program = Effect.gen(function*() {
  const local = yield* spawn(Echo, Effect.succeed({ echo: (s: string) => Effect.succeed(s) }), { policy: { concurrency: 64, mailboxCapacity: 1024 } })
  const inProcess = yield* measure(local)
  const server = yield* Effect.promise(() => connect({ servers: "127.0.0.1:4222" }))
  const client = yield* Effect.promise(() => connect({ servers: "127.0.0.1:4222" }))
  yield* serveOverNats(server, local)
  yield* measure(natsClient(client, Echo)).pipe(Effect.asVoid) // warm-up
  const overNats = yield* measure(natsClient(client, Echo))
  yield* Effect.promise(() => Promise.all([server.close(), client.close()]))
  return { inProcess, overNats }
})

if (!POOL_ONLY) {
  const r = await Effect.runPromise(Effect.scoped(program))
  console.log(`bun ${Bun.version}; ${requests} requests, ${concurrency} in flight, one actor instance`)
  console.log(`in process  ${r.inProcess}`)
  console.log(`NATS        ${r.overNats}`)

  // A 1,000-session analysis: in process vs through an orchestrator actor served over NATS
  // (same process, warm), median of 9 runs each.
  const dir = mkdtempSync(join(tmpdir(), "dshield-bench-actors-"))
  const dataset = await writeDataset({ sessions: 1000, seed: 99, outDir: dir })
  const analysis = Effect.gen(function*() {
    const nc = yield* Effect.promise(() => connect({ servers: "127.0.0.1:4222" }))
    const results = natsResultStore(nc)
    const local = yield* spawn(Orchestrator, orchestratorBehaviour(results))
    const server = yield* Effect.promise(() => connect({ servers: "127.0.0.1:4222" }))
    yield* serveOverNats(server, local)
    const remote = natsClient(nc, Orchestrator)
    const request = { paths: [dataset.cowriePath], config: {} }
    const time = (ref: typeof local) =>
      Effect.gen(function*() {
        const times: Array<number> = []
        for (let i = 0; i < 10; i++) {
          const t0 = performance.now()
          const reply = yield* ref.ask("analyze", request).pipe(Effect.orDie)
          yield* results.get(reply.result_object)
          if (i > 0) times.push(performance.now() - t0)
        }
        return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!
      })
    const inProcess = yield* time(local)
    const overNats = yield* time(remote)
    yield* Effect.promise(() => Promise.all([nc.close(), server.close()]))
    return { inProcess, overNats }
  })
  const a = await Effect.runPromise(Effect.scoped(analysis))
  console.log(`1,000-session analysis (result stored in and read from the NATS object store): in process ${a.inProcess.toFixed(0)} ms, through NATS ${a.overNats.toFixed(0)} ms (${(a.overNats / a.inProcess).toFixed(2)}×)`)
}

// 8 analyses of 20,000 sessions submitted at once as durable jobs to `worker --pool N`
// (N analysis threads): wall time from the first submission to the eighth answer. The jobs
// name the file by a worker-local path (`--allow-paths`), so what is measured is the
// analyses in parallel, not 8 × 77 MB of claim-check staging through nats-server
// (`-- pool claim-check` measures that way instead).
const ANALYSES = 8
const poolDir = mkdtempSync(join(tmpdir(), "dshield-bench-pool-"))
const generated = Bun.spawnSync([process.execPath, resolve(import.meta.dir, "../src/cli/main.ts"), "generate", "--sessions", "20000", "--seed", "5", "--out", poolDir, "--quiet"])
if (generated.exitCode !== 0) throw new Error(`generate failed: ${generated.stderr.toString()}`)
const poolInput = join(poolDir, "cowrie.json")

// A private nats-server for this part (JetStream, temporary store, free port), so the pool is
// measured against a server that is not serving anyone else; the shared one when missing.
const NATS_SERVER = "/usr/sbin/nats-server"
const freePort = (): Promise<number> =>
  new Promise((done) => {
    const server = createServer()
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port
      server.close(() => done(port))
    })
  })
const privatePort = existsSync(NATS_SERVER) ? await freePort() : undefined
const privateServer = privatePort === undefined
  ? undefined
  : Bun.spawn([NATS_SERVER, "-a", "127.0.0.1", "-p", String(privatePort), "-js", "-sd", mkdtempSync(join(tmpdir(), "dshield-bench-nats-"))], { stdout: "ignore", stderr: "ignore" })
const POOL_NATS = privatePort === undefined ? "nats://127.0.0.1:4222" : `nats://127.0.0.1:${privatePort}`
if (privatePort !== undefined) {
  for (let i = 0; i < 100; i++) {
    const up = await connect({ servers: POOL_NATS }).then((c) => c.close().then(() => true), () => false)
    if (up) break
    await Bun.sleep(50)
  }
}

const throughput = async (pool: number, input = poolInput, analyses = ANALYSES, warm = true): Promise<{ seconds: number; perMinute: number }> => {
  const namespace = `bench${process.pid}p${pool}`
  // The deployments' worker environment (deploy/compose.yaml, deploy/k8s/configmap.yaml):
  // mimalloc keeps freed pages instead of returning them with madvise (each return flushes
  // the TLBs of every core running one of the process's threads).
  const tuning = DEFAULT_ENV ? {} : { MIMALLOC_PURGE_DELAY: "-1" }
  const env = { ...process.env, ...tuning, DSHIELD_JOBS_NAMESPACE: namespace }
  const worker = Bun.spawn([process.execPath, resolve(import.meta.dir, "../src/cli/main.ts"), "worker", "--roles", "jobs", "--pool", String(pool), "--allow-paths", dirname(input), "--nats", POOL_NATS], {
    env,
    stdout: "ignore",
    stderr: "pipe"
  })
  const reader = worker.stderr.getReader()
  let text = ""
  while (!text.includes("worker ready")) {
    const { value, done } = await reader.read()
    if (done) throw new Error(`the worker did not start: ${text}`)
    text += new TextDecoder().decode(value)
  }
  reader.releaseLock()
  const nc = await connect({ servers: POOL_NATS })
  const options = jobQueueOptionsFromEnv(env)
  try {
    // The input is uploaded once (claim-check) before the clock starts; each job names it.
    const request = CLAIM_CHECK ? { inputs: await Effect.runPromise(uploadInputs(nc, [input])), config: {} } : { paths: [input], config: {} }
    await Effect.runPromise(ensureJobStream(nc, options))
    const results = natsResultStore(nc, options.results)
    const runAll = async (ids: ReadonlyArray<string>): Promise<void> => {
      await Promise.all(ids.map((id) => Effect.runPromise(submitJob(nc, { analysis_id: id, request }, options))))
      const pending = new Set(ids)
      while (pending.size > 0) {
        for (const id of [...pending]) {
          const answer = await Effect.runPromise(results.get(resultName(id)))
          if (answer === undefined) continue
          const reply = JSON.parse(new TextDecoder().decode(answer)) as { sessions?: number; failed?: string }
          if (reply.failed !== undefined) throw new Error(`job ${id} failed: ${reply.failed}`)
          pending.delete(id)
        }
        if (pending.size > 0) await Bun.sleep(50)
      }
    }
    // Warm-up: one analysis per thread (JIT), not timed; then the 8 at once.
    if (warm) await runAll(Array.from({ length: pool }, (_, i) => `warm-${process.pid}-${pool}-${i}`))
    const t0 = performance.now()
    await runAll(Array.from({ length: analyses }, (_, i) => `bench-${process.pid}-${pool}-${i}`))
    const seconds = (performance.now() - t0) / 1000
    return { seconds, perMinute: (analyses / seconds) * 60 }
  } finally {
    worker.kill("SIGTERM")
    await worker.exited
    const jsm = await nc.jetstreamManager()
    const names = jobNames(options)
    for (const stream of [names.stream, names.dlqStream, `KV_${names.claimsBucket}`, `OBJ_${names.resultsBucket}`]) await jsm.streams.delete(stream).catch(() => false)
    await nc.close()
  }
}

// `large=FILE`: one analysis of FILE (e.g. the 1M-session set) as a durable job on
// `worker --pool 1` (no warm-up), beside the same analysis in process as a whole process
// (`bun src/cli/main.ts analyze FILE`), each timed from submission to answer / start to exit.
const LARGE = process.argv.find((a) => a.startsWith("large="))?.slice("large=".length)
if (LARGE !== undefined) {
  try {
    const t0 = performance.now()
    const local = Bun.spawnSync([process.execPath, resolve(import.meta.dir, "../src/cli/main.ts"), "analyze", "--quiet", "--out", join(poolDir, "local.json"), LARGE])
    if (local.exitCode !== 0) throw new Error(`analyze failed: ${local.stderr.toString()}`)
    const inProcess = (performance.now() - t0) / 1000
    const pooled = await throughput(1, LARGE, 1, false)
    console.log(`${LARGE}: in process ${inProcess.toFixed(1)} s; one durable job on worker --pool 1 ${pooled.seconds.toFixed(1)} s (${(pooled.seconds / inProcess).toFixed(2)}× in process)`)
  } finally {
    privateServer?.kill()
  }
  process.exit(0)
}

// Rounds alternate pool 1 and pool 2 (a fresh worker each time), so a drift in the machine's
// speed hits both; the figures quoted are medians, the ratio is taken round by round.
const ROUNDS = Number(process.argv.find((a) => a.startsWith("rounds="))?.slice("rounds=".length) ?? 5)
const median = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
const rounds: Array<{ one: { seconds: number; perMinute: number }; two: { seconds: number; perMinute: number } }> = []
try {
  for (let round = 0; round < ROUNDS; round++) {
    const one = await throughput(1)
    const two = await throughput(2)
    rounds.push({ one, two })
    console.log(`round ${round + 1}: pool 1 ${one.seconds.toFixed(1)} s, pool 2 ${two.seconds.toFixed(1)} s (${(two.perMinute / one.perMinute).toFixed(2)}×)`)
  }
} finally {
  privateServer?.kill()
}
const ratios = rounds.map((r) => r.two.perMinute / r.one.perMinute)
console.log(
  `${ANALYSES} analyses of 20,000 sessions submitted at once (durable jobs, inputs ${CLAIM_CHECK ? "by claim-check" : "by worker-local path"}; ` +
    `${privateServer === undefined ? "shared" : "private"} nats-server; worker env ${DEFAULT_ENV ? "default" : "MIMALLOC_PURGE_DELAY=-1"}; ` +
    `warm; ${availableParallelism()} cores; median of ${rounds.length} alternating rounds):`
)
console.log(`worker --pool 1  ${median(rounds.map((r) => r.one.seconds)).toFixed(1)} s   ${median(rounds.map((r) => r.one.perMinute)).toFixed(2)} analyses/min`)
console.log(`worker --pool 2  ${median(rounds.map((r) => r.two.seconds)).toFixed(1)} s   ${median(rounds.map((r) => r.two.perMinute)).toFixed(2)} analyses/min`)
console.log(`pool 2 / pool 1 throughput, round by round: median ${median(ratios).toFixed(2)}×, min ${Math.min(...ratios).toFixed(2)}×, max ${Math.max(...ratios).toFixed(2)}×`)

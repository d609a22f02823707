/**
 * Actor request/reply over NATS on loopback: throughput and latency percentiles for a small
 * message (an echo of a few bytes) against one actor instance served by this process, with
 * many requests in flight; the same on the in-process transport for comparison.
 *
 * Run: npm run bench:actors [-- REQUESTS CONCURRENCY]   (default 20,000 and 64)
 */
import { Effect, Schema } from "effect"
import { connect } from "nats"
import { type ActorRef, protocol, spawn } from "../actors/kernel/Actor.ts"
import { natsClient, serveOverNats } from "../actors/transport/NatsTransport.ts"

class Never extends Schema.TaggedError<Never>()("Never", {}) {}
const Echo = protocol(`bench-echo-${process.pid}`, "1.0.0", {
  echo: { payload: Schema.String, success: Schema.String, error: Never }
})
const [requests = 20_000, concurrency = 64] = process.argv.slice(2).map(Number)

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

const r = await Effect.runPromise(Effect.scoped(program))
console.log(`bun ${Bun.version}; ${requests} requests, ${concurrency} in flight, one actor instance`)
console.log(`in process  ${r.inProcess}`)
console.log(`NATS        ${r.overNats}`)

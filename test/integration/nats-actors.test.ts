/**
 * One suite, two transports: the same actor answers the same way in process and over the
 * real nats-server on 127.0.0.1:4222; pools share the queue group; $SRV discovery works.
 */
import { afterAll, describe, expect, test } from "bun:test"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { connect, type NatsConnection } from "nats"
import { type ActorRef, protocol, spawn } from "../../actors/kernel/Actor.ts"
import { natsClient, serveOverNats } from "../../actors/transport/NatsTransport.ts"
import { serviceAvailable } from "./services.ts"

const HAVE_NATS = await serviceAvailable("NATS", 4222)

class Refused extends Schema.TaggedError<Refused>()("Refused", { why: Schema.String }) {}

// A protocol name per test run keeps parallel runs on one server apart.
const Echo = protocol(`echo-test-${process.pid}`, "1.0.0", {
  double: { payload: Schema.Struct({ n: Schema.Number }), success: Schema.Struct({ n: Schema.Number, by: Schema.String }), error: Refused },
  crash: { payload: Schema.String, success: Schema.Number, error: Refused }
})

const behaviour = (instance: string) =>
  Effect.succeed({
    double: ({ n }: { n: number }) => (n < 0 ? Effect.fail(new Refused({ why: `negative: ${n}` })) : Effect.succeed({ n: n * 2, by: instance })),
    crash: (why: string): Effect.Effect<number, Refused> => Effect.die(new Error(why))
  })

const connections: Array<NatsConnection> = []
const natsConnection = async (): Promise<NatsConnection> => {
  const nc = await connect({ servers: "127.0.0.1:4222" })
  connections.push(nc)
  return nc
}
afterAll(async () => {
  for (const nc of connections) await nc.close()
})

type Setup = (instances: number) => Effect.Effect<ActorRef<typeof Echo>, never, Scope.Scope>

const transports: Array<readonly [string, Setup, boolean]> = [
  ["in process", () => spawn(Echo, behaviour("local"), { policy: { backoffInitialMs: 1 } }), true],
  [
    "NATS",
    (instances) =>
      Effect.gen(function*() {
        for (let i = 0; i < instances; i++) {
          const server = yield* Effect.promise(natsConnection)
          const local = yield* spawn(Echo, behaviour(`instance-${i}`), { policy: { backoffInitialMs: 1 } })
          yield* serveOverNats(server, local)
        }
        const client = yield* Effect.promise(natsConnection)
        return natsClient(client, Echo, { timeoutMs: 5000 })
      }),
    HAVE_NATS
  ]
]

const errorOf = (exit: Exit.Exit<unknown, unknown>): unknown => {
  if (Exit.isSuccess(exit)) return undefined
  const e = Cause.findErrorOption(exit.cause)
  return e._tag === "Some" ? e.value : undefined
}

for (const [name, setup, available] of transports) {
  describe.skipIf(!available)(`actors ${name}`, () => {
    test("a reply, a typed error decoded as its class, and a crash as ActorUnavailable", async () => {
      const r = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
        const ref = yield* setup(1)
        const ok = yield* ref.ask("double", { n: 21 })
        const refused = errorOf(yield* Effect.exit(ref.ask("double", { n: -1 })))
        const crashed = errorOf(yield* Effect.exit(ref.ask("crash", "boom")))
        const afterCrash = yield* ref.ask("double", { n: 1 })
        return { ok, refused, crashed, afterCrash }
      })))
      expect(r.ok.n).toBe(42)
      expect(r.refused).toBeInstanceOf(Refused)
      expect((r.refused as Refused).why).toBe("negative: -1")
      expect((r.crashed as { _tag: string })._tag).toBe("ActorUnavailable")
      expect(r.afterCrash.n).toBe(2)
    }, 20_000)
  })
}

describe.skipIf(!HAVE_NATS)("NATS pools and discovery", () => {
  test("a pool of 4 shares the queue group: every request answered once, work spread, all discoverable", async () => {
    const r = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const ref = yield* transports[1]![1](4)
      const replies = yield* Effect.all(Array.from({ length: 40 }, (_, i) => ref.ask("double", { n: i })), { concurrency: 8 })
      const nc = connections[connections.length - 1]!
      const { pings, perInstance } = yield* Effect.promise(async () => {
        const pings: Array<string> = []
        for await (const p of await nc.services.client().ping(Echo.name)) pings.push(p.id)
        const perInstance: Array<number> = []
        for await (const s of await nc.services.client().stats(Echo.name)) {
          perInstance.push(s.endpoints?.reduce((a, e) => a + e.num_requests, 0) ?? 0)
        }
        return { pings, perInstance }
      })
      return { replies, pings, perInstance }
    })))
    expect(r.replies.map((x) => x.n)).toEqual(Array.from({ length: 40 }, (_, i) => i * 2))
    expect(r.pings).toHaveLength(4)
    expect(r.perInstance.reduce((a, b) => a + b, 0)).toBe(40)
    expect(r.perInstance.filter((n) => n > 0).length).toBeGreaterThan(1)
    expect(new Set(r.replies.map((x) => x.by)).size).toBeGreaterThan(1)
  }, 20_000)

  test("no instance listening is ActorUnavailable with a sentence saying what to do", async () => {
    const nc = await natsConnection()
    const ref = natsClient(nc, protocol(`nobody-${process.pid}`, "1.0.0", Echo.messages), { timeoutMs: 1000 })
    const exit = await Effect.runPromise(Effect.exit(ref.ask("double", { n: 1 })))
    const error = errorOf(exit) as { _tag: string; reason: string }
    expect(error._tag).toBe("ActorUnavailable")
    expect(error.reason).toContain(`no worker serves the nobody-${process.pid} role on NATS; start one (dshield-coord worker --roles nobody-${process.pid})`)
  })
})

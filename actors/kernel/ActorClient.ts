/**
 * Typed actor clients as Effect services: one service per actor type, whose value is the
 * `ActorRef` — so a caller writes `const analyzer = yield* PatternAnalyzerClient` and never
 * knows whether the actor runs in this process or behind NATS. The two layers are the two
 * transports.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { NatsConnection } from "nats"
import { natsClient } from "../transport/NatsTransport.ts"
import { type ActorRef, type Handlers, type Protocol, spawn, type SpawnOptions } from "./Actor.ts"

export interface ActorClient<P extends Protocol> {
  /** The service tag: `yield* Client` gives the ActorRef. */
  readonly Tag: Context.Service<ActorRef<P>, ActorRef<P>>
  /** The actor runs in this process (the embedded default). */
  readonly inProcess: <R>(behaviour: Effect.Effect<Handlers<P>, never, R>, options?: SpawnOptions) => Layer.Layer<ActorRef<P>, never, Exclude<R, Scope.Scope>>
  /** The actor runs in a NATS pool; this process only sends requests. */
  readonly nats: (nc: NatsConnection, options?: { readonly timeoutMs?: number }) => Layer.Layer<ActorRef<P>>
}

export const actorClient = <P extends Protocol>(proto: P): ActorClient<P> => {
  const Tag = Context.Service<ActorRef<P>>(`dshield-coord/actors/${proto.name}`)
  return {
    Tag,
    inProcess: (behaviour, options) => Layer.effect(Tag, spawn(proto, behaviour, options)) as never,
    nats: (nc, options) => Layer.succeed(Tag, natsClient(nc, proto, options ?? {}))
  }
}

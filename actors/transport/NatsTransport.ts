/**
 * The NATS transport: one NATS micro service per actor type, and a client with the same
 * `ActorRef` interface as the in-process one — callers never know where the actor runs.
 *
 * - Service name = protocol name, version = protocol version; endpoints are the messages,
 *   under the group `coord.actor.<name>` (subject `coord.actor.<name>.<message>`).
 * - Every instance joins the default queue group, so a pool scales by starting more
 *   processes; discovery and stats come for free through `$SRV.PING|INFO|STATS`.
 * - Payloads and replies are the Schema-encoded JSON of the protocol's types. Errors travel
 *   in the `Nats-Service-Error` / `Nats-Service-Error-Code` headers with the Schema-encoded
 *   error in the body: 400 for the message's typed error, 503 ActorUnavailable, 504
 *   ActorTimeout, 422 for a payload that does not decode.
 *
 * @since 0.1.0
 */
import { Cause, Effect, Exit, Schema } from "effect"
import { headers as natsHeaders, type NatsConnection, ServiceError, type ServiceMsg } from "nats"
import type { ActorRef, ActorStats, Protocol } from "../kernel/Actor.ts"
import { ActorTimeout, ActorUnavailable } from "../kernel/ActorErrors.ts"

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export const subjectOf = (proto: Protocol, message: string): string => `coord.actor.${proto.name}.${message}`

const json = (schema: Schema.Top) => Schema.toCodecJson(schema as Schema.Codec<unknown, unknown>)
const encodeJson = (schema: Schema.Top, value: unknown): Uint8Array =>
  encoder.encode(JSON.stringify(Schema.encodeUnknownSync(json(schema))(value)))
const decodeJson = (schema: Schema.Top, data: Uint8Array): unknown => Schema.decodeUnknownSync(json(schema))(JSON.parse(decoder.decode(data)))

/** A header-safe one-line description (NATS headers cannot hold line breaks). */
const oneLine = (text: string): string => text.replace(/[\r\n]+/g, " ").replace(/\s+/g, " ").trim().slice(0, 300)

export interface NatsServiceHandle {
  readonly stop: () => Promise<void>
}

export interface ServeOptions {
  /** Subject prefix of the endpoints (default `coord.actor.<name>`). */
  readonly group?: string
}

/** Serves an actor (running in this process) to NATS clients; stopped with the scope. */
export const serveOverNats = <P extends Protocol>(nc: NatsConnection, ref: ActorRef<P>, serveOptions: ServeOptions = {}) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const proto = ref.protocol
      const service = await nc.services.add({
        name: proto.name,
        version: proto.version,
        description: `dshield-coord ${proto.name} actor`,
        metadata: { engine: "dshield-coord" }
      })
      const group = service.addGroup(serveOptions.group ?? `coord.actor.${proto.name}`)
      for (const [message, spec] of Object.entries(proto.messages)) {
        group.addEndpoint(message, {
          handler: (err, msg: ServiceMsg) => {
            if (err !== null) return
            let payload: unknown
            try {
              payload = decodeJson(spec.payload, msg.data)
            } catch (error) {
              msg.respondError(422, oneLine(`payload of ${proto.name}.${message} does not decode: ${String(error)}`))
              return
            }
            void Effect.runPromiseExit(ref.ask(message as never, payload as never)).then((exit) => {
              if (Exit.isSuccess(exit)) {
                msg.respond(encodeJson(spec.success, exit.value))
                return
              }
              const failure = Cause.findErrorOption(exit.cause)
              const error = failure._tag === "Some" ? failure.value : new ActorUnavailable({ actor: proto.name, reason: `${proto.name} failed: ${Cause.pretty(exit.cause).slice(0, 200)}` })
              if (error instanceof ActorUnavailable) msg.respondError(503, oneLine(error.reason), encodeJson(ActorUnavailable, error))
              else if (error instanceof ActorTimeout) msg.respondError(504, `${error.actor} did not answer in ${error.timeoutMs} ms`, encodeJson(ActorTimeout, error))
              else {
                const description = (error as { message?: string }).message ?? (error as { _tag?: string })._tag ?? "error"
                msg.respondError(400, oneLine(String(description)), encodeJson(spec.error, error))
              }
            })
          },
          metadata: { protocol_version: proto.version }
        })
      }
      return { stop: () => service.stop().then(() => undefined) } satisfies NatsServiceHandle
    }),
    (handle) => Effect.promise(() => handle.stop())
  )

export interface NatsClientOptions {
  readonly timeoutMs?: number
  /** Subject prefix the service was served under (default `coord.actor.<name>`). */
  readonly group?: string
}

/** A client of an actor type served over NATS: the same ActorRef as in process. */
export const natsClient = <P extends Protocol>(nc: NatsConnection, proto: P, options: NatsClientOptions = {}): ActorRef<P> => {
  const timeoutMs = options.timeoutMs ?? 30_000
  return {
    protocol: proto,
    ask: (message, payload) =>
      Effect.gen(function*() {
        const spec = proto.messages[message]!
        const reply = yield* Effect.tryPromise({
          try: () =>
            nc.request(options.group === undefined ? subjectOf(proto, message) : `${options.group}.${message}`, encodeJson(spec.payload, payload), {
              timeout: timeoutMs,
              headers: natsHeaders()
            }),
          catch: (error) => {
            const code = (error as { code?: string }).code
            return code === "503"
              ? new ActorUnavailable({ actor: proto.name, reason: `no ${proto.name} instance is listening on NATS; start a worker with this role.` })
              : code === "TIMEOUT"
              ? new ActorTimeout({ actor: proto.name, message, timeoutMs })
              : new ActorUnavailable({ actor: proto.name, reason: `NATS request failed (${String((error as Error).message ?? error)}).` })
          }
        })
        if (ServiceError.isServiceError(reply)) {
          const serviceError = ServiceError.toServiceError(reply)!
          const decodeWith = serviceError.code === 503 ? ActorUnavailable : serviceError.code === 504 ? ActorTimeout : serviceError.code === 400 ? spec.error : undefined
          if (decodeWith === undefined || reply.data.length === 0) {
            return yield* new ActorUnavailable({ actor: proto.name, reason: `${proto.name} answered error ${serviceError.code}: ${serviceError.message}` })
          }
          return yield* Effect.fail(decodeJson(decodeWith, reply.data))
        }
        return decodeJson(spec.success, reply.data)
      }) as never,
    stats: () =>
      Effect.promise(async () => {
        const stats: Array<ActorStats> = []
        for await (const s of await nc.services.client().stats(proto.name)) {
          const processed = s.endpoints?.reduce((a, e) => a + e.num_requests - e.num_errors, 0) ?? 0
          const failed = s.endpoints?.reduce((a, e) => a + e.num_errors, 0) ?? 0
          stats.push({ name: proto.name, state: "running", processed, failed, restarts: 0, queued: 0 })
        }
        return stats.reduce<ActorStats>(
          (a, s) => ({ ...a, processed: a.processed + s.processed, failed: a.failed + s.failed }),
          { name: proto.name, state: stats.length > 0 ? "running" : "stopped", processed: 0, failed: 0, restarts: 0, queued: 0 }
        )
      })
  }
}

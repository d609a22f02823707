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
 *   ActorTimeout, 422 for a payload that does not decode (400 with the typed error when the
 *   message declares `invalid`).
 * - Deadlines travel with the request: the client sends how long it waits in the
 *   `Coord-Timeout-Ms` header (and a message may carry `timeout_ms` in its body); the server
 *   asks its actor with that deadline, capped by its `maxTimeoutMs`, or with its
 *   `defaultTimeoutMs` when the request names none. No constant decides how long work may take.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import { randomUUID } from "node:crypto"
import { createInbox, headers as natsHeaders, type NatsConnection, ServiceError, type ServiceMsg } from "nats"
import { INLINE_MAX_BYTES, incomingBody, isClaimChecked, outgoingBody } from "./LargePayloads.ts"
import type { ActorRef, ActorStats, AskOptions, Protocol } from "../kernel/Actor.ts"
import { extractTraceContext, injectTraceContext, receivedSpan } from "../../src/observability/TraceContext.ts"
import { ActorTimeout, ActorUnavailable } from "../kernel/ActorErrors.ts"

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** Header carrying how long the requester waits, in milliseconds. */
export const TIMEOUT_HEADER = "Coord-Timeout-Ms"
/** Names one request, so its caller can cancel it: a message to `coord.v1.cancel.<id>` stops its work. */
export const REQUEST_ID_HEADER = "Coord-Request-Id"
/** Where the server publishes the request's progress (JSON `{bytes, events}`) and its heartbeats (`{alive: true}`). */
export const PROGRESS_HEADER = "Coord-Progress-Subject"
/** The caller's credential: an API key, or "Bearer <access token>" (docs/api.md). */
export const CREDENTIAL_HEADER = "Coord-Api-Key"

/** Why an authorizer refused a request: 401 (no or bad credential) or 403 (role too low). */
export interface Refusal {
  readonly status: 401 | 403
  readonly reason: string
}
export const CANCEL_PREFIX = "coord.v1.cancel"
const REQUEST_ID = /^[A-Za-z0-9_-]{8,64}$/

/** Server-side deadline bounds when the worker sets none: 30 minutes by default, 6 hours at most. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30 * 60_000
export const MAX_REQUEST_TIMEOUT_MS = 6 * 60 * 60_000

/**
 * Liveness of a request in flight: the server says it is alive on the caller's progress inbox
 * every HEARTBEAT_MS while it works (its event loop stays free: analyses run on threads), and
 * a caller that has heard a heartbeat and then nothing for SILENCE_MS (default; the
 * DSHIELD_WORKER_SILENCE_MS variable sets it) stops waiting: the worker was killed or lost,
 * and a longer deadline would not help. A server that sends no heartbeat is waited for to the
 * deadline, as before.
 */
const HEARTBEAT_MS = 5_000
const DEFAULT_SILENCE_MS = 45_000
const HEARTBEAT = encoder.encode(JSON.stringify({ alive: true }))

/** The worker role that serves a protocol (the client API's protocol is served by role api). */
const roleOf = (protocolName: string): string => (protocolName === "coord" ? "api" : protocolName)

export const subjectOf = (proto: Protocol, message: string): string => `coord.actor.${proto.name}.${message}`

const json = (schema: Schema.Top) => Schema.toCodecJson(schema as Schema.Codec<unknown, unknown>)
const encodeJson = (schema: Schema.Top, value: unknown): Uint8Array =>
  encoder.encode(JSON.stringify(Schema.encodeUnknownSync(json(schema))(value)))
const decodeJson = (schema: Schema.Top, data: Uint8Array, strict = false): unknown =>
  Schema.decodeUnknownSync(json(schema))(JSON.parse(decoder.decode(data)), strict ? { onExcessProperty: "error" } : undefined)

/** A header-safe one-line description (NATS headers cannot hold line breaks). */
const oneLine = (text: string): string => text.replace(/[\r\n]+/g, " ").replace(/\s+/g, " ").trim().slice(0, 300)

export interface NatsServiceHandle {
  readonly stop: () => Promise<void>
}

export interface ServeOptions {
  /** Subject prefix of the endpoints (default `coord.actor.<name>`). */
  readonly group?: string
  /** Deadline of a request that names none (default DEFAULT_REQUEST_TIMEOUT_MS). */
  readonly defaultTimeoutMs?: number
  /** Longest deadline a request may ask for; longer ones are cut to this (default MAX_REQUEST_TIMEOUT_MS). */
  readonly maxTimeoutMs?: number
  /**
   * What `$SRV.STATS` reports for this instance in each endpoint's `data` (its state,
   * restarts, last error, readiness); default: the actor's own stats.
   */
  readonly statsData?: () => Promise<Record<string, unknown>>
  /**
   * Checks each request's credential (CREDENTIAL_HEADER) before it is decoded; a refusal is
   * answered 401/403 and nothing runs. Without it every request is served.
   */
  readonly authorize?: (message: string, credential: string | undefined, requestId: string) => Promise<Refusal | undefined>
}

/** A requested deadline in ms, if the header or the decoded body (`timeout_ms`) names one. */
const requestedTimeout = (msg: ServiceMsg, payload: unknown): number | undefined => {
  const candidates: Array<number> = []
  const header = Number(msg.headers?.get(TIMEOUT_HEADER) ?? NaN)
  if (Number.isFinite(header) && header > 0) candidates.push(header)
  const body = payload !== null && typeof payload === "object" ? (payload as { timeout_ms?: unknown }).timeout_ms : undefined
  if (typeof body === "number" && Number.isFinite(body) && body > 0) candidates.push(body)
  return candidates.length === 0 ? undefined : Math.min(...candidates)
}

/** The deadline the server applies: the request's, capped, or the server's default. */
export const effectiveTimeout = (requested: number | undefined, serveOptions: ServeOptions): number => {
  const max = serveOptions.maxTimeoutMs ?? MAX_REQUEST_TIMEOUT_MS
  return Math.min(max, requested ?? serveOptions.defaultTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS)
}

/** Serves an actor (running in this process) to NATS clients; stopped with the scope. */
export const serveOverNats = <P extends Protocol>(nc: NatsConnection, ref: ActorRef<P>, serveOptions: ServeOptions = {}) =>
  // Requests are handled on fibers of their own (started by the NATS callback): they get this
  // scope's tracer, and their span's parent is the caller's (traceparent header), not ours.
  Effect.flatMap(Effect.tracer, (tracer) => Effect.acquireRelease(
    Effect.promise(async () => {
      const proto = ref.protocol
      // What this instance answered, measured here: NATS's own endpoint statistics time the
      // handler's synchronous part (a few ms for an analysis of minutes) and count only some
      // error answers.
      const answered = { requests: 0, errors: 0, refused: 0, totalMs: 0 }
      const counted = (data: Record<string, unknown>): Record<string, unknown> => ({
        ...data,
        answered: answered.requests,
        answered_with_error: answered.errors,
        refused: answered.refused,
        average_answer_ms: answered.requests === 0 ? 0 : Math.round(answered.totalMs / answered.requests)
      })
      const service = await nc.services.add({
        name: proto.name,
        version: proto.version,
        description: `dshield-coord ${proto.name} actor`,
        metadata: { engine: "dshield-coord" },
        // Real state in $SRV.STATS, not just request counts.
        statsHandler: () =>
          (serveOptions.statsData !== undefined
            ? serveOptions.statsData()
            : Effect.runPromise(ref.stats()).then((s) => ({ state: s.state, restarts: s.restarts, last_error: s.lastError ?? null, in_flight: s.inFlight ?? 0, queued: s.queued }))
          ).then(counted)
      })
      const group = service.addGroup(serveOptions.group ?? `coord.actor.${proto.name}`)
      // Requests in flight by their id: a cancel message interrupts the ask, which stops the
      // handler (and whatever it asked on the request's behalf).
      const inFlight = new Map<string, Fiber.Fiber<unknown, unknown>>()
      const cancels = nc.subscribe(`${CANCEL_PREFIX}.*`, {
        callback: (err, m) => {
          if (err !== null) return
          const fiber = inFlight.get(m.subject.slice(CANCEL_PREFIX.length + 1))
          if (fiber !== undefined) Effect.runFork(Fiber.interrupt(fiber))
        }
      })
      for (const [message, spec] of Object.entries(proto.messages)) {
        const handle = (msg: ServiceMsg, body: Uint8Array): void => {
          let payload: unknown
          try {
            // Messages from outside the engine (those that declare `invalid`) decode strictly: an unknown key is an error, not ignored.
            payload = decodeJson(spec.payload, body, spec.invalid !== undefined)
          } catch (error) {
            answered.refused++
            const reason = oneLine(`the ${proto.name}.${message} request does not decode: ${(error as Error | undefined)?.message ?? String(error)}`)
            if (spec.invalid !== undefined) msg.respondError(400, reason, encodeJson(spec.error, spec.invalid(reason)))
            else msg.respondError(422, reason)
            return
          }
          const progressSubject = msg.headers?.get(PROGRESS_HEADER) ?? ""
          const askOptions: AskOptions = {
            timeoutMs: effectiveTimeout(requestedTimeout(msg, payload), serveOptions),
            // Only to the caller's own inbox: a request cannot make the server publish elsewhere.
            onProgress: progressSubject.startsWith("_INBOX.")
              ? (progress) => nc.publish(progressSubject, encoder.encode(JSON.stringify({ bytes: progress.bytes, events: progress.events })))
              : undefined
          }
          const heartbeat = progressSubject.startsWith("_INBOX.") ? setInterval(() => nc.publish(progressSubject, HEARTBEAT), HEARTBEAT_MS) : undefined
          const startedAt = performance.now()
          const requestId = msg.headers?.get(REQUEST_ID_HEADER) ?? ""
          const subject = `${serveOptions.group ?? `coord.actor.${proto.name}`}.${message}`
          const parent = extractTraceContext((name) => msg.headers?.get(name))
          const fiber = Effect.runFork(ref.ask(message as never, payload as never, askOptions).pipe(
            Effect.withSpan(`nats.serve ${subject}`, receivedSpan(parent, "server", { "messaging.system": "nats", "messaging.destination.name": subject, "dshield.request_id": requestId })),
            Effect.withTracer(tracer)
          ))
          if (REQUEST_ID.test(requestId)) inFlight.set(requestId, fiber)
          fiber.addObserver(async (exit) => {
            clearInterval(heartbeat)
            inFlight.delete(requestId)
            if (Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)) {
              // Cancelled by its caller, who waits for nothing.
              return
            }
            answered.requests++
            answered.totalMs += performance.now() - startedAt
            if (Exit.isFailure(exit)) answered.errors++
            if (Exit.isSuccess(exit)) {
              // A large reply goes back by claim-check too.
              const headers = natsHeaders()
              try {
                const reply = await outgoingBody(nc, encodeJson(spec.success, exit.value), headers)
                msg.respond(reply, { headers })
              } catch (error) {
                msg.respondError(503, oneLine(`the ${proto.name}.${message} reply could not be stored for the caller: ${(error as Error | undefined)?.message ?? String(error)}`))
              }
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
        }
        const refuse = (msg: ServiceMsg, refusal: Refusal): void => {
          answered.refused++
          const reason = oneLine(refusal.reason)
          if (spec.refused !== undefined) msg.respondError(refusal.status, reason, encodeJson(spec.error, spec.refused(refusal.status, reason)))
          else msg.respondError(refusal.status, reason)
        }
        const admit = (msg: ServiceMsg): void => {
          // A large request arrives by claim-check (LargePayloads.ts): fetched before decoding.
          if (!isClaimChecked(msg.headers)) return handle(msg, msg.data)
          void incomingBody(nc, msg.data, msg.headers).then(
            (body) => handle(msg, body),
            (error) => msg.respondError(422, oneLine(`the ${proto.name}.${message} request could not be read: ${(error as Error | undefined)?.message ?? String(error)}`))
          )
        }
        group.addEndpoint(message, {
          handler: (err, msg: ServiceMsg) => {
            if (err !== null) return
            const authorize = serveOptions.authorize
            if (authorize !== undefined) {
              // Checked before anything is read or decoded: an unauthenticated caller costs one lookup.
              void authorize(message, msg.headers?.get(CREDENTIAL_HEADER) || undefined, msg.headers?.get(REQUEST_ID_HEADER) ?? "").then(
                (refusal) => (refusal === undefined ? admit(msg) : refuse(msg, refusal)),
                () => msg.respondError(503, `the ${proto.name} service cannot check credentials now; retry later`)
              )
              return
            }
            // A large request arrives by claim-check (LargePayloads.ts): fetched before decoding.
            if (!isClaimChecked(msg.headers)) return handle(msg, msg.data)
            void incomingBody(nc, msg.data, msg.headers).then(
              (body) => handle(msg, body),
              (error) => msg.respondError(422, oneLine(`the ${proto.name}.${message} request could not be read: ${(error as Error | undefined)?.message ?? String(error)}`))
            )
          },
          metadata: { protocol_version: proto.version }
        })
      }
      return {
        stop: () => {
          cancels.unsubscribe()
          return service.stop().then(() => undefined)
        }
      } satisfies NatsServiceHandle
    }),
    (handle) => Effect.promise(() => handle.stop())
  ))

export interface NatsClientOptions {
  /** How long a request waits by default (sent to the server as its deadline); an ask's own `timeoutMs` overrides it. */
  readonly timeoutMs?: number
  /** Subject prefix the service was served under (default `coord.actor.<name>`). */
  readonly group?: string
  /** Sent with every request in CREDENTIAL_HEADER: an API key or "Bearer <access token>". */
  readonly credential?: string | undefined
  /** How long a request whose server has sent heartbeats waits through silence (default 45 s, or DSHIELD_WORKER_SILENCE_MS). */
  readonly silenceMs?: number
}

const silenceFromEnv = (): number => {
  const n = Number(process.env.DSHIELD_WORKER_SILENCE_MS)
  return Number.isFinite(n) && n >= 1_000 ? n : DEFAULT_SILENCE_MS
}

/** A client of an actor type served over NATS: the same ActorRef as in process. */
export const natsClient = <P extends Protocol>(nc: NatsConnection, proto: P, options: NatsClientOptions = {}): ActorRef<P> => {
  const defaultTimeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
  const subjectFor = (message: string): string => (options.group === undefined ? subjectOf(proto, message) : `${options.group}.${message}`)
  return {
    protocol: proto,
    ask: (message, payload, askOptions) =>
      Effect.gen(function*() {
        const spec = proto.messages[message]!
        const timeoutMs = askOptions?.timeoutMs ?? defaultTimeoutMs
        const headers = natsHeaders()
        // The server works to this deadline (capped by its own maximum).
        headers.set(TIMEOUT_HEADER, String(timeoutMs))
        // Named, so that giving up (this fiber interrupted) cancels the work on the server.
        const requestId = randomUUID()
        headers.set(REQUEST_ID_HEADER, requestId)
        if (options.credential !== undefined) headers.set(CREDENTIAL_HEADER, options.credential)
        // The server's handling span is a child of this request's (W3C traceparent).
        yield* injectTraceContext((name, value) => headers.set(name, value))
        const onProgress = askOptions?.onProgress
        // Progress and heartbeats come to one inbox of this request (always asked for: the
        // heartbeats tell a worker still at work from one that is gone).
        let lastHeard = 0
        const progress = nc.subscribe(createInbox(), {
          callback: (err, m) => {
            if (err !== null) return
            lastHeard = Date.now()
            try {
              const p = JSON.parse(decoder.decode(m.data)) as { bytes?: unknown; events?: unknown }
              if (onProgress !== undefined && typeof p.bytes === "number" && typeof p.events === "number") onProgress({ bytes: p.bytes, events: p.events })
            } catch {
              // A malformed progress message is ignored; progress is advisory.
            }
          }
        })
        headers.set(PROGRESS_HEADER, progress.getSubject())
        const silenceMs = options.silenceMs ?? silenceFromEnv()
        let watchdog: ReturnType<typeof setInterval> | undefined
        const reply = yield* Effect.tryPromise({
          try: async () => {
            // A large request goes by claim-check (LargePayloads.ts), and so may its reply.
            const encoded = encodeJson(spec.payload, payload)
            const body = encoded.byteLength <= INLINE_MAX_BYTES ? encoded : await outgoingBody(nc, encoded, headers)
            const silent = new Promise<never>((_, reject) => {
              watchdog = setInterval(() => {
                if (lastHeard > 0 && Date.now() - lastHeard > silenceMs) reject(Object.assign(new Error("silent"), { code: "SILENT" }))
              }, 1_000)
            })
            const answer = await Promise.race([
              nc.request(subjectFor(message), body, {
                // A little longer than the deadline, so the server's own ActorTimeout (504) arrives first.
                timeout: timeoutMs + 2_000,
                headers
              }),
              silent
            ])
            return { answer, data: ServiceError.isServiceError(answer) || !isClaimChecked(answer.headers) ? answer.data : await incomingBody(nc, answer.data, answer.headers) }
          },
          catch: (error) => {
            const code = (error as { code?: string }).code
            if (code === "SILENT") {
              return new ActorUnavailable({
                actor: proto.name,
                reason: `the worker running this request stopped answering (no word from it for ${Math.round(silenceMs / 1000)} s): it was stopped or lost its connection; run the analysis again`
              })
            }
            return code === "503"
              ? new ActorUnavailable({ actor: proto.name, reason: `no worker serves the ${roleOf(proto.name)} role on NATS; start one (dshield-coord worker --roles ${roleOf(proto.name)}).` })
              : code === "TIMEOUT"
              ? new ActorTimeout({ actor: proto.name, message, timeoutMs })
              : new ActorUnavailable({ actor: proto.name, reason: `NATS request failed (${String((error as Error).message ?? error)}).` })
          }
        }).pipe(
          // Given up (interrupted, or the worker went silent): the work on the server is cancelled.
          Effect.onExit((exit) => (Exit.isFailure(exit) ? Effect.sync(() => nc.publish(`${CANCEL_PREFIX}.${requestId}`)) : Effect.void)),
          Effect.ensuring(Effect.sync(() => {
            clearInterval(watchdog)
            progress.unsubscribe()
          }))
        )
        if (ServiceError.isServiceError(reply.answer)) {
          const serviceError = ServiceError.toServiceError(reply.answer)!
          const decodeWith = serviceError.code === 503 ? ActorUnavailable : serviceError.code === 504 ? ActorTimeout : serviceError.code === 400 || ((serviceError.code === 401 || serviceError.code === 403) && spec.refused !== undefined) ? spec.error : undefined
          if (decodeWith === undefined || reply.data.length === 0) {
            return yield* new ActorUnavailable({ actor: proto.name, reason: `${proto.name} answered error ${serviceError.code}: ${serviceError.message}` })
          }
          return yield* Effect.fail(decodeJson(decodeWith, reply.data))
        }
        return decodeJson(spec.success, reply.data)
      }).pipe(Effect.withSpan(`nats.request ${subjectFor(message)}`, { kind: "client", attributes: { "messaging.system": "nats", "messaging.destination.name": subjectFor(message) } })) as never,
    stats: () =>
      Effect.promise(async () => {
        const stats: Array<ActorStats> = []
        for await (const s of await nc.services.client().stats(proto.name)) {
          const processed = s.endpoints?.reduce((a, e) => a + e.num_requests - e.num_errors, 0) ?? 0
          const failed = s.endpoints?.reduce((a, e) => a + e.num_errors, 0) ?? 0
          // Each instance's real state, as its statsHandler reports it.
          const data = (s.endpoints?.[0]?.data ?? {}) as { state?: ActorStats["state"]; restarts?: number; last_error?: string | null; queued?: number; in_flight?: number }
          stats.push({
            name: proto.name,
            state: data.state ?? "running",
            processed,
            failed,
            restarts: data.restarts ?? 0,
            queued: data.queued ?? 0,
            inFlight: data.in_flight ?? 0,
            lastError: data.last_error ?? undefined
          })
        }
        // The pool is running while one instance runs; restarts and queues add up.
        return stats.reduce<ActorStats>(
          (a, s) => ({
            ...a,
            state: a.state === "running" || s.state === "running" ? "running" : s.state,
            processed: a.processed + s.processed,
            failed: a.failed + s.failed,
            restarts: a.restarts + s.restarts,
            queued: a.queued + s.queued,
            inFlight: (a.inFlight ?? 0) + (s.inFlight ?? 0),
            lastError: s.lastError ?? a.lastError
          }),
          { name: proto.name, state: "stopped", processed: 0, failed: 0, restarts: 0, queued: 0, inFlight: 0, lastError: undefined }
        )
      })
  }
}

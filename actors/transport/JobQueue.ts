/**
 * Durable analysis jobs: at-least-once delivery, exactly one result per analysis id.
 *
 * Over NATS: a JetStream work-queue stream with one durable pull consumer (explicit ack).
 * A job stays until a worker acks it; a worker that dies mid-job (kill -9) stops
 * heart-beating (`msg.working()` on a timer — the analysis runs on a worker thread, so the
 * timer fires), and after `ack_wait` the job is redelivered to another worker.
 *
 * Exactly one result, by compare-and-set rather than check-then-put:
 * - a worker claims a job with a KV `create` on the analysis id in the claims bucket; the
 *   claim carries the worker id, the stream sequence and a heartbeat time refreshed with
 *   every `working()`. A redelivered job whose claim has gone stale (its worker died) is
 *   taken over with a KV `update` at the stale revision — only one taker wins;
 * - a job whose result exists is acked without running again; results are written
 *   create-only (the object-store put names the previous revision 0, so it never
 *   overwrites);
 * - the same analysis id submitted again is a duplicate however late (the claim lives for
 *   the claims TTL, far beyond JetStream's 2-minute dedupe window): acked, not run.
 *
 * Poison jobs — not JSON, not a valid job, or delivered `maxAttempts` times without
 * finishing (their workers crashed) — are terminated (`term`) and published to the
 * dead-letter subject with the reason in headers; the job's id, when known, gets a
 * `failed` record so the client stops waiting. Nothing a job carries can stop the consumer.
 *
 * In process: the same interface over a plain queue (the embedded default).
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import { AckPolicy, headers as natsHeaders, type JsMsg, type KV, type NatsConnection, RetentionPolicy, StorageType } from "nats"
import type { AnalyzeReply, AnalyzeRequest, ResultStore } from "../orchestrator/Orchestrator.ts"
import { natsResultStore, type NatsResultStoreOptions } from "./NatsResultStore.ts"
import { CREDENTIAL_HEADER } from "./NatsTransport.ts"
import { extractTraceContext, injectTraceContext, receivedSpan } from "../../src/observability/TraceContext.ts"
import { jobs, jobsAckPending, jobsPending, jobsRedelivered } from "../../src/metrics/engineMetrics.ts"
import { metrics } from "../../src/metrics/Registry.ts"

export const JOBS_STREAM = "COORD_JOBS"
export const JOBS_SUBJECT = "coord.jobs.analyze"
export const JOBS_CONSUMER = "analyzers"
export const DLQ_STREAM = "COORD_DLQ"
export const DLQ_SUBJECT = "coord.dlq.jobs"
export const CLAIMS_BUCKET = "coord-job-claims"

/** An analysis id: also a KV key and an object name, so letters, digits, `-` and `_` only. */
const AnalysisId = Schema.String.check(Schema.isPattern(/^[A-Za-z0-9_-]{1,128}$/))

export const AnalysisJob = Schema.Struct({
  /** Idempotency key: one result per id, however often the job is delivered or submitted. */
  analysis_id: AnalysisId,
  /**
   * The orchestrator's analyze message, decoded (with its bounds) by the orchestrator: a
   * request it refuses (`RequestRefused`) is dead-lettered like any other poison job.
   */
  request: Schema.Unknown
})
export interface AnalysisJob extends Schema.Schema.Type<typeof AnalysisJob> {}

/** Names and limits of the job queue's JetStream resources (one namespace per deployment or test). */
export interface JobQueueOptions {
  /** How long a job may go without a heartbeat before it is redelivered (default 30 s). */
  readonly ackWaitMs?: number
  /** Deliveries after which a job that never finished is dead-lettered (default 5). */
  readonly maxAttempts?: number
  /** Suffix of every name (stream, subjects, buckets): separates deployments and test runs. */
  readonly namespace?: string
  /** How long a claim (and so duplicate detection) lives (default 7 days). */
  readonly claimsTtlMs?: number
  /** Byte limit of the claims bucket (default 64 MiB). */
  readonly claimsMaxBytes?: number
  /** TTL and byte limit of the results bucket. */
  readonly results?: NatsResultStoreOptions
  /** This worker's id in claims (default: host and pid). */
  readonly workerId?: string
}

export interface JobNames {
  readonly stream: string
  readonly subject: string
  readonly consumer: string
  readonly dlqStream: string
  readonly dlqSubject: string
  readonly claimsBucket: string
  readonly resultsBucket: string
}

export const jobNames = (options: JobQueueOptions = {}): JobNames => {
  const ns = options.namespace
  return ns === undefined || ns === ""
    ? { stream: JOBS_STREAM, subject: JOBS_SUBJECT, consumer: JOBS_CONSUMER, dlqStream: DLQ_STREAM, dlqSubject: DLQ_SUBJECT, claimsBucket: CLAIMS_BUCKET, resultsBucket: options.results?.bucket ?? "coord-results" }
    : {
      stream: `${JOBS_STREAM}_${ns}`,
      subject: `coord.jobs.${ns}.analyze`,
      consumer: JOBS_CONSUMER,
      dlqStream: `${DLQ_STREAM}_${ns}`,
      dlqSubject: `coord.dlq.${ns}.jobs`,
      claimsBucket: `${CLAIMS_BUCKET}-${ns}`,
      resultsBucket: options.results?.bucket ?? `coord-results-${ns}`
    }
}

const DAY_MS = 24 * 60 * 60_000
const defaults = (options: JobQueueOptions) => ({
  ackWaitMs: options.ackWaitMs ?? 30_000,
  maxAttempts: options.maxAttempts ?? 5,
  claimsTtlMs: options.claimsTtlMs ?? 7 * DAY_MS,
  claimsMaxBytes: options.claimsMaxBytes ?? 64 * 1024 * 1024
})

/**
 * Job-queue settings from the environment: DSHIELD_JOBS_NAMESPACE, DSHIELD_JOB_ACK_WAIT_MS,
 * DSHIELD_JOB_MAX_ATTEMPTS, DSHIELD_CLAIMS_TTL_MS, DSHIELD_CLAIMS_MAX_BYTES,
 * DSHIELD_RESULTS_TTL_MS, DSHIELD_RESULTS_MAX_BYTES (unset = the defaults).
 */
export const jobQueueOptionsFromEnv = (env: Record<string, string | undefined> = process.env): JobQueueOptions => {
  const num = (name: string): number | undefined => {
    const raw = env[name]
    if (raw === undefined || raw === "") return undefined
    const n = Number(raw)
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}=${raw} is not a positive number; unset it or give a number.`)
    return n
  }
  const namespace = env.DSHIELD_JOBS_NAMESPACE
  const results: NatsResultStoreOptions = {
    ...(namespace !== undefined && namespace !== "" ? { bucket: `coord-results-${namespace}` } : {}),
    ...(num("DSHIELD_RESULTS_TTL_MS") !== undefined ? { ttlMs: num("DSHIELD_RESULTS_TTL_MS")! } : {}),
    ...(num("DSHIELD_RESULTS_MAX_BYTES") !== undefined ? { maxBytes: num("DSHIELD_RESULTS_MAX_BYTES")! } : {})
  }
  return {
    ...(namespace !== undefined && namespace !== "" ? { namespace } : {}),
    ...(num("DSHIELD_JOB_ACK_WAIT_MS") !== undefined ? { ackWaitMs: num("DSHIELD_JOB_ACK_WAIT_MS")! } : {}),
    ...(num("DSHIELD_JOB_MAX_ATTEMPTS") !== undefined ? { maxAttempts: num("DSHIELD_JOB_MAX_ATTEMPTS")! } : {}),
    ...(num("DSHIELD_CLAIMS_TTL_MS") !== undefined ? { claimsTtlMs: num("DSHIELD_CLAIMS_TTL_MS")! } : {}),
    ...(num("DSHIELD_CLAIMS_MAX_BYTES") !== undefined ? { claimsMaxBytes: num("DSHIELD_CLAIMS_MAX_BYTES")! } : {}),
    results
  }
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** A failure talking to JetStream (connection lost, limits reached); retried by the caller. */
export class JobQueueError extends Schema.TaggedError<JobQueueError>()("JobQueueError", {
  message: Schema.String
}) {}

const js = <A>(what: string, f: () => Promise<A>): Effect.Effect<A, JobQueueError> =>
  Effect.tryPromise({ try: f, catch: (error) => new JobQueueError({ message: `${what} failed: ${String((error as Error).message ?? error)}` }) })

/**
 * Creates the job stream, its durable consumer, the dead-letter stream and the claims
 * bucket when missing, and brings an older consumer to this configuration (idempotent).
 */
export const ensureJobStream = (nc: NatsConnection, options: JobQueueOptions = {}) =>
  js("Preparing the job queue", async () => {
    const names = jobNames(options)
    const { ackWaitMs, claimsTtlMs, claimsMaxBytes } = defaults(options)
    const jsm = await nc.jetstreamManager()
    const stream = await jsm.streams.info(names.stream).catch(() => undefined)
    if (stream === undefined) {
      await jsm.streams.add({ name: names.stream, subjects: [names.subject], retention: RetentionPolicy.Workqueue, storage: StorageType.File })
    }
    const dlq = await jsm.streams.info(names.dlqStream).catch(() => undefined)
    if (dlq === undefined) {
      // Dead letters are kept (30 days, 256 MiB at most) for an operator to inspect.
      await jsm.streams.add({ name: names.dlqStream, subjects: [names.dlqSubject], storage: StorageType.File, max_age: 30 * DAY_MS * 1_000_000, max_bytes: 256 * 1024 * 1024 })
    }
    // Deliveries are unlimited at the server: the worker counts them and dead-letters a job
    // past maxAttempts itself (a server-side max_deliver would leave it stuck, unreported).
    const consumer = { durable_name: names.consumer, ack_policy: AckPolicy.Explicit, ack_wait: ackWaitMs * 1_000_000, max_deliver: -1 }
    const existing = await jsm.consumers.info(names.stream, names.consumer).catch(() => undefined)
    if (existing === undefined) await jsm.consumers.add(names.stream, consumer)
    else if (existing.config.ack_wait !== consumer.ack_wait || existing.config.max_deliver !== -1) {
      await jsm.consumers.update(names.stream, names.consumer, { ack_wait: consumer.ack_wait, max_deliver: -1 }).catch(() => undefined)
    }
    await claimsBucket(nc, names.claimsBucket, claimsTtlMs, claimsMaxBytes)
  })

const claimsBucket = async (nc: NatsConnection, bucket: string, ttlMs: number, maxBytes: number): Promise<KV> => {
  const kv = await nc.jetstream().views.kv(bucket, { ttl: ttlMs, max_bytes: maxBytes, history: 1 })
  // An older bucket without limits gets them.
  const jsm = await nc.jetstreamManager()
  const info = await jsm.streams.info(`KV_${bucket}`)
  if (info.config.max_age !== ttlMs * 1_000_000 || info.config.max_bytes !== maxBytes) {
    await jsm.streams.update(`KV_${bucket}`, { ...info.config, max_age: ttlMs * 1_000_000, max_bytes: maxBytes }).catch(() => undefined)
  }
  return kv
}

/** Submits a job; it is stored by JetStream before this returns (deduplicated for 2 minutes by id). */
/**
 * Publishes a job. The caller's credential (an API key or "Bearer <token>") rides in the
 * Coord-Api-Key header for workers started with --require-keys; it is stored in the stream
 * until a worker takes the job.
 */
export const submitJob = (nc: NatsConnection, job: AnalysisJob, options: JobQueueOptions = {}, credential?: string) =>
  Effect.gen(function*() {
    const h = natsHeaders()
    if (credential !== undefined) h.set(CREDENTIAL_HEADER, credential)
    // The job's processing span, whenever a worker takes it, is a child of this one.
    yield* injectTraceContext((name, value) => h.set(name, value))
    return yield* js("Submitting the job", async () => {
      const ack = await nc.jetstream().publish(jobNames(options).subject, encoder.encode(JSON.stringify(job)), { msgID: job.analysis_id, headers: h })
      return ack.seq
    }).pipe(
      // The deploy/nats users: only `submitter` may publish jobs (`client` calls coord.v1.* only).
      Effect.mapError((e) =>
        /permissions violation/i.test(e.message) ? new JobQueueError({ message: `${e.message}; the NATS user may not submit jobs: use the submitter user of deploy/nats` }) : e
      )
    )
  }).pipe(Effect.withSpan(`jobs.submit ${jobNames(options).subject}`, { kind: "producer", attributes: { "messaging.system": "nats", "messaging.destination.name": jobNames(options).subject, "dshield.analysis_id": job.analysis_id } }))

/** The object holding a job's answer: the orchestrator's reply, or `{ failed }`. */
export const resultName = (analysisId: string): string => `job-${analysisId}`

/** What the claims bucket holds per analysis id. */
interface Claim {
  readonly worker: string
  /** Stream sequence of the message that carries this claim's work. */
  readonly seq: number
  readonly state: "running" | "released" | "done" | "failed"
  /** Last heartbeat (ms since epoch, this worker's clock). */
  readonly heartbeat_at: number
  readonly progress?: { readonly bytes: number; readonly events: number }
}

const readClaim = (data: Uint8Array): Claim | undefined => {
  try {
    return JSON.parse(decoder.decode(data)) as Claim
  } catch {
    return undefined
  }
}

/** What happened to one delivered message (for logs and tests). */
export type JobOutcome =
  | { readonly _tag: "Done"; readonly analysisId: string }
  | { readonly _tag: "Failed"; readonly analysisId: string; readonly message: string }
  | { readonly _tag: "Duplicate"; readonly analysisId: string }
  | { readonly _tag: "Busy"; readonly analysisId: string }
  | { readonly _tag: "Retry"; readonly analysisId: string; readonly reason: string }
  | { readonly _tag: "DeadLettered"; readonly reason: string }

/** Runs one analysis for the consumer; progress feeds the claim's heartbeat. */
export type JobRunner = (
  request: unknown,
  onProgress: (progress: { readonly bytes: number; readonly events: number }) => void
) => Effect.Effect<AnalyzeReply, unknown>

export interface ConsumeOptions extends JobQueueOptions {
  /** Completes when the worker shuts down: the consumer stops taking jobs (in-flight ones finish). */
  readonly stopping?: Effect.Effect<boolean>
  /** Told about every message handled (worker logs, stats). */
  readonly onOutcome?: (outcome: JobOutcome) => Effect.Effect<void>
  /**
   * The key check of `worker --require-keys`: a job whose Coord-Api-Key header is missing, not
   * valid or of a role that may not analyse is dead-lettered with the reason as its answer.
   */
  readonly authorize?: (credential: string | undefined) => Promise<{ readonly status: number; readonly reason: string } | undefined>
  /** Wraps the handling of each message: the worker counts it as work in flight (its drain waits for it). */
  readonly track?: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

/** Publishes a dead letter (the original bytes, the reason in headers) to the DLQ stream. */
const deadLetter = (nc: NatsConnection, names: JobNames, msg: JsMsg, reason: string, analysisId?: string) =>
  js("Publishing a dead letter", async () => {
    const h = natsHeaders()
    h.set("Coord-Dlq-Reason", reason.replace(/[\r\n]+/g, " ").slice(0, 500))
    h.set("Coord-Dlq-Stream", names.stream)
    h.set("Coord-Dlq-Stream-Seq", String(msg.seq))
    h.set("Coord-Dlq-Deliveries", String(msg.info.deliveryCount))
    if (analysisId !== undefined) h.set("Coord-Analysis-Id", analysisId)
    await nc.jetstream().publish(names.dlqSubject, msg.data, { headers: h })
  })

/**
 * Handles one delivered message: decode, claim, run with heartbeats, store the one result,
 * ack — or dead-letter, or leave it for redelivery. Never fails: every outcome is an answer.
 */
const handleMessage = (
  nc: NatsConnection,
  kv: KV,
  results: ReturnType<typeof natsResultStore>,
  run: JobRunner,
  msg: JsMsg,
  options: ConsumeOptions
): Effect.Effect<JobOutcome, JobQueueError> =>
  Effect.gen(function*() {
    const names = jobNames(options)
    const { ackWaitMs, maxAttempts } = defaults(options)
    const workerId = options.workerId ?? `worker-${process.pid}`
    const poison = (reason: string, analysisId?: string) =>
      Effect.gen(function*() {
        yield* deadLetter(nc, names, msg, reason, analysisId)
        if (analysisId !== undefined) {
          yield* results.create(resultName(analysisId), encoder.encode(JSON.stringify({ failed: reason, dead_lettered: true })))
          yield* markClaim(analysisId, "failed")
        }
        msg.term()
        return { _tag: "DeadLettered", reason } satisfies JobOutcome
      })
    const markClaim = (analysisId: string, state: Claim["state"]) =>
      Effect.ignore(js("Updating the claim", async () => {
        const entry = await kv.get(analysisId)
        const claim: Claim = { worker: workerId, seq: msg.seq, state, heartbeat_at: Date.now() }
        if (entry === null || entry.operation !== "PUT") await kv.create(analysisId, encoder.encode(JSON.stringify(claim)))
        else await kv.update(analysisId, encoder.encode(JSON.stringify(claim)), entry.revision)
      }))

    // 1. Decode: a job that cannot be read will never be readable.
    let parsed: unknown
    try {
      parsed = JSON.parse(decoder.decode(msg.data))
    } catch {
      return yield* poison("the job is not JSON")
    }
    const decoded = Schema.decodeUnknownExit(AnalysisJob)(parsed)
    if (Exit.isFailure(decoded)) {
      const id = (parsed as { analysis_id?: unknown } | null)?.analysis_id
      const knownId = typeof id === "string" && /^[A-Za-z0-9_-]{1,128}$/.test(id) ? id : undefined
      const problem = Cause.findErrorOption(decoded.cause)
      const detail = problem._tag === "Some" ? String(problem.value).split("\n").slice(0, 3).join(" ") : "invalid"
      return yield* poison(`the job does not match the job schema (${detail})`, knownId)
    }
    const job = decoded.value
    const id = job.analysis_id

    // 2. Already answered (a duplicate, or a redelivery after the answer was stored).
    if ((yield* results.get(resultName(id))) !== undefined) {
      msg.ack()
      return { _tag: "Duplicate", analysisId: id } satisfies JobOutcome
    }
    // Whoever published it must hold a key that may analyse (checked when the job is taken).
    if (options.authorize !== undefined) {
      const authorize = options.authorize
      const refused = yield* js("Checking the job's key", () => authorize(msg.headers?.get(CREDENTIAL_HEADER) || undefined))
      if (refused !== undefined) return yield* poison(`${refused.status === 401 ? "unauthorized" : "forbidden"}: ${refused.reason}`, id)
    }
    // 3. Crash-looping (each delivery's worker died or crashed): dead-letter it.
    if (msg.info.deliveryCount > maxAttempts) {
      return yield* poison(`the job was delivered ${msg.info.deliveryCount - 1} times without finishing (its workers crashed or failed)`, id)
    }

    // 4. Claim it (compare-and-set).
    const claimValue = (state: Claim["state"], progress?: Claim["progress"]): Uint8Array =>
      encoder.encode(JSON.stringify({ worker: workerId, seq: msg.seq, state, heartbeat_at: Date.now(), ...(progress ? { progress } : {}) } satisfies Claim))
    const claimed = yield* js("Claiming the job", async (): Promise<number | "duplicate" | "busy"> => {
      try {
        return await kv.create(id, claimValue("running"))
      } catch (error) {
        if ((error as { api_error?: { err_code?: number } }).api_error?.err_code !== 10071 && !/wrong last sequence/i.test(String((error as Error).message))) throw error
      }
      const entry = await kv.get(id)
      if (entry === null || entry.operation !== "PUT") return await kv.create(id, claimValue("running"))
      const claim = readClaim(entry.value)
      if (claim !== undefined && claim.seq !== msg.seq) return "duplicate" // another submission carries (or carried) this work
      if (claim !== undefined && (claim.state === "done" || claim.state === "failed")) return "duplicate"
      const live = claim !== undefined && claim.state === "running" && claim.worker !== workerId && Date.now() - claim.heartbeat_at < ackWaitMs
      if (live) return "busy"
      // Stale (its worker died), released, or ours: take it over — only one taker wins.
      try {
        return await kv.update(id, claimValue("running"), entry.revision)
      } catch {
        return "busy"
      }
    })
    if (claimed === "duplicate") {
      msg.ack()
      return { _tag: "Duplicate", analysisId: id } satisfies JobOutcome
    }
    if (claimed === "busy") {
      // Another live worker holds it: look again after one ack wait.
      msg.nak(ackWaitMs)
      return { _tag: "Busy", analysisId: id } satisfies JobOutcome
    }

    // 5. Run with heartbeats: the analysis is on a thread, so this timer fires.
    let revision = claimed
    let progress: Claim["progress"] | undefined
    let beating = false
    const heartbeat = setInterval(() => {
      msg.working()
      if (beating) return
      beating = true
      kv.update(id, claimValue("running", progress), revision)
        .then((r) => void (revision = r))
        .catch(() => undefined)
        .finally(() => void (beating = false))
    }, Math.max(100, Math.floor(ackWaitMs / 3)))
    const release = Effect.ignore(js("Releasing the claim", () => kv.update(id, claimValue("released"), revision)))
    const outcome = yield* Effect.exit(run(job.request, (p) => void (progress = p))).pipe(
      Effect.ensuring(Effect.sync(() => clearInterval(heartbeat))),
      // Interrupted (the worker stops past its grace period): give the job back at once.
      Effect.onInterrupt(() => Effect.andThen(release, Effect.sync(() => msg.nak())))
    )
    if (Exit.isSuccess(outcome)) {
      yield* results.create(resultName(id), encoder.encode(JSON.stringify(outcome.value)))
      yield* Effect.ignore(js("Completing the claim", () => kv.update(id, claimValue("done"), revision)))
      msg.ack()
      return { _tag: "Done", analysisId: id } satisfies JobOutcome
    }
    const failure = Cause.findErrorOption(outcome.cause)
    const tag = failure._tag === "Some" && !Cause.hasDies(outcome.cause) ? (failure.value as { _tag?: unknown })._tag : undefined
    const message = failure._tag === "Some" ? String((failure.value as { message?: unknown }).message ?? tag) : ""
    if (tag === "RequestRefused") {
      // The request fails validation: it never will pass, so it is poison.
      yield* release
      return yield* poison(`the orchestrator refused the request: ${message}`, id)
    }
    if (tag === "AnalysisFailed" || tag === "ActorTimeout") {
      // A failed analysis is an answer (unreadable input will not get better): record it, ack.
      // So is one past the job's deadline (its timeout_ms, else the worker's --max-timeout):
      // the same job runs as long again on any worker, so it is not retried.
      const answer = tag === "AnalysisFailed"
        ? `AnalysisFailed: ${message}`
        : `DeadlineExceeded: the analysis did not finish within its deadline (${deadlineOf(failure)}); submit it again with a longer timeout (analyze --timeout, or timeout_ms).`
      yield* results.create(resultName(id), encoder.encode(JSON.stringify({ failed: answer })))
      yield* Effect.ignore(js("Completing the claim", () => kv.update(id, claimValue("failed"), revision)))
      msg.ack()
      return { _tag: "Failed", analysisId: id, message: answer } satisfies JobOutcome
    }
    // A crash (the thread or the actor died): give it back for another attempt, with backoff.
    const reason = Cause.pretty(outcome.cause).split("\n")[0] ?? "crashed"
    yield* release
    msg.nak(Math.min(60_000, 1_000 * 2 ** Math.min(6, msg.info.deliveryCount - 1)))
    return { _tag: "Retry", analysisId: id, reason } satisfies JobOutcome
  })

/** An ActorTimeout's deadline in words ("90 s"), as far as the failure tells it. */
const deadlineOf = (failure: Option.Option<unknown>): string => {
  const ms = Option.isSome(failure) ? (failure.value as { timeoutMs?: unknown }).timeoutMs : undefined
  return typeof ms === "number" && Number.isFinite(ms) ? `${ms >= 10_000 ? Math.round(ms / 1000) : ms / 1000} s` : "its timeout"
}

/**
 * Takes jobs one at a time until `stopping` says stop (then returns; the job in hand is
 * finished first) or the fiber is interrupted. A lost connection is waited out: the loop
 * retries with backoff instead of dying.
 */
const OUTCOME_LABELS: Record<JobOutcome["_tag"], string> = { Done: "done", Failed: "failed", Duplicate: "duplicate", Busy: "busy", Retry: "retry", DeadLettered: "dead_lettered" }

/** The consumer's lag, read from JetStream at each scrape of /metrics while the consumer runs. */
const collectConsumerLag = (nc: NatsConnection, names: JobNames) =>
  Effect.acquireRelease(
    Effect.sync(() =>
      metrics.collect(async () => {
        const info = await nc.jetstreamManager().then((jsm) => jsm.consumers.info(names.stream, names.consumer))
        const labels = { stream: names.stream, consumer: names.consumer }
        jobsPending.set(labels, info.num_pending)
        jobsRedelivered.set(labels, info.num_redelivered)
        jobsAckPending.set(labels, info.num_ack_pending)
      })
    ),
    (stop) => Effect.sync(stop)
  )

export const consumeJobs = (nc: NatsConnection, results: ReturnType<typeof natsResultStore>, run: JobRunner, options: ConsumeOptions = {}) =>
  Effect.gen(function*() {
    const names = jobNames(options)
    yield* collectConsumerLag(nc, names)
    const { claimsTtlMs, claimsMaxBytes } = defaults(options)
    const stopping = options.stopping ?? Effect.succeed(false)
    let failures = 0
    while (!(yield* stopping)) {
      const step = Effect.gen(function*() {
        const consumer = yield* js("Opening the job consumer", () => nc.jetstream().consumers.get(names.stream, names.consumer))
        const kv = yield* js("Opening the claims bucket", () => claimsBucket(nc, names.claimsBucket, claimsTtlMs, claimsMaxBytes))
        while (!(yield* stopping)) {
          const msg = yield* js("Fetching a job", () => consumer.next({ expires: 1000 }))
          if (msg === null) continue
          failures = 0
          const track = options.track ?? ((effect) => effect)
          // Under the submitter's span (traceparent in the job's headers), else a trace of its own.
          const parent = extractTraceContext((name) => msg.headers?.get(name))
          const handled = handleMessage(nc, kv, results, run, msg, options).pipe(
            Effect.withSpan(`jobs.process ${names.subject}`, receivedSpan(parent, "consumer", { "messaging.system": "nats", "messaging.destination.name": names.subject, "messaging.message.delivery_count": msg.info.deliveryCount }))
          )
          const outcome = yield* track(handled).pipe(
            // A JetStream failure mid-job: the job stays unacked and is redelivered.
            Effect.catchCause((cause) =>
              Effect.sync(() => {
                msg.nak(1_000)
                return { _tag: "Retry", analysisId: "?", reason: Cause.pretty(cause).split("\n")[0] ?? "error" } satisfies JobOutcome
              })
            )
          )
          jobs.inc({ outcome: OUTCOME_LABELS[outcome._tag] })
          if (options.onOutcome !== undefined) yield* options.onOutcome(outcome)
        }
      })
      const exit = yield* Effect.exit(step)
      if (Exit.isFailure(exit)) {
        if (Cause.hasInterruptsOnly(exit.cause)) return yield* Effect.interrupt
        // The connection is down or the stream is missing: wait and try again, forever.
        failures++
        yield* Effect.sleep(Math.min(10_000, 250 * 2 ** Math.min(6, failures)))
      }
    }
  }).pipe(Effect.scoped)

/**
 * The job queue as one interface over both transports: JetStream (durable, across
 * machines) or an in-process queue (the embedded default: same semantics within one
 * process — at-least-once delivery, one result per analysis id).
 */
export interface JobQueueService<Request = unknown> {
  readonly submit: (job: { readonly analysis_id: string; readonly request: Request }) => Effect.Effect<void, JobQueueError>
  /** Takes jobs until interrupted; each result is stored under its analysis id. */
  readonly consume: (run: (request: Request) => Effect.Effect<AnalyzeReply, unknown>) => Effect.Effect<void, JobQueueError>
  readonly result: (analysisId: string) => Effect.Effect<Uint8Array | undefined>
}

export const natsJobQueue = (nc: NatsConnection, options: JobQueueOptions = {}): JobQueueService => {
  const results = natsResultStore(nc, options.results)
  return {
    submit: (job) => Effect.asVoid(Effect.andThen(ensureJobStream(nc, options), submitJob(nc, job, options))),
    consume: (run) => Effect.andThen(ensureJobStream(nc, options), consumeJobs(nc, results, (request) => run(request), options)),
    result: (analysisId) => results.get(resultName(analysisId))
  }
}

export const memoryJobQueue = <Request = typeof AnalyzeRequest.Type>(results: ResultStore) =>
  Effect.gen(function*() {
    const queue = yield* Queue.unbounded<{ readonly analysis_id: string; readonly request: Request }>()
    const claimed = new Set<string>()
    const service: JobQueueService<Request> = {
      submit: (job) => Effect.asVoid(Queue.offer(queue, job)),
      consume: (run) =>
        Effect.forever(
          Effect.gen(function*() {
            const job = yield* Queue.take(queue)
            // The claim: one run per analysis id, however often it is submitted.
            if (claimed.has(job.analysis_id) || (yield* results.get(resultName(job.analysis_id))) !== undefined) return
            claimed.add(job.analysis_id)
            const outcome = yield* Effect.exit(run(job.request))
            const body = outcome._tag === "Success" ? outcome.value : { failed: String(Option.getOrUndefined(Cause.findErrorOption(outcome.cause)) ?? Cause.squash(outcome.cause)) }
            yield* results.put(resultName(job.analysis_id), encoder.encode(JSON.stringify(body)), job.analysis_id)
          })
        ),
      result: (analysisId) => results.get(resultName(analysisId))
    }
    return service
  })

/**
 * Durable analysis jobs. Over NATS: a JetStream work-queue stream with one durable pull
 * consumer (explicit ack): a job stays until a worker acks it, and a worker that dies
 * mid-job (kill -9) stops heart-beating, so after `ack_wait` the job is redelivered to
 * another worker. In process: the same interface over a plain queue.
 *
 * Exactly one result per job: results are stored under the job's analysis id, and a worker
 * that receives a job whose result already exists (a redelivery after the first worker
 * finished but died before acking) acks it without running it again.
 *
 * @since 0.1.0
 */
import { Effect, Queue } from "effect"
import { AckPolicy, type JsMsg, type NatsConnection, RetentionPolicy, StorageType } from "nats"
import type { AnalyzeReply, AnalyzeRequest, ResultStore } from "../orchestrator/Orchestrator.ts"

export const JOBS_STREAM = "COORD_JOBS"
export const JOBS_SUBJECT = "coord.jobs.analyze"
export const JOBS_CONSUMER = "analyzers"

export interface AnalysisJob {
  /** Idempotency key: one result per id, however often the job is delivered. */
  readonly analysis_id: string
  readonly request: typeof AnalyzeRequest.Type
}

export interface JobQueueOptions {
  /** How long a job may go without a heartbeat before it is redelivered. */
  readonly ackWaitMs?: number
  readonly maxDeliver?: number
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** Creates the stream and the durable consumer when missing (idempotent). */
export const ensureJobStream = (nc: NatsConnection, options: JobQueueOptions = {}) =>
  Effect.promise(async () => {
    const jsm = await nc.jetstreamManager()
    const streams = await jsm.streams.names().next()
    if (!streams.includes(JOBS_STREAM)) {
      await jsm.streams.add({ name: JOBS_STREAM, subjects: [JOBS_SUBJECT], retention: RetentionPolicy.Workqueue, storage: StorageType.File })
    }
    const consumers = await jsm.consumers.list(JOBS_STREAM).next()
    if (!consumers.some((c) => c.name === JOBS_CONSUMER)) {
      await jsm.consumers.add(JOBS_STREAM, {
        durable_name: JOBS_CONSUMER,
        ack_policy: AckPolicy.Explicit,
        ack_wait: (options.ackWaitMs ?? 30_000) * 1_000_000,
        max_deliver: options.maxDeliver ?? 5
      })
    }
  })

/** Submits a job; it is stored by JetStream before this returns. */
export const submitJob = (nc: NatsConnection, job: AnalysisJob) =>
  Effect.promise(async () => {
    const ack = await nc.jetstream().publish(JOBS_SUBJECT, encoder.encode(JSON.stringify(job)), { msgID: job.analysis_id })
    return ack.seq
  })

export const resultName = (analysisId: string): string => `job-${analysisId}`

/**
 * Takes jobs one at a time until interrupted: run, store the result under the job id, ack.
 * `run` is the orchestrator's analyze; a heartbeat keeps a long job from being redelivered
 * while its worker is alive.
 */
export const consumeJobs = (
  nc: NatsConnection,
  results: ResultStore,
  run: (request: typeof AnalyzeRequest.Type) => Effect.Effect<AnalyzeReply, unknown>,
  options: JobQueueOptions = {}
) =>
  Effect.gen(function*() {
    const consumer = yield* Effect.promise(() => nc.jetstream().consumers.get(JOBS_STREAM, JOBS_CONSUMER))
    const heartbeatMs = Math.max(100, Math.floor((options.ackWaitMs ?? 30_000) / 3))
    while (true) {
      const msg: JsMsg | null = yield* Effect.promise(() => consumer.next({ expires: 1000 }))
      if (msg === null) continue
      const job = JSON.parse(decoder.decode(msg.data)) as AnalysisJob
      const existing = yield* results.get(resultName(job.analysis_id))
      if (existing !== undefined) {
        // Redelivered after it was done: exactly one result already exists.
        msg.ack()
        continue
      }
      const heartbeat = setInterval(() => msg.working(), heartbeatMs)
      const outcome = yield* Effect.exit(run(job.request)).pipe(Effect.ensuring(Effect.sync(() => clearInterval(heartbeat))))
      if (outcome._tag === "Success") {
        yield* results.put(resultName(job.analysis_id), encoder.encode(JSON.stringify(outcome.value)))
        msg.ack()
      } else {
        // A failed analysis is an answer too (bad input will not get better): record it, ack.
        yield* results.put(resultName(job.analysis_id), encoder.encode(JSON.stringify({ failed: String(outcome.cause) })))
        msg.ack()
      }
    }
  })

/**
 * The job queue as one interface over both transports: JetStream (durable, across
 * machines) or an in-process queue (the embedded default: same semantics within one
 * process — at-least-once delivery, one result per analysis id).
 */
export interface JobQueueService {
  readonly submit: (job: AnalysisJob) => Effect.Effect<void>
  /** Takes jobs until interrupted; each result is stored under its analysis id. */
  readonly consume: (run: (request: typeof AnalyzeRequest.Type) => Effect.Effect<AnalyzeReply, unknown>) => Effect.Effect<never>
  readonly result: (analysisId: string) => Effect.Effect<Uint8Array | undefined>
}

export const natsJobQueue = (nc: NatsConnection, results: ResultStore, options: JobQueueOptions = {}): JobQueueService => ({
  submit: (job) => Effect.asVoid(Effect.andThen(ensureJobStream(nc, options), submitJob(nc, job))),
  consume: (run) => Effect.andThen(ensureJobStream(nc, options), consumeJobs(nc, results, run, options)) as Effect.Effect<never>,
  result: (analysisId) => results.get(resultName(analysisId))
})

export const memoryJobQueue = (results: ResultStore) =>
  Effect.gen(function*() {
    const queue = yield* Queue.unbounded<AnalysisJob>()
    const service: JobQueueService = {
      submit: (job) => Effect.asVoid(Queue.offer(queue, job)),
      consume: (run) =>
        Effect.forever(
          Effect.gen(function*() {
            const job = yield* Queue.take(queue)
            if ((yield* results.get(resultName(job.analysis_id))) !== undefined) return
            const outcome = yield* Effect.exit(run(job.request))
            const body = outcome._tag === "Success" ? outcome.value : { failed: String(outcome.cause) }
            yield* results.put(resultName(job.analysis_id), encoder.encode(JSON.stringify(body)))
          })
        ),
      result: (analysisId) => results.get(resultName(analysisId))
    }
    return service
  })

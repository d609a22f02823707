/**
 * Live mode: `ingest --from nats` consumes sensor events from a JetStream stream and keeps the
 * store's campaigns up to date as sessions finish.
 *
 * The consumer is a durable pull consumer on the stream, filtered by subject, with
 * AckPolicy.All: acking one message acks every message before it. It acks only below the
 * *floor* (LiveState): the first stream sequence some uncommitted session still needs. Each
 * commit stores the analysis and the checkpoint (floor, highest sequence read, open sessions)
 * in one transaction (live_offsets), and the ack follows the commit. When the consumer starts
 * it reads its checkpoint and, when the durable consumer still has messages delivered to a
 * previous process and never acked (it was killed), re-creates the durable consumer at the
 * first message it still needs instead of waiting out the ack timeout: no message before the
 * floor is read again, and those after it that the store already has are recognised by the
 * checkpoint and skipped. One process per consumer name.
 *
 * Plain async TypeScript (the per-message path must stay cheap); the Effect boundary is
 * src/cli/commands/live.ts.
 */
import { AckPolicy, type ConsumerConfig, DeliverPolicy, type JsMsg, type NatsConnection } from "nats"
import type { AlertSink } from "./alerts.ts"
import { campaignAlerts } from "./alerts.ts"
import { type LiveCheckpoint, LiveState } from "./LiveState.ts"
import type { LiveCommitReport, LiveStore } from "./LiveStore.ts"
import { type LiveFormat, messageParser } from "./parseMessage.ts"

export interface LiveOptions {
  readonly stream: string
  /** Subject filter of the consumer (wildcards allowed). */
  readonly subject: string
  readonly consumer: string
  readonly tenant: string
  readonly format: LiveFormat
  /** How often finished sessions are committed. */
  readonly commitEveryMs: number
  /** A session without an event for this long (wall clock) is finished; the stream quiet this long is flushed. */
  readonly sessionTimeoutMs: number
  /** Where the consumer reports its progress every 250 ms (JSON, see LiveStatus). */
  readonly statusSubject: string
  /** Messages per pull request (default 1000). */
  readonly batch?: number
  readonly log: (line: string) => void
  /** Told after each commit (tests, the CLI). */
  readonly onCommit?: (report: LiveCommitReport, why: string) => void
}

/** What the consumer publishes on its status subject. */
export interface LiveStatus {
  readonly consumer: string
  readonly stream: string
  readonly tenant: string
  /** The highest stream sequence read. */
  readonly processed_seq: number
  /** Every message below is committed (or rejected). */
  readonly floor_seq: number
  readonly open_sessions: number
  readonly finished_sessions: number
  readonly events: number
  readonly rejected: Record<string, number>
  readonly commits: number
  readonly recoveries: number
  readonly at: string
}

export interface LiveSummary {
  readonly startSeq: number
  readonly processedSeq: number
  readonly floorSeq: number
  readonly events: number
  readonly commits: number
  readonly recoveries: number
  readonly sessionsCommitted: number
  readonly rejected: Record<string, number>
}

/** A failure the consumer cannot get past; `exitCode` 2 for what the operator must fix (stream, consumer), 1 otherwise. */
export class LiveFailure extends Error {
  constructor(message: string, readonly exitCode: 1 | 2) {
    super(message)
  }
}

/** Messages may stay unacked while a session holds the floor; the consumer never relies on redelivery. */
const ACK_WAIT_NS = 24 * 60 * 60 * 1_000_000_000
const STATUS_EVERY_MS = 250
const EXPIRE_EVERY_MS = 1000

const isNotFound = (error: unknown): boolean => {
  const e = error as { code?: unknown; api_error?: { code?: number; err_code?: number }; message?: string }
  return e.api_error?.code === 404 || e.code === "404" || /not found/i.test(String(e.message ?? ""))
}

/**
 * Makes sure the durable consumer exists and will deliver what this run needs; returns the
 * first stream sequence it will deliver.
 */
export const positionConsumer = async (nc: NatsConnection, options: Pick<LiveOptions, "stream" | "subject" | "consumer" | "log">, checkpoint: LiveCheckpoint | undefined): Promise<number> => {
  const jsm = await nc.jetstreamManager()
  const stream = await jsm.streams.info(options.stream).catch((error: unknown) => {
    if (isNotFound(error)) {
      throw new LiveFailure(`The stream ${options.stream} does not exist on this NATS server; create it (dshield-coord tail creates it) or check --stream.`, 2)
    }
    throw error
  })
  if (checkpoint !== undefined && stream.state.first_seq > checkpoint.floorSeq) {
    options.log(
      `live: warning: the stream no longer holds messages ${checkpoint.floorSeq}–${stream.state.first_seq - 1}, which were not committed yet (its limits removed them); their events are lost.`
    )
  }
  const existing = await jsm.consumers.info(options.stream, options.consumer).catch((error: unknown) => {
    if (isNotFound(error)) return undefined
    throw error
  })
  const floor = checkpoint?.floorSeq ?? 1
  if (existing !== undefined) {
    const config = existing.config
    const same = config.ack_policy === AckPolicy.All && (config.filter_subject ?? "") === options.subject
    // Nothing delivered and left unacked: it resumes right after its ack floor, which the
    // last run only moved below its own floor.
    if (same && existing.num_ack_pending === 0) return Math.max(existing.delivered.stream_seq + 1, 1)
    // Messages delivered to a process that is gone (or another filter): start again where
    // this run must, instead of waiting a day for their ack timeout.
    await jsm.consumers.delete(options.stream, options.consumer)
  }
  const start = Math.max(floor, existing === undefined ? 1 : existing.ack_floor.stream_seq + 1)
  await jsm.consumers.add(options.stream, consumerConfig(options, start))
  return start
}

/** The durable pull consumer live mode reads with, delivering from stream sequence `start`. */
const consumerConfig = (options: Pick<LiveOptions, "subject" | "consumer">, start: number): Partial<ConsumerConfig> => ({
  durable_name: options.consumer,
  ack_policy: AckPolicy.All,
  ack_wait: ACK_WAIT_NS,
  max_ack_pending: -1,
  max_deliver: -1,
  filter_subject: options.subject,
  ...(start <= 1 ? { deliver_policy: DeliverPolicy.All } : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start })
})

/** Re-creates the durable consumer to deliver from `start` (the previous one's deliveries are forgotten). */
const restartConsumer = async (nc: NatsConnection, options: Pick<LiveOptions, "stream" | "subject" | "consumer">, start: number): Promise<void> => {
  const jsm = await nc.jetstreamManager()
  await jsm.consumers.delete(options.stream, options.consumer).catch(() => undefined)
  await jsm.consumers.add(options.stream, consumerConfig(options, start))
}

const encoder = new TextEncoder()

/**
 * Consumes until `signal` is aborted, then commits what is finished, acks and returns.
 * Throws LiveFailure (or a store failure) when it cannot go on; what was not committed is
 * read again by the next run.
 */
export const runLiveConsumer = async (
  nc: NatsConnection,
  store: LiveStore,
  alerts: AlertSink,
  options: LiveOptions,
  signal: AbortSignal
): Promise<LiveSummary> => {
  const checkpoint = await store.checkpoint()
  const startSeq = await positionConsumer(nc, options, checkpoint)
  const state = new LiveState(messageParser(options.format), checkpoint, startSeq, `nats:${options.stream}`)
  let consumer = await nc.jetstream().consumers.get(options.stream, options.consumer)
  options.log(
    `live: consuming ${options.stream} (${options.subject}) as ${options.consumer} from sequence ${startSeq}` +
      (checkpoint === undefined ? " (no checkpoint yet)" : ` (checkpoint: floor ${checkpoint.floorSeq}, read up to ${checkpoint.processedSeq}, ${Object.keys(checkpoint.openSessions).length} open sessions)`) +
      `, tenant ${options.tenant}.`
  )

  let commits = 0
  let sessionsCommitted = 0
  /** The last message read at each tick: what an ack can name (AckAll acks everything before it too). */
  const handles: Array<JsMsg> = []
  let lastStatus = 0
  let lastExpire = Date.now()
  let lastCommit = Date.now()
  let lastMessage = Date.now()

  const status = (now: number): void => {
    lastStatus = now
    const body: LiveStatus = {
      consumer: options.consumer,
      stream: options.stream,
      tenant: options.tenant,
      processed_seq: state.processedSeq,
      floor_seq: state.floor(),
      open_sessions: state.openCount,
      finished_sessions: state.finished.length,
      events: state.eventsFed,
      rejected: Object.fromEntries([...state.rejectTotals].sort(([a], [b]) => (a < b ? -1 : 1))),
      commits,
      recoveries: state.recoveries,
      at: new Date(now).toISOString()
    }
    try {
      nc.publish(options.statusSubject, encoder.encode(JSON.stringify(body)))
    } catch {
      // A status that cannot be published (connection closing) is skipped.
    }
  }

  const ackBelowFloor = (): void => {
    const floor = state.floor()
    let target: JsMsg | undefined
    while (handles.length > 0 && handles[0]!.seq < floor) target = handles.shift()
    target?.ack()
  }

  /**
   * The commit in flight, if any: one at a time, and the stream is read on while it runs (its
   * database work overlaps with consumption). Its checkpoint is the state when it began, so
   * it stays exact whatever is read meanwhile; sessions finished meanwhile wait for the next.
   */
  let running: Promise<void> | undefined
  /** Sessions of the commit in flight (the first ones of `finished`). */
  let inFlightSessions = 0
  let failure: unknown

  const startCommit = (why: string): Promise<void> | undefined => {
    if (running !== undefined || state.finished.length === 0) return running
    const finished = state.finished.slice()
    const checkpoint = state.checkpointAfterCommit()
    const rejected = state.takeRejects()
    const began = Date.now()
    lastCommit = began
    inFlightSessions = finished.length
    running = store.commit({ finished, rejected, checkpoint }).then(
      (report) => {
        state.committed(finished.length)
        commits++
        sessionsCommitted += finished.length
        ackBelowFloor()
        alerts.send(campaignAlerts(report, options.tenant))
        options.onCommit?.(report, why)
        options.log(
          `live: commit ${commits} (${why}, ${Date.now() - began} ms: history ${report.timings.loadMs}, analysis ${report.timings.analyseMs}, write ${report.timings.saveMs}): ` +
            `${finished.length} session(s), ${report.events} event(s); ` +
            `${report.result.campaigns.length} campaign(s) over ${report.analysed} stored session(s), ${report.created.length} new, ` +
            `${report.reactivated.length} re-activated, ${report.campaignsConcluded} concluded; floor ${checkpoint.floorSeq}, read up to ${checkpoint.processedSeq}; analysis ${report.analysisId}.`
        )
        status(Date.now())
      },
      (error: unknown) => {
        failure = error
      }
    ).finally(() => {
      running = undefined
      inFlightSessions = 0
    })
    return running
  }

  const throwIfFailed = (): void => {
    if (failure !== undefined) throw failure
  }

  /** Waits for the commit in flight, then commits what is finished and waits for that too. */
  const commitNow = async (why: string): Promise<void> => {
    if (running !== undefined) await running
    throwIfFailed()
    const started = startCommit(why)
    if (started !== undefined) await started
    throwIfFailed()
  }

  /** The builder stopped: commit what is finished, re-read the open sessions, until it holds. */
  const recover = async (): Promise<void> => {
    const reason = state.stopReason
    while (state.needsRecovery) {
      await commitNow("recovery")
      state.recover()
    }
    options.log(`live: the stream contradicted a session already finished (${reason ?? "out of order"}); committed what was finished and re-read the ${state.openCount} open session(s).`)
  }

  /**
   * One async section at a time besides the message loop (a tick's idle flush, a recovery):
   * the loop waits for it before its next message, so the state is never touched by both.
   */
  let exclusive: Promise<void> | undefined
  const exclusively = (f: () => Promise<void>): Promise<void> => {
    const section: Promise<void> = (exclusive ?? Promise.resolve()).then(f).finally(() => {
      if (exclusive === section) exclusive = undefined
    })
    exclusive = section
    return section
  }

  /** The last message read, and whether it is already an ack handle. */
  let lastMsg: JsMsg | undefined
  const tick = async (): Promise<void> => {
    const now = Date.now()
    if (lastMsg !== undefined && handles[handles.length - 1] !== lastMsg) handles.push(lastMsg)
    if (now - lastExpire >= EXPIRE_EVERY_MS) {
      lastExpire = now
      state.expire(now, options.sessionTimeoutMs)
      if (state.needsRecovery) await recover()
    }
    if (now - lastMessage >= options.sessionTimeoutMs && (state.openCount > 0 || state.finished.length > inFlightSessions)) {
      // The stream went quiet: every open session ends here (a later event starts a new piece).
      state.flushAll()
      if (state.needsRecovery) await recover()
      await commitNow("idle")
    } else if (state.finished.length > 0 && now - lastCommit >= options.commitEveryMs) {
      startCommit("periodic")
    }
    ackBelowFloor()
    if (now - lastStatus >= STATUS_EVERY_MS) status(now)
  }

  const batch = options.batch ?? 1000
  let fatal: unknown
  while (!signal.aborted) {
    const messages = await consumer.consume({ max_messages: batch, abort_on_missing_resource: true })
    const stop = (): void => messages.stop()
    signal.addEventListener("abort", stop, { once: true })
    const timer = setInterval(() => {
      if (exclusive !== undefined || fatal !== undefined) return
      void exclusively(tick).catch((error: unknown) => {
        fatal = error
        messages.stop()
      })
    }, STATUS_EVERY_MS)
    /** Where to start again when a delivery went missing (the consumer sequence skipped). */
    let restartAt: number | undefined
    let lastDelivery = 0
    try {
      for await (const msg of messages) {
        if (exclusive !== undefined) await exclusive.catch(() => undefined)
        if (fatal !== undefined || signal.aborted) break
        // Deliveries are numbered without gaps: a gap is a message lost on the way (its pull
        // ended before it arrived). Acking past it would lose it, so the consumer is
        // re-created and reads again.
        const delivery = msg.info.deliverySequence
        if (lastDelivery !== 0 && delivery > lastDelivery + 1) {
          // From the floor, not from the gap: the new consumer counts everything before its
          // start as acknowledged, and a restart after a crash trusts that. What it delivers
          // again up to the last message read is recognised by sequence and ignored.
          restartAt = state.floor()
          break
        }
        lastDelivery = delivery
        lastMsg = msg
        const now = Date.now()
        lastMessage = now
        if (state.offer(msg.seq, msg.data, now) === "stopped") await exclusively(recover)
        throwIfFailed()
      }
    } catch (error) {
      if (!signal.aborted && fatal === undefined) {
        if (error instanceof LiveFailure) throw error
        if (isNotFound(error) || /no responders|consumer deleted/i.test(String((error as Error).message))) {
          throw new LiveFailure(`The consumer ${options.consumer} or the stream ${options.stream} was deleted while the live consumer ran; restart it.`, 2)
        }
        throw error
      }
    } finally {
      clearInterval(timer)
      signal.removeEventListener("abort", stop)
      messages.stop()
    }
    if (exclusive !== undefined) await exclusive.catch(() => undefined)
    if (fatal !== undefined) throw fatal
    if (restartAt !== undefined) {
      // Acks name the consumer's own sequences: none of the old consumer's may be sent now.
      handles.length = 0
      lastMsg = undefined
      options.log(`live: a delivery went missing after sequence ${state.processedSeq}; the consumer starts again at the floor, ${restartAt}.`)
      await restartConsumer(nc, options, restartAt)
      consumer = await nc.jetstream().consumers.get(options.stream, options.consumer)
    } else if (!signal.aborted) {
      throw new LiveFailure(`The connection to NATS closed while the live consumer ran; restart it.`, 1)
    }
  }
  // Stopping: what is finished is committed; open sessions are read again by the next run.
  if (lastMsg !== undefined && handles[handles.length - 1] !== lastMsg) handles.push(lastMsg)
  await commitNow("stop")
  ackBelowFloor()
  status(Date.now())
  await nc.flush().catch(() => undefined)
  const rejected = [...state.rejectTotals].sort(([a], [b]) => (a < b ? -1 : 1)).map(([r, n]) => `${r} ${n}`).join(", ")
  options.log(
    `live: stopped: read up to sequence ${state.processedSeq}, floor ${state.floor()} (${state.openCount} open session(s) left for the next run); ` +
      `${commits} commit(s), ${sessionsCommitted} session(s), ${state.eventsFed} event(s)${rejected === "" ? "" : `, rejected: ${rejected}`}.`
  )
  return {
    startSeq,
    processedSeq: state.processedSeq,
    floorSeq: state.floor(),
    events: state.eventsFed,
    commits,
    recoveries: state.recoveries,
    sessionsCommitted,
    rejected: Object.fromEntries(state.rejectTotals)
  }
}

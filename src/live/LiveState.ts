/**
 * The bookkeeping of live mode, apart from NATS and the store (so it is tested on its own):
 * stream messages in, finished attack sessions out, and at any moment the *ack floor* — the
 * stream sequence below which every message belongs only to committed sessions (or was
 * rejected).
 *
 * Messages go through the streaming SessionBuilder, which hands finished sessions on in
 * (start, id) order. Each open session remembers the sequences and bytes of its messages
 * (bytes only while it is open: a session that stops the builder is re-read from them), and
 * the sequence of its first message; a finished session waits in `finished` for the caller to
 * commit it. So
 *
 *     floor = min(first seq of every session not yet committed), or processed + 1 when none.
 *
 * What the store keeps with each commit (see `checkpoint`) is enough to tell, after a crash,
 * which redelivered message is already in the store: the floor, the highest sequence read
 * (`processedSeq`), and the open sessions with the first sequence of their uncommitted piece.
 * A message at or below `processedSeq` belongs to a committed piece unless its session was open
 * then and the message is not older than that piece; anything above `processedSeq` is new. So
 * a crash before a commit re-builds the open sessions from their redelivered messages, a crash
 * between the commit and the ack skips what was committed: no event is lost or counted twice.
 *
 * When the input contradicts a session already handed on (an event for a session that was
 * finished — it timed out on the wall clock, or cowrie logged something after its close — or
 * a session starting before one handed on), the builder stops (`needsRecovery`): the caller
 * commits what is finished, then `recover()` starts a fresh builder and re-reads the messages
 * of the sessions still open. A later event of a committed session becomes a new piece of it,
 * which the store joins with the stored one (runAnalysis.mergeHistory).
 */
import type { AttackSession } from "../domain/AttackSession.ts"
import type { HoneypotEvent } from "../domain/Event.ts"
import type { LineOutcome } from "../ingest/formats/Format.ts"
import { lineExcerpt } from "../ingest/readLines.ts"
import { RejectLog } from "../ingest/RejectLog.ts"
import { SessionBuilder } from "../ingest/SessionBuilder.ts"

/** Where a previous run's last commit left the stream (read from the store at start). */
export interface LiveCheckpoint {
  /** Every message below is committed (or was rejected). */
  readonly floorSeq: number
  /** The highest sequence read when the commit was made. */
  readonly processedSeq: number
  /** Sessions open then: id → first sequence of the piece not yet committed. */
  readonly openSessions: Readonly<Record<string, number>>
}

/** A finished session waiting for its commit, with the sequences of its first and last message. */
export interface FinishedSession {
  readonly session: AttackSession
  readonly firstSeq: number
  readonly lastSeq: number
}

/** What became of one offered message. */
export type Offered =
  | "redelivered" // at or below a sequence already read: ignored
  | "committed" // below the checkpoint, or in a piece the store already has: skipped
  | "blank"
  | "rejected"
  | "fed"
  /** The builder stopped on this message: commit `finished`, then `recover()`. */
  | "stopped"

interface OpenSession {
  firstSeq: number
  lastSeq: number
  /** Wall-clock time (ms) of its last message. */
  lastWall: number
  readonly seqs: Array<number>
  readonly data: Array<Uint8Array>
}

export class LiveState {
  private builder: SessionBuilder
  private readonly open = new Map<string, OpenSession>()
  /** Finished sessions not yet committed, in the order they were handed on. */
  readonly finished: Array<FinishedSession> = []
  /** Rejects since the last commit (reported in that commit's Result). */
  rejects: RejectLog
  /** Rejects since start, by reason. */
  readonly rejectTotals = new Map<string, number>()
  /** The highest sequence read (offered and not a redelivery). */
  processedSeq: number
  /** Set when the builder stopped; cleared by recover(). */
  needsRecovery = false
  /** Events fed since start (re-reads after a recovery not counted again). */
  eventsFed = 0
  /** Recoveries so far (the builder stopped on a contradiction). */
  recoveries = 0

  /**
   * @param parse one message's bytes to an event, a reject reason or null (messageParser)
   * @param checkpoint where the last commit of a previous run left the stream, if any
   * @param startSeq the first sequence the consumer will deliver (messages before it are not offered)
   * @param label what rejects are filed under (the stream and subject)
   */
  constructor(
    private readonly parse: (data: Uint8Array) => LineOutcome,
    private readonly checkpoint: LiveCheckpoint | undefined = undefined,
    startSeq = 1,
    private readonly label = "stream"
  ) {
    this.builder = this.newBuilder()
    this.rejects = new RejectLog()
    this.processedSeq = Math.max(0, startSeq - 1)
  }

  private newBuilder(): SessionBuilder {
    return new SessionBuilder(undefined, (session) => {
      const open = this.open.get(session.id)
      // Every session the builder hands on was opened here (feed records before it adds).
      if (open === undefined) throw new Error(`live: session ${session.id} handed on without its messages`)
      this.open.delete(session.id)
      this.finished.push({ session, firstSeq: open.firstSeq, lastSeq: open.lastSeq })
    })
  }

  /** Sessions open (events still expected). */
  get openCount(): number {
    return this.open.size
  }

  /** The first sequence not yet committed (see the module comment). */
  floor(): number {
    let min = Infinity
    for (const s of this.open.values()) if (s.firstSeq < min) min = s.firstSeq
    for (const f of this.finished) if (f.firstSeq < min) min = f.firstSeq
    return min === Infinity ? this.processedSeq + 1 : min
  }

  /**
   * What the store keeps with a commit of everything in `finished`: the floor once they are
   * committed, the highest sequence read, and each open session's first sequence.
   */
  checkpointAfterCommit(): LiveCheckpoint {
    let min = Infinity
    const openSessions: Record<string, number> = {}
    for (const [id, s] of this.open) {
      openSessions[id] = s.firstSeq
      if (s.firstSeq < min) min = s.firstSeq
    }
    return { floorSeq: min === Infinity ? this.processedSeq + 1 : min, processedSeq: this.processedSeq, openSessions }
  }

  /**
   * The first `count` finished sessions were committed: they leave the bookkeeping. (Sessions
   * finished while the commit ran come after them and stay.)
   */
  committed(count: number): void {
    this.finished.splice(0, count)
  }

  /** The rejects since the last call (what one commit reports), by reason. */
  takeRejects(): Record<string, number> {
    const counts = this.rejects.toRecord()
    this.rejects = new RejectLog()
    return counts
  }

  /** One delivered message. */
  offer(seq: number, data: Uint8Array, now: number): Offered {
    if (seq <= this.processedSeq) return "redelivered"
    this.processedSeq = seq
    const cp = this.checkpoint
    if (cp !== undefined && seq < cp.floorSeq) return "committed"
    const outcome = this.parse(data)
    if (outcome === null) return "blank"
    if (typeof outcome === "string") {
      // A reject already counted by the run that read it before the crash is not counted again.
      if (cp !== undefined && seq <= cp.processedSeq) return "committed"
      this.rejects.add(outcome, this.label, seq, lineExcerpt(data, 0, data.length))
      this.rejectTotals.set(outcome, (this.rejectTotals.get(outcome) ?? 0) + 1)
      return "rejected"
    }
    if (cp !== undefined && seq <= cp.processedSeq) {
      const first = cp.openSessions[outcome.sessionKey]
      if (first === undefined || seq < first) return "committed"
    }
    this.eventsFed++
    // The bytes are copied: the client's buffer is reused, and these live until the session ends.
    return this.feed(seq, data.slice(), outcome, now)
  }

  private feed(seq: number, data: Uint8Array, event: HoneypotEvent, now: number): Offered {
    let open = this.open.get(event.sessionKey)
    if (open === undefined) {
      open = { firstSeq: seq, lastSeq: seq, lastWall: now, seqs: [], data: [] }
      this.open.set(event.sessionKey, open)
    }
    open.lastSeq = seq
    if (now > open.lastWall) open.lastWall = now
    open.seqs.push(seq)
    open.data.push(data)
    // Recorded before it is added: the builder may hand the session on inside add().
    this.builder.add(event)
    if (this.builder.outOfOrder !== undefined) {
      this.needsRecovery = true
      return "stopped"
    }
    return "fed"
  }

  /** Why the builder stopped (while `needsRecovery`). */
  get stopReason(): string | undefined {
    return this.builder.outOfOrder
  }

  /**
   * After the builder stopped and `finished` was committed: a fresh builder, and the messages
   * of every session still open read into it again in sequence order. May stop again (each
   * time with at least one more session finished), so check `needsRecovery` after it.
   */
  recover(): void {
    if (this.finished.length > 0) throw new Error("live: recover() before the finished sessions were committed")
    this.recoveries++
    const pending: Array<{ seq: number; data: Uint8Array; wall: number }> = []
    for (const s of this.open.values()) {
      for (let i = 0; i < s.seqs.length; i++) pending.push({ seq: s.seqs[i]!, data: s.data[i]!, wall: s.lastWall })
    }
    pending.sort((a, b) => a.seq - b.seq)
    this.open.clear()
    this.builder = this.newBuilder()
    this.needsRecovery = false
    for (const m of pending) {
      const outcome = this.parse(m.data)
      // These parsed as events when they arrived; the parser is deterministic.
      if (outcome === null || typeof outcome === "string") continue
      if (this.needsRecovery) {
        // Stopped again: the rest only waits for the next recovery.
        this.record(m.seq, m.data, outcome.sessionKey, m.wall)
        continue
      }
      this.feed(m.seq, m.data, outcome, m.wall)
    }
  }

  private record(seq: number, data: Uint8Array, key: string, wall: number): void {
    let open = this.open.get(key)
    if (open === undefined) {
      open = { firstSeq: seq, lastSeq: seq, lastWall: wall, seqs: [], data: [] }
      this.open.set(key, open)
    }
    open.lastSeq = seq
    open.seqs.push(seq)
    open.data.push(data)
  }

  /**
   * Sessions whose last message came more than `timeoutMs` ago (wall clock) are finished;
   * they are handed on as soon as the order allows.
   */
  expire(now: number, timeoutMs: number): number {
    if (this.needsRecovery) return 0
    const idle: Array<string> = []
    for (const [id, s] of this.open) if (now - s.lastWall > timeoutMs) idle.push(id)
    if (idle.length > 0) this.builder.finish(idle)
    return idle.length
  }

  /**
   * The stream went quiet: every open session is finished and handed on, and a fresh builder
   * takes what comes next (a later event of one of them becomes a new piece of it).
   */
  flushAll(): void {
    if (this.needsRecovery) return
    if (!this.builder.end()) {
      this.needsRecovery = true
      return
    }
    this.builder = this.newBuilder()
  }
}

/**
 * The same event read twice counts once. Overlapping inputs repeat events: two exports of one
 * Elasticsearch index over overlapping windows, a rotated log beside a copy taken mid-day, a
 * live message delivered again. Whole files read twice, and a log that grew since an earlier
 * copy, are already caught by file (ingest.ts); an overlap inside files is caught here, per
 * session, event by event.
 *
 * Two events of one session are the same event read twice when their kind, time and every
 * field the engine reads are equal and they come from different inputs. Times are compared to
 * the millisecond, so one log can hold two equal events of a session (a bot that sends the same
 * command twice in one write): events of one input never repeat each other. Gap-sessionised
 * formats (firewall packets, web requests) have second-resolution times and genuinely repeat,
 * so they are never compared (the builder does not ask for them).
 *
 * Each event is kept as its time, a 32-bit hash of its other fields and its input, in arrival
 * order. A log delivers a session's events in time order, so an event newer than all before
 * it is only recorded; one that is not is compared with the recorded events of the same time
 * (two distinct events of one session would have to share the millisecond and collide in 32
 * bits to be taken for one). A session whose events arrive out of time order, or with very
 * many at one instant (hostile input), switches to a map, so no event costs more than
 * constant time.
 */
import type { HoneypotEvent } from "../domain/Event.ts"

/** Recorded events of one instant compared one by one before the session switches to a set. */
const MAX_SAME_INSTANT_SCAN = 64

const FNV_PRIME = 0x01000193

/** A field into the hash: its tag (the same text in another field differs), length and characters. */
const mixText = (h: number, tag: number, text: string | undefined): number => {
  if (text === undefined) return h
  h = Math.imul(h ^ tag, FNV_PRIME)
  h = Math.imul(h ^ text.length, FNV_PRIME)
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME)
  return h
}

const mixNumber = (h: number, tag: number, value: number | undefined): number =>
  value === undefined ? h : Math.imul(Math.imul(h ^ tag, FNV_PRIME) ^ (value | 0), FNV_PRIME)

/**
 * A hash of the event's fields apart from its time (compared exactly) and what every event
 * of a session shares (session id, source address, sensor).
 */
export const eventHash = (event: HoneypotEvent): number => {
  let h = 0x811c9dc5
  h = mixText(h, 1, event.kind)
  h = mixText(h, 2, event.sourceEventId)
  h = mixText(h, 3, event.protocol)
  h = mixNumber(h, 4, event.srcPort)
  h = mixText(h, 5, event.dstIp)
  h = mixNumber(h, 6, event.dstPort)
  h = mixText(h, 7, event.username)
  h = mixText(h, 8, event.password)
  h = mixText(h, 9, event.input)
  h = mixText(h, 10, event.url)
  h = mixText(h, 11, event.sha256)
  h = mixText(h, 12, event.filename)
  h = mixText(h, 13, event.version)
  h = mixText(h, 14, event.hassh)
  h = mixText(h, 15, event.key)
  h = mixText(h, 16, event.fingerprint)
  h = mixText(h, 17, event.forwardTarget)
  h = mixText(h, 18, event.method)
  h = mixText(h, 19, event.userAgent)
  return h >>> 0
}

/** Hash and input packed in one number: exact below 2^53, so for inputs numbered below 2^21. */
const INPUT_UNIT = 0x100000000

/** The events of one session seen so far. */
export class SeenEvents {
  /** Arrival order, times never decreasing, while `events` is undefined. */
  private times: Array<number> = []
  /** hash + input × 2^32 of each recorded event. */
  private marks: Array<number> = []
  /** Time and hash → the input that first held it, once the order no longer holds. */
  private events: Map<string, number> | undefined

  /**
   * True when an equal event from another input was recorded before (a repeat: to be
   * dropped); otherwise records it. `latest` is the newest time of the session's earlier
   * events (-Infinity for its first).
   */
  repeats(ts: number, hash: number, input: number, latest: number): boolean {
    if (this.events !== undefined) return this.inMap(ts, hash, input)
    const mark = hash + input * INPUT_UNIT
    if (ts > latest) {
      this.times.push(ts)
      this.marks.push(mark)
      return false
    }
    // The first recorded event at this instant, then the run of them.
    const times = this.times
    let lo = 0
    let hi = times.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (times[mid]! < ts) lo = mid + 1
      else hi = mid
    }
    let scanned = 0
    for (let i = lo; i < times.length && times[i] === ts; i++) {
      const other = this.marks[i]!
      if (other % INPUT_UNIT === hash && other !== mark) return true
      if (++scanned > MAX_SAME_INSTANT_SCAN) return this.toMap(ts, hash, input)
    }
    // New, at the newest instant: the order still holds. Older: it no longer does.
    if (ts === latest) {
      times.push(ts)
      this.marks.push(mark)
      return false
    }
    return this.toMap(ts, hash, input)
  }

  private toMap(ts: number, hash: number, input: number): boolean {
    const events = new Map<string, number>()
    for (let i = 0; i < this.times.length; i++) {
      const key = `${this.times[i]} ${this.marks[i]! % INPUT_UNIT}`
      if (!events.has(key)) events.set(key, Math.floor(this.marks[i]! / INPUT_UNIT))
    }
    this.events = events
    this.times = []
    this.marks = []
    return this.inMap(ts, hash, input)
  }

  private inMap(ts: number, hash: number, input: number): boolean {
    const key = `${ts} ${hash}`
    const first = this.events!.get(key)
    if (first === undefined) {
      this.events!.set(key, input)
      return false
    }
    return first !== input
  }
}

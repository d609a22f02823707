/**
 * The same event read twice counts once. Overlapping inputs repeat events: two exports of one
 * Elasticsearch index over overlapping windows, a rotated log beside a copy taken mid-day.
 * Whole files read twice, and a log that grew since an earlier copy, are already caught by
 * file (ingest.ts); an overlap inside files is caught here, per session, event by event. (Live
 * mode drops redelivered messages by their stream sequence instead: src/live/LiveState.ts.)
 *
 * Two events of one session are the same event read twice when their kind, time and every
 * field the engine reads are equal and they come from different inputs. Times are compared to
 * the millisecond, so one log can hold two equal events of a session (a bot that sends the same
 * command twice in one write): events of one input never repeat each other. Gap-sessionised
 * formats (firewall packets, web requests) have second-resolution times and genuinely repeat,
 * so they are never compared (the builder does not ask for them).
 *
 * Each event is kept as its time, a 32-bit hash of its other fields (a long text by its
 * length and both ends: see mixText) and its input, in arrival order. A log delivers a
 * session's events in time order, so an event newer than all before it is only recorded; one
 * that is not is compared with the recorded events of the same time (two distinct events of
 * one session would have to share the millisecond and the hash to be taken for one). A session
 * whose events arrive out of time order, or with very many at one instant (hostile input),
 * switches to a map, so no event costs more than constant time.
 */
import type { HoneypotEvent } from "../domain/Event.ts"

/** Recorded events of one instant compared one by one before the session switches to a map. */
const MAX_SAME_INSTANT_SCAN = 64

const FNV_PRIME = 0x01000193

/** Characters hashed at each end of a longer text (with its length: see mixText). */
const TEXT_END_CHARS = 24

/**
 * A field into the hash: its tag (the same text in another field differs), its length, and its
 * characters, or for a longer text its first and last TEXT_END_CHARS. Two distinct events taken
 * for one would then have to share the millisecond, the kind, every shorter field, and a long
 * text's length and both ends; hashing every character of every command cost a tenth of
 * ingest.
 */
const mixText = (h: number, tag: number, text: string | undefined): number => {
  if (text === undefined) return h
  const n = text.length
  h = Math.imul(h ^ tag, FNV_PRIME)
  h = Math.imul(h ^ n, FNV_PRIME)
  if (n <= 2 * TEXT_END_CHARS) {
    for (let i = 0; i < n; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME)
    return h
  }
  for (let i = 0; i < TEXT_END_CHARS; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME)
  for (let i = n - TEXT_END_CHARS; i < n; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME)
  return h
}

const mixNumber = (h: number, tag: number, value: number | undefined): number =>
  value === undefined ? h : Math.imul(Math.imul(h ^ tag, FNV_PRIME) ^ (value | 0), FNV_PRIME)

/**
 * Hashes of event names (kinds and source event ids: a few dozen strings, each on most lines),
 * kept so that their characters are not hashed again for every event.
 */
const nameHashes = new Map<string, number>()
const MAX_NAMES_KEPT = 4096

const nameHash = (name: string): number => {
  const known = nameHashes.get(name)
  if (known !== undefined) return known
  const h = mixText(0x9747b28c, 0, name)
  if (nameHashes.size < MAX_NAMES_KEPT) nameHashes.set(name, h)
  return h
}

/**
 * A hash of the event's fields apart from its time (compared exactly) and what every event
 * of a session shares (session id, source address, sensor).
 */
export const eventHash = (event: HoneypotEvent): number => {
  let h = Math.imul(0x811c9dc5 ^ nameHash(event.kind), FNV_PRIME)
  h = Math.imul(h ^ nameHash(event.sourceEventId), FNV_PRIME)
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
  /**
   * Time, then hash + input × 2^32, of each recorded event, in arrival order (one array: a
   * million sessions make a million of them); times never decrease while `events` is undefined.
   */
  private entries: Array<number> = []
  /** Time and hash → the input that first held it, once the order no longer holds. */
  private events: Map<string, number> | undefined

  /**
   * True when an equal event from another input was recorded before (a repeat: to be
   * dropped); otherwise records it. `latest` is the newest time of the session's earlier
   * events (-Infinity for its first).
   */
  repeats(ts: number, hash: number, input: number, latest: number): boolean {
    if (this.events !== undefined) return this.inMap(ts, hash, input)
    const entries = this.entries
    const mark = hash + input * INPUT_UNIT
    if (ts > latest) {
      entries.push(ts, mark)
      return false
    }
    // The first recorded event at this instant, then the run of them.
    let lo = 0
    let hi = entries.length >>> 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (entries[2 * mid]! < ts) lo = mid + 1
      else hi = mid
    }
    let scanned = 0
    for (let i = 2 * lo; i < entries.length && entries[i] === ts; i += 2) {
      const other = entries[i + 1]!
      if (other % INPUT_UNIT === hash && other !== mark) return true
      if (++scanned > MAX_SAME_INSTANT_SCAN) return this.toMap(ts, hash, input)
    }
    // New, at the newest instant: the order still holds. Older: it no longer does.
    if (ts === latest) {
      entries.push(ts, mark)
      return false
    }
    return this.toMap(ts, hash, input)
  }

  private toMap(ts: number, hash: number, input: number): boolean {
    const events = new Map<string, number>()
    const entries = this.entries
    for (let i = 0; i < entries.length; i += 2) {
      const key = `${entries[i]} ${entries[i + 1]! % INPUT_UNIT}`
      if (!events.has(key)) events.set(key, Math.floor(entries[i + 1]! / INPUT_UNIT))
    }
    this.events = events
    this.entries = []
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

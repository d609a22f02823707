/**
 * `tail FILE --to nats`: publishes a log to a JetStream stream, one message per line, at a
 * given rate — a sensor feed for testing live mode (and its benchmark) with a recorded log.
 *
 * The file is read with the ingest reader (plain or gzip, detected by content; lines over
 * 1 MiB skipped without being buffered), paced against the wall clock (line i is sent at
 * start + i / rate), with a window of publish acknowledgements in flight: JetStream has stored
 * every line before this returns. Reading is held back while the lines waiting to be sent
 * pile up, so memory stays bounded whatever the file's size.
 */
import { createReadStream } from "node:fs"
import { stat } from "node:fs/promises"
import { Readable } from "node:stream"
import { type JetStreamClient, type NatsConnection, type PubAck, StorageType } from "nats"
import { readLines } from "../ingest/readLines.ts"
import { LiveFailure } from "./LiveConsumer.ts"

export const DEFAULT_SENSOR_STREAM = "SENSORS"
export const DEFAULT_SENSOR_SUBJECT = "dshield.events.cowrie"
/** The subjects a stream created by `tail` captures when the subject is under dshield.events. */
export const SENSOR_SUBJECTS = "dshield.events.>"

export interface TailOptions {
  readonly file: string
  readonly stream: string
  readonly subject: string
  /** Lines per second; 0 = as fast as the acknowledgements come. */
  readonly rate: number
  /** Publish acknowledgements awaited at most at once (default 256). */
  readonly window?: number
  /** Told every second (and at the end): lines published so far. */
  readonly onProgress?: (published: number, elapsedMs: number) => void
}

export interface TailSummary {
  readonly published: number
  /** Lines too long to publish (over 1 MiB, or the server's max_payload). */
  readonly skipped: number
  readonly firstSeq: number | undefined
  readonly lastSeq: number | undefined
  readonly elapsedMs: number
  readonly streamCreated: boolean
}

/** Whether a concrete subject matches a NATS subject pattern (`*` one token, `>` the rest). */
export const subjectMatches = (pattern: string, subject: string): boolean => {
  const p = pattern.split(".")
  const s = subject.split(".")
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ">") return s.length > i
    if (i >= s.length) return false
    if (p[i] !== "*" && p[i] !== s[i]) return false
  }
  return p.length === s.length
}

/** The stream exists (created when missing, file storage) and captures `subject`; true when created. */
export const ensureSensorStream = async (nc: NatsConnection, stream: string, subject: string): Promise<boolean> => {
  const jsm = await nc.jetstreamManager()
  const info = await jsm.streams.info(stream).catch(() => undefined)
  if (info !== undefined) {
    if (!info.config.subjects.some((p) => subjectMatches(p, subject))) {
      throw new LiveFailure(`The stream ${stream} does not capture the subject ${subject} (its subjects: ${info.config.subjects.join(", ")}); pass a --subject it captures or another --stream.`, 2)
    }
    return false
  }
  const subjects = subjectMatches(SENSOR_SUBJECTS, subject) ? [SENSOR_SUBJECTS] : [subject]
  try {
    await jsm.streams.add({ name: stream, subjects, storage: StorageType.File })
  } catch (error) {
    throw new LiveFailure(`The stream ${stream} could not be created (${String((error as Error).message ?? error)}); create it with the NATS CLI or check the user's permissions.`, 2)
  }
  return true
}

const HIGH_WATER = 50_000
const LOW_WATER = 10_000

export const tailToNats = async (nc: NatsConnection, options: TailOptions, signal: AbortSignal): Promise<TailSummary> => {
  try {
    const info = await stat(options.file)
    if (!info.isFile()) throw new LiveFailure(`${options.file} is not a regular file; pass a log file.`, 2)
  } catch (error) {
    if (error instanceof LiveFailure) throw error
    const code = (error as { code?: string }).code
    throw new LiveFailure(code === "ENOENT" ? `Input ${options.file} does not exist; check the path.` : `Input ${options.file} cannot be read (${code ?? String(error)}); check the path.`, 2)
  }
  const streamCreated = await ensureSensorStream(nc, options.stream, options.subject)
  const js: JetStreamClient = nc.jetstream()
  const maxPayload = nc.info?.max_payload ?? 1024 * 1024

  // Lines read and not yet sent; the reader waits while there are too many.
  const queue: Array<Uint8Array> = []
  let head = 0
  let readingDone = false
  let readError: unknown
  let skipped = 0
  let wakePublisher: (() => void) | undefined
  let wakeReader: (() => void) | undefined
  const pending = (): number => queue.length - head

  async function* gated(): AsyncGenerator<Uint8Array> {
    for await (const chunk of createReadStream(options.file, { highWaterMark: 64 * 1024 }) as AsyncIterable<Uint8Array>) {
      while (pending() > HIGH_WATER && !signal.aborted) await new Promise<void>((r) => (wakeReader = r))
      if (signal.aborted) return
      yield chunk
    }
  }
  const reading = readLines(Readable.from(gated()), {
    line: (text) => {
      queue.push(new TextEncoder().encode(text))
      wakePublisher?.()
    },
    bytes: (buf, start, end) => {
      if (end - start > maxPayload) skipped++
      else queue.push(buf.slice(start, end))
      wakePublisher?.()
      return true
    },
    overlong: () => void skipped++
  }).then(
    () => void (readingDone = true),
    (error: unknown) => {
      readError = error
      readingDone = true
    }
  ).finally(() => wakePublisher?.())

  const window = Math.max(1, options.window ?? 256)
  const acks: Array<Promise<PubAck>> = []
  let firstSeq: number | undefined
  let lastSeq: number | undefined
  let published = 0
  const started = performance.now()
  let lastProgress = started
  const settle = async (ack: Promise<PubAck>): Promise<void> => {
    let pa: PubAck
    try {
      pa = await ack
    } catch (error) {
      throw new LiveFailure(`Publishing to ${options.subject} failed (${String((error as Error).message ?? error)}); check that the stream ${options.stream} captures it and the user may publish there.`, 1)
    }
    if (firstSeq === undefined || pa.seq < firstSeq) firstSeq = pa.seq
    if (lastSeq === undefined || pa.seq > lastSeq) lastSeq = pa.seq
  }

  while (!signal.aborted) {
    if (head >= queue.length) {
      if (readingDone) break
      await new Promise<void>((r) => (wakePublisher = r))
      wakePublisher = undefined
      continue
    }
    const line = queue[head]!
    queue[head++] = EMPTY
    if (head > 4096 && head * 2 > queue.length) {
      queue.splice(0, head)
      head = 0
    }
    if (pending() < LOW_WATER && wakeReader !== undefined) {
      const wake = wakeReader
      wakeReader = undefined
      wake()
    }
    if (options.rate > 0) {
      const due = started + (published * 1000) / options.rate
      const now = performance.now()
      if (due - now >= 1) await new Promise((r) => setTimeout(r, due - now))
    }
    if (acks.length >= window) await settle(acks.shift()!)
    const ack = js.publish(options.subject, line)
    // Observed when settled, in order; without a handler now, a refusal (a permissions
    // violation) arriving before then would be an unhandled rejection that kills the process.
    ack.catch(() => undefined)
    acks.push(ack)
    published++
    const now = performance.now()
    if (options.onProgress !== undefined && now - lastProgress >= 1000) {
      lastProgress = now
      options.onProgress(published, now - started)
    }
  }
  while (acks.length > 0) await settle(acks.shift()!)
  // Stopped early: let the reader finish its chunk and end.
  wakeReader?.()
  await reading
  if (readError !== undefined && !signal.aborted) {
    throw new LiveFailure(`${options.file} could not be read (${String((readError as Error).message ?? readError)}); check the file.`, 2)
  }
  const elapsedMs = performance.now() - started
  options.onProgress?.(published, elapsedMs)
  return { published, skipped, firstSeq, lastSeq, elapsedMs, streamCreated }
}

const EMPTY = new Uint8Array(0)

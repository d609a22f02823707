/**
 * The inputs' sessions as feature columns, never as a list of sessions: each session goes
 * from ingest into the feature builder as soon as it is finished, in (start, id) order, and
 * is dropped (see SessionBuilder for when a session is finished).
 *
 * On large inputs ingest runs on a thread of its own (ingestThread.ts) and feature building
 * on the calling thread, so the two use both cores. Standard input cannot be read twice, so
 * it is read whole; an input whose order stops the stream is read again whole. Either way the
 * features, and so the Result, are the same.
 *
 * @since 0.1.0
 */
import { stat } from "node:fs/promises"
import { computeFeatures, FeatureBuilder, type SessionFeatures } from "../analytics/sessionFeatures.ts"
import type { AttackSession } from "../domain/AttackSession.ts"
import { ingest, IngestFailure, type IngestOptions, ingestStream, type IngestSummary } from "../ingest/ingest.ts"
import { isStreamInput } from "../ingest/inputPaths.ts"
import { RejectLog } from "../ingest/RejectLog.ts"
import { CONSUMED, type IngestReply, type IngestRequest } from "./ingestProtocol.ts"

/** How the sessions reached the features. */
export type FeedMode = "thread" | "stream" | "whole"

export interface InputFeatures {
  readonly summary: IngestSummary
  readonly features: SessionFeatures
  readonly mode: FeedMode
}

/**
 * Shown each session as it goes into the features (the HTML report keeps start times and
 * command lines). An input read again whole shows its sessions again: key by session id.
 */
export type SessionObserver = (session: AttackSession) => void

/** A failure of the feature builder: an analysis error, not a read error. */
export class FeatureFailure {
  constructor(readonly cause: unknown) {}
}

/**
 * Inputs at least this large (gzip counted at 8× its size) are read on an ingest thread.
 * Below it the thread gains nothing for what it costs: its sessions cross to this thread as
 * JSON (0.46 s of `JSON.parse` for the 77 MB 20k set). Reading on one thread, 2026-12-03 (2
 * cores, runs in turn): 77 MB 0.97–1.02× the threaded wall time and 21 MiB less memory,
 * 197 MB 1.02×, 434 MB 1.06×, the 4.3 GB 1M set 1.2× (docs/benchmarks.md). The pool's rule
 * (actors/threads) uses the same size.
 */
export const THREAD_MIN_BYTES = 256 * 1024 * 1024

const THREAD_URL = new URL("./ingestThread.ts", import.meta.url).href

/** Sessions read whole, then features; the sessions are garbage once this returns. */
const wholeFeatures = async (paths: ReadonlyArray<string>, options: IngestOptions, onSession?: SessionObserver): Promise<InputFeatures> => {
  const { sessions, ...summary } = await ingest(paths, options)
  if (onSession !== undefined) for (const s of sessions) onSession(s)
  return { summary, features: computeFeaturesOf(sessions), mode: "whole" }
}

const computeFeaturesOf = (sessions: ReadonlyArray<AttackSession>): SessionFeatures => {
  try {
    return computeFeatures(sessions)
  } catch (error) {
    throw new FeatureFailure(error)
  }
}

/** Ingest and feature building on this thread, one session at a time. */
const streamedFeatures = async (paths: ReadonlyArray<string>, options: IngestOptions, onSession?: SessionObserver): Promise<InputFeatures> => {
  const builder = new FeatureBuilder()
  const outcome = await ingestStream(paths, options, (session) => {
    try {
      builder.add(session)
      onSession?.(session)
    } catch (error) {
      throw new FeatureFailure(error)
    }
  })
  if (!outcome.streamed) return wholeFeatures(paths, options, onSession)
  return { summary: outcome.summary, features: finishOf(builder), mode: "stream" }
}

const finishOf = (builder: FeatureBuilder): SessionFeatures => {
  try {
    return builder.finish()
  } catch (error) {
    throw new FeatureFailure(error)
  }
}

/** Ingest on its own thread, feature building here. */
const threadedFeatures = (paths: ReadonlyArray<string>, options: IngestOptions, signal?: AbortSignal, onSession?: SessionObserver): Promise<InputFeatures> =>
  new Promise<InputFeatures>((resolve, reject) => {
    const worker = new Worker(THREAD_URL)
    const credit = new SharedArrayBuffer(4)
    const consumed = new Int32Array(credit)
    const builder = new FeatureBuilder()
    let settled = false
    const settle = (then: () => void): void => {
      if (settled) return
      settled = true
      signal?.removeEventListener("abort", onAbort)
      worker.terminate()
      then()
    }
    const onAbort = (): void => settle(() => reject(new Error("The analysis was interrupted.")))
    worker.onmessage = (event: MessageEvent<IngestReply>) => {
      if (settled) return
      const reply = event.data
      switch (reply.type) {
        case "sessions": {
          try {
            const sessions = JSON.parse(reply.json) as Array<AttackSession>
            for (let i = 0; i < sessions.length; i++) builder.add(sessions[i]!)
            if (onSession !== undefined) for (let i = 0; i < sessions.length; i++) onSession(sessions[i]!)
          } catch (error) {
            return settle(() => reject(new FeatureFailure(error)))
          }
          Atomics.add(consumed, CONSUMED, 1)
          Atomics.notify(consumed, CONSUMED)
          return
        }
        case "progress":
          return options.onProgress?.(reply.bytes, reply.events)
        case "done":
          return settle(() => {
            // The reject log crossed the thread boundary as plain data: give it its methods back.
            Object.setPrototypeOf(reply.summary.rejects, RejectLog.prototype)
            try {
              resolve({ summary: reply.summary, features: finishOf(builder), mode: "thread" })
            } catch (error) {
              reject(error)
            }
          })
        case "stopped":
          return settle(() => void wholeFeatures(paths, options, onSession).then(resolve, reject))
        case "failed":
          return settle(() => reject(new IngestFailure(reply.message, reply.path)))
        case "crashed":
          return settle(() => reject(new Error(reply.message)))
      }
    }
    worker.onerror = (event: ErrorEvent) => settle(() => reject(new Error(`The ingest thread failed: ${event.message}`)))
    signal?.addEventListener("abort", onAbort)
    const request: IngestRequest = {
      paths,
      options: { format: options.format, syslogYear: options.syslogYear, sessionGapMs: options.sessionGapMs },
      progress: options.onProgress !== undefined,
      credit
    }
    worker.postMessage(request)
  })

/** Raw size of the inputs (gzip at 8×), or Infinity when a path is a directory. */
const inputSize = async (paths: ReadonlyArray<string>): Promise<number> => {
  let total = 0
  for (const path of paths) {
    try {
      const info = await stat(path)
      if (info.isDirectory()) return Infinity
      total += path.endsWith(".gz") ? info.size * 8 : info.size
    } catch {
      // Unreadable paths are reported by ingest itself.
    }
  }
  return total
}

/**
 * Where ingest runs: on a thread for large inputs when `allowed`; DSHIELD_INGEST_THREAD=0|1
 * overrides the size rule (tests, benchmarks).
 */
const useThread = async (paths: ReadonlyArray<string>, allowed: boolean): Promise<boolean> => {
  if (typeof Worker === "undefined" || !allowed) return false
  const forced = process.env.DSHIELD_INGEST_THREAD
  if (forced === "0") return false
  if (forced === "1") return true
  return (await inputSize(paths)) >= THREAD_MIN_BYTES
}

/**
 * Features of every session of the inputs. Rejects with IngestFailure when an input cannot
 * be read, FeatureFailure when the feature builder fails.
 */
export const inputFeatures = async (
  paths: ReadonlyArray<string>,
  options: IngestOptions,
  signal?: AbortSignal,
  threadAllowed = true,
  onSession?: SessionObserver
): Promise<InputFeatures> => {
  // Stdin and named pipes are read once (a second reading, after streaming stops, would wait for a writer forever).
  if (paths.some(isStreamInput)) return wholeFeatures(paths, options, onSession)
  if (await useThread(paths, threadAllowed)) return threadedFeatures(paths, options, signal, onSession)
  return streamedFeatures(paths, options, onSession)
}

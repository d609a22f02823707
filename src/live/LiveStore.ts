/**
 * Live mode's commits: the store layer's logic (layers/Analyzers.ts `store`) applied to the
 * sessions a live consumer finished — load the tenant's stored history, analyse it together
 * with them (a later piece of a stored session is joined with it), and save the analysis in
 * one transaction together with the consumer's checkpoint, so campaigns keep their stored
 * ids and lifecycle exactly as `analyze --store` runs would give them.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type { ActorRef } from "../../actors/kernel/Actor.ts"
import type { PostgresStore } from "../../actors/postgres/PostgresStore.ts"
import { type AnalysisConfig, sha256Hex } from "../config/AnalysisConfig.ts"
import type { AttackSession } from "../domain/AttackSession.ts"
import { AnalysisError } from "../domain/errors.ts"
import { mergeSessionPieces } from "../domain/mergeSessions.ts"
import { analyzeSessions } from "../pipeline/analyzeSessions.ts"
import { assembleResult, runInfo } from "../pipeline/assembleResult.ts"
import { mergeHistory } from "../pipeline/runAnalysis.ts"
import type { SaveReport } from "../store/AnalysisRepository.ts"
import type { FinishedSession, LiveCheckpoint } from "./LiveState.ts"

/** One commit: the finished sessions, the rejects since the last commit, the checkpoint after it. */
export interface LiveCommit {
  readonly finished: ReadonlyArray<FinishedSession>
  readonly rejected: Record<string, number>
  readonly checkpoint: LiveCheckpoint
}

/** What a commit wrote: the store's report of the analysis (its Result names campaigns by stored ids), and more. */
export interface LiveCommitReport extends Omit<SaveReport, "created" | "reactivated"> {
  /** Stored ids created, and re-activated (dormant or concluded before), by this commit. */
  readonly created: ReadonlyArray<string>
  readonly reactivated: ReadonlyArray<string>
  /** Sessions analysed (the stored history joined with the new ones). */
  readonly analysed: number
  /** Events of the sessions committed. */
  readonly events: number
  /** Where the commit's time went: reading the history, analysing, writing (ms). */
  readonly timings: { readonly loadMs: number; readonly analyseMs: number; readonly saveMs: number }
}

/** The store as the consumer sees it (plain promises: the consumer loop is plain TypeScript). */
export interface LiveStore {
  /** The checkpoint of the last commit, or undefined before the first one. */
  readonly checkpoint: () => Promise<LiveCheckpoint | undefined>
  readonly commit: (commit: LiveCommit) => Promise<LiveCommitReport>
}

/** A store failure, as one sentence (the consumer stops with exit code 1 and resumes from the store when restarted). */
export class LiveStoreFailure extends Error {}

export interface LiveStoreOptions {
  readonly consumer: string
  readonly stream: string
  readonly tenant: string
  readonly config: AnalysisConfig
  readonly dormantAfterDays?: number | undefined
}

/** Pieces of one session in one commit (not expected, but never stored twice) are joined. */
const joinPieces = (finished: ReadonlyArray<FinishedSession>): Array<AttackSession> => {
  const byId = new Map<string, AttackSession>()
  for (const f of finished) {
    const seen = byId.get(f.session.id)
    byId.set(f.session.id, seen === undefined ? f.session : mergeSessionPieces(seen, f.session))
  }
  return [...byId.values()]
}

/** The run's input digest: what was committed, by stream position (there is no file). */
const commitDigest = (options: LiveStoreOptions, finished: ReadonlyArray<FinishedSession>): string =>
  sha256Hex(`live\n${options.stream}\n${options.consumer}\n${options.tenant}\n${finished.map((f) => `${f.session.id}:${f.firstSeq}-${f.lastSeq}`).join("\n")}`)

/** One commit through the postgres store actor. */
export const commitLive = (pg: ActorRef<typeof PostgresStore>, options: LiveStoreOptions, commit: LiveCommit) =>
  Effect.gen(function*() {
    const startedAt = yield* Clock.currentTimeMillis
    const history = yield* pg.ask("loadSessions", { tenant: options.tenant })
    const loadedAt = yield* Clock.currentTimeMillis
    const fresh = joinPieces(commit.finished)
    const sessions = mergeHistory(history, fresh)
    const analysis = yield* Effect.try({
      try: () => analyzeSessions(sessions, options.config),
      catch: (error) => new AnalysisError({ message: `The live analysis failed: ${String(error)}; please report this.` })
    })
    const finishedAt = yield* Clock.currentTimeMillis
    const events = fresh.reduce((n, s) => n + s.event_count, 0)
    const result = assembleResult(
      runInfo(commitDigest(options, commit.finished), options.config, startedAt, finishedAt),
      { files: [], events, sessions: sessions.length, rejected: commit.rejected },
      analysis
    )
    const freshIds = new Set(fresh.map((s) => s.id))
    const stored = new Set(history.map((s) => s.id))
    const saved = yield* pg.ask("saveAnalysis", {
      result,
      // The new sessions, joined with their stored pieces where they continue one.
      sessions: sessions.filter((s) => freshIds.has(s.id)),
      replaceIds: [...freshIds].filter((id) => stored.has(id)),
      tenant: options.tenant,
      ...(options.dormantAfterDays === undefined ? {} : { dormantAfterDays: options.dormantAfterDays }),
      live: {
        consumer: options.consumer,
        stream: options.stream,
        floorSeq: commit.checkpoint.floorSeq,
        processedSeq: commit.checkpoint.processedSeq,
        openSessions: { ...commit.checkpoint.openSessions }
      }
    })
    const savedAt = yield* Clock.currentTimeMillis
    return {
      result: saved.result,
      analysisId: saved.analysisId,
      sessionsWritten: saved.sessionsWritten,
      campaignsCreated: saved.campaignsCreated,
      campaignsUpdated: saved.campaignsUpdated,
      campaignsConcluded: saved.campaignsConcluded,
      created: saved.created ?? [],
      reactivated: saved.reactivated ?? [],
      analysed: sessions.length,
      events,
      timings: { loadMs: loadedAt - startedAt, analyseMs: finishedAt - loadedAt, saveMs: savedAt - finishedAt }
    } satisfies LiveCommitReport
  })

const describe = (error: unknown): string => {
  const e = error as { message?: unknown; reason?: unknown; _tag?: unknown }
  return String(e.message ?? e.reason ?? e._tag ?? error)
}

/** The LiveStore over a postgres store actor that lives as long as the caller's scope. */
export const liveStore = (pg: ActorRef<typeof PostgresStore>, options: LiveStoreOptions): LiveStore => ({
  checkpoint: () =>
    Effect.runPromise(
      pg.ask("liveOffset", { consumer: options.consumer, stream: options.stream, tenant: options.tenant }).pipe(
        Effect.map((o) => (o === null ? undefined : { floorSeq: o.floorSeq, processedSeq: o.processedSeq, openSessions: o.openSessions })),
        Effect.mapError((e) => new LiveStoreFailure(`Reading the live checkpoint failed (${describe(e)}); check the store.`))
      )
    ),
  commit: (commit) =>
    Effect.runPromise(
      commitLive(pg, options, commit).pipe(
        Effect.mapError((e) => new LiveStoreFailure(`A live commit failed (${describe(e)}); nothing of it was stored: restart the consumer to resume from the last commit.`))
      )
    )
})

/**
 * One analysis run as an Effect: read the inputs, analyse the sessions, assemble Result v1.
 * Failures are typed: InputError (the inputs could not be read) and AnalysisError.
 *
 * `runAnalysis` streams: each session goes into the feature builder as soon as ingest has
 * finished it and is dropped, so a run holds compact feature columns, never the input's
 * sessions (see inputFeatures.ts). `runAnalysisWithSessions` keeps them (and joins a stored
 * history), for callers that write sessions to the store.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { collectGarbage } from "../analytics/memory.ts"
import type { AnalysisConfig } from "../config/AnalysisConfig.ts"
import type { AttackSession } from "../domain/AttackSession.ts"
import { AnalysisError, InputError } from "../domain/errors.ts"
import { mergeSessionPieces } from "../domain/mergeSessions.ts"
import type { Result } from "../domain/Result.ts"
import { ingest, IngestFailure, type IngestOptions, type IngestReport, type IngestSummary } from "../ingest/ingest.ts"
import { type Analysis, analyzeFeatures, analyzeSessions } from "./analyzeSessions.ts"
import { assembleResult, inputDigest, inputSummary, runInfo } from "./assembleResult.ts"
import { FeatureFailure, type FeedMode, inputFeatures } from "./inputFeatures.ts"
import { type Stage, stageSpans } from "../observability/TraceContext.ts"

export interface AnalysisRun {
  readonly result: Result
  readonly report: IngestSummary
  /** How sessions reached the features (see inputFeatures); the Result is the same either way. */
  readonly mode: FeedMode
}

export interface AnalysisRunWithSessions {
  readonly result: Result
  readonly report: IngestReport
  /** Every session analysed: the input's, joined with the history's. */
  readonly sessions: ReadonlyArray<AttackSession>
}

export interface RunOptions {
  readonly onProgress?: ((bytes: number, events: number) => void) | undefined
  /**
   * Whether a large input may be read on an ingest thread of its own (see inputFeatures).
   * A pool that already runs one analysis per core says no: a second thread per analysis
   * then only competes with the other analyses (docs/benchmarks.md, worker pools).
   */
  readonly ingestThread?: boolean | undefined
  /** Shown each session analysed (see AnalyzeInputs.onSession). */
  readonly onSession?: ((session: AttackSession) => void) | undefined
}

export interface RunWithSessionsOptions<E = never> extends RunOptions {
  /**
   * Sessions already known (from the store): analysed together with the input, so campaigns
   * that span runs are found as if all the data had been read at once. A session of the
   * input with the id of a stored one is the rest of it (a session straddling two log
   * files): the pieces are joined. Awaited only once the input is read, so a store can be
   * opened and read while the input is ingested.
   */
  readonly history?: ReadonlyArray<AttackSession> | Effect.Effect<ReadonlyArray<AttackSession>, E> | undefined
}

/** History and new sessions in (start, id) order; pieces of one session are joined. */
export const mergeHistory = (history: ReadonlyArray<AttackSession>, fresh: ReadonlyArray<AttackSession>): ReadonlyArray<AttackSession> => {
  if (history.length === 0) return fresh
  const byId = new Map<string, AttackSession>()
  for (const s of history) byId.set(s.id, s)
  for (const s of fresh) {
    const stored = byId.get(s.id)
    byId.set(s.id, stored === undefined ? s : mergeSessionPieces(stored, s))
  }
  return [...byId.values()].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

const ingestOptions = (config: AnalysisConfig, options: RunOptions): IngestOptions => ({
  format: config.format,
  syslogYear: config.syslogYear ?? undefined,
  sessionGapMs: config.sessionGapMs,
  onProgress: options.onProgress
})

const readFailure = (error: unknown): InputError | AnalysisError =>
  error instanceof IngestFailure
    ? new InputError({ message: error.message, path: error.path })
    : new AnalysisError({ message: `Reading the input failed unexpectedly: ${String(error)}; please report this with the input that caused it.` })

const analysisFailure = (error: unknown): AnalysisError =>
  new AnalysisError({ message: `The analysis failed: ${String(error)}; please report this with the input that caused it.` })

/**
 * Features, then campaigns. The features are garbage once this returns: on a large input
 * they are collected before the Result is serialised, which then reuses their memory.
 */
const analyzeInputs = async (paths: ReadonlyArray<string>, config: AnalysisConfig, options: RunOptions, signal: AbortSignal, stage: Stage) => {
  const { summary, features, mode } = await stage("Analysis.ingest", () => inputFeatures(paths, ingestOptions(config, options), signal, options.ingestThread ?? true, options.onSession))
  let analysis: Analysis
  try {
    analysis = analyzeFeatures(features, config, stage)
  } catch (error) {
    throw new FeatureFailure(error)
  }
  return { summary, analysis, sessions: features.count, mode }
}

/** The analysis of the inputs alone, streaming sessions into features (see the module comment). */
export const runAnalysis = Effect.fn("Analysis.run")(function*(
  paths: ReadonlyArray<string>,
  config: AnalysisConfig,
  options: RunOptions = {}
) {
  const startedAt = yield* Clock.currentTimeMillis
  // Ingest (read, sessions, features), linkage, hierarchy, scoring and report: child spans when tracing.
  const stage = yield* stageSpans
  const { summary, analysis, sessions, mode } = yield* Effect.tryPromise({
    try: (signal) => analyzeInputs(paths, config, options, signal, stage),
    catch: (error) => (error instanceof FeatureFailure ? analysisFailure(error.cause) : readFailure(error))
  })
  collectGarbage(true, sessions)
  const finishedAt = yield* Clock.currentTimeMillis
  const result = assembleResult(runInfo(inputDigest(summary), config, startedAt, finishedAt), inputSummary(summary, sessions), analysis)
  return { result, report: summary, mode } satisfies AnalysisRun
})

/** The analysis of the inputs joined with a history, keeping every session (for the store). */
export const runAnalysisWithSessions = <E = never>(
  paths: ReadonlyArray<string>,
  config: AnalysisConfig,
  options: RunWithSessionsOptions<E> = {}
): Effect.Effect<AnalysisRunWithSessions, InputError | AnalysisError | E> =>
  Effect.gen(function*() {
    const startedAt = yield* Clock.currentTimeMillis
    const report = yield* Effect.tryPromise({
      try: () => ingest(paths, ingestOptions(config, options)),
      catch: readFailure
    })
    const history = options.history === undefined ? [] : Effect.isEffect(options.history) ? yield* options.history : options.history
    const sessions = mergeHistory(history, report.sessions)
    if (options.onSession !== undefined) for (const s of sessions) options.onSession(s)
    const analysis = yield* Effect.try({
      try: () => analyzeSessions(sessions, config),
      catch: analysisFailure
    })
    const finishedAt = yield* Clock.currentTimeMillis
    const result = assembleResult(runInfo(inputDigest(report), config, startedAt, finishedAt), inputSummary(report, sessions.length), analysis)
    return { result, report, sessions } satisfies AnalysisRunWithSessions
  }).pipe(Effect.withSpan("Analysis.runWithSessions"))

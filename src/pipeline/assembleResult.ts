/**
 * The one Result v1 assembler: every path that produces a Result (the in-process run, the
 * LangGraph workflow, the NATS API's inline sessions, the orchestrator) builds it here from
 * the run block, the input summary and the analysis, so the documents cannot drift apart.
 *
 * @since 0.1.0
 */
import { ATTACK_VERSION } from "../analytics/attackTechniques.ts"
import { createHash } from "node:crypto"
import type { AnalysisConfig } from "../config/AnalysisConfig.ts"
import { configDigest, sha256Hex } from "../config/AnalysisConfig.ts"
import type { AttackSession } from "../domain/AttackSession.ts"
import { type InputFile, type InputSummary, RESULT_SCHEMA_ID, type Result, type RunInfo } from "../domain/Result.ts"
import type { IngestSummary } from "../ingest/ingest.ts"
import { ENGINE_VERSION } from "../version.ts"
import type { Campaign } from "../domain/Campaign.ts"


/**
 * The digest of the inputs: of their content digests in order, not of their paths.
 *
 * @category run
 */
export const inputDigest = (report: { readonly files: ReadonlyArray<InputFile> }): string =>
  sha256Hex(report.files.map((f) => f.sha256).join("\n"))

/**
 * The digest of sessions given inline (no files were read): of their JSON in the order analysed.
 *
 * @category run
 */
export const inlineInputDigest = (sessions: ReadonlyArray<AttackSession>): string =>
  createHash("sha256").update(JSON.stringify(sessions)).digest("hex")

/**
 * The `run` block of a result: its id is derived (not random) from the digests and the start
 * instant, so the same run started at the same instant has the same id.
 *
 * @category run
 */
export const runInfo = (inputDigestHex: string, config: AnalysisConfig, startedAt: number, finishedAt: number): RunInfo => {
  const cfgDigest = configDigest(config)
  return {
    id: `run-${sha256Hex(`${inputDigestHex}\n${cfgDigest}\n${startedAt}`).slice(0, 16)}`,
    engine_version: ENGINE_VERSION,
    input_digest: inputDigestHex,
    config_digest: cfgDigest,
    seed: config.seed,
    started_at: new Date(startedAt).toISOString(),
    finished_at: new Date(finishedAt).toISOString(),
    attack_version: ATTACK_VERSION
  }
}

/**
 * The `input` block for files read by ingest; `sessions` is the number analysed (the input's,
 * joined with any stored history).
 *
 * @category input
 */
export const inputSummary = (report: Pick<IngestSummary, "files" | "events" | "duplicateEvents" | "rejects">, sessions: number): InputSummary => ({
  files: report.files,
  events: report.events,
  sessions,
  rejected: report.rejects.toRecord(),
  ...(report.duplicateEvents > 0 ? { duplicate_events: report.duplicateEvents } : {})
})

/**
 * The `input` block for sessions given inline: no files, nothing rejected.
 *
 * @category input
 */
export const inlineInputSummary = (sessions: ReadonlyArray<AttackSession>): InputSummary => ({
  files: [],
  events: sessions.reduce((a, s) => a + s.event_count, 0),
  sessions: sessions.length,
  rejected: {}
})

/**
 * Result v1 from its three parts.
 *
 * @category assembly
 */
export const assembleResult = (
  run: RunInfo,
  input: InputSummary,
  analysis: { readonly campaigns: ReadonlyArray<Campaign>; readonly unclusteredSessions: number }
): Result => ({
  schema: RESULT_SCHEMA_ID,
  run,
  input,
  campaigns: analysis.campaigns,
  unclustered_sessions: analysis.unclusteredSessions
})

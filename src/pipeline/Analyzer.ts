/**
 * The Analyzer service: "analyse these inputs with this configuration" as one Effect
 * service, whatever runs it. Its layers (layers/Analyzers.ts) decide where: in this process,
 * in this process with the store's history, on the NATS pool by request/reply or as a
 * durable job, or as the LangGraph workflow over the agent actors. `analyze` asks the
 * service and writes what it answers; it does not know which layer it got.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { AttackSession } from "../domain/AttackSession.ts"
import type { AnalysisError, InputError } from "../domain/errors.ts"
import type { Result } from "../domain/Result.ts"
import type { IngestSummary } from "../ingest/ingest.ts"
import type { AnalysisConfig } from "../config/AnalysisConfig.ts"

export interface AnalyzeInputs {
  readonly paths: ReadonlyArray<string>
  readonly config: AnalysisConfig
  /** Told the bytes and events read so far, where the layer can tell. */
  readonly onProgress?: ((bytes: number, events: number) => void) | undefined
  /**
   * Shown each session analysed, where the layer reads the input in this process (in
   * process, with the store); the layers that analyse elsewhere never call it. A session may
   * be shown twice (an input read again whole): key what you keep by session id.
   */
  readonly onSession?: ((session: AttackSession) => void) | undefined
}

/** What a stored run wrote (the store layer only). */
export interface StoredRun {
  readonly analysisId: string
  readonly sessionsWritten: number
  readonly campaignsCreated: number
  readonly campaignsUpdated: number
  readonly campaignsConcluded: number
}

/** What the workflow adds (the workflow layer only). */
export interface WorkflowExtras {
  readonly narrative: string | undefined
  /** The narrative's exchanges with a model, for the run manifest (replay reproduces the narrative from them). */
  readonly exchanges?: ReadonlyArray<{ readonly endpoint: string; readonly gpu: string; readonly model: string; readonly digest: string; readonly options: Record<string, unknown>; readonly prompt: string; readonly response: string }> | undefined
  readonly tools: ReadonlyArray<{ readonly tool: string; readonly status: string; readonly detail: string }> | undefined
  readonly indexed: string | undefined
}

export interface Analyzed {
  readonly result: Result
  /** The ingest report (rejects, skipped files), when the input was read in this process. */
  readonly report?: IngestSummary | undefined
  readonly stored?: StoredRun | undefined
  readonly workflow?: WorkflowExtras | undefined
}

export interface AnalyzerService {
  readonly analyze: (inputs: AnalyzeInputs) => Effect.Effect<Analyzed, InputError | AnalysisError>
}

export class Analyzer extends Context.Service<Analyzer, AnalyzerService>()("dshield-coord/pipeline/Analyzer") {}

/**
 * The analysis as a LangGraph StateGraph whose nodes call actors through their clients:
 *
 *   START → ingestInputs → findPatterns ─(deep)→ coordinateTools ─┐
 *                                      └──────────────────────────┴→ scoreConfidence ─(deep)→ narrate → indexResults → END
 *                                                                                   └──────────────────────────────→ END
 *
 * Depths:
 * - `minimal`: triage — 49 permutations, no bootstrap interval (the interval is the point
 *   estimate), no tools, no narrative;
 * - `standard`: the full analysis — the Result is byte-identical to `analyze` in process;
 * - `deep`: standard plus tool coordination (enrichment), a narrative, and write-back to the
 *   enrichment index.
 *
 * A checkpointer (PostgreSQL when configured, memory otherwise) saves the state after every
 * node: an analysis interrupted by a crash is resumed with the same thread id and continues
 * from its last completed node.
 */
import { Annotation, type BaseCheckpointSaver, END, START, StateGraph } from "@langchain/langgraph"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type { ConfidenceScorer } from "../../actors/confidence-scorer/ConfidenceScorer.ts"
import type { ElasticsearchEnricher } from "../../actors/elasticsearch-enricher/ElasticsearchEnricher.ts"
import type { Inference } from "../../actors/inference/Inference.ts"
import type { ActorRef } from "../../actors/kernel/Actor.ts"
import type { Draft, PatternAnalyzer } from "../../actors/pattern-analyzer/PatternAnalyzer.ts"
import type { ToolCoordinator } from "../../actors/tool-coordinator/ToolCoordinator.ts"
import { type AnalysisConfig, configForDepth, type Depth } from "../config/AnalysisConfig.ts"
import type { AttackSession } from "../domain/AttackSession.ts"
import { AnalysisError, InputError } from "../domain/errors.ts"
import type { Campaign } from "../domain/Campaign.ts"
import type { InputSummary, Result } from "../domain/Result.ts"
import { type Exchange, narrativeByline } from "../inference/narrative.ts"
import { ingest, IngestFailure } from "../ingest/ingest.ts"
import { assembleResult, inputDigest, inputSummary, runInfo } from "../pipeline/assembleResult.ts"

export type { Depth }

export interface AnalysisActors {
  readonly patternAnalyzer: ActorRef<typeof PatternAnalyzer>
  readonly confidenceScorer: ActorRef<typeof ConfidenceScorer>
  readonly toolCoordinator: ActorRef<typeof ToolCoordinator>
  readonly inference: ActorRef<typeof Inference>
  readonly enricher: ActorRef<typeof ElasticsearchEnricher>
}

const AnalysisState = Annotation.Root({
  paths: Annotation<ReadonlyArray<string>>(),
  config: Annotation<AnalysisConfig>(),
  depth: Annotation<Depth>(),
  startedAt: Annotation<number>(),
  inputDigest: Annotation<string>(),
  input: Annotation<InputSummary>(),
  sessions: Annotation<ReadonlyArray<AttackSession>>(),
  drafts: Annotation<ReadonlyArray<Draft>>(),
  tools: Annotation<ReadonlyArray<{ tool: string; status: string; detail: string }>>(),
  campaigns: Annotation<ReadonlyArray<Campaign>>(),
  unclustered: Annotation<number>(),
  result: Annotation<Result>(),
  narrative: Annotation<string>(),
  exchanges: Annotation<ReadonlyArray<Exchange>>(),
  indexed: Annotation<string>(),
  /** Names of the nodes that ran in this process (for tests and traces). */
  trail: Annotation<Array<string>>({ reducer: (a, b) => [...a, ...b], default: () => [] })
})
type State = typeof AnalysisState.State

export { configForDepth }

/**
 * A node's typed failure. LangGraph passes on only what a node throws, so a node throws this
 * carrier and the caller unwraps it (`failure`): an input problem stays an InputError, an
 * actor's failure an AnalysisError naming the node — no message matching on the way out.
 */
export class NodeFailure extends Error {
  constructor(readonly node: string, readonly failure: InputError | AnalysisError) {
    super(failure.message)
    this.name = "NodeFailure"
  }
}

/** An actor's typed error (ActorTimeout, ActorUnavailable, the protocol's own) as one sentence. */
const describeActorError = (error: unknown): string => {
  const e = error as { _tag?: string; message?: string; reason?: string; actor?: string }
  // A tagged error without a message field still has Error's empty message: skip it.
  if (e.reason !== undefined && e.reason !== "") return e.actor === undefined ? e.reason : `${e.actor}: ${e.reason}`
  if (e.message !== undefined && e.message !== "") return e.message
  return e._tag ?? String(error)
}

/** Runs a node's actor call; its typed error leaves as a NodeFailure. */
const run = <A>(node: string, effect: Effect.Effect<A, unknown>): Promise<A> =>
  Effect.runPromise(effect.pipe(
    Effect.mapError((error) =>
      new NodeFailure(node, (error as { _tag?: string })._tag === "InputError" ? (error as InputError) : new AnalysisError({ message: describeActorError(error) }))
    )
  ))

/** The compiled graph for one set of actor clients. */
export const analysisGraph = (actors: AnalysisActors, checkpointer: BaseCheckpointSaver, hooks: { readonly beforeNode?: (name: string) => void } = {}) => {
  const ingestInputs = async (s: State): Promise<Partial<State>> => {
    hooks.beforeNode?.("ingestInputs")
    const startedAt = await Effect.runPromise(Clock.currentTimeMillis)
    const report = await ingest(s.paths, { format: s.config.format, syslogYear: s.config.syslogYear ?? undefined, sessionGapMs: s.config.sessionGapMs }).catch((error) => {
      throw error instanceof IngestFailure ? new NodeFailure("ingestInputs", new InputError({ message: error.message, path: error.path })) : error
    })
    return {
      startedAt,
      inputDigest: inputDigest(report),
      input: inputSummary(report, report.sessions.length),
      sessions: report.sessions,
      trail: ["ingestInputs"]
    }
  }
  const findPatterns = async (s: State): Promise<Partial<State>> => {
    hooks.beforeNode?.("findPatterns")
    const drafts = await run("findPatterns", actors.patternAnalyzer.ask("patterns", { sessions: s.sessions, config: { ...configForDepth(s.config, s.depth) } }))
    return { drafts, trail: ["findPatterns"] }
  }
  const coordinateTools = async (s: State): Promise<Partial<State>> => {
    hooks.beforeNode?.("coordinateTools")
    const addresses = [...new Set(s.sessions.flatMap((x) => (x.src_ip === null ? [] : [x.src_ip])))].sort()
    return { tools: await run("coordinateTools", actors.toolCoordinator.ask("enrich", { addresses })), trail: ["coordinateTools"] }
  }
  const scoreConfidence = async (s: State): Promise<Partial<State>> => {
    hooks.beforeNode?.("scoreConfidence")
    const config = configForDepth(s.config, s.depth)
    const scored = await run("scoreConfidence", actors.confidenceScorer.ask("score", { sessions: s.sessions, drafts: s.drafts, config: { ...config } }))
    const finishedAt = await Effect.runPromise(Clock.currentTimeMillis)
    const result = assembleResult(runInfo(s.inputDigest, config, s.startedAt, finishedAt), s.input, {
      campaigns: scored.campaigns,
      unclusteredSessions: scored.unclustered_sessions
    })
    return { result, trail: ["scoreConfidence"] }
  }
  const narrate = async (s: State): Promise<Partial<State>> => {
    hooks.beforeNode?.("narrate")
    const narrated = await run("narrate", actors.inference.ask("narrate", { campaigns: s.result.campaigns }))
    return { narrative: `${narrativeByline(narrated.source)}\n${narrated.text}`, exchanges: narrated.exchanges, trail: ["narrate"] }
  }
  const indexResults = async (s: State): Promise<Partial<State>> => {
    hooks.beforeNode?.("indexResults")
    const r = await run("indexResults", actors.enricher.ask("index", { result: s.result }))
    return { indexed: `${r.status}: ${r.detail}`, trail: ["indexResults"] }
  }

  // Routers: pure functions of the state, with explicit path maps.
  const afterPatterns = (s: State): "coordinateTools" | "scoreConfidence" => (s.depth === "deep" ? "coordinateTools" : "scoreConfidence")
  const afterScoring = (s: State): "narrate" | typeof END => (s.depth === "deep" ? "narrate" : END)

  return new StateGraph(AnalysisState)
    .addNode("ingestInputs", ingestInputs)
    .addNode("findPatterns", findPatterns)
    .addNode("coordinateTools", coordinateTools)
    .addNode("scoreConfidence", scoreConfidence)
    .addNode("narrate", narrate)
    .addNode("indexResults", indexResults)
    .addEdge(START, "ingestInputs")
    .addEdge("ingestInputs", "findPatterns")
    .addConditionalEdges("findPatterns", afterPatterns, { coordinateTools: "coordinateTools", scoreConfidence: "scoreConfidence" })
    .addEdge("coordinateTools", "scoreConfidence")
    .addConditionalEdges("scoreConfidence", afterScoring, { narrate: "narrate", [END]: END })
    .addEdge("narrate", "indexResults")
    .addEdge("indexResults", END)
    .compile({ checkpointer })
}

export interface WorkflowRun {
  readonly result: Result
  readonly narrative: string | undefined
  /** The narrative's exchanges with a model (none when the template wrote it). */
  readonly exchanges: ReadonlyArray<Exchange> | undefined
  readonly tools: ReadonlyArray<{ tool: string; status: string; detail: string }> | undefined
  readonly indexed: string | undefined
  readonly trail: ReadonlyArray<string>
}

/**
 * Runs (or, when `resume` is set, resumes from its last checkpoint) the analysis with the
 * given thread id.
 */
export const runWorkflow = async (
  graph: ReturnType<typeof analysisGraph>,
  threadId: string,
  input: { readonly paths: ReadonlyArray<string>; readonly config: AnalysisConfig; readonly depth: Depth } | undefined
): Promise<WorkflowRun> => {
  const state = await graph.invoke(input === undefined ? null : { paths: input.paths, config: input.config, depth: input.depth }, {
    configurable: { thread_id: threadId },
    recursionLimit: 20
  })
  return { result: state.result, narrative: state.narrative, exchanges: state.exchanges, tools: state.tools, indexed: state.indexed, trail: state.trail }
}

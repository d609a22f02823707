/**
 * The agent actors of an analysis as typed clients (Effect services), and the embedded
 * default that spawns them in process. `layers/` composes them for each deployment.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { ConfidenceScorer, confidenceScorerBehaviour } from "../../actors/confidence-scorer/ConfidenceScorer.ts"
import { ElasticsearchEnricher, elasticsearchEnricherBehaviour } from "../../actors/elasticsearch-enricher/ElasticsearchEnricher.ts"
import { elasticsearchClient, ElasticsearchStore, elasticsearchStoreBehaviour } from "../../actors/elasticsearch/ElasticsearchStore.ts"
import { Inference, inferenceBehaviour } from "../../actors/inference/Inference.ts"
import { spawn } from "../../actors/kernel/Actor.ts"
import { actorClient } from "../../actors/kernel/ActorClient.ts"
import { PatternAnalyzer, patternAnalyzerBehaviour } from "../../actors/pattern-analyzer/PatternAnalyzer.ts"
import { ToolCoordinator, toolCoordinatorBehaviour } from "../../actors/tool-coordinator/ToolCoordinator.ts"
import type { AnalysisActors } from "./analysisGraph.ts"

/** Analyses can take minutes on large inputs: asks wait up to an hour. */
export const AGENT_POLICY = { askTimeoutMs: 60 * 60_000 }

export const PatternAnalyzerClient = actorClient(PatternAnalyzer)
export const ConfidenceScorerClient = actorClient(ConfidenceScorer)
export const ToolCoordinatorClient = actorClient(ToolCoordinator)
export const InferenceClient = actorClient(Inference)
export const ElasticsearchEnricherClient = actorClient(ElasticsearchEnricher)

/** The clients the workflow needs, wherever the actors run. */
export const analysisActors = Effect.gen(function*() {
  return {
    patternAnalyzer: yield* PatternAnalyzerClient.Tag,
    confidenceScorer: yield* ConfidenceScorerClient.Tag,
    toolCoordinator: yield* ToolCoordinatorClient.Tag,
    inference: yield* InferenceClient.Tag,
    enricher: yield* ElasticsearchEnricherClient.Tag
  } satisfies AnalysisActors
})

/** The elasticsearch-enricher's behaviour, with the elasticsearch store actor when ELASTICSEARCH_URL is set. */
export const enricherBehaviour = Effect.gen(function*() {
  const url = process.env.ELASTICSEARCH_URL
  const store = url === undefined || url === ""
    ? undefined
    : yield* spawn(ElasticsearchStore, elasticsearchStoreBehaviour(elasticsearchClient(url)), { policy: AGENT_POLICY })
  return yield* elasticsearchEnricherBehaviour(store)
})

/** Every agent actor in this process: the embedded default. */
export const EmbeddedAgents = Layer.mergeAll(
  PatternAnalyzerClient.inProcess(patternAnalyzerBehaviour, { policy: AGENT_POLICY }),
  ConfidenceScorerClient.inProcess(confidenceScorerBehaviour, { policy: AGENT_POLICY }),
  ToolCoordinatorClient.inProcess(toolCoordinatorBehaviour, { policy: AGENT_POLICY }),
  InferenceClient.inProcess(inferenceBehaviour, { policy: AGENT_POLICY }),
  ElasticsearchEnricherClient.inProcess(enricherBehaviour, { policy: AGENT_POLICY })
)

/** The agent actors spawned in process for the current scope. */
export const spawnAnalysisActors = Effect.gen(function*() {
  const context = yield* Layer.build(EmbeddedAgents)
  return yield* Effect.provideContext(analysisActors, context)
})

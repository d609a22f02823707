/**
 * The agent actors of one analysis, spawned in process for the scope (the embedded default).
 */
import { Effect } from "effect"
import { ConfidenceScorer, confidenceScorerBehaviour } from "../../actors/confidence-scorer/ConfidenceScorer.ts"
import { ElasticsearchEnricher, elasticsearchEnricherBehaviour } from "../../actors/elasticsearch-enricher/ElasticsearchEnricher.ts"
import { elasticsearchClient, ElasticsearchStore, elasticsearchStoreBehaviour } from "../../actors/elasticsearch/ElasticsearchStore.ts"
import { Inference, inferenceBehaviour } from "../../actors/inference/Inference.ts"
import { spawn } from "../../actors/kernel/Actor.ts"
import { PatternAnalyzer, patternAnalyzerBehaviour } from "../../actors/pattern-analyzer/PatternAnalyzer.ts"
import { ToolCoordinator, toolCoordinatorBehaviour } from "../../actors/tool-coordinator/ToolCoordinator.ts"
import type { AnalysisActors } from "./analysisGraph.ts"

/** Analyses can take minutes on large inputs: asks wait up to an hour. */
const POLICY = { askTimeoutMs: 60 * 60_000 }

export const spawnAnalysisActors = Effect.gen(function*() {
  // Write-back goes to Elasticsearch only when one is configured.
  const elasticsearchUrl = process.env.ELASTICSEARCH_URL
  const elasticsearch = elasticsearchUrl === undefined || elasticsearchUrl === ""
    ? undefined
    : yield* spawn(ElasticsearchStore, elasticsearchStoreBehaviour(elasticsearchClient(elasticsearchUrl)), { policy: POLICY })
  return {
    patternAnalyzer: yield* spawn(PatternAnalyzer, patternAnalyzerBehaviour, { policy: POLICY }),
    confidenceScorer: yield* spawn(ConfidenceScorer, confidenceScorerBehaviour, { policy: POLICY }),
    toolCoordinator: yield* spawn(ToolCoordinator, toolCoordinatorBehaviour, { policy: POLICY }),
    inference: yield* spawn(Inference, inferenceBehaviour, { policy: POLICY }),
    enricher: yield* spawn(ElasticsearchEnricher, elasticsearchEnricherBehaviour(elasticsearch), { policy: POLICY })
  } satisfies AnalysisActors
})

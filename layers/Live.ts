/**
 * The distributed deployment: the workflow's agent actors are reached through NATS (workers
 * started with `dshield-coord worker --roles pattern-analyzer,confidence-scorer,…`), with
 * the same typed clients as the embedded layer — only the layer changes.
 *
 * Agent messages carry the sessions and campaigns themselves; one larger than a NATS message
 * (1 MiB by default) travels by claim-check through the coord-payloads object store bucket
 * (actors/transport/LargePayloads.ts), so an analysis of any size runs this way
 * (`analyze --depth … --nats`).
 *
 * @since 0.1.0
 */
import * as Layer from "effect/Layer"
import type { NatsConnection } from "nats"
import {
  ConfidenceScorerClient,
  ElasticsearchEnricherClient,
  InferenceClient,
  PatternAnalyzerClient,
  ToolCoordinatorClient
} from "../src/workflow/analysisActors.ts"

export const Live = (nc: NatsConnection, timeoutMs = 60 * 60_000) =>
  Layer.mergeAll(
    PatternAnalyzerClient.nats(nc, { timeoutMs }),
    ConfidenceScorerClient.nats(nc, { timeoutMs }),
    ToolCoordinatorClient.nats(nc, { timeoutMs }),
    InferenceClient.nats(nc, { timeoutMs }),
    ElasticsearchEnricherClient.nats(nc, { timeoutMs })
  )

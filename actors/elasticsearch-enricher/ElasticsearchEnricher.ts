/**
 * elasticsearch-enricher: writes a deep analysis's campaigns back to the Elasticsearch
 * enrichment index. No Elasticsearch is configured in this build: it reports that instead
 * of pretending to write.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import { type Handlers, protocol } from "../kernel/Actor.ts"

export class IndexFailed extends Schema.TaggedError<IndexFailed>()("IndexFailed", { message: Schema.String }) {}

export const ElasticsearchEnricher = protocol("elasticsearch-enricher", "1.0.0", {
  index: {
    payload: Schema.Struct({ run_id: Schema.String, campaigns: Schema.Int }),
    success: Schema.Struct({ status: Schema.Literals(["indexed", "skipped"]), detail: Schema.String }),
    error: IndexFailed
  }
})

export const elasticsearchEnricherBehaviour: Effect.Effect<Handlers<typeof ElasticsearchEnricher>> = Effect.succeed({
  index: ({ run_id, campaigns }) =>
    Effect.succeed({ status: "skipped" as const, detail: `no Elasticsearch configured; ${campaigns} campaigns of ${run_id} not indexed` })
})

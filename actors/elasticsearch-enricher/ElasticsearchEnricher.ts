/**
 * elasticsearch-enricher: writes a deep analysis's campaigns back to the enrichment index
 * through the elasticsearch store actor. Without Elasticsearch configured
 * (ELASTICSEARCH_URL) it reports that instead of pretending to write.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Result } from "../../src/domain/Result.ts"
import type { ElasticsearchStore } from "../elasticsearch/ElasticsearchStore.ts"
import { type ActorRef, type Handlers, protocol } from "../kernel/Actor.ts"

export class IndexFailed extends Schema.TaggedError<IndexFailed>()("IndexFailed", { message: Schema.String }) {}

export const ElasticsearchEnricher = protocol("elasticsearch-enricher", "1.0.0", {
  index: {
    payload: Schema.Struct({ result: Result }),
    success: Schema.Struct({ status: Schema.Literals(["indexed", "skipped"]), detail: Schema.String }),
    error: IndexFailed
  }
})

export const elasticsearchEnricherBehaviour = (
  store: ActorRef<typeof ElasticsearchStore> | undefined
): Effect.Effect<Handlers<typeof ElasticsearchEnricher>> =>
  Effect.succeed({
    index: ({ result }) =>
      store === undefined
        ? Effect.succeed({ status: "skipped" as const, detail: `no Elasticsearch configured (ELASTICSEARCH_URL); ${result.campaigns.length} campaigns of ${result.run.id} not indexed` })
        : store.ask("indexResult", { result }).pipe(
          Effect.map((r) => ({
            status: "indexed" as const,
            detail: `${r.indexed} session documents indexed into ${r.index}${r.retried === 0 ? "" : ` (${r.retried} sent again after a transient refusal)`}, ${r.errors} rejected by Elasticsearch${r.reasons.length === 0 ? "" : `: ${r.reasons.join("; ")}`}`
          })),
          Effect.mapError((e) => new IndexFailed({ message: e._tag === "IndexingFailed" ? e.message : `The elasticsearch actor is unavailable (${e._tag}).` }))
        )
  })

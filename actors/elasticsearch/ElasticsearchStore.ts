/**
 * The elasticsearch store actor: owns the Elasticsearch client (ELASTICSEARCH_URL) and
 * writes analysis results to the enrichment index — one document per campaign, bulk,
 * idempotent by campaign id. No Elasticsearch runs on the development machines: the adapter
 * is tested against the official client mock (@elastic/elasticsearch-mock).
 *
 * @since 0.1.0
 */
import { Client, HttpConnection } from "@elastic/elasticsearch"
import { Effect, Schema } from "effect"
import { Result } from "../../src/domain/Result.ts"
import { type Handlers, protocol } from "../kernel/Actor.ts"

export class IndexingFailed extends Schema.TaggedError<IndexingFailed>()("IndexingFailed", { message: Schema.String }) {}

export const ENRICHMENT_INDEX = "dshield-coord-campaigns"

export const ElasticsearchStore = protocol("elasticsearch", "1.0.0", {
  indexResult: {
    payload: Schema.Struct({ result: Result }),
    success: Schema.Struct({ indexed: Schema.Int, errors: Schema.Int }),
    error: IndexingFailed
  },
  ping: { payload: Schema.Struct({}), success: Schema.Boolean, error: IndexingFailed }
})

/** A client for `url`; under Bun the HTTP connection class must be given explicitly. */
export const elasticsearchClient = (url: string, options: { readonly Connection?: unknown; readonly maxRetries?: number } = {}): Client =>
  new Client({
    node: url,
    Connection: (options.Connection ?? HttpConnection) as typeof HttpConnection,
    ...(options.maxRetries === undefined ? {} : { maxRetries: options.maxRetries })
  })

export const elasticsearchStoreBehaviour = (client: Client): Effect.Effect<Handlers<typeof ElasticsearchStore>> =>
  Effect.succeed({
    indexResult: ({ result }) =>
      Effect.tryPromise({
        try: async () => {
          if (result.campaigns.length === 0) return { indexed: 0, errors: 0 }
          const operations = result.campaigns.flatMap((c) => [
            { index: { _index: ENRICHMENT_INDEX, _id: c.id } },
            {
              run_id: result.run.id,
              engine_version: result.run.engine_version,
              level: c.level,
              name: c.name,
              parent_id: c.parent_id,
              confidence: c.confidence,
              assessment: c.assessment,
              first_seen: c.first_seen,
              last_seen: c.last_seen,
              session_count: c.sessions.length,
              source_ips: c.source_ips.slice(0, 1000),
              indicators: c.indicators,
              ttps: c.ttps
            }
          ])
          const response = await client.bulk({ operations, refresh: false })
          const errors = response.items.filter((i) => i.index?.error !== undefined).length
          return { indexed: response.items.length - errors, errors }
        },
        catch: (error) => new IndexingFailed({ message: `Indexing into Elasticsearch failed (${String((error as Error).message ?? error)}); check ELASTICSEARCH_URL.` })
      }),
    ping: () =>
      Effect.tryPromise({
        try: () => client.ping(),
        catch: (error) => new IndexingFailed({ message: `Elasticsearch does not answer (${String((error as Error).message ?? error)}).` })
      })
  })

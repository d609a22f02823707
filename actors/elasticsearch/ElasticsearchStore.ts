/**
 * The elasticsearch store actor: owns the Elasticsearch client (ELASTICSEARCH_URL) and
 * writes a deep analysis back where analysts look: one document per attack session of a
 * campaign, in the daily index `dshield-coordination-YYYY.MM.DD` of the run, with the ids of
 * its family, variant and wave, the family's confidence, assessment, evidence scores,
 * indicators and techniques — so Kibana can filter attacks by campaign (join on the cowrie
 * session id). The index template (dshield-coordination-template.json beside this file)
 * is installed before the first write.
 *
 * Bulk writes with partial-failure handling: items refused for a transient reason (429, 5xx)
 * are sent again, up to BULK_RETRIES times with backoff; the rest are counted and reported
 * with their reasons — none is dropped silently. Re-indexing a run replaces its documents
 * (the session id is the document id).
 *
 * No Elasticsearch runs on the development machines: tested against the official client mock
 * (@elastic/elasticsearch-mock).
 *
 * @since 0.1.0
 */
import { readFileSync } from "node:fs"
import { Client, HttpConnection } from "@elastic/elasticsearch"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { Campaign } from "../../src/domain/Campaign.ts"
import { Result } from "../../src/domain/Result.ts"
import { type Handlers, protocol } from "../kernel/Actor.ts"

export class IndexingFailed extends Schema.TaggedError<IndexingFailed>()("IndexingFailed", { message: Schema.String }) {}

export const ENRICHMENT_INDEX_PREFIX = "dshield-coordination-"
export const ENRICHMENT_TEMPLATE = "dshield-coordination"
const TEMPLATE = JSON.parse(readFileSync(new URL("./dshield-coordination-template.json", import.meta.url), "utf8")) as Record<string, unknown>

/** Items per bulk request, and how often a transiently refused item is sent again. */
export const BULK_DOCUMENTS = 2000
export const BULK_RETRIES = 3

export const ElasticsearchStore = protocol("elasticsearch", "1.1.0", {
  indexResult: {
    payload: Schema.Struct({ result: Result }),
    success: Schema.Struct({ index: Schema.String, indexed: Schema.Int, errors: Schema.Int, retried: Schema.Int, reasons: Schema.Array(Schema.String) }),
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

/** The daily index of a run: by the day it finished (UTC). */
export const enrichmentIndex = (finishedAt: string): string => `${ENRICHMENT_INDEX_PREFIX}${finishedAt.slice(0, 10).replaceAll("-", ".")}`

/** One document per session of a family: the family's numbers, and its variant and wave. */
export const sessionDocuments = (result: Result): Array<{ readonly id: string; readonly doc: Record<string, unknown> }> => {
  const levelOf = new Map<string, Map<string, string>>([["variant", new Map()], ["wave", new Map()]])
  for (const c of result.campaigns) {
    const byLevel = levelOf.get(c.level)
    if (byLevel !== undefined) for (const s of c.sessions) byLevel.set(s, c.id)
  }
  const evidence = (c: Campaign): Record<string, number> => Object.fromEntries(Object.entries(c.evidence).map(([k, e]) => [k, e!.score]))
  return result.campaigns.filter((c) => c.level === "family").flatMap((family) =>
    family.sessions.map((session) => ({
      id: session,
      doc: {
        "@timestamp": result.run.finished_at,
        session_id: session,
        run: { id: result.run.id, engine_version: result.run.engine_version, finished_at: result.run.finished_at },
        campaign: {
          family: family.id,
          variant: levelOf.get("variant")!.get(session) ?? null,
          wave: levelOf.get("wave")!.get(session) ?? null,
          name: family.name,
          confidence: family.confidence,
          assessment: family.assessment,
          first_seen: family.first_seen,
          last_seen: family.last_seen,
          sessions: family.sessions.length,
          source_ips: family.source_ips.length,
          formed_by: family.formed_by.map((f) => f.kind),
          ttps: family.ttps,
          evidence: evidence(family),
          indicators: family.indicators.slice(0, 50)
        }
      }
    }))
  )
}

type BulkItem = { readonly status?: number; readonly error?: { readonly type?: string; readonly reason?: string } }

const transient = (status: number | undefined): boolean => status === 429 || (status !== undefined && status >= 500)

/** Writes `documents` to `index`: transient refusals sent again with backoff, the rest counted with reasons. */
export const bulkIndex = async (client: Client, index: string, documents: ReadonlyArray<{ readonly id: string; readonly doc: Record<string, unknown> }>, sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms))) => {
  let indexed = 0
  let retried = 0
  const failed: Array<string> = []
  for (let start = 0; start < documents.length; start += BULK_DOCUMENTS) {
    let pending = documents.slice(start, start + BULK_DOCUMENTS)
    for (let attempt = 0; pending.length > 0; attempt++) {
      const response = await client.bulk({ operations: pending.flatMap((d) => [{ index: { _index: index, _id: d.id } }, d.doc]), refresh: false })
      const again: Array<(typeof pending)[number]> = []
      response.items.forEach((item, k) => {
        const result = (item.index ?? item.create ?? item.update) as BulkItem | undefined
        if (result?.error === undefined) {
          indexed++
          return
        }
        if (transient(result.status) && attempt < BULK_RETRIES) again.push(pending[k]!)
        else failed.push(`${pending[k]!.id}: ${result.status ?? "?"} ${result.error.type ?? ""}${result.error.reason === undefined ? "" : ` (${result.error.reason.split("\n")[0]})`}`)
      })
      retried += again.length
      pending = again
      if (pending.length > 0) await sleep(200 * 2 ** attempt)
    }
  }
  return { indexed, errors: failed.length, retried, reasons: failed.slice(0, 5) }
}

export const elasticsearchStoreBehaviour = (client: Client): Effect.Effect<Handlers<typeof ElasticsearchStore>> =>
  Effect.sync(() => {
    let templateInstalled = false
    return {
      indexResult: ({ result }) =>
        Effect.tryPromise({
          try: async () => {
            const index = enrichmentIndex(result.run.finished_at)
            const documents = sessionDocuments(result)
            if (documents.length === 0) return { index, indexed: 0, errors: 0, retried: 0, reasons: [] }
            if (!templateInstalled) {
              await client.indices.putIndexTemplate({ name: ENRICHMENT_TEMPLATE, ...(TEMPLATE as object) } as never)
              templateInstalled = true
            }
            return { index, ...(await bulkIndex(client, index, documents)) }
          },
          catch: (error) => new IndexingFailed({ message: `Indexing into Elasticsearch failed (${String((error as Error).message ?? error).split("\n")[0]}); check ELASTICSEARCH_URL.` })
        }),
      ping: () =>
        Effect.tryPromise({
          try: () => client.ping(),
          catch: (error) => new IndexingFailed({ message: `Elasticsearch does not answer (${String((error as Error).message ?? error)}).` })
        })
    }
  })

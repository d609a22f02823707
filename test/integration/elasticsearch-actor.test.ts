/**
 * The elasticsearch store actor against the official client mock (no Elasticsearch server
 * runs here): a bulk request with one index operation per campaign, ids as document ids,
 * per-item errors counted, a refused connection as a typed error.
 */
import { describe, expect, test } from "bun:test"
import Mock from "@elastic/elasticsearch-mock"
import { Effect, Exit } from "effect"
import { ElasticsearchStore, elasticsearchClient, elasticsearchStoreBehaviour, ENRICHMENT_INDEX } from "../../actors/elasticsearch/ElasticsearchStore.ts"
import { spawn } from "../../actors/kernel/Actor.ts"
import { DEFAULT_CONFIG } from "../../src/config/AnalysisConfig.ts"
import { generateSessions } from "../../src/synthetic/generateSessions.ts"
import { analyzeSessions } from "../../src/pipeline/analyzeSessions.ts"

const sessions = [...generateSessions({ sessions: 400, seed: 3 })].map((s) => s.session).sort((a, b) => (a.start < b.start ? -1 : 1))
const analysis = analyzeSessions(sessions, DEFAULT_CONFIG)
const result = {
  schema: "dshield-coordination/result@1" as const,
  run: { id: "run-es", engine_version: "0.1.0", input_digest: "i", config_digest: "c", seed: 42, started_at: "2024-04-01T00:00:00.000Z", finished_at: "2024-04-01T00:00:01.000Z" },
  input: { files: [], events: 1, sessions: sessions.length, rejected: {} },
  campaigns: analysis.campaigns,
  unclustered_sessions: analysis.unclusteredSessions
}

describe("elasticsearch store actor (client mock)", () => {
  test("bulk-indexes one document per campaign, ids as _id, and counts item errors", async () => {
    const mock = new Mock()
    const seen: Array<unknown> = []
    mock.add({ method: "POST", path: "/_bulk" }, (params: { body?: unknown }) => {
      const lines = (Array.isArray(params.body) ? params.body : String(params.body).trim().split("\n").map((l) => JSON.parse(l))) as Array<Record<string, unknown>>
      seen.push(...lines)
      const actions = lines.filter((l) => "index" in l) as Array<{ index: { _id: string } }>
      return {
        took: 1,
        errors: true,
        items: actions.map((a, i) => ({ index: { _index: ENRICHMENT_INDEX, _id: a.index._id, status: i === 0 ? 400 : 201, ...(i === 0 ? { error: { type: "mapper_parsing_exception" } } : {}) } }))
      }
    })
    const client = elasticsearchClient("http://localhost:9200", { Connection: mock.getConnection() })
    const r = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const es = yield* spawn(ElasticsearchStore, elasticsearchStoreBehaviour(client))
      return yield* es.ask("indexResult", { result })
    })))
    expect(result.campaigns.length).toBeGreaterThan(1)
    expect(r).toEqual({ indexed: result.campaigns.length - 1, errors: 1 })
    const ids = (seen.filter((l) => typeof l === "object" && l !== null && "index" in l) as Array<{ index: { _id: string } }>).map((l) => l.index._id)
    expect(ids).toEqual(result.campaigns.map((c) => c.id))
  })

  test("a server that does not answer is IndexingFailed with a sentence naming ELASTICSEARCH_URL", async () => {
    const client = elasticsearchClient("http://127.0.0.1:1", { maxRetries: 0 })
    const exit = await Effect.runPromise(Effect.exit(Effect.scoped(Effect.gen(function*() {
      const es = yield* spawn(ElasticsearchStore, elasticsearchStoreBehaviour(client))
      return yield* es.ask("indexResult", { result })
    }))))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(String(exit._tag === "Failure" ? JSON.stringify(exit.cause) : "")).toContain("ELASTICSEARCH_URL")
  }, 30_000)
})

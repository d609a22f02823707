/**
 * The elasticsearch store actor against the official client mock (no Elasticsearch server
 * runs here): the index template, one document per session of a family in the run's daily
 * index, partial bulk failures retried or reported, a refused connection as a typed error.
 */
import { describe, expect, test } from "bun:test"
import Mock from "@elastic/elasticsearch-mock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { bulkIndex, ElasticsearchStore, elasticsearchClient, elasticsearchStoreBehaviour, ENRICHMENT_TEMPLATE } from "../../actors/elasticsearch/ElasticsearchStore.ts"
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

type Mapping = Record<string, { readonly properties?: Mapping; readonly type?: string }>

/** Paths of `doc` the mapping does not hold (arrays of objects checked element by element). */
const unmapped = (doc: unknown, properties: Mapping, path: string): Array<string> => {
  if (Array.isArray(doc)) return doc.flatMap((item) => unmapped(item, properties, path))
  if (doc === null || typeof doc !== "object") return []
  return Object.entries(doc).flatMap(([key, value]) => {
    const field = properties[key]
    if (field === undefined) return [`${path}${key}`]
    return field.properties === undefined ? [] : unmapped(value, field.properties, `${path}${key}.`)
  })
}

describe("elasticsearch store actor (client mock)", () => {
  test("one document per session of a family in the run's daily index, with its family, variant and wave; the template first", async () => {
    const mock = new Mock()
    const seen: Array<Record<string, unknown>> = []
    let template: unknown
    mock.add({ method: "PUT", path: `/_index_template/${ENRICHMENT_TEMPLATE}` }, (params) => {
      template = params.body
      return { acknowledged: true }
    })
    mock.add({ method: "POST", path: "/_bulk" }, (params: { body?: unknown }) => {
      const lines = (Array.isArray(params.body) ? params.body : String(params.body).trim().split("\n").map((l) => JSON.parse(l))) as Array<Record<string, unknown>>
      seen.push(...lines)
      const actions = lines.filter((l) => "index" in l) as Array<{ index: { _id: string; _index: string } }>
      return { took: 1, errors: false, items: actions.map((a) => ({ index: { _index: a.index._index, _id: a.index._id, status: 201 } })) }
    })
    const client = elasticsearchClient("http://localhost:9200", { Connection: mock.getConnection() })
    const r = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const es = yield* spawn(ElasticsearchStore, elasticsearchStoreBehaviour(client))
      return yield* es.ask("indexResult", { result })
    })))
    const familySessions = result.campaigns.filter((c) => c.level === "family").flatMap((c) => c.sessions)
    expect(r).toEqual({ index: "dshield-coordination-2024.04.01", indexed: familySessions.length, errors: 0, retried: 0, reasons: [] })
    expect((template as { index_patterns: Array<string> }).index_patterns).toEqual(["dshield-coordination-*"])
    const actions = seen.filter((l) => "index" in l) as Array<{ index: { _id: string; _index: string } }>
    expect(actions.map((a) => a.index._id).sort()).toEqual([...familySessions].sort())
    expect(new Set(actions.map((a) => a.index._index))).toEqual(new Set(["dshield-coordination-2024.04.01"]))
    // Each document names the session's family, and its variant and wave where it has them.
    const docs = seen.filter((l) => "session_id" in l) as Array<{ session_id: string; campaign: { family: string; variant: string | null; wave: string | null } }>
    for (const d of docs) {
      const family = result.campaigns.find((c) => c.id === d.campaign.family)!
      expect(family.sessions).toContain(d.session_id)
      if (d.campaign.variant !== null) expect(result.campaigns.find((c) => c.id === d.campaign.variant)!.sessions).toContain(d.session_id)
      if (d.campaign.wave !== null) expect(result.campaigns.find((c) => c.id === d.campaign.wave)!.sessions).toContain(d.session_id)
    }
    // Only fields the template maps, at every depth (it is strict: Elasticsearch refuses a
    // document with any other field).
    const properties = (template as { template: { mappings: { properties: Mapping } } }).template.mappings.properties
    expect(docs.flatMap((d) => unmapped(d, properties, ""))).toEqual([])
    // The network indicators (with their organisation names) are among what is indexed.
    expect(docs.some((d) => JSON.stringify(d).includes('"type":"asn"'))).toBe(true)
  })

  test("partial bulk failures: transient refusals (429, 503) are sent again, permanent ones reported with reasons, none lost", async () => {
    const mock = new Mock()
    const attempts = new Map<string, number>()
    mock.add({ method: "POST", path: "/_bulk" }, (params: { body?: unknown }) => {
      const lines = (Array.isArray(params.body) ? params.body : String(params.body).trim().split("\n").map((l) => JSON.parse(l))) as Array<Record<string, unknown>>
      const actions = lines.filter((l) => "index" in l) as Array<{ index: { _id: string; _index: string } }>
      return {
        took: 1,
        errors: true,
        items: actions.map((a, k) => {
          const n = (attempts.get(a.index._id) ?? 0) + 1
          attempts.set(a.index._id, n)
          // Every third document is throttled once; the first is malformed for good.
          if (a.index._id === "s-0") return { index: { _index: a.index._index, _id: a.index._id, status: 400, error: { type: "mapper_parsing_exception", reason: "failed to parse field [campaign.confidence]" } } }
          if (k % 3 === 0 && n === 1) return { index: { _index: a.index._index, _id: a.index._id, status: k % 2 === 0 ? 429 : 503, error: { type: "es_rejected_execution_exception" } } }
          return { index: { _index: a.index._index, _id: a.index._id, status: 201 } }
        })
      }
    })
    const client = elasticsearchClient("http://localhost:9200", { Connection: mock.getConnection() })
    const documents = Array.from({ length: 30 }, (_, k) => ({ id: `s-${k}`, doc: { session_id: `s-${k}` } }))
    const slept: Array<number> = []
    const r = await bulkIndex(client, "dshield-coordination-2024.04.01", documents, async (ms) => void slept.push(ms))
    expect(r.indexed).toBe(29)
    expect(r.errors).toBe(1)
    expect(r.reasons).toEqual(["s-0: 400 mapper_parsing_exception (failed to parse field [campaign.confidence])"])
    expect(r.retried).toBe(9)
    expect(slept).toEqual([200])
    for (const [id, n] of attempts) if (id !== "s-0") expect(n).toBeLessThanOrEqual(2)
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

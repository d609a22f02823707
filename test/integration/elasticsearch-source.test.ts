/**
 * `analyze --es`: reading DShield-SIEM-shaped indices through the official client mock (no
 * Elasticsearch server can run here): count, a point in time, `search_after` pages in
 * `@timestamp` order, the point in time closed; the analysis of what was read equals the
 * analysis of the same events read from a file; refusals, an empty range and a dead server
 * are one sentence each.
 */
import { afterAll, describe, expect, test } from "bun:test"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { gunzipSync } from "node:zlib"
import { createRequire } from "node:module"
import Mock from "@elastic/elasticsearch-mock"
import * as Effect from "effect/Effect"
import { DEFAULT_CONFIG } from "../../src/config/AnalysisConfig.ts"
import { ElasticsearchInputError, fetchElasticsearchInput, inputClient } from "../../src/ingest/elasticsearchSource.ts"
import { runAnalysis } from "../../src/pipeline/runAnalysis.ts"
import { HAVE_CORPORA, RADEC, runCli } from "../cli/helpers.ts"

const dir = mkdtempSync(join(tmpdir(), "dshield-es-source-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

// 4,000 real cowrie events (radec73), as DShield-SIEM's cowrie index holds them: the event
// with its own fields and an @timestamp.
const lines = HAVE_CORPORA ? gunzipSync(readFileSync(RADEC)).toString("utf8").split("\n").filter((l) => l.length > 0).slice(0, 4000) : []
const documents = lines.map((l, k) => {
  const event = JSON.parse(l) as Record<string, unknown>
  return { _index: "cowrie-2024.04", _id: `doc-${k}`, _source: { ...event, "@timestamp": event.timestamp }, sort: [Date.parse(String(event.timestamp)), k] }
}).sort((a, b) => a.sort[0]! - b.sort[0]! || a.sort[1]! - b.sort[1]!)
const original = join(dir, "original.json")
writeFileSync(original, documents.map((d) => JSON.stringify(d._source)).join("\n") + "\n")

const input = (over: Partial<Parameters<typeof fetchElasticsearchInput>[0]> = {}) => ({
  url: "http://es.example:9200",
  index: "cowrie-2024.04",
  since: "2024-01-01T00:00:00.000Z",
  until: undefined,
  query: undefined,
  pageSize: 700,
  ...over
})

// The mock recognises an error answer by the class of the client it loads itself (CommonJS).
const { errors } = createRequire(import.meta.url)("@elastic/elasticsearch") as typeof import("@elastic/elasticsearch")

/** An error answer of the mock: the status and Elasticsearch's error body. */
const responseError = (r: { body: unknown; statusCode: number }): Record<string, unknown> =>
  new errors.ResponseError({ body: r.body, statusCode: r.statusCode, headers: {}, warnings: null, meta: {} as never }) as unknown as Record<string, unknown>

/** A mock cluster holding `documents` in one index (`openPit` replaces its point-in-time answer). */
const cluster = (openPit?: () => Record<string, unknown>) => {
  const mock = new Mock()
  const seen = { pits: [] as Array<string>, closed: [] as Array<string>, pages: 0 }
  mock.add({ method: "POST", path: "/cowrie-2024.04/_count" }, () => ({ count: documents.length, _shards: { total: 1, successful: 1, skipped: 0, failed: 0 } }))
  mock.add({ method: "POST", path: "/cowrie-2024.04/_pit" }, openPit ?? (() => {
    const id = `pit-${seen.pits.length}`
    seen.pits.push(id)
    return { id }
  }))
  mock.add({ method: "POST", path: "/_search" }, (params) => {
    seen.pages++
    const body = (params.body ?? {}) as { pit?: { id: string }; size?: number; search_after?: Array<number> }
    const after = body.search_after
    const from = after === undefined ? 0 : documents.findIndex((d) => d.sort[0]! > after[0]! || (d.sort[0] === after[0] && d.sort[1]! > after[1]!))
    const page = from < 0 ? [] : documents.slice(from, from + (body.size ?? 10))
    return { took: 1, timed_out: false, pit_id: body.pit?.id, hits: { hits: page } }
  })
  mock.add({ method: "DELETE", path: "/_pit" }, (params) => {
    seen.closed.push(String((params.body as { id?: string } | undefined)?.id ?? ""))
    return { succeeded: true, num_freed: 1 }
  })
  return { mock, seen }
}

describe.skipIf(!HAVE_CORPORA)("Elasticsearch as an input (client mock)", () => {
  test("pages with a point in time and search_after, oldest first; the analysis equals that of the same events from a file", async () => {
    const { mock, seen } = cluster()
    const out = join(dir, "from-es.json")
    const report = await fetchElasticsearchInput(input(), out, inputClient(input(), mock.getConnection()))
    expect(report.documents).toBe(documents.length)
    expect(report.pages).toBe(Math.ceil(documents.length / 700) + 1)
    expect(seen.pits).toEqual(["pit-0"])
    expect(seen.closed).toEqual(["pit-0"])
    expect(readFileSync(out, "utf8")).toBe(readFileSync(original, "utf8"))
    const config = { ...DEFAULT_CONFIG, permutations: 49, bootstrap: 0 }
    const [a, b] = await Promise.all([Effect.runPromise(runAnalysis([out], config)), Effect.runPromise(runAnalysis([original], config))])
    expect(a.result.input.events).toBe(documents.length)
    expect(a.result.input.sessions).toBe(b.result.input.sessions)
    expect(a.result.campaigns).toEqual(b.result.campaigns)
  }, 60_000)

  test("an empty range, a missing index, refused credentials and a dead server: one sentence each, no credential in it", async () => {
    const empty = new Mock()
    empty.add({ method: "POST", path: "/cowrie-2024.04/_count" }, () => ({ count: 0 }))
    await expect(fetchElasticsearchInput(input(), join(dir, "x.json"), inputClient(input(), empty.getConnection()))).rejects.toThrow(
      "No document in cowrie-2024.04 at http://es.example:9200 falls between 2024-01-01T00:00:00.000Z and now; check --index, --since and --until."
    )
    const missing = new Mock()
    missing.add({ method: "POST", path: "/cowrie-2024.04/_count" }, () => responseError({ body: { error: { type: "index_not_found_exception", reason: "no such index [cowrie-2024.04]" }, status: 404 }, statusCode: 404 }))
    await expect(fetchElasticsearchInput(input(), join(dir, "x.json"), inputClient(input(), missing.getConnection()))).rejects.toThrow(
      "Elasticsearch at http://es.example:9200 has no index matching cowrie-2024.04 (HTTP 404: index_not_found_exception); check --index."
    )
    const refused = new Mock()
    refused.add({ method: "POST", path: "/cowrie-2024.04/_count" }, () => responseError({ body: { error: { type: "security_exception", reason: "unable to authenticate" }, status: 401 }, statusCode: 401 }))
    const withSecret = input({ url: "http://elastic:s3cret-pass@es.example:9200" })
    const error = await fetchElasticsearchInput(withSecret, join(dir, "x.json"), inputClient(withSecret, refused.getConnection())).catch((e) => e as Error)
    expect(error).toBeInstanceOf(ElasticsearchInputError)
    expect((error as Error).message).toBe("Elasticsearch at http://es.example:9200 refused to count documents in cowrie-2024.04 (HTTP 401: security_exception); check ES_API_KEY or ES_USERNAME/ES_PASSWORD and the key's index privileges.")
    expect((error as Error).message).not.toContain("s3cret")

    const cli = runCli(["analyze", "--es", "http://127.0.0.1:1", "--index", "cowrie-*", "--since", "24h", "--quiet"])
    expect(cli.code).toBe(2)
    expect(cli.stderr.trim().split("\n")).toHaveLength(1)
    expect(cli.stderr).toContain("Could not reach Elasticsearch at http://127.0.0.1:1 to count documents in cowrie-*")
  }, 90_000)

  test("a transient 503 is retried by the client; the read completes", async () => {
    let failures = 0
    const { mock } = cluster(() => (failures++ < 2 ? responseError({ body: { error: "unavailable" }, statusCode: 503 }) : { id: "pit-x" }))
    const report = await fetchElasticsearchInput(input(), join(dir, "retry.json"), inputClient(input(), mock.getConnection()))
    expect(failures).toBe(3)
    expect(report.documents).toBe(documents.length)
  }, 60_000)

  test("usage: --es needs --index and --since; files and --es do not mix; times are checked", () => {
    expect(runCli(["analyze", "--es", "http://127.0.0.1:9200", "--since", "24h"]).stderr).toContain("--es needs --index PATTERN")
    expect(runCli(["analyze", "--es", "http://127.0.0.1:9200", "--index", "cowrie-*"]).stderr).toContain("--es needs --since T")
    expect(runCli(["analyze", "--es", "http://127.0.0.1:9200", "--index", "c", "--since", "yesterday"]).stderr).toContain("--since must be an ISO time")
    expect(runCli(["analyze", "--index", "c", original]).stderr).toContain("give --es URL too")
    expect(runCli(["analyze", "--es", "http://127.0.0.1:9200", "--index", "c", "--since", "24h", original]).stderr).toContain("not both")
    expect(runCli(["analyze", "--es", "http://h:9200", "--index", "c", "--since", "2024-04-02", "--until", "2024-04-01"]).stderr).toContain("--until must be later than --since")
  })
})

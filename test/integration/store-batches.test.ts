/**
 * Campaigns are written a batch of campaigns per statement (src/store/AnalysisRepository.ts):
 * a Result of 1,200 campaigns, whose variants sit in later batches than their families,
 * stored twice on the embedded store and on PostgreSQL: every campaign, membership and
 * indicator written once, the second save an update of each, nothing duplicated.
 *
 * The session rows take their columns from the session document itself: ports outside
 * 1–65535 become NULL, the document is stored unchanged.
 */
import { afterAll, describe, expect, test } from "bun:test"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { DEFAULT_CONFIG } from "../../src/config/AnalysisConfig.ts"
import type { Campaign } from "../../src/domain/Campaign.ts"
import type { Result } from "../../src/domain/Result.ts"
import { analyzeSessions } from "../../src/pipeline/analyzeSessions.ts"
import { insertSessions, saveAnalysis } from "../../src/store/AnalysisRepository.ts"
import { loadMigrations, migrate } from "../../src/store/migrate.ts"
import { SqlStore, type StoreError } from "../../src/store/SqlStore.ts"
import { generateSessions } from "../../src/synthetic/generateSessions.ts"
import { freshDatabase, serviceAvailable } from "./services.ts"

const HAVE_POSTGRES = await serviceAvailable("PostgreSQL", 5432)
const database = freshDatabase("dshield_coord_batches", HAVE_POSTGRES)
afterAll(() => database?.drop())

const FAMILIES = 600
const sessions = [...generateSessions({ sessions: FAMILIES, seed: 8 })].map((s) => s.session).sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.id < b.id ? -1 : 1))
const analysed = analyzeSessions(sessions, DEFAULT_CONFIG)
const family = analysed.campaigns.find((c) => c.level === "family")!
const variant = analysed.campaigns.find((c) => c.level === "variant")!

/**
 * One family and one variant per session, families first: the variants of the last families
 * land in a later statement than their parents. Each carries the template campaign's
 * indicators (its names included) and its own session and source.
 */
const campaignsOf = (): Array<Campaign> => {
  const own = (template: Campaign, id: string, parent: string | null, i: number): Campaign => ({
    ...template,
    id,
    parent_id: parent,
    name: `${template.level} ${i}`,
    sessions: [sessions[i]!.id],
    source_ips: [sessions[i]!.src_ip ?? `192.0.2.${i % 250}`],
    first_seen: sessions[i]!.start,
    last_seen: sessions[i]!.end ?? sessions[i]!.start
  })
  return [
    ...sessions.map((_, i) => own(family, `c-batch-family-${i}`, null, i)),
    ...sessions.map((_, i) => own(variant, `c-batch-variant-${i}`, `c-batch-family-${i}`, i))
  ]
}

const resultOf = (run: string): Result => ({
  schema: "dshield-coordination/result@1",
  run: { id: run, engine_version: "0.1.0", input_digest: "i", config_digest: "c", seed: 42, started_at: "2024-04-01T00:00:00.000Z", finished_at: "2024-04-01T00:00:01.000Z" },
  input: { files: [], events: 1, sessions: sessions.length, rejected: {} },
  campaigns: campaignsOf(),
  unclustered_sessions: 0
})

const count = (table: string) =>
  Effect.flatMap(SqlStore, (store) => store.query(`SELECT count(*)::integer AS n FROM ${table}`)).pipe(Effect.map((rows) => Number(rows[0]!.n)))

const saveTwice = (layer: Layer.Layer<SqlStore, StoreError>) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    yield* migrate(yield* loadMigrations())
    const first = yield* saveAnalysis(resultOf("run-batch-1"), sessions)
    const afterFirst = { campaigns: yield* count("campaigns"), memberships: yield* count("campaign_sessions"), indicators: yield* count("campaign_indicators") }
    const second = yield* saveAnalysis(resultOf("run-batch-2"), [])
    const afterSecond = { campaigns: yield* count("campaigns"), memberships: yield* count("campaign_sessions"), indicators: yield* count("campaign_indicators") }
    const store = yield* SqlStore
    const child = yield* store.query("SELECT parent_id, name, session_count FROM campaigns WHERE id = 'c-batch-variant-599'")
    const named = yield* store.query("SELECT count(*)::integer AS n FROM campaign_indicators WHERE name IS NOT NULL")
    return { first, second, afterFirst, afterSecond, child: child[0], named: Number(named[0]!.n) }
  }).pipe(Effect.provide(layer))))

const expected = (() => {
  const perFamily = family.indicators.length + 1
  const perVariant = variant.indicators.length + 1
  return { campaigns: 2 * FAMILIES, memberships: 2 * FAMILIES, indicators: FAMILIES * (perFamily + perVariant) }
})()
const expectedNamed = FAMILIES * [...family.indicators, ...variant.indicators].filter((i) => i.name !== undefined).length

const checks = (r: Awaited<ReturnType<typeof saveTwice>>) => {
  expect(r.first.campaignsCreated).toBe(2 * FAMILIES)
  expect(r.first.campaignsUpdated).toBe(0)
  expect(r.first.created).toEqual(campaignsOf().map((c) => c.id))
  expect(r.afterFirst).toEqual(expected)
  expect(r.second.campaignsCreated).toBe(0)
  expect(r.second.campaignsUpdated).toBe(2 * FAMILIES)
  expect(r.afterSecond).toEqual(expected)
  expect(r.child).toEqual({ parent_id: "c-batch-family-599", name: "variant 599", session_count: 1 })
  expect(r.named).toBe(expectedNamed)
  expect(r.second.result.campaigns.map((c) => c.id)).toEqual(campaignsOf().map((c) => c.id))
}

describe("campaign writes in batches", () => {
  test("embedded PGlite: 1,200 campaigns stored twice, each written once", async () => {
    checks(await saveTwice(SqlStore.pglite("memory://")))
  }, 120_000)

  test.skipIf(!HAVE_POSTGRES)("PostgreSQL: 1,200 campaigns stored twice, each written once", async () => {
    checks(await saveTwice(SqlStore.postgres(database!.url)))
  }, 120_000)
})

/** Three sessions whose ports are a port, 0 and 70,000, and null; each stored as its columns say. */
const portSessions = [
  { ...sessions[0]!, id: "ports-ok", src_port: 40022, dst_port: 22 },
  { ...sessions[1]!, id: "ports-out", src_port: 0, dst_port: 70000 },
  { ...sessions[2]!, id: "ports-null", src_port: null, dst_port: null, src_ip: null }
]

const storedColumns = (layer: Layer.Layer<SqlStore, StoreError>) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    yield* migrate(yield* loadMigrations())
    yield* insertSessions(portSessions, "run-ports", "default")
    const store = yield* SqlStore
    const rows = yield* store.query(
      "SELECT id, host(src_ip) AS src_ip, src_port, dst_port, start_at, end_at, hassh, data::text AS data FROM attack_sessions WHERE id LIKE 'ports-%' ORDER BY id"
    )
    return rows.map((r) => ({
      id: String(r.id),
      src_ip: r.src_ip as string | null,
      src_port: r.src_port as number | null,
      dst_port: r.dst_port as number | null,
      hassh: r.hassh as string | null,
      start_at: new Date(r.start_at as string).toISOString(),
      end_at: new Date(r.end_at as string).toISOString(),
      data: JSON.parse(String(r.data)) as unknown
    }))
  }).pipe(Effect.provide(layer))))

const portChecks = (rows: Awaited<ReturnType<typeof storedColumns>>) => {
  const byId = new Map(rows.map((r) => [r.id, r]))
  expect(rows.length).toBe(3)
  expect([byId.get("ports-ok")!.src_port, byId.get("ports-ok")!.dst_port]).toEqual([40022, 22])
  expect([byId.get("ports-out")!.src_port, byId.get("ports-out")!.dst_port]).toEqual([null, null])
  expect([byId.get("ports-null")!.src_port, byId.get("ports-null")!.src_ip]).toEqual([null, null])
  for (const session of portSessions) {
    const row = byId.get(session.id)!
    expect(row.data).toEqual(session)
    expect(row.start_at).toBe(new Date(session.start).toISOString())
    expect(row.end_at).toBe(new Date(session.end).toISOString())
    expect(row.hassh).toBe(session.hassh)
  }
  expect(byId.get("ports-ok")!.src_ip).toBe(portSessions[0]!.src_ip)
}

describe("session rows from the session document", () => {
  test("embedded PGlite: ports outside 1–65535 are NULL, the document is kept as it was", async () => {
    portChecks(await storedColumns(SqlStore.pglite("memory://")))
  }, 60_000)

  test.skipIf(!HAVE_POSTGRES)("PostgreSQL: ports outside 1–65535 are NULL, the document is kept as it was", async () => {
    portChecks(await storedColumns(SqlStore.postgres(database!.url)))
  }, 60_000)
})

import { afterAll, describe, expect, test } from "bun:test"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import { runMaintenance } from "../../src/store/maintenance.ts"
import { loadMigrations, migrate } from "../../src/store/migrate.ts"
import { SqlStore, type StoreError } from "../../src/store/SqlStore.ts"
import { freshDatabase, serviceAvailable } from "./services.ts"

const HAVE_POSTGRES = await serviceAvailable("PostgreSQL", 5432)
const database = freshDatabase("dshield_coord_maint", HAVE_POSTGRES)
afterAll(() => {
  database?.drop()
})

const scenario = (layer: Layer.Layer<SqlStore, StoreError>) =>
  Effect.runPromise(Effect.gen(function*() {
    const store = yield* SqlStore
    yield* migrate(yield* loadMigrations())
    const analysis = (id: string, status: string, finishedDaysAgo: number | null) =>
      store.query(
        `INSERT INTO analysis_sessions (id, status, input_digest, config_digest, seed, engine_version, finished_at)
         VALUES ($1, $2, 'i', 'c', 1, 'v', CASE WHEN $3::integer IS NULL THEN NULL ELSE now() - make_interval(days => $3::integer) END)`,
        [id, status, finishedDaysAgo]
      )
    yield* analysis("old-completed", "completed", 91)
    yield* analysis("old-failed", "failed", 120)
    yield* analysis("recent-completed", "completed", 89)
    yield* analysis("old-running", "running", null)
    yield* store.query("UPDATE analysis_sessions SET created_at = now() - interval '200 days' WHERE id = 'old-running'")
    yield* store.query("INSERT INTO analysis_results (analysis_id, result, result_digest) VALUES ('old-completed', '{}'::jsonb, 'd'), ('recent-completed', '{}'::jsonb, 'd')")
    for (const [endpoint, days] of [["/old", 31], ["/recent", 29]] as const) {
      yield* store.query(
        "INSERT INTO api_usage_logs (endpoint, status_code, duration_ms, created_at) VALUES ($1, 200, 5, now() - make_interval(days => $2::integer))",
        [endpoint, days]
      )
    }
    yield* store.query("UPDATE audit_log SET created_at = now() - interval '366 days' WHERE row_id = 'old-failed'")
    const report = yield* runMaintenance()
    const analyses = yield* store.query("SELECT id FROM analysis_sessions ORDER BY id")
    const results = yield* store.query("SELECT analysis_id FROM analysis_results ORDER BY 1")
    const usage = yield* store.query("SELECT endpoint FROM api_usage_logs ORDER BY 1")
    const auditOld = yield* store.query("SELECT count(*)::integer AS n FROM audit_log WHERE created_at < now() - interval '365 days'")
    return { report, analyses: analyses.map((r) => r.id), results: results.map((r) => r.analysis_id), usage: usage.map((r) => r.endpoint), auditOld: auditOld[0]?.n }
  }).pipe(Effect.provide(layer), Effect.scoped))

const backends: Array<readonly [string, () => Layer.Layer<SqlStore, StoreError>, boolean]> = [
  ["PGlite (embedded)", () => SqlStore.pglite("memory://"), true],
  ["PostgreSQL", () => SqlStore.postgres(database!.url), HAVE_POSTGRES]
]

describe("maintenance: retention deletes exactly what is due", () => {
  for (const [name, layer, available] of backends) {
    test.skipIf(!available)(name, async () => {
      const s = await scenario(layer())
      // Finished analyses past 90 days go (with their results); running ones and recent ones stay.
      expect(s.analyses).toEqual(["old-running", "recent-completed"])
      expect(s.results).toEqual(["recent-completed"])
      expect(s.usage).toEqual(["/recent"])
      expect(s.auditOld).toBe(0)
      expect(s.report.analysesDeleted).toBe(2)
      expect(s.report.usageLogsDeleted).toBe(1)
      expect(s.report.auditRowsDeleted).toBe(1)
    }, 60_000)
  }
})

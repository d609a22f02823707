import { afterAll, describe, expect, test } from "bun:test"
import { readdirSync } from "node:fs"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import { loadMigrations, migrate, PARTITION_MONTHS_AHEAD } from "../../src/store/migrate.ts"
import { SqlStore, type StoreError } from "../../src/store/SqlStore.ts"
import { POSTGRES_ADMIN_URL, postgresUrlFor, serviceAvailable } from "./services.ts"

/** Every migration the repository ships, in order: a fresh store applies them all. */
const MIGRATION_FILES = readdirSync(new URL("../../migrations", import.meta.url).pathname).filter((f) => f.endsWith(".sql")).sort().map((f) => f.replace(/\.sql$/, ""))

const HAVE_POSTGRES = await serviceAvailable("PostgreSQL", 5432)
const DATABASE = `dshield_coord_it_${process.pid}`

const admin = (statement: string) =>
  Effect.runPromise(
    Effect.gen(function*() {
      const store = yield* SqlStore
      return yield* store.query(statement)
    }).pipe(Effect.provide(SqlStore.postgres(POSTGRES_ADMIN_URL)), Effect.scoped)
  )

if (HAVE_POSTGRES) {
  await admin(`DROP DATABASE IF EXISTS ${DATABASE}`)
  await admin(`CREATE DATABASE ${DATABASE}`)
}
afterAll(async () => {
  if (HAVE_POSTGRES) await admin(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`)
})

const backends: Array<readonly [string, () => Layer.Layer<SqlStore, StoreError>, boolean]> = [
  ["PGlite (embedded)", () => SqlStore.pglite("memory://"), true],
  ["PostgreSQL 127.0.0.1:5432", () => SqlStore.postgres(postgresUrlFor(DATABASE)), HAVE_POSTGRES]
]

for (const [name, makeLayer, available] of backends) {
  describe.skipIf(!available)(`store on ${name}`, () => {
    // One store (and one database) per backend for the whole block, built once.
    const layer = Layer.fresh(makeLayer())
    const run = <A, E>(body: Effect.Effect<A, E, SqlStore>): Promise<A> =>
      Effect.runPromise(body.pipe(Effect.provide(layer), Effect.scoped) as Effect.Effect<A, E>)
    // PGlite in memory lives as long as its layer: run the whole scenario in one scope.
    const scenario = run(Effect.gen(function*() {
      const store = yield* SqlStore
      const migrations = yield* loadMigrations()
      const first = yield* migrate(migrations)
      const second = yield* migrate(migrations)
      const recorded = yield* store.query("SELECT id, name FROM schema_migrations ORDER BY id")
      const partitions = yield* store.query("SELECT relname FROM pg_class WHERE relkind = 'r' AND relname ~ '^attack_sessions_[0-9]{4}_[0-9]{2}$' ORDER BY 1")
      const months = yield* store.query(`SELECT to_char(date_trunc('month', now()) + (n || ' month')::interval, 'YYYY_MM') AS m FROM generate_series(0, ${PARTITION_MONTHS_AHEAD}) AS n`)

      const insertAnalysis = (id: string, tenant: string) =>
        store.query(
          "INSERT INTO analysis_sessions (id, tenant, status, input_digest, config_digest, seed, engine_version) VALUES ($1, $2, 'completed', 'i', 'c', 42, '0.1.0')",
          [id, tenant]
        )
      yield* insertAnalysis("a-1", "tenant_a")
      yield* insertAnalysis("b-1", "tenant_b")
      const audit = yield* store.query("SELECT table_name, row_id, action FROM audit_log ORDER BY id")

      const violations: Array<string> = []
      const expectViolation = (label: string, statement: string) =>
        store.query(statement).pipe(
          Effect.exit,
          Effect.map((exit) => {
            if (Exit.isFailure(exit)) violations.push(label)
          })
        )
      yield* expectViolation("status", "INSERT INTO analysis_sessions (id, status, input_digest, config_digest, seed, engine_version) VALUES ('x', 'bogus', 'i', 'c', 1, 'v')")
      yield* expectViolation(
        "confidence",
        "INSERT INTO campaigns (id, level, name, confidence, confidence_low, confidence_high, assessment, first_seen, last_seen) VALUES ('c', 'family', 'n', 1.5, 0, 1, 'coincidental', now(), now())"
      )
      yield* expectViolation("port", "INSERT INTO attack_sessions (id, protocol, dst_port, start_at, end_at) VALUES ('s', 'ssh', 70000, now(), now())")
      yield* expectViolation("inet", "INSERT INTO attack_sessions (id, protocol, src_ip, start_at, end_at) VALUES ('s', 'ssh', 'not-an-ip', now(), now())")

      // Row-level security: a non-owner role sees only the tenant named by app.tenant.
      yield* store.query("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dshield_reader') THEN CREATE ROLE dshield_reader NOLOGIN; END IF; END $$")
      yield* store.query("GRANT SELECT ON analysis_sessions TO dshield_reader")
      const asTenant = (tenant: string) =>
        store.transaction(Effect.gen(function*() {
          yield* store.query("SET LOCAL ROLE dshield_reader")
          yield* store.query("SELECT set_config('app.tenant', $1, true)", [tenant])
          return yield* store.query("SELECT id FROM analysis_sessions ORDER BY id")
        }))
      const seenByA = yield* asTenant("tenant_a")
      const seenByB = yield* asTenant("tenant_b")
      const seenByNobody = yield* asTenant("tenant_c")

      // A migration edited after it was applied is refused, not silently re-run.
      yield* store.query("UPDATE schema_migrations SET checksum = 'edited' WHERE id = 1")
      const edited = yield* Effect.exit(migrate(migrations))
      return { first, second, recorded, partitions, months, audit, violations, seenByA, seenByB, seenByNobody, edited }
    }))

    test("migrations apply from empty, then a second run applies nothing", async () => {
      const s = await scenario
      expect(s.first.applied).toEqual(MIGRATION_FILES)
      expect(s.second.applied).toEqual([])
      expect(s.second.alreadyApplied).toBe(MIGRATION_FILES.length)
      expect(s.recorded.map((r) => r.name)).toEqual(MIGRATION_FILES.map((f) => f.replace(/^\d+_/, "")))
    })

    test(`attack_sessions partitions exist for this month and ${PARTITION_MONTHS_AHEAD} ahead`, async () => {
      const s = await scenario
      const names = new Set(s.partitions.map((r) => r.relname))
      for (const m of s.months) expect(names.has(`attack_sessions_${m.m}`)).toBe(true)
      expect(s.first.partitionsCreated).toBeGreaterThanOrEqual(PARTITION_MONTHS_AHEAD + 1)
      expect(s.second.partitionsCreated).toBe(0)
    })

    test("CHECK constraints and INET reject impossible rows", async () => {
      const s = await scenario
      expect(s.violations).toEqual(["status", "confidence", "port", "inet"])
    })

    test("triggers write the audit log", async () => {
      const s = await scenario
      expect(s.audit.map((r) => `${r.table_name}:${r.row_id}:${r.action}`)).toEqual([
        "analysis_sessions:a-1:INSERT",
        "analysis_sessions:b-1:INSERT"
      ])
    })

    test("row-level security hides other tenants' analyses", async () => {
      const s = await scenario
      expect(s.seenByA.map((r) => r.id)).toEqual(["a-1"])
      expect(s.seenByB.map((r) => r.id)).toEqual(["b-1"])
      expect(s.seenByNobody).toEqual([])
    })

    test("a migration changed after it was applied is refused with a clear message", async () => {
      const s = await scenario
      expect(Exit.isFailure(s.edited)).toBe(true)
      expect(String(s.edited)).toContain("changed after it was applied")
    })
  })
}

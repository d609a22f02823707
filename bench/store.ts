/**
 * Bulk attack-session inserts: rows/s into attack_sessions (monthly partitions, jsonb data,
 * inet addresses) through the repository's batched UNNEST insert, on the real PostgreSQL and
 * on the embedded PGlite, from synthetic sessions streamed out of the generator (generation
 * not timed). Each backend gets a fresh database / data directory.
 *
 * Run: npm run bench:store [-- SESSIONS_POSTGRES SESSIONS_PGLITE]   (default 1,000,000 and 100,000)
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type { AttackSession } from "../src/domain/AttackSession.ts"
import { insertSessions } from "../src/store/AnalysisRepository.ts"
import { ensurePartitions, loadMigrations, migrate } from "../src/store/migrate.ts"
import { SqlStore, type StoreError } from "../src/store/SqlStore.ts"
import { generateSessions } from "../src/synthetic/generateSessions.ts"

const ADMIN = process.env.TEST_POSTGRES_ADMIN_URL ?? "postgres://root@127.0.0.1:5432/postgres"
const BATCH = 5000

const bench = async (name: string, layer: Layer.Layer<SqlStore, StoreError>, sessions: number): Promise<void> => {
  const program = Effect.gen(function*() {
    yield* migrate(yield* loadMigrations())
    // The synthetic window starts 2024-04-01: make its months' partitions like `maintenance` would.
    const store = yield* SqlStore
    yield* store.query("SELECT create_attack_session_partitions('2024-03-01'::date, 4)")
    yield* ensurePartitions(1)
    let written = 0
    let insertMs = 0
    let batch: Array<AttackSession> = []
    const flush = Effect.gen(function*() {
      const t0 = performance.now()
      written += yield* insertSessions(batch, "bench", "default")
      insertMs += performance.now() - t0
      batch = []
    })
    for (const s of generateSessions({ sessions, seed: 5 })) {
      batch.push(s.session)
      if (batch.length === BATCH) yield* flush
    }
    if (batch.length > 0) yield* flush
    const count = yield* store.query("SELECT count(*)::integer AS n FROM attack_sessions")
    return { written, insertMs, stored: Number(count[0]?.n) }
  })
  const r = await Effect.runPromise(program.pipe(Effect.provide(layer), Effect.scoped))
  console.log(`${name.padEnd(12)} ${String(r.written).padStart(9)} rows  ${(r.insertMs / 1000).toFixed(1).padStart(6)} s  ${Math.round(r.written / (r.insertMs / 1000)).toLocaleString("en-US").padStart(9)} rows/s  (${r.stored} stored)`)
}

const [pgCount = 1_000_000, liteCount = 100_000] = process.argv.slice(2).map(Number)
console.log(`bun ${Bun.version}; batches of ${BATCH} rows, one UNNEST statement each`)
const database = `dshield_coord_bench_${process.pid}`
const psql = (sql: string): void => {
  const r = spawnSync("psql", [ADMIN, "-q", "-c", sql], { encoding: "utf8" })
  if (r.status !== 0) throw new Error(r.stderr)
}
psql(`CREATE DATABASE ${database}`)
try {
  await bench("PostgreSQL", SqlStore.postgres(ADMIN.replace(/\/[^/]*$/, `/${database}`)), pgCount)
} finally {
  psql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
}
await bench("PGlite", SqlStore.pglite(mkdtempSync(join(tmpdir(), "dshield-bench-pglite-"))), liteCount)

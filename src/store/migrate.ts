/**
 * Numbered SQL migrations (migrations/NNNN_name.sql), applied in order, each in one
 * transaction together with its record in schema_migrations. Safe to run twice: applied
 * migrations are skipped (and refused if their file changed since), and on PostgreSQL a
 * transaction-scoped advisory lock keeps two migrators from racing.
 */
import { createHash } from "node:crypto"
import { readdir, readFile } from "node:fs/promises"
import { join, resolve } from "node:path"
import * as Effect from "effect/Effect"
import { splitStatements } from "./splitStatements.ts"
import { SqlStore, StoreError } from "./SqlStore.ts"

/** The repository's migrations folder. */
export const MIGRATIONS_DIR = resolve(import.meta.dir, "../../migrations")

/** Monthly attack_sessions partitions kept ready ahead of the current month. */
export const PARTITION_MONTHS_AHEAD = 3

export interface Migration {
  readonly id: number
  readonly name: string
  readonly sql: string
  readonly checksum: string
}

export interface MigrationReport {
  readonly applied: ReadonlyArray<string>
  readonly alreadyApplied: number
  readonly partitionsCreated: number
}

/** Reads migrations/NNNN_name.sql in numeric order. */
export const loadMigrations = (dir: string = MIGRATIONS_DIR): Effect.Effect<Array<Migration>, StoreError> =>
  Effect.tryPromise({
    try: async () => {
      const files = (await readdir(dir)).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort()
      return Promise.all(files.map(async (file) => {
        const sql = await readFile(join(dir, file), "utf8")
        return { id: Number(file.slice(0, 4)), name: file.slice(5, -4), sql, checksum: createHash("sha256").update(sql).digest("hex") }
      }))
    },
    catch: (error) => new StoreError({ message: `Cannot read the migrations in ${dir} (${String(error)}); check the installation.` })
  })

/** Arbitrary but fixed key of the migrator's advisory lock. */
const LOCK_KEY = 4_242_031

export const migrate = Effect.fn("Store.migrate")(function*(migrations: ReadonlyArray<Migration>) {
  const store = yield* SqlStore
  yield* store.query(
    "CREATE TABLE IF NOT EXISTS schema_migrations (id integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
  )
  const applied: Array<string> = []
  let already = 0
  // One read of what is applied: a store that is up to date (every open of an existing
  // store) takes no transaction per migration. Missing ones are checked again under the lock.
  const recorded = new Map((yield* store.query("SELECT id, checksum FROM schema_migrations")).map((r) => [Number(r.id), String(r.checksum)]))
  for (const m of migrations) {
    if (recorded.get(m.id) === m.checksum) {
      already++
      continue
    }
    const done = yield* store.transaction(Effect.gen(function*() {
      if (store.kind === "postgres") yield* store.query("SELECT pg_advisory_xact_lock($1)", [LOCK_KEY])
      const rows = yield* store.query("SELECT checksum FROM schema_migrations WHERE id = $1", [m.id])
      const existing = rows[0]?.checksum
      if (existing !== undefined) {
        if (existing !== m.checksum) {
          return yield* new StoreError({
            message: `Migration ${m.id} (${m.name}) changed after it was applied; restore the original file and add a new migration instead.`
          })
        }
        return false
      }
      for (const statement of splitStatements(m.sql)) yield* store.query(statement)
      yield* store.query("INSERT INTO schema_migrations (id, name, checksum) VALUES ($1, $2, $3)", [m.id, m.name, m.checksum])
      return true
    }))
    if (done) applied.push(`${String(m.id).padStart(4, "0")}_${m.name}`)
    else already++
  }
  const partitionsCreated = yield* ensurePartitions(PARTITION_MONTHS_AHEAD)
  return { applied, alreadyApplied: already, partitionsCreated } satisfies MigrationReport
})

/** Creates the attack_sessions partitions from last month to `ahead` months ahead. */
export const ensurePartitions = Effect.fn("Store.ensurePartitions")(function*(ahead: number) {
  const store = yield* SqlStore
  const rows = yield* store.query(
    "SELECT create_attack_session_partitions((date_trunc('month', now()) - interval '1 month')::date, $1::integer) AS created",
    [ahead + 2]
  )
  return Number(rows[0]?.created ?? 0)
})

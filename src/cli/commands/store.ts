/**
 * `dshield-coord migrate` and `dshield-coord config`.
 */
import { mkdir } from "node:fs/promises"
import { Effect, Layer } from "effect"
import { DEFAULT_CONFIG } from "../../config/AnalysisConfig.ts"
import { describeStoreConfig, type StoreConfig } from "../../config/StoreConfig.ts"
import { AnalysisError, InputError } from "../../domain/errors.ts"
import { loadMigrations, migrate } from "../../store/migrate.ts"
import { SqlStore, type StoreError } from "../../store/SqlStore.ts"

/** The SQL store the configuration names: PostgreSQL, or PGlite in the data directory. */
export const sqlStoreLayer = (config: StoreConfig): Layer.Layer<SqlStore, StoreError> =>
  config.databaseUrl !== undefined
    ? SqlStore.postgres(config.databaseUrl)
    : Layer.unwrap(
      Effect.promise(() => mkdir(config.dataDir, { recursive: true })).pipe(Effect.as(SqlStore.pglite(config.dataDir)))
    )

const toCliError = (error: StoreError | InputError): InputError | AnalysisError =>
  error._tag === "StoreError" ? new AnalysisError({ message: error.message }) : error

export const migrateCommand = Effect.fn("Cli.migrate")(function*(config: StoreConfig, quiet: boolean) {
  const report = yield* Effect.gen(function*() {
    const migrations = yield* loadMigrations()
    return yield* migrate(migrations)
  }).pipe(Effect.provide(sqlStoreLayer(config)), Effect.scoped, Effect.mapError(toCliError))
  if (!quiet) {
    yield* Effect.sync(() =>
      process.stdout.write(
        `${describeStoreConfig(config).database}: ${report.applied.length === 0 ? "up to date" : `applied ${report.applied.join(", ")}`}` +
          ` (${report.alreadyApplied} already applied); ${report.partitionsCreated} attack_sessions partition(s) created.\n`
      )
    )
  }
})

export const configCommand = Effect.fn("Cli.config")(function*(config: StoreConfig) {
  const shown = {
    ...describeStoreConfig(config),
    analysis: DEFAULT_CONFIG
  }
  yield* Effect.sync(() => process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`))
})

/**
 * The postgres store actor as commands spawn it for the configured store (PostgreSQL, or the
 * embedded PGlite in its data directory), apart from the store commands so that
 * `analyze --store` and `assess` load the SQL store and nothing else (no NATS client, no
 * Redis driver).
 */
import { mkdir } from "node:fs/promises"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { ActorRef } from "../kernel/Actor.ts"
import { spawn } from "../kernel/Actor.ts"
import { PostgresStore, postgresStoreBehaviour } from "./PostgresStore.ts"
import type { StoreConfig } from "../../src/config/StoreConfig.ts"
import { AnalysisError, type InputError } from "../../src/domain/errors.ts"
import { SqlStore, StoreError } from "../../src/store/SqlStore.ts"

/** The SQL store the configuration names: PostgreSQL, or PGlite in the data directory. */
export const sqlStoreLayer = (config: StoreConfig): Layer.Layer<SqlStore, StoreError> =>
  config.databaseUrl !== undefined
    ? SqlStore.postgres(config.databaseUrl)
    : Layer.unwrap(
      Effect.tryPromise({
        try: () => mkdir(config.dataDir, { recursive: true }),
        catch: (error) =>
          new StoreError({ message: `Cannot create the embedded store's directory ${config.dataDir} (${(error as { code?: string }).code ?? String(error)}); give a writable --data-dir.` })
      }).pipe(Effect.as(SqlStore.pglite(config.dataDir)))
    )

/** The postgres store actor for the configured store (or a store layer already open), for the current scope. */
export const postgresActor = (config: StoreConfig | Layer.Layer<SqlStore, StoreError>): Effect.Effect<ActorRef<typeof PostgresStore>, never, Scope.Scope> =>
  spawn(PostgresStore, postgresStoreBehaviour(Layer.isLayer(config) ? config as Layer.Layer<SqlStore, StoreError> : sqlStoreLayer(config as StoreConfig)), { policy: { askTimeoutMs: 60 * 60_000, maxRestarts: 1 } })

/** A store actor's failure as the CLI reports it (exit 1, one sentence). */
export const storeFailure = (error: { readonly _tag: string; readonly message?: string; readonly reason?: string; readonly lastFailure?: string }): AnalysisError | InputError =>
  error._tag === "InputError"
    ? (error as InputError)
    // An actor that could not open its store gave up: the store's own sentence is what to show.
    : new AnalysisError({ message: [error.lastFailure, error.message, error.reason].find((m) => m !== undefined && m.length > 0) ?? `The store failed (${error._tag}).` })


/**
 * The SQL store behind every repository: PostgreSQL (through @effect/sql-pg) when
 * DATABASE_URL is set, the embedded PGlite (PostgreSQL in WebAssembly, a data directory on
 * disk) otherwise. Both run the same SQL and the same migrations.
 *
 * The interface is deliberately small — parameterised queries and transactions — so a
 * repository is written once for both. Each backend lives in its own module and is loaded
 * only when its layer is built: the PostgreSQL driver alone takes about 200 ms to load, which
 * an embedded run never needs (and the other way round).
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { redactUrl } from "../config/redactUrl.ts"

/** A store operation failed; `message` is one sentence for the user. */
export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  message: Schema.String
}) {}

export type Row = Record<string, unknown>

export interface SqlStoreService {
  /** "postgres" or "pglite". */
  readonly kind: "postgres" | "pglite"
  /** Runs one parameterised statement ($1, $2, …) and returns its rows. */
  readonly query: (sql: string, params?: ReadonlyArray<unknown>) => Effect.Effect<ReadonlyArray<Row>, StoreError>
  /** Runs `body` in one transaction: every query inside commits together or not at all. */
  readonly transaction: <A, E, R>(body: Effect.Effect<A, E, R>) => Effect.Effect<A, E | StoreError, R>
}

/** A driver's error as one short line (its cause's message when it has one). */
export const describeStoreError = (error: unknown): string => {
  const cause = (error as { cause?: { message?: string } }).cause
  const text = cause?.message ?? (error as { message?: string }).message ?? String(error)
  return text.replace(/\s+/g, " ").slice(0, 300)
}

export class SqlStore extends Context.Service<SqlStore, SqlStoreService>()("dshield-coord/store/SqlStore") {
  /** PostgreSQL at `url`, through a pooled @effect/sql-pg client. */
  static readonly postgres = (url: string): Layer.Layer<SqlStore, StoreError> =>
    Layer.unwrap(Effect.promise(() => import("./SqlStorePostgres.ts")).pipe(Effect.map(({ postgresStore }) => postgresStore(url))))

  /** The embedded PGlite store in `dataDir` ("memory://" for a throw-away one). */
  static readonly pglite = (dataDir: string): Layer.Layer<SqlStore, StoreError> =>
    Layer.unwrap(Effect.promise(() => import("./SqlStorePglite.ts")).pipe(Effect.map(({ pgliteStore }) => pgliteStore(dataDir))))
}

export { redactUrl }

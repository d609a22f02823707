/**
 * The SQL store behind every repository: PostgreSQL (through @effect/sql-pg) when
 * DATABASE_URL is set, the embedded PGlite (PostgreSQL in WebAssembly, a data directory on
 * disk) otherwise. Both run the same SQL and the same migrations.
 *
 * The interface is deliberately small — parameterised queries and transactions — so a
 * repository is written once for both.
 */
import { Context, Effect, Layer, Redacted, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { PgClient } from "@effect/sql-pg"
import { PGlite } from "@electric-sql/pglite"
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

const describe = (error: unknown): string => {
  const cause = (error as { cause?: { message?: string } }).cause
  const text = cause?.message ?? (error as { message?: string }).message ?? String(error)
  return text.replace(/\s+/g, " ").slice(0, 300)
}

export class SqlStore extends Context.Service<SqlStore, SqlStoreService>()("dshield-coord/store/SqlStore") {
  /** PostgreSQL at `url`, through a pooled @effect/sql-pg client. */
  static readonly postgres = (url: string): Layer.Layer<SqlStore, StoreError> =>
    Layer.effect(
      SqlStore,
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const query = Effect.fn("SqlStore.query")(function*(text: string, params: ReadonlyArray<unknown> = []) {
          return yield* sql.unsafe<Row>(text, params as Array<unknown>).pipe(
            Effect.mapError((error) =>
              new StoreError({
                message: /connect|ECONNREFUSED|ENOTFOUND/i.test(describe(error))
                  ? `Cannot connect to PostgreSQL at ${redactUrl(url)}; check DATABASE_URL and that the server is running.`
                  : `PostgreSQL query failed: ${describe(error)}.`
              })
            )
          )
        })
        return SqlStore.of({
          kind: "postgres",
          query,
          transaction: <A, E, R>(body: Effect.Effect<A, E, R>): Effect.Effect<A, E | StoreError, R> =>
            sql.withTransaction(body).pipe(
              Effect.mapError((error) =>
                (error as { _tag?: string })._tag === "SqlError"
                  ? new StoreError({ message: `PostgreSQL transaction failed: ${describe(error)}.` })
                  : (error as E)
              )
            )
        })
      })
    ).pipe(
      Layer.provide(PgClient.layer({ url: Redacted.make(url) })),
      Layer.catch((error: unknown) =>
        Layer.effect(
          SqlStore,
          Effect.fail(new StoreError({ message: `Cannot connect to PostgreSQL at ${redactUrl(url)} (${describe(error)}); check DATABASE_URL.` }))
        )
      )
    )

  /** The embedded PGlite store in `dataDir` ("memory://" for a throw-away one). */
  static readonly pglite = (dataDir: string): Layer.Layer<SqlStore, StoreError> =>
    Layer.effect(
      SqlStore,
      Effect.gen(function*() {
        const db = yield* Effect.acquireRelease(
          Effect.tryPromise({
            try: async () => {
              const instance = new PGlite(dataDir)
              await instance.waitReady
              return instance
            },
            catch: (error) => new StoreError({ message: `Cannot open the embedded store at ${dataDir} (${describe(error)}); check the directory.` })
          }),
          (instance) => Effect.promise(() => instance.close())
        )
        // PGlite runs one statement at a time; a transaction holds it for its whole body.
        let depth = 0
        const query = Effect.fn("SqlStore.query")(function*(text: string, params: ReadonlyArray<unknown> = []) {
          const result = yield* Effect.tryPromise({
            try: () => db.query<Row>(text, params as Array<unknown>),
            catch: (error) => new StoreError({ message: `Embedded store query failed: ${describe(error)}.` })
          })
          return result.rows
        })
        const transaction = <A, E, R>(body: Effect.Effect<A, E, R>): Effect.Effect<A, E | StoreError, R> =>
          depth > 0
            ? body
            : Effect.acquireUseRelease(
              Effect.sync(() => depth++).pipe(Effect.andThen(query("BEGIN"))),
              () => body.pipe(Effect.tap(() => query("COMMIT"))),
              (_, exit) => Effect.sync(() => depth--).pipe(Effect.andThen(exit._tag === "Failure" ? Effect.ignore(query("ROLLBACK")) : Effect.void))
            )
        return SqlStore.of({ kind: "pglite", query, transaction })
      })
    )
}

export { redactUrl }

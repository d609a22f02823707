/**
 * The embedded SQL store: PGlite (PostgreSQL in WebAssembly) in a data directory on disk, or
 * in memory (see SqlStore.ts; how it starts: pgliteTemplate.ts).
 */
import { Effect, Layer } from "effect"
import { PGlite } from "@electric-sql/pglite"
import { pgliteOptions } from "./pgliteTemplate.ts"
import { describeStoreError, type Row, SqlStore, StoreError } from "./SqlStore.ts"

/** The embedded PGlite store in `dataDir` ("memory://" for a throw-away one). */
export const pgliteStore = (dataDir: string): Layer.Layer<SqlStore, StoreError> =>
  Layer.effect(
    SqlStore,
    Effect.gen(function*() {
      const db = yield* Effect.acquireRelease(
        Effect.tryPromise({
          try: async () => {
            const instance = new PGlite(dataDir, await pgliteOptions(dataDir))
            await instance.waitReady
            return instance
          },
          catch: (error) => new StoreError({ message: `Cannot open the embedded store at ${dataDir} (${describeStoreError(error)}); check the directory.` })
        }),
        (instance) => Effect.promise(() => instance.close())
      )
      // PGlite runs one statement at a time; a transaction holds it for its whole body.
      let depth = 0
      const query = Effect.fn("SqlStore.query")(function*(text: string, params: ReadonlyArray<unknown> = []) {
        const result = yield* Effect.tryPromise({
          try: () => db.query<Row>(text, params as Array<unknown>),
          catch: (error) => new StoreError({ message: `Embedded store query failed: ${describeStoreError(error)}.` })
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

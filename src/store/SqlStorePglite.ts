/**
 * The embedded SQL store: PGlite (PostgreSQL in WebAssembly) in a data directory on disk, or
 * in memory (see SqlStore.ts; how it starts: pgliteTemplate.ts).
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Semaphore from "effect/Semaphore"
import { PGlite } from "@electric-sql/pglite"
import { DataDirLocked, lockDataDir } from "./dataDirLock.ts"
import { pgliteOptions } from "./pgliteTemplate.ts"
import { describeStoreError, type Row, SqlStore, StoreError } from "./SqlStore.ts"

/** True inside a transaction on this fiber (see the permit below). */
const InTransaction = Context.Reference<boolean>("dshield-coord/store/PgliteInTransaction", { defaultValue: () => false })

/** The embedded PGlite store in `dataDir` ("memory://" for a throw-away one). */
export const pgliteStore = (dataDir: string): Layer.Layer<SqlStore, StoreError> =>
  Layer.effect(
    SqlStore,
    Effect.gen(function*() {
      // One process at a time on a data directory (dataDirLock.ts), held until the store closes.
      yield* Effect.acquireRelease(
        Effect.try({
          try: () => (dataDir.startsWith("memory://") ? () => undefined : lockDataDir(dataDir)),
          catch: (error) => new StoreError({ message: error instanceof DataDirLocked ? error.message : `Cannot lock the embedded store at ${dataDir} (${describeStoreError(error)}); check the directory.` })
        }),
        (release) => Effect.sync(release)
      )
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
      // PGlite has one connection: a transaction holds it for its whole body. Concurrent
      // callers (the HTTP server's requests) take turns through one permit; the fiber inside a
      // transaction is marked so its own queries (and nested transactions) run in it instead
      // of waiting for the permit it holds.
      const connection = Semaphore.makeUnsafe(1)
      const run = (text: string, params: ReadonlyArray<unknown>) =>
        Effect.tryPromise({
          try: () => db.query<Row>(text, params as Array<unknown>),
          catch: (error) => new StoreError({ message: `Embedded store query failed: ${describeStoreError(error)}.` })
        }).pipe(Effect.map((result) => result.rows))
      const query = Effect.fn("SqlStore.query")(function*(text: string, params: ReadonlyArray<unknown> = []) {
        return (yield* InTransaction) ? yield* run(text, params) : yield* connection.withPermit(run(text, params))
      })
      const transaction = <A, E, R>(body: Effect.Effect<A, E, R>): Effect.Effect<A, E | StoreError, R> =>
        Effect.gen(function*() {
          if (yield* InTransaction) return yield* body
          return yield* connection.withPermit(
            Effect.acquireUseRelease(
              run("BEGIN", []),
              () => body.pipe(Effect.tap(() => run("COMMIT", [])), Effect.provideService(InTransaction, true)),
              (_, exit) => (exit._tag === "Failure" ? Effect.ignore(run("ROLLBACK", [])) : Effect.void)
            )
          )
        })
      return SqlStore.of({ kind: "pglite", query, transaction })
    })
  )

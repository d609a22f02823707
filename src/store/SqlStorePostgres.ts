/**
 * The SQL store on a PostgreSQL server, through a pooled @effect/sql-pg client (see SqlStore.ts).
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { SqlClient } from "effect/sql"
import { PgClient } from "@effect/sql-pg"
import { redactUrl } from "../config/redactUrl.ts"
import { describeStoreError, type Row, SqlStore, StoreError } from "./SqlStore.ts"

/**
 * True for a server that cannot be reached: the driver's SqlError says ConnectionError (a
 * refused or dropped connection, an unknown host). Only that is "cannot connect":
 * "PgConnection: Failed to encode query" is a query the client could not send.
 */
const unreachable = (error: unknown): boolean =>
  (error as { reason?: { _tag?: string } }).reason?._tag === "ConnectionError" ||
  /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|ECONNRESET|connection terminated|could not connect/i.test(describeStoreError(error))

/** PostgreSQL at `url`, through a pooled @effect/sql-pg client. */
export const postgresStore = (url: string): Layer.Layer<SqlStore, StoreError> =>
  Layer.effect(
    SqlStore,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const query = Effect.fn("SqlStore.query")(function*(text: string, params: ReadonlyArray<unknown> = []) {
        return yield* sql.unsafe<Row>(text, params as Array<unknown>).pipe(
          Effect.mapError((error) =>
            new StoreError({
              message: unreachable(error)
                ? `Cannot connect to PostgreSQL at ${redactUrl(url)}; check DATABASE_URL and that the server is running.`
                : `PostgreSQL query failed: ${describeStoreError(error)}.`
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
                ? new StoreError({ message: `PostgreSQL transaction failed: ${describeStoreError(error)}.` })
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
        Effect.fail(new StoreError({ message: `Cannot connect to PostgreSQL at ${redactUrl(url)} (${describeStoreError(error)}); check DATABASE_URL.` }))
      )
    )
  )

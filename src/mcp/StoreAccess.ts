/**
 * How the MCP tools reach the store (list_campaigns, get_campaign; and, over HTTP, the API
 * keys). Two ways, because the embedded PGlite store admits one process at a time:
 *
 * - `openStore`: opened and migrated once, kept for the server's lifetime (the HTTP server,
 *   which checks a key on every request anyway);
 * - `storePerCall`: opened for one call and closed after it (stdio). An assistant keeps its
 *   MCP server running for hours; holding the embedded store all that time would lock the
 *   user out of `analyze --store` and `campaigns list` in the meantime.
 */
import { existsSync } from "node:fs"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import { sqlStoreLayer } from "../../actors/postgres/StoreActor.ts"
import type { StoreConfig } from "../config/StoreConfig.ts"
import { loadMigrations, migrate } from "../store/migrate.ts"
import type { SqlStore, StoreError } from "../store/SqlStore.ts"
import { ToolRefusal } from "./ToolRefusal.ts"

export interface StoreAccess {
  /** Runs `effect` against the store; a store that cannot be opened or fails is one sentence. */
  readonly use: <A, E>(effect: Effect.Effect<A, E, SqlStore>) => Effect.Effect<A, E | ToolRefusal>
}

const unavailable = (error: StoreError) => new ToolRefusal({ message: `The store did not answer (${error.message.replace(/[.\s]+$/, "")}); try again, or check --database-url / --data-dir.` })

const mapStoreError = <A, E>(effect: Effect.Effect<A, E | StoreError>): Effect.Effect<A, Exclude<E, StoreError> | ToolRefusal> =>
  Effect.mapError(effect, (e) => ((e as { _tag?: string })._tag === "StoreError" ? unavailable(e as StoreError) : (e as Exclude<E, StoreError>)))

/** The store opened and migrated, as a context (for the scope of the caller). */
export const openStoreContext = (config: StoreConfig): Effect.Effect<Context.Context<SqlStore>, StoreError, Scope.Scope> =>
  Effect.gen(function*() {
    const context = yield* Layer.build(sqlStoreLayer(config))
    yield* Effect.flatMap(loadMigrations(), migrate).pipe(Effect.provideContext(context))
    return context
  })

/** The store kept open for the scope (the HTTP server). */
export const openStore = (context: Context.Context<SqlStore>): StoreAccess => ({
  use: (effect) => mapStoreError(Effect.provideContext(effect, context))
})

/**
 * The store opened for each call and closed after it (stdio). Calls take turns: two
 * embedded stores open on one directory at once, even in one process, would corrupt it.
 */
export const storePerCall = (config: StoreConfig): StoreAccess => {
  const oneAtATime = Semaphore.makeUnsafe(1)
  return {
    use: (effect) =>
      oneAtATime.withPermits(1)(Effect.suspend(() => {
        if (config.databaseUrl === undefined && !existsSync(config.dataDir)) {
          return Effect.fail(new ToolRefusal({
            message: `There is no store in ${config.dataDir} yet; keep analyses with \`dshield-coord analyze --store\` first, or start the server with --data-dir or --database-url naming your store.`
          }))
        }
        return mapStoreError(Effect.scoped(Effect.flatMap(openStoreContext(config), (context) => Effect.provideContext(effect, context))))
      }))
  }
}

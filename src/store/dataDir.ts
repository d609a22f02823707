/**
 * What an embedded store's data directory holds, without loading PGlite (the analysis layers
 * ask before deciding whether to wait for the store).
 */
import { existsSync } from "node:fs"
import { join } from "node:path"

/** True when `dataDir` already holds a database (then it is opened, never overwritten). */
export const holdsDatabase = (dataDir: string): boolean => !dataDir.startsWith("memory://") && existsSync(join(dataDir, "PG_VERSION"))

/**
 * True for a configured embedded store (no database URL) that was never made: commands that
 * only read say so instead of making an empty store in a mistyped --data-dir.
 */
export const embeddedStoreMissing = (config: { readonly databaseUrl?: string | undefined; readonly dataDir: string }): boolean =>
  config.databaseUrl === undefined && !holdsDatabase(config.dataDir)

/** What a reading command says of a store that was never made (one sentence, what to do). */
export const noStoreMessage = (dataDir: string): string =>
  `There is no store in ${dataDir}; give --data-dir or --database-url naming your store, or keep analyses with \`dshield-coord analyze --store FILE\` first.`

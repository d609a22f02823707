/**
 * What an embedded store's data directory holds, without loading PGlite (the analysis layers
 * ask before deciding whether to wait for the store).
 */
import { existsSync } from "node:fs"
import { join } from "node:path"

/** True when `dataDir` already holds a database (then it is opened, never overwritten). */
export const holdsDatabase = (dataDir: string): boolean => !dataDir.startsWith("memory://") && existsSync(join(dataDir, "PG_VERSION"))

/** Data directories this process has just made from the template, before anything was stored in them. */
const madeEmpty = new Set<string>()

/** Records that `dataDir` was just made from the template (pgliteTemplate.ts): it holds no history. */
export const markMadeEmpty = (dataDir: string): void => {
  madeEmpty.add(dataDir)
}

/**
 * True (once) when `dataDir` was made empty by this process and nothing asked since: the
 * analysis layer asks before it stores anything, so a later run in the same process (the
 * tests, the HTTP API) reads the history the first one stored.
 */
export const takeMadeEmpty = (dataDir: string): boolean => madeEmpty.delete(dataDir)

/**
 * True for a configured embedded store (no database URL) that was never made: commands that
 * only read say so instead of making an empty store in a mistyped --data-dir.
 */
export const embeddedStoreMissing = (config: { readonly databaseUrl?: string | undefined; readonly dataDir: string }): boolean =>
  config.databaseUrl === undefined && !holdsDatabase(config.dataDir)

/** What a reading command says of a store that was never made (one sentence, what to do). */
export const noStoreMessage = (dataDir: string): string =>
  `There is no store in ${dataDir}; give --data-dir or --database-url naming your store, or keep analyses with \`dshield-coord analyze --store FILE\` first.`

/**
 * What an embedded store's data directory holds, without loading PGlite (the analysis layers
 * ask before deciding whether to wait for the store).
 */
import { existsSync } from "node:fs"
import { join } from "node:path"

/** True when `dataDir` already holds a database (then it is opened, never overwritten). */
export const holdsDatabase = (dataDir: string): boolean => !dataDir.startsWith("memory://") && existsSync(join(dataDir, "PG_VERSION"))

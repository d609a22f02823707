/**
 * How the embedded PGlite store starts.
 *
 * A new data directory needs `initdb`, which PGlite runs as a second and third WebAssembly
 * instance: about 6 s and 0.9 GB of memory on this project's reference machine, once per new
 * store (and once per `memory://` store in the tests). Every data directory initdb makes is
 * the same apart from its random system identifier, so it is made once, at install time
 * (`npm install` runs scripts/prepare-embedded-store.ts), kept as a tar in the package's
 * cache, and a new store is loaded from that tar instead (about 1.3 s, 0.3 GB). Without the
 * template (install scripts disabled, cache not writable) a new store runs initdb itself, as
 * PGlite does by default: slower, same result.
 *
 * PostgreSQL's default 128 MB of shared buffers is zeroed at every start in WebAssembly
 * (0.5 s) and stays resident; an embedded single-user store that writes in bulk does as well
 * with 16 MB (start 1.06 → 0.62 s, resident memory 273 → 157 MB, measured on alvarogar's
 * store; docs/benchmarks.md).
 */
import { existsSync, readFileSync } from "node:fs"
import { mkdir, readFile, rename, writeFile } from "node:fs/promises"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { PGlite } from "@electric-sql/pglite"

/** PGlite's own start parameters plus the smaller shared buffers explained above. */
export const PGLITE_START_PARAMS: ReadonlyArray<string> = [...PGlite.defaultStartParams, "-c", "shared_buffers=16MB"]

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..")

/** The installed PGlite's version: a template is only valid for the PostgreSQL build that made it. */
const pgliteVersion = (): string => {
  const require = createRequire(import.meta.url)
  const main = require.resolve("@electric-sql/pglite")
  // The package's entry lives in dist/; its package.json is one level up.
  const manifest = JSON.parse(readFileSync(join(dirname(main), "..", "package.json"), "utf8")) as { version: string }
  return manifest.version
}

/** Where the template lives: `DSHIELD_CACHE_DIR`, else the package's node_modules/.cache. */
export const templatePath = (): string =>
  join(process.env.DSHIELD_CACHE_DIR ?? join(packageRoot, "node_modules", ".cache", "dshield-coord"), `pglite-${pgliteVersion()}-initdb.tar`)

/** True when `dataDir` already holds a database (then it is opened, never overwritten). */
const holdsDatabase = (dataDir: string): boolean => !dataDir.startsWith("memory://") && existsSync(join(dataDir, "PG_VERSION"))

/**
 * The options to open `dataDir` with: the start parameters, and for a new store the
 * template to load (when it exists).
 */
export const pgliteOptions = async (dataDir: string): Promise<{ startParams: Array<string>; loadDataDir?: Blob }> => {
  const startParams = [...PGLITE_START_PARAMS]
  if (holdsDatabase(dataDir)) return { startParams }
  const template = templatePath()
  if (!existsSync(template)) return { startParams }
  return { startParams, loadDataDir: new Blob([await readFile(template)]) }
}

/**
 * Runs initdb once in memory and writes the result as the template (atomically: a
 * concurrent install or a crash never leaves half a tar). Returns the template's path.
 */
export const createTemplate = async (): Promise<string> => {
  const path = templatePath()
  const db = new PGlite("memory://", { startParams: [...PGLITE_START_PARAMS] })
  await db.waitReady
  const tar = new Uint8Array(await (await db.dumpDataDir("none")).arrayBuffer())
  await db.close()
  await mkdir(dirname(path), { recursive: true })
  const partial = `${path}.${process.pid}.partial`
  await writeFile(partial, tar)
  await rename(partial, path)
  return path
}

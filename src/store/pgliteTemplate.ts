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
 * Install time also makes a second template: a data directory with every migration applied
 * (named by the migrations' digest). A new store on disk is a copy of that directory, opened
 * as an existing database: no tar to unpack in WebAssembly (1.1 s) and no migrations to run
 * (0.4 s) on the first `analyze --store`. When the migrations change after install, that
 * template is not found and the tar path above is used, then the migrations run.
 *
 * PostgreSQL's default 128 MB of shared buffers is zeroed at every start in WebAssembly
 * (0.5 s) and stays resident; an embedded single-user store that writes in bulk does as well
 * with 16 MB (start 1.06 → 0.62 s, resident memory 273 → 157 MB, measured on alvarogar's
 * store; docs/benchmarks.md).
 */
import { createHash } from "node:crypto"
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs"
import { copyFile, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { PGlite } from "@electric-sql/pglite"
import { holdsDatabase, markMadeEmpty } from "./dataDir.ts"
import { lockDataDir } from "./dataDirLock.ts"

/** PGlite's own start parameters plus the smaller shared buffers explained above. */
export const PGLITE_START_PARAMS: ReadonlyArray<string> = [...PGlite.defaultStartParams, "-c", "shared_buffers=16MB"]

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..")

/** The installed PGlite's `dist/` folder, where its WebAssembly and file-system bundle live. */
const pgliteDist = (): string => dirname(createRequire(import.meta.url).resolve("@electric-sql/pglite"))

/** The installed PGlite's version: a template is only valid for the PostgreSQL build that made it. */
const pgliteVersion = (): string => {
  // The package's entry lives in dist/; its package.json is one level up.
  const manifest = JSON.parse(readFileSync(join(pgliteDist(), "..", "package.json"), "utf8")) as { version: string }
  return manifest.version
}

const cacheRoot = (): string => process.env.DSHIELD_CACHE_DIR ?? join(packageRoot, "node_modules", ".cache", "dshield-coord")

/** Where the template lives: `DSHIELD_CACHE_DIR`, else the package's node_modules/.cache. */
export const templatePath = (): string => join(cacheRoot(), `pglite-${pgliteVersion()}-initdb.tar`)

/** The migrations folder's files and contents, hashed: a migrated template is valid for these only. */
const migrationsDigest = (): string => {
  const dir = join(packageRoot, "migrations")
  const hash = createHash("sha256")
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".sql")).sort()) hash.update(`${file}\n`).update(readFileSync(join(dir, file)))
  return hash.digest("hex").slice(0, 16)
}

/** The migrated data directory template (see the header). */
export const migratedTemplatePath = (): string => join(cacheRoot(), `pglite-${pgliteVersion()}-migrated-${migrationsDigest()}`)


let artifacts: Promise<{ pgliteWasmModule: WebAssembly.Module; fsBundle: Blob }> | undefined

/**
 * PGlite's WebAssembly compiled, once per process, as PGlite would do at every start.
 * Compiling (0.3 s, mostly on the engine's own threads) starts early in a command that will
 * open the embedded store (`warmEmbeddedStore`); every later store of the process (the tests,
 * the HTTP API's tenants) reuses it. The file-system bundle (6 MB) is handed over as the file
 * itself, read when PGlite asks for it, instead of read into memory and copied into a Blob
 * (peak memory of `analyze --store` on alvarogar 287 → 278 MiB; its time did not change).
 */
export const pgliteArtifacts = (): Promise<{ pgliteWasmModule: WebAssembly.Module; fsBundle: Blob }> => {
  artifacts ??= (async () => {
    const dist = pgliteDist()
    const pgliteWasmModule = await WebAssembly.compile(await readFile(join(dist, "pglite.wasm")))
    return { pgliteWasmModule, fsBundle: Bun.file(join(dist, "pglite.data")) }
  })()
  return artifacts
}

/**
 * Copies the migrated template into `dataDir` when it holds no database yet: true when it
 * does afterwards from this copy (false: no migrated template for these migrations).
 */
const copyNewStore = (dataDir: string): boolean => {
  const migrated = migratedTemplatePath()
  if (!existsSync(join(migrated, "PG_VERSION"))) return false
  copyTemplate(migrated, dataDir)
  return true
}

/** Copies of the template this process has started and not finished, by data directory. */
const copying = new Map<string, Promise<void>>()

/**
 * Gets the embedded store ready for a command that will open it: PGlite compiled on the
 * engine's own threads while the command loads and reads its input, and, for a data
 * directory that holds no database yet, the migrated template copied in on the runtime's file
 * threads meanwhile (opening the store waits for that copy). A failure surfaces when the
 * store opens.
 */
export const warmEmbeddedStore = (dataDir: string): void => {
  pgliteArtifacts().catch(() => undefined)
  if (dataDir.startsWith("memory://") || holdsDatabase(dataDir) || copying.has(dataDir)) return
  const migrated = migratedTemplatePath()
  if (!existsSync(join(migrated, "PG_VERSION"))) return
  // The copy is made under the store's lock, held until it ends; a store another process
  // holds is left alone, and opening it says so.
  let release: () => void
  try {
    release = lockDataDir(dataDir)
  } catch {
    return
  }
  // Marked now, not when the copy ends: the analysis layer asks while the copy may still run.
  markMadeEmpty(dataDir)
  const copy = copyTemplateInBackground(migrated, dataDir)
    .catch(() => undefined) // opening the store copies again and reports what is wrong
    .finally(() => {
      copying.delete(dataDir)
      release()
    })
  copying.set(dataDir, copy)
}

/**
 * Makes the template's folders in `dataDir` and returns its files to copy, PG_VERSION left
 * out: each copy writes it last, so a copy cut short (a crash, a full disk) is not taken for
 * a database.
 */
const foldersMade = (template: string, dataDir: string): Array<string> => {
  const entries = readdirSync(template, { recursive: true, withFileTypes: true })
  const relative = (e: { parentPath: string; name: string }) => join(e.parentPath, e.name).slice(template.length + 1)
  mkdirSync(dataDir, { recursive: true })
  for (const folder of entries.filter((e) => e.isDirectory()).map(relative).sort()) mkdirSync(join(dataDir, folder), { recursive: true })
  return entries.filter((e) => e.isFile()).map(relative).filter((file) => file !== "PG_VERSION")
}

/**
 * Copies the migrated template into a new data directory, PG_VERSION last: a copy cut short
 * (a crash, a full disk) is not taken for a database. Synchronous, for a store opened without
 * the warm start (the tests, the HTTP API's tenants).
 */
const copyTemplate = (template: string, dataDir: string): void => {
  for (const file of foldersMade(template, dataDir)) copyFileSync(join(template, file), join(dataDir, file))
  copyFileSync(join(template, "PG_VERSION"), join(dataDir, "PG_VERSION"))
}

/**
 * The same copy with every file handed to the runtime's file threads at once: the folders
 * are made here (a few ms), the 500 files (26 MB) are created and copied off the main thread,
 * which spent 70–85 ms on them synchronously while the command was loading on the reference
 * machine (file creation on ext4, not bytes). Handed over one after another instead, each
 * copy waited for a main thread busy with the analysis (0.1–0.6 s).
 */
const copyTemplateInBackground = async (template: string, dataDir: string): Promise<void> => {
  const files = foldersMade(template, dataDir)
  // Every copy settles before this returns, failed or not: none may still be writing when
  // the store opens (or copies again after a failure).
  const copies = await Promise.allSettled(files.map((file) => copyFile(join(template, file), join(dataDir, file))))
  const failed = copies.find((c) => c.status === "rejected")
  if (failed !== undefined) throw failed.reason
  await copyFile(join(template, "PG_VERSION"), join(dataDir, "PG_VERSION"))
}

/** PGlite's options for opening `dataDir`. */
export interface PgliteOpenOptions {
  readonly startParams: Array<string>
  readonly loadDataDir?: Blob
  readonly pgliteWasmModule?: WebAssembly.Module
  readonly fsBundle?: Blob
}

/**
 * The options to open `dataDir` with: the start parameters, and for a new store the
 * template to load (when it exists).
 */
export const pgliteOptions = async (dataDir: string): Promise<PgliteOpenOptions> => {
  const startParams = [...PGLITE_START_PARAMS]
  // A new store on disk is a copy of the migrated template (warmEmbeddedStore has usually
  // started it; a copy that failed is made again here).
  await copying.get(dataDir)
  if (holdsDatabase(dataDir) || (!dataDir.startsWith("memory://") && copyNewStore(dataDir))) return { startParams, ...await pgliteArtifacts() }
  const template = templatePath()
  if (!existsSync(template)) return { startParams, ...await pgliteArtifacts() }
  const [tar, compiled] = await Promise.all([readFile(template), pgliteArtifacts()])
  return { startParams, loadDataDir: new Blob([tar]), ...compiled }
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

/**
 * Makes the migrated data directory template: a store opened from the initdb template in a
 * scratch directory, `migrate` run on it by the caller, closed, then renamed into place
 * (atomically: a half-made template is never used). Returns its path.
 */
export const createMigratedTemplate = async (migrateInto: (dataDir: string) => Promise<void>): Promise<string> => {
  const path = migratedTemplatePath()
  const scratch = `${path}.${process.pid}.partial`
  await rm(scratch, { recursive: true, force: true })
  await mkdir(scratch, { recursive: true })
  await migrateInto(scratch)
  await rename(scratch, path)
  return path
}

/**
 * The warm start of a new embedded store (src/store/pgliteTemplate.ts): `analyze --store`
 * copies the migrated template into the new data directory on the runtime's file threads
 * while the command loads and reads its input, and says once that the store holds no
 * history. A store opened meanwhile waits for the copy; the directory ends up a whole copy of
 * the template.
 */
import { afterAll, describe, expect, test } from "bun:test"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import { holdsDatabase, takeMadeEmpty } from "../../src/store/dataDir.ts"
import { LOCK_FILE } from "../../src/store/dataDirLock.ts"
import { migratedTemplatePath, warmEmbeddedStore } from "../../src/store/pgliteTemplate.ts"
import { SqlStore } from "../../src/store/SqlStore.ts"

const scratch = mkdtempSync(join(tmpdir(), "dshield-warm-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

/** Every file below `dir`, relative, sorted. */
const filesOf = (dir: string): Array<string> =>
  readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort()

/** The migrations recorded in the store at `dir` (opening it as a command would). */
const migrationsIn = (dir: string) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const store = yield* SqlStore
    return (yield* store.query("SELECT count(*)::integer AS n FROM schema_migrations"))[0]!.n as number
  }).pipe(Effect.provide(SqlStore.pglite(dir)))))

const MIGRATIONS = readdirSync(new URL("../../migrations", import.meta.url).pathname).filter((f) => f.endsWith(".sql")).length

describe("warm start of a new embedded store", () => {
  test("a store opened right after the warm start, while the copy runs, opens on the whole template with its migrations", async () => {
    const template = migratedTemplatePath()
    expect(existsSync(join(template, "PG_VERSION")), `no migrated template at ${template}: run npm install`).toBe(true)
    const dataDir = join(scratch, "new-store")
    warmEmbeddedStore(dataDir)
    // Said once, at once (the analysis layer asks while the copy may still run): no history.
    expect(takeMadeEmpty(dataDir)).toBe(true)
    expect(takeMadeEmpty(dataDir)).toBe(false)
    expect(await migrationsIn(dataDir)).toBe(MIGRATIONS)
    expect(holdsDatabase(dataDir)).toBe(true)
    // The lock is gone once the store has closed and the copy has ended.
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false)
    // Every file of the template is there (the store may have added its own).
    const copied = new Set(filesOf(dataDir))
    expect(filesOf(template).filter((f) => !copied.has(f))).toEqual([])
    expect(readFileSync(join(dataDir, "PG_VERSION"), "utf8")).toBe(readFileSync(join(template, "PG_VERSION"), "utf8"))
  }, 60_000)

  test("a store that exists is opened as it is; one removed and made again in the same process is copied again", async () => {
    const dataDir = join(scratch, "new-store")
    const before = filesOf(dataDir).length
    warmEmbeddedStore(dataDir)
    expect(takeMadeEmpty(dataDir)).toBe(false)
    expect(filesOf(dataDir).length).toBe(before)
    rmSync(dataDir, { recursive: true, force: true })
    warmEmbeddedStore(dataDir)
    expect(takeMadeEmpty(dataDir)).toBe(true)
    expect(await migrationsIn(dataDir)).toBe(MIGRATIONS)
  }, 60_000)
})

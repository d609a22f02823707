/**
 * The warm start of a new embedded store (pgliteTemplate.ts): `analyze --store` copies the
 * migrated template into the new data directory in the background while the command loads
 * and reads its input; the store that opens meanwhile waits for that copy, and the directory
 * ends up a whole copy of the template.
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

describe("warm start of a new embedded store", () => {
  test("a store opened right after the warm start, while the copy runs, opens on the whole template with its migrated schema", async () => {
    const template = migratedTemplatePath()
    expect(existsSync(join(template, "PG_VERSION")), `no migrated template at ${template}: run npm install`).toBe(true)
    const dataDir = join(scratch, "new-store")
    warmEmbeddedStore(dataDir)
    // Asked at once, as the analysis layer does: the new store holds no history.
    expect(takeMadeEmpty(dataDir)).toBe(true)
    const migrations = await Effect.runPromise(
      Effect.gen(function*() {
        const store = yield* SqlStore
        return yield* store.query("SELECT count(*)::integer AS n FROM schema_migrations")
      }).pipe(Effect.provide(SqlStore.pglite(dataDir)), Effect.scoped)
    )
    expect(migrations[0]!.n).toBeGreaterThan(0)
    expect(holdsDatabase(dataDir)).toBe(true)
    // The lock is gone once the store has closed and the copy has ended.
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false)
    // Every file of the template is there (the store may have added its own).
    const copied = new Set(filesOf(dataDir))
    expect(filesOf(template).filter((f) => !copied.has(f))).toEqual([])
    expect(readFileSync(join(dataDir, "PG_VERSION"), "utf8")).toBe(readFileSync(join(template, "PG_VERSION"), "utf8"))
  })

  test("a directory that already holds a database is left alone", () => {
    const dataDir = join(scratch, "new-store")
    const before = filesOf(dataDir).length
    warmEmbeddedStore(dataDir)
    expect(takeMadeEmpty(dataDir)).toBe(false)
    expect(filesOf(dataDir).length).toBe(before)
  })
})

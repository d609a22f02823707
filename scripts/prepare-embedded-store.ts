/**
 * Run by `npm install` (postinstall): makes the embedded store's initdb template once, so a
 * new `analyze --store` data directory starts in about a second instead of six
 * (src/store/pgliteTemplate.ts says why), a data directory with the migrations applied that
 * a new store on disk is copied from, and caches the geography tables (parsed from their
 * CSV once: src/enrichment/Geography.ts). Never fails the install: without them the engine
 * runs initdb or parses the CSV itself.
 */
import { existsSync } from "node:fs"
import * as Effect from "effect/Effect"
import { defaultGeography } from "../src/enrichment/Geography.ts"
import { loadMigrations, migrate } from "../src/store/migrate.ts"
import { createMigratedTemplate, createTemplate, migratedTemplatePath, templatePath } from "../src/store/pgliteTemplate.ts"
import { SqlStore } from "../src/store/SqlStore.ts"

try {
  if (!existsSync(templatePath())) {
    const started = performance.now()
    const path = await createTemplate()
    process.stdout.write(`dshield-coord: embedded store template written to ${path} in ${((performance.now() - started) / 1000).toFixed(1)} s.\n`)
  }
} catch (error) {
  process.stderr.write(`dshield-coord: could not prepare the embedded store template (${String(error)}); new stores will run initdb themselves, which is slower.\n`)
}

try {
  if (existsSync(templatePath()) && !existsSync(migratedTemplatePath())) {
    const started = performance.now()
    const path = await createMigratedTemplate((dataDir) =>
      Effect.runPromise(Effect.gen(function*() {
        yield* migrate(yield* loadMigrations())
        // The store lives in the "postgres" database; the two template databases are only
        // for CREATE DATABASE, which an embedded store never runs. Without them every new
        // store copies 15 MB and 700 files less.
        const store = yield* SqlStore
        for (const name of ["template0", "template1"]) {
          yield* store.query(`ALTER DATABASE ${name} IS_TEMPLATE false`)
          yield* store.query(`DROP DATABASE ${name}`)
        }
      }).pipe(Effect.provide(SqlStore.pglite(dataDir)))))
    process.stdout.write(`dshield-coord: migrated store template written to ${path} in ${((performance.now() - started) / 1000).toFixed(1)} s.\n`)
  }
} catch (error) {
  process.stderr.write(`dshield-coord: could not prepare the migrated store template (${String(error)}); new stores will be migrated when first opened, which is slower.\n`)
}

try {
  defaultGeography()
} catch (error) {
  process.stderr.write(`dshield-coord: could not cache the geography tables (${String(error)}); analyses will parse them on first use.\n`)
}

/**
 * Run by `npm install` (postinstall): makes the embedded store's initdb template once, so a
 * new `analyze --store` data directory starts in about a second instead of six
 * (src/store/pgliteTemplate.ts says why), and caches the geography tables (parsed from their
 * CSV once: src/enrichment/Geography.ts). Never fails the install: without them the engine
 * runs initdb or parses the CSV itself.
 */
import { existsSync } from "node:fs"
import { defaultGeography } from "../src/enrichment/Geography.ts"
import { createTemplate, templatePath } from "../src/store/pgliteTemplate.ts"

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
  defaultGeography()
} catch (error) {
  process.stderr.write(`dshield-coord: could not cache the geography tables (${String(error)}); analyses will parse them on first use.\n`)
}

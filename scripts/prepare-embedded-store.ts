/**
 * Run by `npm install` (postinstall): makes the embedded store's initdb template once, so a
 * new `analyze --store` data directory starts in about a second instead of six
 * (src/store/pgliteTemplate.ts says why). Never fails the install: without the template the
 * engine runs initdb itself.
 */
import { existsSync } from "node:fs"
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

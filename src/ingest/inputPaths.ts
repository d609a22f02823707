/**
 * Whether every input a command names can be read, checked before anything is set up for
 * it: `analyze --store` of a missing file ends in ingest's one-sentence error and must leave
 * no store directory behind. Ingest (ingest.ts) still checks and words the error itself.
 */
import { accessSync, constants } from "node:fs"

/** True when each path is standard input ("-") or a file or directory this process may read. */
export const inputsReadable = (paths: ReadonlyArray<string>): boolean =>
  paths.every((path) => {
    if (path === "-") return true
    try {
      accessSync(path, constants.R_OK)
      return true
    } catch {
      return false
    }
  })

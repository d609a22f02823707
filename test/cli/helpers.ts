/**
 * Running the real CLI in a child process, as a user would.
 */
import { existsSync } from "node:fs"
import { resolve } from "node:path"

export const REPO = resolve(import.meta.dir, "../..")
export const CORPORA = resolve(REPO, "../shared/corpora")
export const RADEC = resolve(CORPORA, "radec73-2024-04.cowrie.json.gz")
export const HAVE_CORPORA = existsSync(RADEC)
if (!HAVE_CORPORA) console.warn(`NOTICE: ${CORPORA} is missing; corpus-based CLI tests are skipped.`)

export interface CliRun {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs `bun src/cli/main.ts ...args`, optionally feeding stdin. */
export const runCli = (args: ReadonlyArray<string>, stdin?: Uint8Array): CliRun => {
  const r = Bun.spawnSync([process.execPath, resolve(REPO, "src/cli/main.ts"), ...args], {
    cwd: REPO,
    stdin: stdin ?? "ignore",
    stdout: "pipe",
    stderr: "pipe"
  })
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() }
}

/** The result without the fields that may differ between two runs of the same analysis. */
export const withoutRunTimes = (json: string): string =>
  json
    .replace(/"id": "run-[0-9a-f]+"/, "\"id\": \"<run>\"")
    .replace(/"started_at": "[^"]+"/, "\"started_at\": \"<t>\"")
    .replace(/"finished_at": "[^"]+"/, "\"finished_at\": \"<t>\"")

/**
 * `dshield-coord techniques FILE|DIR|- …`: every distinct command line of the input with the
 * ATT&CK techniques it shows and the rule that showed each (src/analytics/attackRules.json),
 * most used first. `--unmapped` lists only the command lines no command rule maps: where a
 * rule may be missing. (Session rules — logins, transfers, forwards, the shell itself — are
 * properties of sessions, not of command lines; the campaigns' `techniques` count both.)
 */
import { writeFile } from "node:fs/promises"
import * as Effect from "effect/Effect"
import { ATTACK_VERSION, commandsWithTechniques } from "../../analytics/attackTechniques.ts"
import { InputError } from "../../domain/errors.ts"
import { printable } from "../../domain/printable.ts"
import { type FormatChoice, ingest, IngestFailure } from "../../ingest/ingest.ts"

export interface TechniquesCommand {
  readonly paths: ReadonlyArray<string>
  readonly format: FormatChoice
  readonly unmapped: boolean
  readonly limit: number
  readonly json: string | undefined
}

/** A command line on one terminal line, as the campaign table shows text: control and invisible characters escaped (printable.ts), long ones cut. */
const shown = (command: string): string => {
  const escaped = printable(command)
  return escaped.length > 140 ? `${escaped.slice(0, 139)}…` : escaped
}

export const techniquesCommand = Effect.fn("Cli.techniques")(function*(command: TechniquesCommand) {
  const report = yield* Effect.tryPromise({
    try: () => ingest(command.paths, { format: command.format }),
    catch: (error) =>
      new InputError({ message: error instanceof IngestFailure ? error.message : `Cannot read the input (${String(error)}); check the paths.` })
  })
  const all = commandsWithTechniques(report.sessions)
  const unmapped = all.filter((c) => c.techniques.length === 0)
  const listed = command.unmapped ? unmapped : all
  const lines = listed.slice(0, command.limit).map((c) =>
    `${String(c.sessions).padStart(7)}  ${(c.techniques.length === 0 ? "-" : c.techniques.map((t) => `${t.technique} (${t.rule})`).join(", ")).padEnd(40)}  ${shown(c.command)}`
  )
  const more = listed.length > command.limit ? [`… and ${listed.length - command.limit} more (--limit N, or --json FILE for all)`] : []
  yield* Effect.sync(() =>
    process.stdout.write(
      `${all.length} distinct command lines in ${report.sessions.length} sessions; ${unmapped.length} map to no technique by a command rule (ATT&CK ${ATTACK_VERSION}).\n` +
        `${"SESSIONS".padStart(7)}  ${"TECHNIQUES (RULE)".padEnd(40)}  COMMAND\n${[...lines, ...more].join("\n")}\n`
    )
  )
  if (command.json !== undefined) {
    const out = command.json
    yield* Effect.tryPromise({
      try: () => writeFile(out, `${JSON.stringify({ attack_version: ATTACK_VERSION, commands: all, unmapped: unmapped.length }, null, 2)}\n`),
      catch: () => new InputError({ message: `Cannot write ${out}; choose a writable path for --json.`, path: out })
    })
  }
})

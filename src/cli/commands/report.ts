/**
 * `dshield-coord report --html FILE [--logs …] RESULT.json`, and `analyze --html FILE`: the
 * HTML report of a Result (src/report/). analyze hands it what it saw of each session while
 * analysing (start times, command lines); `report` has only the Result unless `--logs` names
 * the inputs to read again.
 */
import { readFile, writeFile } from "node:fs/promises"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { AnalysisConfig } from "../../config/AnalysisConfig.ts"
import { InputError } from "../../domain/errors.ts"
import { Result } from "../../domain/Result.ts"
import type { FormatChoice } from "../../ingest/ingest.ts"
import { IngestFailure } from "../../ingest/ingest.ts"
import { isStreamInput } from "../../ingest/inputPaths.ts"
import { type ReportExtras, ReportExtrasCollector, readReportExtras } from "../../report/extras.ts"
import { renderReport } from "../../report/renderReport.ts"

export interface ReportCommand {
  readonly result: string
  readonly html: string
  /** Logs to read again for session times and command lines (--logs); none: the Result alone. */
  readonly logs: ReadonlyArray<string>
  readonly format: FormatChoice
  readonly quiet: boolean
}

/** What `analyze --html` keeps of each session while the analysis reads them. */
export const reportCollector = (): ReportExtrasCollector => new ReportExtrasCollector()

const readFailure = (error: unknown): InputError =>
  new InputError({
    message: error instanceof IngestFailure ? error.message : `Cannot read the logs for the report (${String(error)}); check the paths.`
  })

/**
 * The extras of an analysis: what the collector saw, or, when the analysis ran elsewhere
 * (NATS, the workflow) and showed this process no session, the inputs read again here
 * (not stdin or a named pipe, which cannot be read twice: the report then has the Result alone).
 */
export const analysisExtras = (
  collector: ReportExtrasCollector,
  result: Result,
  paths: ReadonlyArray<string>,
  config: AnalysisConfig
): Effect.Effect<ReportExtras, InputError> => {
  if (collector.size > 0 || result.input.sessions === 0) return Effect.sync(() => collector.extras())
  if (paths.some(isStreamInput)) return Effect.succeed({})
  return Effect.tryPromise({
    try: () => readReportExtras(paths, { format: config.format, syslogYear: config.syslogYear ?? undefined, sessionGapMs: config.sessionGapMs }),
    catch: readFailure
  })
}

/** Renders and writes the report; one line on stderr unless quiet. */
export const writeReport = Effect.fn("Cli.writeReport")(function*(result: Result, extras: ReportExtras, path: string, quiet: boolean) {
  const html = yield* Effect.sync(() => renderReport(result, extras))
  yield* Effect.tryPromise({
    try: () => writeFile(path, html),
    catch: (error) => new InputError({ message: `Cannot write ${path} (${(error as { code?: string }).code ?? String(error)}); choose a writable path for --html.`, path })
  })
  if (!quiet) {
    const size = Buffer.byteLength(html)
    const times = extras.sessionStarts === undefined ? "timelines from campaign spans" : `start times of ${extras.sessionStarts.size} sessions`
    yield* Effect.sync(() => process.stderr.write(`HTML report written to ${path} (${(size / 1_048_576).toFixed(1)} MiB, ${times}).\n`))
  }
})

/** `report`: the HTML report of a Result v1 file. */
export const reportCommand = Effect.fn("Cli.report")(function*(command: ReportCommand) {
  const path = command.result
  const text = yield* Effect.tryPromise({
    try: () => readFile(path, "utf8"),
    catch: (error) => new InputError({ message: `Cannot read ${path} (${(error as { code?: string }).code ?? String(error)}); give a Result v1 JSON file (analyze --out).`, path })
  })
  const parsed = yield* Effect.try({
    try: () => JSON.parse(text) as unknown,
    catch: () => new InputError({ message: `${path} is not JSON; give a Result v1 file written by analyze --out.`, path })
  })
  const result = yield* Schema.decodeUnknownEffect(Result)(parsed).pipe(
    Effect.mapError(() => new InputError({ message: `${path} is not a Result v1 document; give a file written by analyze --out.`, path }))
  )
  const extras: ReportExtras = command.logs.length === 0
    ? {}
    : yield* Effect.tryPromise({ try: () => readReportExtras(command.logs, { format: command.format }), catch: readFailure })
  if (command.logs.length > 0) yield* checkLogsMatch(result, extras, path, command.quiet)
  yield* writeReport(result, extras, command.html, command.quiet)
})

/**
 * The logs given with --logs must be those the Result was made from: logs of another sensor or
 * period would put their start times and command lines into this Result's report. None of the
 * campaigns' sessions in them is an error; some missing, a warning.
 */
const checkLogsMatch = (result: Result, extras: ReportExtras, path: string, quiet: boolean): Effect.Effect<void, InputError> => {
  const members = new Set(result.campaigns.flatMap((c) => c.sessions))
  const starts = extras.sessionStarts ?? new Map<string, number>()
  let found = 0
  for (const id of members) if (starts.has(id)) found++
  if (members.size > 0 && found === 0) {
    return Effect.fail(new InputError({ message: `None of the ${members.size} sessions of ${path}'s campaigns is in the logs given with --logs; give the logs ${path} was made from.` }))
  }
  if (found < members.size && !quiet) {
    return Effect.sync(() =>
      process.stderr.write(`Warning: ${members.size - found} of the ${members.size} sessions of ${path}'s campaigns are not in the logs given with --logs; the report has no start time for them.\n`)
    )
  }
  return Effect.void
}

/**
 * `dshield-coord analyze`: read inputs, find campaigns, write Result v1 and show the table.
 */
import { open } from "node:fs/promises"
import { stat } from "node:fs/promises"
import * as Effect from "effect/Effect"
import { type AnalysisConfig, DEFAULT_CONFIG } from "../../config/AnalysisConfig.ts"
import { AnalysisError, InputError } from "../../domain/errors.ts"
import { checkResult, type Result, resultJsonChunks } from "../../domain/Result.ts"
import type { IngestSummary } from "../../ingest/ingest.ts"
import { Analyzer } from "../../pipeline/Analyzer.ts"
import type { Command } from "../args.ts"
import { renderCampaignTable } from "../campaignTable.ts"
import { PROGRESS_MIN_BYTES, ProgressBar } from "../ProgressBar.ts"

// Manifests are written only with --manifest: loaded then.
const replay = Effect.promise(() => import("./replay.ts"))
// The HTML report's code is loaded only with --html.
const htmlReport = Effect.promise(() => import("./report.ts"))

type AnalyzeCommand = Extract<Command, { _tag: "Analyze" }>


const totalInputBytes = (paths: ReadonlyArray<string>): Effect.Effect<number | undefined> =>
  Effect.promise(async () => {
    let total = 0
    for (const p of paths) {
      if (p === "-") return undefined
      try {
        const info = await stat(p)
        if (!info.isFile()) return undefined
        total += info.size
      } catch {
        return undefined
      }
    }
    return total
  })

const rejectSummary = (report: IngestSummary): string => {
  const lines: Array<string> = []
  const counts = report.rejects.toRecord()
  const total = report.rejects.total
  if (total > 0) {
    lines.push(
      `warning: ${total} input line(s) rejected (${Object.entries(counts).map(([r, n]) => `${r} ${n}`).join(", ")}); the lines around them were kept.`
    )
    for (const s of report.rejects.samples) lines.push(`  ${s.file}:${s.line}: ${s.reason}: ${s.excerpt}`)
    if (total > report.rejects.samples.length) lines.push(`  … and ${total - report.rejects.samples.length} more`)
  }
  if (report.duplicateEvents > 0) {
    lines.push(`note: ${report.duplicateEvents} event(s) were read twice (inputs that overlap) and counted once in their sessions.`)
  }
  const unknown = Object.entries(report.unknownEventIds)
  if (unknown.length > 0) {
    lines.push(`note: events with unknown eventids were kept: ${unknown.map(([id, n]) => `${id} ${n}`).join(", ")}.`)
  }
  for (const skipped of report.skippedFiles) lines.push(`warning: skipped ${skipped.path}: ${skipped.reason}.`)
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`
}

/** Pieces of the Result's text gathered up to this size per write. */
const WRITE_BATCH_CHARS = 1 << 20

/** The Result's text in batches of about a megabyte (see resultJsonChunks). */
function* resultBatches(result: Result): Generator<string> {
  let batch = ""
  for (const chunk of resultJsonChunks(result)) {
    batch += chunk
    if (batch.length >= WRITE_BATCH_CHARS) {
      yield batch
      batch = ""
    }
  }
  if (batch !== "") yield batch
}

/** Writes the Result to `path` as serializeResult would, without holding its whole text. */
const writeResultFile = async (path: string, result: Result): Promise<void> => {
  const file = await open(path, "w")
  try {
    for (const batch of resultBatches(result)) await file.write(batch)
  } finally {
    await file.close()
  }
}

/** The same to a stream (stdout), waiting for it to drain between batches. */
const writeResultStream = async (stream: NodeJS.WritableStream, result: Result): Promise<void> => {
  for (const batch of resultBatches(result)) {
    if (!stream.write(batch)) await new Promise<void>((resolve) => stream.once("drain", () => resolve()))
  }
}

export const analyzeCommand = Effect.fn("Cli.analyze")(function*(command: AnalyzeCommand) {
  const config: AnalysisConfig = {
    ...DEFAULT_CONFIG,
    format: command.format,
    seed: command.seed,
    syslogYear: command.syslogYear
  }
  const total = yield* totalInputBytes(command.paths)
  const showProgress = !command.quiet && process.stderr.isTTY === true && (total === undefined || total >= PROGRESS_MIN_BYTES)
  const bar = showProgress ? new ProgressBar(total) : undefined
  const onProgress = bar === undefined ? undefined : (bytes: number, events: number) => bar.update(bytes, events)
  const clearBar = Effect.ensuring(Effect.sync(() => bar?.clear()))
  // Where the analysis runs is the layer's business (layers/Analyzers.ts, chosen in main.ts).
  const analyzer = yield* Analyzer
  // With --html, each session's start time and command lines are kept as the analysis reads them.
  const collector = command.html === undefined ? undefined : (yield* htmlReport).reportCollector()
  const { result, report, stored: saved, workflow } = yield* analyzer.analyze({ paths: command.paths, config, onProgress, onSession: collector?.add }).pipe(clearBar)

  // The contract is checked before anything is written: a result that does not match its
  // own schema is a bug, reported as an analysis error rather than handed to other tools.
  yield* checkResult(result).pipe(
    Effect.mapError((issue) => new AnalysisError({ message: `The result does not match Result v1 (${String(issue)}); please report this.` }))
  )

  if (command.manifest !== undefined) {
    const { manifestFor, writeManifest } = yield* replay
    yield* writeManifest(command.manifest, manifestFor(result, config, command.paths, workflow))
  }

  if (command.out !== undefined && command.out !== "-") {
    const out = command.out
    yield* Effect.tryPromise({
      try: () => writeResultFile(out, result),
      catch: (error) =>
        new InputError({ message: `Cannot write ${out} (${(error as { code?: string }).code ?? String(error)}); choose a writable path for --out.`, path: out })
    })
  }
  if (command.out === "-") yield* Effect.promise(() => writeResultStream(process.stdout, result))

  // STIX and MISP exports of what was just analysed (their code is loaded only when asked for).
  const exports = command.exports
  if (exports.stix !== undefined || exports.misp !== undefined || exports.mispUrl !== undefined) {
    const { exportResult } = yield* Effect.promise(() => import("./export.ts"))
    yield* exportResult(result, exports, command.quiet)
  }
  if (command.html !== undefined && collector !== undefined) {
    const { analysisExtras, writeReport } = yield* htmlReport
    yield* writeReport(result, yield* analysisExtras(collector, result, command.paths, config), command.html, command.quiet)
  }

  if (!command.quiet) {
    const tableStream = command.out === "-" ? process.stderr : process.stdout
    yield* Effect.sync(() => {
      if (report !== undefined) process.stderr.write(rejectSummary(report))
      if (workflow?.tools !== undefined) for (const t of workflow.tools) process.stderr.write(`tool ${t.tool}: ${t.status} (${t.detail})\n`)
      if (workflow?.indexed !== undefined) process.stderr.write(`enrichment index: ${workflow.indexed}\n`)
      if (workflow?.narrative !== undefined) tableStream.write(`\n${workflow.narrative}\n\n`)
      tableStream.write(renderCampaignTable(result, command.limit, saved !== undefined))
      if (command.out !== undefined && command.out !== "-") process.stderr.write(`Result v1 written to ${command.out}\n`)
      if (saved !== undefined) {
        process.stderr.write(
          `Stored analysis ${saved.analysisId}: ${saved.sessionsWritten} sessions new or changed; campaigns ${saved.campaignsCreated} new, ${saved.campaignsUpdated} updated, ${saved.campaignsConcluded} merged into others.\n`
        )
      }
    })
  }
  const rejectedLines = Object.values(result.input.rejected).reduce((a, b) => a + b, 0)
  if (command.strict && rejectedLines > 0) {
    return yield* new InputError({
      message: `${rejectedLines} input line(s) were rejected and --strict was given; fix or remove them, or drop --strict (the result was still written).`
    })
  }
})

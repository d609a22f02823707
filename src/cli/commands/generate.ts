/**
 * `dshield-coord generate --sessions N --out DIR`: synthetic ground truth (cowrie JSON + labels).
 */
import * as Effect from "effect/Effect"
import { AnalysisError } from "../../domain/errors.ts"
import { writeDataset } from "../../synthetic/writeDataset.ts"
import type { Command } from "../args.ts"

type GenerateCommand = Extract<Command, { _tag: "Generate" }>

export const generateCommand = Effect.fn("Cli.generate")(function*(command: GenerateCommand) {
  // The writer reports every block of sessions; redraw the line at most ten times a second.
  let lastDraw = 0
  const progress = (sessions: number, events: number): void => {
    const now = performance.now()
    if (now - lastDraw < 100) return
    lastDraw = now
    process.stderr.write(`\r${sessions.toLocaleString("en-US")} sessions, ${events.toLocaleString("en-US")} events\u001b[K`)
  }
  const summary = yield* Effect.tryPromise({
    try: () =>
      writeDataset({
        sessions: command.sessions,
        seed: command.seed,
        outDir: command.out,
        gzip: command.gzip,
        onProgress: command.quiet || process.stderr.isTTY !== true ? undefined : progress
      }),
    catch: (error) =>
      new AnalysisError({ message: `Writing the synthetic data set to ${command.out} failed (${(error as { code?: string }).code ?? String(error)}); check that the directory is writable.` })
  })
  if (!command.quiet) {
    yield* Effect.sync(() =>
      process.stderr.write(
        `${process.stderr.isTTY === true ? "\r" : ""}${summary.sessions} sessions, ${summary.events} events written to ${summary.cowriePath} (${(summary.bytes / 1e6).toFixed(1)} MB); labels in ${summary.labelsPath}${process.stderr.isTTY === true ? "\u001b[K" : ""}\n`
      )
    )
  }
})

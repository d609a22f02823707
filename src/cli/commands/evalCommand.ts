/**
 * `dshield-coord eval --labels LABELS.tsv RESULT.json`: score a Result v1 against labels.
 */
import { writeFile } from "node:fs/promises"
import * as Effect from "effect/Effect"
import { InputError } from "../../domain/errors.ts"
import { EvalInputError, formatEvalReport, runEval } from "../../evaluation/evalCommand.ts"

export const evalCommand = Effect.fn("Cli.eval")(function*(labelsPath: string, resultPath: string, json: string | undefined) {
  const report = yield* Effect.try({
    try: () => runEval({ labelsPath, resultPath }),
    catch: (error) =>
      new InputError({
        message: error instanceof EvalInputError ? error.message : `Evaluation failed: ${String(error)}; check both files.`
      })
  })
  const { listed, of } = report.campaignSessionsInLabels
  if (of > 0 && listed === 0) {
    yield* Effect.sync(() =>
      process.stderr.write(`Warning: none of the ${of} sessions of ${resultPath}'s campaigns is listed in ${labelsPath}; if the labels are of another data set, give the labels of the data ${resultPath} was made from (the scores below mean nothing).\n`)
    )
  }
  yield* Effect.sync(() => process.stdout.write(`${formatEvalReport(report)}\n`))
  if (json !== undefined) {
    yield* Effect.tryPromise({
      try: () => writeFile(json, `${JSON.stringify(report, null, 2)}\n`),
      catch: () => new InputError({ message: `Cannot write ${json}; choose a writable path for --json.`, path: json })
    })
  }
})

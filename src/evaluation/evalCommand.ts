/**
 * `dshield-coord eval --labels LABELS.tsv RESULT.json`, without Effect: read both files,
 * score the result against the labels, and render the report as a text table. Unreadable or
 * malformed inputs throw EvalInputError with one sentence for the user (exit code 2).
 */
import type { Calibration } from "./calibration.ts"
import { type EvalReport, evaluate, type EvaluateOptions, type LevelReport } from "./evaluate.ts"
import type { Result } from "../domain/Result.ts"
import { type Labels, readLabelsFile, readResultFile } from "./labels.ts"

export { EvalInputError } from "./labels.ts"

export interface EvalCommandInput extends EvaluateOptions {
  readonly labelsPath: string
  readonly resultPath: string
}

export interface EvalCommandReport extends EvalReport {
  readonly labelsPath: string
  readonly resultPath: string
  /**
   * The Result's campaign sessions the labels file lists: none of many means labels of
   * another data set (the command warns; the scores then mean nothing).
   */
  readonly campaignSessionsInLabels: { readonly listed: number; readonly of: number }
  readonly result: {
    readonly engineVersion: string
    readonly inputDigest: string
    readonly sessions: number
    readonly campaigns: number
    readonly unclusteredSessions: number
  }
}

/** How many of the Result's campaign sessions the labels file lists (with a label or as background), of how many. */
const campaignSessionsIn = (result: Result, labels: Labels): { readonly listed: number; readonly of: number } => {
  const members = new Set(result.campaigns.flatMap((c) => c.sessions))
  let listed = 0
  for (const id of members) if (labels.sessions.has(id)) listed++
  return { listed, of: members.size }
}

export const runEval = (input: EvalCommandInput): EvalCommandReport => {
  const labels = readLabelsFile(input.labelsPath)
  const result = readResultFile(input.resultPath)
  const report = evaluate(result, labels, input)
  return {
    ...report,
    labelsPath: input.labelsPath,
    resultPath: input.resultPath,
    campaignSessionsInLabels: campaignSessionsIn(result, labels),
    result: {
      engineVersion: result.run.engine_version,
      inputDigest: result.run.input_digest,
      sessions: result.input.sessions,
      campaigns: result.campaigns.length,
      unclusteredSessions: result.unclustered_sessions
    }
  }
}

/** A number with `digits` decimals, or "n/a". */
export const fmt = (x: number | null | undefined, digits = 3): string =>
  x === null || x === undefined || !Number.isFinite(x) ? "n/a" : x.toFixed(digits)

const pad = (rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths: Array<number> = []
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)))
  return rows
    .map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ").trimEnd())
    .join("\n")
}

const levelRow = (name: string, l: LevelReport | null): Array<string> =>
  l === null
    ? [name, "n/a", "n/a", "n/a", "n/a", "-", "-", "-", "-"]
    : [name, fmt(l.precision), fmt(l.recall), fmt(l.f1), fmt(l.ari), String(l.items), String(l.truePairs), String(l.predictedPairs), String(l.agreeingPairs)]

const reliability = (c: Calibration): string =>
  pad([
    ["bin", "count", "mean confidence", "observed rate"],
    ...c.bins.map((b) => [`[${b.lower.toFixed(1)}, ${b.upper.toFixed(1)}${b.bin === c.bins.length - 1 ? "]" : ")"}`, String(b.count), fmt(b.meanPredicted), fmt(b.observedRate)])
  ])

export const formatEvalReport = (r: EvalCommandReport | EvalReport): string => {
  const lines: Array<string> = []
  if ("labelsPath" in r) {
    lines.push(`labels ${r.labelsPath}`)
    lines.push(`result ${r.resultPath} (engine ${r.result.engineVersion}, ${r.result.sessions} sessions, ${r.result.campaigns} campaigns, ${r.result.unclusteredSessions} unclustered)`)
  }
  lines.push(`scope: ${r.scope}`)
  lines.push(
    `labelled sessions ${r.labelledSessions} of ${r.sessionsInLabels} listed (${r.backgroundSessions} background); ` +
      `true families ${r.trueFamilies} (${r.trueFamiliesWithPairs} with 2+ sessions)`
  )
  lines.push(`predicted families ${r.predictedFamilies}; unclustered share of labelled sessions ${fmt(r.unclusteredShare)}`)
  lines.push(`false campaigns ${r.falseCampaigns.count} (${r.falseCampaigns.sessions} sessions): ${r.falseCampaigns.rule}`)
  lines.push("")
  lines.push(pad([
    ["level", "precision", "recall", "F1", "ARI", "sessions", "true pairs", "predicted pairs", "agreeing pairs"],
    levelRow("family", r.family),
    levelRow("variant", r.variant)
  ]))
  if (r.variant === null) lines.push("variant: n/a (no labelled session has a known variant)")
  lines.push("")
  lines.push(`calibration: ${r.calibration.rule}; ${r.calibration.bins} equal-width bins, weighted by count`)
  lines.push(
    `ECE all campaigns ${fmt(r.calibration.campaigns.ece)} (${r.calibration.campaigns.count} campaigns, ${r.calibration.campaigns.positives} truly coordinated); ` +
      `families ${fmt(r.calibration.families.ece)} (${r.calibration.families.count}, ${r.calibration.families.positives})`
  )
  lines.push(reliability(r.calibration.campaigns))
  if (r.warnings.length > 0) {
    lines.push("")
    for (const w of r.warnings) lines.push(`warning: ${w}`)
  }
  return `${lines.join("\n")}\n`
}

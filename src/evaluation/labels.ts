/**
 * The two inputs of an evaluation: a labels TSV (the truth) and a Result v1 JSON (the
 * prediction), each turned into per-session keys.
 *
 * Labels TSV: a header line `session_id<TAB>family<TAB>variant[<TAB>wave[<TAB>coordinated]]`
 * (the synthetic generator writes all five columns), then one line per session. Columns are
 * separated by tabs; a file whose header has no tab is split on runs of spaces instead.
 * Empty lines and lines starting with `#` are skipped.
 *   - family `-`: background / unlabelled. The session is left out of the pairwise metrics.
 *   - variant `-` on a labelled session: its variant is unknown. It is left out of the
 *     variant-level metrics only.
 *   - wave `-`: unknown. coordinated: `1`/`true`/`yes`, `0`/`false`/`no`, `-` unknown.
 * A session listed twice, a missing column or an unknown header is an error with its line.
 *
 * Predicted keys from Result v1: a session's family is the family campaign containing it; its
 * variant is the variant campaign containing it, else its family. A session in no family
 * campaign (unclustered) is a singleton at both levels (key null).
 */
import { readFileSync } from "node:fs"
import * as Schema from "effect/Schema"
import { Result } from "../domain/Result.ts"
import type { ClusterKey } from "./clusteringMetrics.ts"

/** The truth for one session. null = `-`. */
export interface SessionLabel {
  readonly family: string | null
  readonly variant: string | null
  readonly wave: string | null
  readonly coordinated: boolean | null
}

export interface Labels {
  /** Session id → label, in file order. */
  readonly sessions: ReadonlyMap<string, SessionLabel>
  readonly columns: ReadonlyArray<string>
}

/** The labels or the result could not be read. The message is one sentence for the user. */
export class EvalInputError extends Error {
  constructor(message: string, readonly path?: string) {
    super(message)
  }
}

export const BACKGROUND = "-"

const REQUIRED = ["session_id", "family", "variant"] as const
const OPTIONAL = ["wave", "coordinated"] as const

const parseBool = (text: string, where: string): boolean | null => {
  const t = text.toLowerCase()
  if (t === BACKGROUND || t === "") return null
  if (t === "1" || t === "true" || t === "yes") return true
  if (t === "0" || t === "false" || t === "no") return false
  throw new EvalInputError(`${where}: coordinated must be 1, 0 or -, not "${text}".`)
}

/** Parses a labels TSV. `source` names the file in error messages. */
export const parseLabelsTsv = (text: string, source = "labels"): Labels => {
  const lines = text.split(/\r?\n/)
  const headerIndex = lines.findIndex((l) => l.trim().length > 0 && !l.startsWith("#"))
  if (headerIndex < 0) throw new EvalInputError(`${source} is empty; it needs the header session_id, family, variant.`)
  const headerLine = lines[headerIndex]!
  const tabbed = headerLine.includes("\t")
  const split = (line: string): Array<string> => (tabbed ? line.split("\t") : line.trim().split(/\s+/))
  const columns = split(headerLine).map((c) => c.trim())
  const expected = [...REQUIRED, ...OPTIONAL]
  const valid = columns.length >= REQUIRED.length && columns.length <= expected.length &&
    columns.every((c, i) => c === expected[i])
  if (!valid) {
    throw new EvalInputError(
      `${source}:${headerIndex + 1}: the header must be "session_id family variant [wave [coordinated]]" separated by tabs, not "${headerLine}".`
    )
  }
  const sessions = new Map<string, SessionLabel>()
  for (let i = headerIndex + 1; i < lines.length; i++) {
    const line = lines[i]!
    if (line.trim().length === 0 || line.startsWith("#")) continue
    const where = `${source}:${i + 1}`
    const cells = split(line).map((c) => c.trim())
    if (cells.length !== columns.length) {
      throw new EvalInputError(`${where}: expected ${columns.length} columns, found ${cells.length}.`)
    }
    const [id, family, variant] = cells as [string, string, string]
    if (id.length === 0 || id === BACKGROUND) throw new EvalInputError(`${where}: the session id is missing.`)
    if (sessions.has(id)) throw new EvalInputError(`${where}: session ${id} is listed twice.`)
    const fam = family === BACKGROUND || family === "" ? null : family
    const wave = cells[3]
    sessions.set(id, {
      family: fam,
      variant: fam === null || variant === BACKGROUND || variant === "" ? null : variant,
      wave: fam === null || wave === undefined || wave === BACKGROUND || wave === "" ? null : wave,
      coordinated: cells[4] === undefined ? null : parseBool(cells[4], where)
    })
  }
  return { sessions, columns }
}

export const readLabelsFile = (path: string): Labels => {
  let text: string
  try {
    text = readFileSync(path, "utf8")
  } catch (error) {
    throw new EvalInputError(`Labels file ${path} cannot be read (${(error as { code?: string }).code ?? String(error)}); check the path.`, path)
  }
  return parseLabelsTsv(text, path)
}

/** Renders labels as TSV with all five columns (the inverse of parseLabelsTsv). */
export const formatLabelsTsv = (rows: Iterable<readonly [id: string, label: SessionLabel]>): string => {
  const out = ["session_id\tfamily\tvariant\twave\tcoordinated"]
  for (const [id, l] of rows) {
    out.push([
      id,
      l.family ?? BACKGROUND,
      l.variant ?? BACKGROUND,
      l.wave ?? BACKGROUND,
      l.coordinated === null ? BACKGROUND : l.coordinated ? "1" : "0"
    ].join("\t"))
  }
  return `${out.join("\n")}\n`
}

const decodeResult = Schema.decodeUnknownSync(Result)

/** Validates a parsed Result v1 document. */
export const parseResult = (doc: unknown, source = "result"): Result => {
  if (doc === null || typeof doc !== "object" || (doc as { schema?: unknown }).schema !== "dshield-coordination/result@1") {
    throw new EvalInputError(`${source} is not a Result v1 document (its "schema" is not dshield-coordination/result@1); pass the JSON written by analyze --out.`)
  }
  try {
    return decodeResult(doc)
  } catch (error) {
    const first = String((error as Error).message ?? error).split("\n").slice(0, 3).join(" ")
    throw new EvalInputError(`${source} does not match the Result v1 schema (${first}); pass the JSON written by analyze --out.`)
  }
}

export const readResultFile = (path: string): Result => {
  let text: string
  try {
    text = readFileSync(path, "utf8")
  } catch (error) {
    throw new EvalInputError(`Result file ${path} cannot be read (${(error as { code?: string }).code ?? String(error)}); check the path.`, path)
  }
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    throw new EvalInputError(`Result file ${path} is not valid JSON; pass the JSON written by analyze --out.`, path)
  }
  return parseResult(doc, path)
}

/** A session's predicted family and variant; null = singleton. */
export interface PredictedKeys {
  readonly family: ClusterKey
  readonly variant: ClusterKey
}

export interface Prediction {
  /** Sessions in some family campaign. A session absent here is unclustered (singleton). */
  readonly sessions: ReadonlyMap<string, PredictedKeys>
  /** Family id → its sessions. */
  readonly families: ReadonlyMap<string, ReadonlyArray<string>>
  /** Problems found in the result (a session in two campaigns of one level), kept as text. */
  readonly warnings: ReadonlyArray<string>
}

/** The predicted keys a Result v1 assigns to each clustered session. */
export const predictionFromResult = (result: Pick<Result, "campaigns">): Prediction => {
  const warnings: Array<string> = []
  const family = new Map<string, string>()
  const variant = new Map<string, string>()
  const families = new Map<string, ReadonlyArray<string>>()
  for (const c of result.campaigns) {
    if (c.level === "wave") continue
    const target = c.level === "family" ? family : variant
    if (c.level === "family") families.set(c.id, c.sessions)
    for (const s of c.sessions) {
      const previous = target.get(s)
      if (previous === undefined) target.set(s, c.id)
      else if (previous !== c.id) warnings.push(`session ${s} is in two ${c.level} campaigns (${previous}, ${c.id}); the first is used`)
    }
  }
  const sessions = new Map<string, PredictedKeys>()
  for (const [s, f] of family) sessions.set(s, { family: f, variant: variant.get(s) ?? f })
  for (const s of variant.keys()) {
    if (!family.has(s)) warnings.push(`session ${s} is in a variant campaign but in no family campaign; it is counted as unclustered`)
  }
  return { sessions, families, warnings: warnings.slice(0, 20).concat(warnings.length > 20 ? [`… and ${warnings.length - 20} more`] : []) }
}

/**
 * Result v1: the contract other tools and the evaluation read. Its JSON Schema is exported
 * to docs/result.schema.json by `npm run schema`.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Campaign } from "./Campaign.ts"

const Count = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

/** @category constants */
export const RESULT_SCHEMA_ID = "dshield-coordination/result@1" as const

/** @category models */
export const InputFormat = Schema.Literals(["cowrie", "ecs", "firewall", "webhoneypot", "sessions"])
export type InputFormat = typeof InputFormat.Type

/** @category models */
export const InputFile = Schema.Struct({
  path: Schema.String,
  format: InputFormat,
  sha256: Schema.String,
  bytes: Count,
  lines: Count,
  events: Count
})
export interface InputFile extends Schema.Schema.Type<typeof InputFile> {}

/** @category models */
export const RunInfo = Schema.Struct({
  id: Schema.String,
  engine_version: Schema.String,
  input_digest: Schema.String,
  config_digest: Schema.String,
  seed: Schema.Int,
  started_at: Schema.String,
  finished_at: Schema.String,
  /** The ATT&CK release of the campaigns' technique names and rules. */
  attack_version: Schema.optionalKey(Schema.String)
})
export interface RunInfo extends Schema.Schema.Type<typeof RunInfo> {}

/** @category models */
export const InputSummary = Schema.Struct({
  files: Schema.Array(InputFile),
  /** Events read, file by file (an event read twice is counted twice here). */
  events: Count,
  sessions: Count,
  rejected: Schema.Record(Schema.String, Count),
  /**
   * Events a session already held, read again from overlapping inputs (two exports over
   * overlapping windows, a log beside a copy of part of it): counted once in the sessions.
   * Present only when there were any.
   */
  duplicate_events: Schema.optionalKey(Count)
})
export interface InputSummary extends Schema.Schema.Type<typeof InputSummary> {}

/** @category models */
export const Result = Schema.Struct({
  schema: Schema.Literal(RESULT_SCHEMA_ID),
  run: RunInfo,
  input: InputSummary,
  campaigns: Schema.Array(Campaign),
  unclustered_sessions: Count
}).annotate({
  title: "DShield Coordination Engine Result v1",
  description: "Campaigns of coordinated honeypot attack sessions, with evidence and confidence."
})
export interface Result extends Schema.Schema.Type<typeof Result> {}

/** Result v1 as written everywhere (files, the API, the object store): two-space JSON with a final newline. */
export const serializeResult = (result: Result): string => `${JSON.stringify(result, null, 2)}\n`

/** What the wrapper adds before a campaign (`{\n  "c": [\n`) and after it (`\n  ]\n}`). */
const WRAP_HEAD = '{\n  "c": [\n'.length
const WRAP_TAIL = "\n  ]\n}".length

/**
 * The text of serializeResult in pieces, a campaign at a time, for writing a large Result to a
 * file without holding it whole (on a million sessions the text is about 80 MB, and building
 * it in one piece costs three times that). JSON.stringify's two-space layout nests by
 * prefixing every line, and no JSON string holds a raw newline, so each piece is stringified
 * alone and re-indented (a campaign: stringified at its own depth inside a wrapper).
 */
export function* resultJsonChunks(result: Result): Generator<string> {
  const entries = Object.entries(result).filter(([, v]) => v !== undefined)
  yield "{\n"
  for (const [index, [key, value]] of entries.entries()) {
    const end = index === entries.length - 1 ? "\n" : ",\n"
    if (key === "campaigns" && Array.isArray(value) && value.length > 0) {
      yield `  ${JSON.stringify(key)}: [\n`
      for (const [k, campaign] of value.entries()) {
        // Stringified inside a wrapper at the campaign's own depth (the layout JSON.stringify
        // gives it in the whole Result), then cut out: no second copy to re-indent.
        const wrapped = JSON.stringify({ c: [campaign] }, null, 2)
        yield `${wrapped.slice(WRAP_HEAD, wrapped.length - WRAP_TAIL)}${k === value.length - 1 ? "\n" : ",\n"}`
      }
      yield `  ]${end}`
    } else {
      yield `  ${JSON.stringify(key)}: ${JSON.stringify(value, null, 2).replaceAll("\n", "\n  ")}${end}`
    }
  }
  yield "}\n"
}

/**
 * Checks a Result against Result v1 a campaign at a time: the same rules as decoding it whole,
 * without the decoder's copy of a million-session Result at once.
 */
export const checkResult = (result: unknown): Effect.Effect<void, Schema.SchemaError> =>
  Effect.gen(function*() {
    const campaigns = (result as { campaigns?: unknown } | null)?.campaigns
    if (!Array.isArray(campaigns)) return yield* Effect.asVoid(Schema.decodeUnknownEffect(Result)(result))
    yield* Schema.decodeUnknownEffect(Result)({ ...(result as object), campaigns: [] })
    const decodeCampaign = Schema.decodeUnknownEffect(Campaign)
    for (const campaign of campaigns) yield* decodeCampaign(campaign)
  })

/**
 * Result v1: the contract other tools and the evaluation read. Its JSON Schema is exported
 * to docs/result.schema.json by `npm run schema`.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
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
  events: Count,
  sessions: Count,
  rejected: Schema.Record(Schema.String, Count)
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

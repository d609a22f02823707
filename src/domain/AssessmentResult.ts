/**
 * The answer to the earlier engine's question, "are these N sessions coordinated?":
 * one assessment of a given set of sessions, with its evidence.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { Assessment, Campaign, CampaignTechnique, Evidence, Indicator } from "./Campaign.ts"
import { InputSummary, RunInfo } from "./Result.ts"

/** @category constants */
export const ASSESSMENT_SCHEMA_ID = "dshield-coordination/assessment@1" as const

const UnitInterval = Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 }))

/** @category models */
export const SetAssessment = Schema.Struct({
  sessions: Schema.Array(Schema.String),
  source_ips: Schema.Array(Schema.String),
  first_seen: Schema.String,
  last_seen: Schema.String,
  confidence: UnitInterval,
  confidence_interval: Schema.Tuple([UnitInterval, UnitInterval]),
  assessment: Assessment,
  evidence: Campaign.fields.evidence,
  indicators: Schema.Array(Indicator),
  ttps: Schema.Array(Schema.String),
  /** The techniques of `ttps` with names, session counts and the rules that showed them. */
  techniques: Schema.optionalKey(Schema.Array(CampaignTechnique)),
  /**
   * What the set's evidence was measured against: `reference` (the logs given with
   * `--reference`), `stored_history` (the sessions in the configured store), or
   * `synthetic_background` (generated background, used only when neither exists; not the
   * sensor's own traffic, so temporal and infrastructure evidence against it are weak).
   */
  null_population: Schema.Struct({
    kind: Schema.Literals(["reference", "stored_history", "synthetic_background"]),
    sessions: Schema.Int
  })
})
export interface SetAssessment extends Schema.Schema.Type<typeof SetAssessment> {}

/** @category models */
export const AssessmentResult = Schema.Struct({
  schema: Schema.Literal(ASSESSMENT_SCHEMA_ID),
  run: RunInfo,
  input: InputSummary,
  assessment: SetAssessment
})
export interface AssessmentResult extends Schema.Schema.Type<typeof AssessmentResult> {}

export { Evidence }

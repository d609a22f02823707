/**
 * Campaigns, the evidence behind them and the assessment labels of Result v1.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { LINK_KINDS } from "./linkKinds.ts"

/** @category models */
export const CampaignLevel = Schema.Literals(["family", "variant", "wave"])
export type CampaignLevel = typeof CampaignLevel.Type

/**
 * Assessment labels with the earlier engine's cut-offs (0.8 / 0.6 / 0.4 / 0.2), and
 * `single_source`: every session came from one source address, which is one actor's
 * activity, not coordination (its confidence is 0).
 *
 * @category models
 */
export const Assessment = Schema.Literals([
  "highly_coordinated",
  "likely_coordinated",
  "possibly_coordinated",
  "likely_coincidental",
  "coincidental",
  "single_source"
])
export type Assessment = typeof Assessment.Type

/**
 * The label for a confidence; a group with fewer than two source addresses is `single_source`.
 *
 * @category constructors
 */
export const assessmentFor = (confidence: number, sources = 2): Assessment =>
  sources < 2
    ? "single_source"
    : confidence >= 0.8
    ? "highly_coordinated"
    : confidence >= 0.6
    ? "likely_coordinated"
    : confidence >= 0.4
    ? "possibly_coordinated"
    : confidence >= 0.2
    ? "likely_coincidental"
    : "coincidental"

const UnitInterval = Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 }))

/**
 * One statistic with its null model and p-value. `detail` says in words what was measured
 * against what.
 *
 * @category models
 */
export const Evidence = Schema.Struct({
  score: UnitInterval,
  p_value: UnitInterval,
  detail: Schema.String
})
export interface Evidence extends Schema.Schema.Type<typeof Evidence> {}

/** @category models */
export const EvidenceKind = Schema.Literals([
  "temporal_correlation",
  "behavioral_similarity",
  "infrastructure_clustering",
  "geographic_proximity",
  "payload_similarity"
])
export type EvidenceKind = typeof EvidenceKind.Type

/** @category models */
export const IndicatorType = Schema.Literals([
  "ip",
  "ssh_key",
  "sha256",
  "url",
  "domain",
  "credential",
  "hassh",
  "client_version",
  "command",
  "user_agent",
  "asn",
  "country"
])
export type IndicatorType = typeof IndicatorType.Type

/** @category models */
/**
 * `asn` values are "AS<number>" with the organisation in `name`; `country` values are ISO 3166
 * alpha-2 codes of where the source networks are registered (src/enrichment/Geography.ts).
 */
export const Indicator = Schema.Struct({ type: IndicatorType, value: Schema.String, name: Schema.optionalKey(Schema.String) })
export interface Indicator extends Schema.Schema.Type<typeof Indicator> {}

/**
 * A kind of link that joined the campaign's family, with how many unions it made.
 *
 * @category models
 */
/**
 * One ATT&CK technique of a campaign: its id and name, the number of the campaign's sessions
 * that show it, and the rules that showed it (src/analytics/attackRules.json), each with its
 * own session count.
 */
export const CampaignTechnique = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  sessions: Schema.Int,
  rules: Schema.Array(Schema.Struct({ rule: Schema.String, sessions: Schema.Int }))
})
export interface CampaignTechnique extends Schema.Schema.Type<typeof CampaignTechnique> {}

export const FormedBy = Schema.Struct({ kind: Schema.Literals(LINK_KINDS), links: Schema.Int })
export interface FormedBy extends Schema.Schema.Type<typeof FormedBy> {}

/** @category models */
export const Campaign = Schema.Struct({
  id: Schema.String,
  parent_id: Schema.NullOr(Schema.String),
  level: CampaignLevel,
  name: Schema.String,
  sessions: Schema.Array(Schema.String),
  source_ips: Schema.Array(Schema.String),
  first_seen: Schema.String,
  last_seen: Schema.String,
  confidence: UnitInterval,
  confidence_interval: Schema.Tuple([UnitInterval, UnitInterval]),
  assessment: Assessment,
  evidence: Schema.Struct({
    temporal_correlation: Schema.optionalKey(Evidence),
    behavioral_similarity: Schema.optionalKey(Evidence),
    infrastructure_clustering: Schema.optionalKey(Evidence),
    geographic_proximity: Schema.optionalKey(Evidence),
    payload_similarity: Schema.optionalKey(Evidence)
  }),
  indicators: Schema.Array(Indicator),
  ttps: Schema.Array(Schema.String),
  /**
   * The ATT&CK techniques of `ttps` with their names, how many sessions show each, and by
   * which rules. Always written; optional so that Results of earlier v1 engines stay valid.
   */
  techniques: Schema.optionalKey(Schema.Array(CampaignTechnique)),
  /** The link kinds that formed the campaign's family, most unions first. */
  formed_by: Schema.Array(FormedBy)
})
export interface Campaign extends Schema.Schema.Type<typeof Campaign> {}

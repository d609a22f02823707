/**
 * pattern-analyzer: sessions in, campaign drafts out (features → linkage → hierarchy).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { computeFeatures } from "../../src/analytics/sessionFeatures.ts"
import { type AnalysisConfig, DEFAULT_CONFIG } from "../../src/config/AnalysisConfig.ts"
import { AttackSession } from "../../src/domain/AttackSession.ts"
import { CampaignLevel, FormedBy } from "../../src/domain/Campaign.ts"
import { draftCampaigns } from "../../src/pipeline/analyzeSessions.ts"
import { type Handlers, protocol } from "../kernel/Actor.ts"

export class PatternAnalysisFailed extends Schema.TaggedError<PatternAnalysisFailed>()("PatternAnalysisFailed", { message: Schema.String }) {}

/**
 * A campaign draft as data: level, parent index, member session indices, the members its
 * evidence is measured on (its core), dominant artefact id, the links that formed it.
 */
export const Draft = Schema.Struct({
  level: CampaignLevel,
  parent: Schema.NullOr(Schema.Int),
  members: Schema.Array(Schema.Int),
  scored: Schema.Array(Schema.Int),
  dominant: Schema.Int,
  formed_by: Schema.Array(FormedBy),
  /** A variant bound by its family's check login, or a wave of one (absent from 1.1.0 peers: false). */
  check_login: Schema.optionalKey(Schema.Boolean)
})
export interface Draft extends Schema.Schema.Type<typeof Draft> {}

export const PatternAnalyzer = protocol("pattern-analyzer", "1.2.0", {
  patterns: {
    payload: Schema.Struct({ sessions: Schema.Array(AttackSession), config: Schema.Record(Schema.String, Schema.Unknown) }),
    success: Schema.Array(Draft),
    error: PatternAnalysisFailed
  }
})

export const patternAnalyzerBehaviour: Effect.Effect<Handlers<typeof PatternAnalyzer>> = Effect.succeed({
  patterns: ({ sessions, config }) =>
    Effect.try({
      try: () => {
        const merged = { ...DEFAULT_CONFIG, ...(config as Partial<AnalysisConfig>) } as AnalysisConfig
        return draftCampaigns(computeFeatures(sessions), merged).map((d) => ({ level: d.level, parent: d.parent, members: Array.from(d.members), scored: Array.from(d.scored), dominant: d.dominant, formed_by: d.formedBy, check_login: d.checkLogin }))
      },
      catch: (error) => new PatternAnalysisFailed({ message: `Pattern analysis failed: ${String(error)}.` })
    })
})

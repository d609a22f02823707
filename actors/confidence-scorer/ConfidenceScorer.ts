/**
 * confidence-scorer: campaign drafts in, scored campaigns (evidence, calibrated confidence,
 * indicators, techniques) out.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { computeFeatures } from "../../src/analytics/sessionFeatures.ts"
import { type AnalysisConfig, DEFAULT_CONFIG } from "../../src/config/AnalysisConfig.ts"
import { AttackSession } from "../../src/domain/AttackSession.ts"
import { Campaign } from "../../src/domain/Campaign.ts"
import { campaignsFromDrafts } from "../../src/pipeline/analyzeSessions.ts"
import { type Handlers, protocol } from "../kernel/Actor.ts"
import { Draft } from "../pattern-analyzer/PatternAnalyzer.ts"

export class ScoringFailed extends Schema.TaggedError<ScoringFailed>()("ScoringFailed", { message: Schema.String }) {}

export const ConfidenceScorer = protocol("confidence-scorer", "1.2.0", {
  score: {
    payload: Schema.Struct({ sessions: Schema.Array(AttackSession), drafts: Schema.Array(Draft), config: Schema.Record(Schema.String, Schema.Unknown) }),
    success: Schema.Struct({ campaigns: Schema.Array(Campaign), unclustered_sessions: Schema.Int }),
    error: ScoringFailed
  }
})

export const confidenceScorerBehaviour: Effect.Effect<Handlers<typeof ConfidenceScorer>> = Effect.succeed({
  score: ({ sessions, drafts, config }) =>
    Effect.try({
      try: () => {
        const merged = { ...DEFAULT_CONFIG, ...(config as Partial<AnalysisConfig>) } as AnalysisConfig
        const analysis = campaignsFromDrafts(
          computeFeatures(sessions),
          drafts.map((d) => ({ level: d.level, parent: d.parent, members: Int32Array.from(d.members), scored: Int32Array.from(d.scored), dominant: d.dominant, formedBy: d.formed_by, checkLogin: d.check_login === true })),
          merged
        )
        return { campaigns: analysis.campaigns, unclustered_sessions: analysis.unclusteredSessions }
      },
      catch: (error) => new ScoringFailed({ message: `Scoring failed: ${String(error)}.` })
    })
})

/**
 * inference: the analyst narrative of a result. Until an Ollama endpoint is wired, a
 * deterministic template written from the campaigns' own numbers.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import { Campaign } from "../../src/domain/Campaign.ts"
import { type Handlers, protocol } from "../kernel/Actor.ts"

export class NarrationFailed extends Schema.TaggedError<NarrationFailed>()("NarrationFailed", { message: Schema.String }) {}

export const Inference = protocol("inference", "1.0.0", {
  narrate: { payload: Schema.Struct({ campaigns: Schema.Array(Campaign) }), success: Schema.String, error: NarrationFailed }
})

export const templateNarrative = (campaigns: ReadonlyArray<Campaign>): string => {
  const families = campaigns.filter((c) => c.level === "family")
  if (families.length === 0) return "No coordinated campaign was found: no two sessions share an artefact or specific behaviour."
  const lines = families.slice(0, 5).map((c) =>
    `- ${c.name}: ${c.sessions.length} session${c.sessions.length === 1 ? "" : "s"} from ${c.source_ips.length} source IP${c.source_ips.length === 1 ? "" : "s"}, ${c.first_seen.slice(0, 10)} to ${c.last_seen.slice(0, 10)}; ` +
    `${c.assessment.replace(/_/g, " ")} (confidence ${c.confidence.toFixed(2)})${c.ttps.length > 0 ? `; techniques ${c.ttps.slice(0, 4).join(", ")}` : ""}.`
  )
  return [`${families.length} campaign famil${families.length === 1 ? "y" : "ies"} found. The largest:`, ...lines].join("\n")
}

export const inferenceBehaviour: Effect.Effect<Handlers<typeof Inference>> = Effect.succeed({
  narrate: ({ campaigns }) => Effect.succeed(templateNarrative(campaigns))
})

/**
 * inference: the analyst narrative of a result, by a model on Ollama (src/inference: one
 * endpoint per GPU, least-loaded routing, bounded GPU queues, structured output decoded with
 * Schema) or, when no endpoint can write it, by the deterministic template — the answer says
 * which, and carries every exchange with the model so that a run can record it.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Campaign } from "../../src/domain/Campaign.ts"
import { EndpointPool } from "../../src/inference/EndpointPool.ts"
import { type InferenceConfig, InferenceConfigError, loadInferenceConfig, pinnedTo } from "../../src/inference/InferenceConfig.ts"
import { narrate, templateNarrative } from "../../src/inference/narrative.ts"
import { type Handlers, protocol } from "../kernel/Actor.ts"

export { narrativeByline, templateNarrative } from "../../src/inference/narrative.ts"

export class NarrationFailed extends Schema.TaggedError<NarrationFailed>()("NarrationFailed", { message: Schema.String }) {}

export const NarrativeSource = Schema.Union([
  Schema.Struct({
    kind: Schema.Literal("model"),
    endpoint: Schema.String,
    gpu: Schema.String,
    model: Schema.String,
    digest: Schema.String,
    prompt: Schema.String,
    attempts: Schema.Int
  }),
  Schema.Struct({ kind: Schema.Literal("template"), reason: Schema.String })
])

export const Exchange = Schema.Struct({
  endpoint: Schema.String,
  gpu: Schema.String,
  model: Schema.String,
  digest: Schema.String,
  options: Schema.Record(Schema.String, Schema.Unknown),
  prompt: Schema.String,
  response: Schema.String
})

export const Inference = protocol("inference", "1.1.0", {
  narrate: {
    payload: Schema.Struct({ campaigns: Schema.Array(Campaign) }),
    success: Schema.Struct({ text: Schema.String, source: NarrativeSource, exchanges: Schema.Array(Exchange) }),
    error: NarrationFailed
  }
})

/**
 * The inference actor with these endpoints (none: the template narrates; a configuration
 * that could not be read: the template narrates and says why).
 */
export const inferenceBehaviourWith = (config: InferenceConfig | undefined | InferenceConfigError): Effect.Effect<Handlers<typeof Inference>> =>
  Effect.sync(() => {
    const pool = config === undefined || config instanceof InferenceConfigError || config.endpoints.length === 0 ? undefined : new EndpointPool(config)
    return {
      narrate: ({ campaigns }) =>
        config instanceof InferenceConfigError
          ? Effect.succeed({ text: templateNarrative(campaigns), source: { kind: "template" as const, reason: config.message.replace(/\.$/, "") }, exchanges: [] })
          : Effect.tryPromise({
            try: () => narrate(campaigns, pool),
            catch: (error) => new NarrationFailed({ message: `The narrative could not be written (${String(error)}).` })
          })
    }
  })

const configured = (gpu: string | undefined): InferenceConfig | undefined | InferenceConfigError => {
  try {
    const config = loadInferenceConfig(undefined)
    return config === undefined ? undefined : pinnedTo(config, gpu)
  } catch (error) {
    if (error instanceof InferenceConfigError) return error
    throw error
  }
}

/** The inference actor configured from DSHIELD_INFERENCE_CONFIG or OLLAMA_ENDPOINTS (a worker's --gpu pins it: DSHIELD_GPU). */
export const inferenceBehaviour: Effect.Effect<Handlers<typeof Inference>> = Effect.suspend(() =>
  inferenceBehaviourWith(configured(process.env.DSHIELD_GPU === undefined || process.env.DSHIELD_GPU === "" ? undefined : process.env.DSHIELD_GPU)))

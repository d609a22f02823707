/**
 * The analyst narrative of a Result: written by a model on Ollama from the campaigns'
 * computed evidence and indicators, in the JSON shape NARRATIVE_FORMAT asks for (Ollama's
 * structured output), decoded with Schema. An answer that does not decode, or names
 * campaigns that are not there, is asked again once; then, or when no endpoint can run it,
 * the deterministic template narrates and the narrative says why.
 *
 * Determinism: temperature 0 and a fixed seed, and every exchange (endpoint, model and its
 * digest, options, prompt, answer) is returned so that a run can record it.
 */
import { readFileSync } from "node:fs"
import * as Schema from "effect/Schema"
import { Ollama } from "ollama/browser"
import type { Campaign } from "../domain/Campaign.ts"
import { type EndpointPool, type FetchLike, InferenceUnavailable, type Placement } from "./EndpointPool.ts"

export const PROMPT_VERSION = "narrative-v1"
const PROMPT = readFileSync(new URL(`./prompts/${PROMPT_VERSION}.md`, import.meta.url), "utf8")

/** The JSON schema Ollama's `format` constrains the answer to. */
export const NARRATIVE_FORMAT = {
  type: "object",
  properties: {
    summary: { type: "string" },
    campaigns: { type: "array", items: { type: "object", properties: { id: { type: "string" }, narrative: { type: "string" } }, required: ["id", "narrative"] } }
  },
  required: ["summary", "campaigns"]
} as const

const ModelAnswer = Schema.Struct({
  summary: Schema.String,
  campaigns: Schema.Array(Schema.Struct({ id: Schema.String, narrative: Schema.String }))
})

export interface Exchange {
  readonly endpoint: string
  readonly gpu: string
  readonly model: string
  readonly digest: string
  readonly options: Record<string, unknown>
  readonly prompt: string
  readonly response: string
}

export type NarrativeSource =
  | { readonly kind: "model"; readonly endpoint: string; readonly gpu: string; readonly model: string; readonly digest: string; readonly prompt: string; readonly attempts: number }
  | { readonly kind: "template"; readonly reason: string }

export interface Narrative {
  readonly text: string
  readonly source: NarrativeSource
  readonly exchanges: ReadonlyArray<Exchange>
}

/** Families the narrative covers (the largest, as the template does). */
const NARRATED = 5

const describe = (c: Campaign): string => {
  const evidence = Object.entries(c.evidence).map(([kind, e]) => `  - ${kind}: score ${e!.score}, p ${e!.p_value}; ${e!.detail}`)
  const indicators = c.indicators.slice(0, 8).map((i) => `${i.type} ${i.value.length > 120 ? `${i.value.slice(0, 117)}…` : i.value}`)
  return [
    `- id ${c.id}: ${c.name}`,
    `  ${c.sessions.length} sessions from ${c.source_ips.length} source addresses, ${c.first_seen} to ${c.last_seen}`,
    `  assessment ${c.assessment}, confidence ${c.confidence} (interval ${c.confidence_interval[0]}–${c.confidence_interval[1]})`,
    `  linked by ${c.formed_by.map((f) => `${f.kind} (${f.links})`).join(", ") || "nothing recorded"}; techniques ${c.ttps.join(", ") || "none"}`,
    ...evidence,
    `  indicators: ${indicators.join("; ") || "none"}`
  ].join("\n")
}

export const narrativePrompt = (families: ReadonlyArray<Campaign>): string => PROMPT.replace("{{campaigns}}", families.map(describe).join("\n"))

const decodeAnswer = (content: string, ids: ReadonlySet<string>): Schema.Schema.Type<typeof ModelAnswer> | string => {
  let json: unknown
  try {
    json = JSON.parse(content)
  } catch {
    return "the answer is not JSON"
  }
  let answer: Schema.Schema.Type<typeof ModelAnswer>
  try {
    answer = Schema.decodeUnknownSync(ModelAnswer)(json)
  } catch {
    return "the answer is not in the requested shape"
  }
  const unknown = answer.campaigns.find((c) => !ids.has(c.id))
  if (unknown !== undefined) return `the answer names a campaign that is not in the Result (${unknown.id.slice(0, 40)})`
  return answer
}

/** Asks once: the answer's text, where it ran, and what was exchanged. */
const ask = async (pool: EndpointPool, prompt: string): Promise<{ content: string; placement: Placement; exchange: Exchange }> => {
  const options = { temperature: 0, seed: pool.config.seed }
  const { value, placement } = await pool.run(async (where, fetcher: FetchLike) => {
    const client = new Ollama({ host: where.url, fetch: ((input: string | URL | Request, init?: RequestInit) => fetcher(input, { ...init, signal: AbortSignal.timeout(pool.config.timeoutMs) })) as typeof fetch })
    const response = await client.chat({
      model: where.model,
      messages: [{ role: "user", content: prompt }],
      format: NARRATIVE_FORMAT,
      options,
      keep_alive: pool.config.keepAlive,
      stream: false
    })
    return response.message.content
  })
  return {
    content: value,
    placement,
    exchange: { endpoint: placement.url, gpu: placement.gpu, model: placement.model, digest: placement.digest, options: { ...options, keep_alive: pool.config.keepAlive, format: PROMPT_VERSION }, prompt, response: value }
  }
}

/** The template narrative (no model), as the inference actor always had it. */
export const templateNarrative = (campaigns: ReadonlyArray<Campaign>): string => {
  const families = campaigns.filter((c) => c.level === "family")
  if (families.length === 0) return "No coordinated campaign was found: no two sessions share an artefact or specific behaviour."
  const lines = families.slice(0, NARRATED).map((c) =>
    `- ${c.name}: ${c.sessions.length} session${c.sessions.length === 1 ? "" : "s"} from ${c.source_ips.length} source IP${c.source_ips.length === 1 ? "" : "s"}, ${c.first_seen.slice(0, 10)} to ${c.last_seen.slice(0, 10)}; ` +
    `${c.assessment.replace(/_/g, " ")} (confidence ${c.confidence.toFixed(2)})${c.ttps.length > 0 ? `; techniques ${c.ttps.slice(0, 4).join(", ")}` : ""}.`
  )
  return [`${families.length} campaign famil${families.length === 1 ? "y" : "ies"} found. The largest:`, ...lines].join("\n")
}

/** The narrative of these campaigns: by a model when one answers well, else the template, saying why. */
export const narrate = async (campaigns: ReadonlyArray<Campaign>, pool: EndpointPool | undefined): Promise<Narrative> => {
  const template = (reason: string, exchanges: ReadonlyArray<Exchange> = []): Narrative => ({ text: templateNarrative(campaigns), source: { kind: "template", reason }, exchanges })
  if (pool === undefined) return template("no inference endpoint is configured (OLLAMA_ENDPOINTS or --inference-config)")
  const families = [...campaigns.filter((c) => c.level === "family")].sort((a, b) => b.sessions.length - a.sessions.length || (a.id < b.id ? -1 : 1)).slice(0, NARRATED)
  if (families.length === 0) return template("there is no campaign to narrate")
  const prompt = narrativePrompt(families)
  const ids = new Set(families.map((f) => f.id))
  const exchanges: Array<Exchange> = []
  let problem = ""
  for (let attempt = 1; attempt <= 2; attempt++) {
    let asked: Awaited<ReturnType<typeof ask>>
    try {
      asked = await ask(pool, prompt)
    } catch (error) {
      return template(error instanceof InferenceUnavailable ? error.message : `the inference request failed (${String(error)})`, exchanges)
    }
    exchanges.push(asked.exchange)
    const answer = decodeAnswer(asked.content, ids)
    if (typeof answer !== "string") {
      const byId = new Map(answer.campaigns.map((c) => [c.id, c.narrative] as const))
      const text = [answer.summary.trim(), ...families.flatMap((f) => (byId.has(f.id) ? [`- ${f.name} (${f.id}): ${byId.get(f.id)!.trim()}`] : []))].join("\n")
      const p = asked.placement
      return { text, source: { kind: "model", endpoint: p.url, gpu: p.gpu, model: p.model, digest: p.digest, prompt: PROMPT_VERSION, attempts: attempt }, exchanges }
    }
    problem = answer
  }
  return template(`the model's answer could not be used twice (${problem})`, exchanges)
}

/** One line saying who wrote the narrative. */
export const narrativeByline = (source: NarrativeSource): string =>
  source.kind === "model"
    ? `Narrative by ${source.model}${source.digest === "" ? "" : ` (${source.digest.slice(0, 19)})`} on GPU ${source.gpu} at ${source.endpoint}, prompt ${source.prompt}${source.attempts > 1 ? `, answer ${source.attempts}` : ""}.`
    : `Narrative from the template: ${source.reason}.`

/**
 * Where the inference actors find Ollama: one endpoint per GPU, each with the models it
 * serves and how many requests it runs at once. From a JSON file (`--inference-config FILE`
 * or DSHIELD_INFERENCE_CONFIG) or OLLAMA_ENDPOINTS (a JSON list of endpoints, or
 * comma-separated URLs, the GPU named by position).
 */
import { readFileSync } from "node:fs"
import * as Schema from "effect/Schema"
export const EndpointConfig = Schema.Struct({
  url: Schema.String,
  /** The GPU this Ollama is pinned to (its CUDA_VISIBLE_DEVICES), as a label. */
  gpu: Schema.String,
  /** Models it serves; empty: whatever its /api/tags lists. */
  models: Schema.optionalKey(Schema.Array(Schema.String)),
  /** Requests it runs at once (Ollama's OLLAMA_NUM_PARALLEL). */
  concurrency: Schema.optionalKey(Schema.Int),
  /** Requests that may wait for it; beyond, it is overloaded. */
  queue: Schema.optionalKey(Schema.Int)
})
export interface EndpointConfig extends Schema.Schema.Type<typeof EndpointConfig> {}

export const InferenceConfigFile = Schema.Struct({
  endpoints: Schema.Array(EndpointConfig),
  /** Models in order of preference: the first an endpoint serves is used, the rest are the fallbacks. */
  models: Schema.optionalKey(Schema.Array(Schema.String)),
  keep_alive: Schema.optionalKey(Schema.String),
  seed: Schema.optionalKey(Schema.Int),
  timeout_ms: Schema.optionalKey(Schema.Int)
})

export interface InferenceConfig {
  readonly endpoints: ReadonlyArray<Required<EndpointConfig>>
  readonly models: ReadonlyArray<string>
  readonly keepAlive: string
  readonly seed: number
  readonly timeoutMs: number
}

export const DEFAULT_MODELS = ["llama3.1:8b", "qwen2.5:7b"] as const

const complete = (file: Schema.Schema.Type<typeof InferenceConfigFile>): InferenceConfig => ({
  endpoints: file.endpoints.map((e) => ({
    url: e.url.replace(/\/+$/, ""),
    gpu: e.gpu,
    models: [...(e.models ?? [])],
    concurrency: Math.max(1, e.concurrency ?? 1),
    queue: Math.max(0, e.queue ?? 4)
  })),
  models: [...(file.models ?? DEFAULT_MODELS)],
  keepAlive: file.keep_alive ?? "30m",
  seed: file.seed ?? 42,
  timeoutMs: file.timeout_ms ?? 120_000
})

export class InferenceConfigError extends Error {}

const decode = (json: unknown, where: string): InferenceConfig => {
  try {
    return complete(Schema.decodeUnknownSync(InferenceConfigFile)(json))
  } catch (error) {
    throw new InferenceConfigError(`${where} is not an inference configuration (${String(error).split("\n")[0]}); see docs/inference.md.`)
  }
}

/** OLLAMA_ENDPOINTS: a JSON list of endpoints, or "http://gpu0:11434,http://gpu1:11434" (GPUs 0, 1, …). */
export const parseEndpointsVariable = (value: string): InferenceConfig => {
  const text = value.trim()
  if (text.startsWith("[")) {
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      throw new InferenceConfigError("OLLAMA_ENDPOINTS is not JSON; give a JSON list of {url, gpu, models, concurrency} or comma-separated URLs.")
    }
    return decode({ endpoints: json }, "OLLAMA_ENDPOINTS")
  }
  const urls = text.split(",").map((u) => u.trim()).filter((u) => u !== "")
  for (const u of urls) {
    if (!/^https?:\/\//.test(u)) throw new InferenceConfigError(`OLLAMA_ENDPOINTS: "${u}" is not an http(s) URL; give URLs like http://gpu0:11434.`)
  }
  return decode({ endpoints: urls.map((url, k) => ({ url, gpu: String(k) })) }, "OLLAMA_ENDPOINTS")
}

/** The configuration to use: the file, else OLLAMA_ENDPOINTS, else none (the template narrates). */
export const loadInferenceConfig = (file: string | undefined, env: NodeJS.ProcessEnv = process.env): InferenceConfig | undefined => {
  const path = file ?? (env.DSHIELD_INFERENCE_CONFIG === "" ? undefined : env.DSHIELD_INFERENCE_CONFIG)
  if (path !== undefined) {
    let text: string
    try {
      text = readFileSync(path, "utf8")
    } catch (error) {
      throw new InferenceConfigError(`Cannot read the inference configuration ${path} (${(error as { code?: string }).code ?? String(error)}); check the path.`)
    }
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      throw new InferenceConfigError(`${path} is not JSON; see docs/inference.md for the inference configuration.`)
    }
    return decode(json, path)
  }
  const variable = env.OLLAMA_ENDPOINTS
  return variable === undefined || variable.trim() === "" ? undefined : parseEndpointsVariable(variable)
}

/** Only the endpoints pinned to `gpu` (a worker started with --gpu). */
export const pinnedTo = (config: InferenceConfig, gpu: string | undefined): InferenceConfig =>
  gpu === undefined ? config : { ...config, endpoints: config.endpoints.filter((e) => e.gpu === gpu) }

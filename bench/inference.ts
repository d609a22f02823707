/**
 * `npm run bench:inference [-- RESULT.json]`: narratives per second and GPU queue wait on the
 * inference endpoints of DSHIELD_INFERENCE_CONFIG or OLLAMA_ENDPOINTS (real Ollama servers,
 * one per GPU: docs/inference.md), for the campaigns of a Result (default: an analysis of
 * 2,000 generated sessions). CONCURRENCY narratives are asked at once (default: twice the
 * endpoints' total concurrency), ROUNDS times (default 3).
 *
 * Without a configuration it says so and measures nothing: a figure from a fake endpoint is
 * not a GPU's.
 */
import { readFileSync } from "node:fs"
import { DEFAULT_CONFIG } from "../src/config/AnalysisConfig.ts"
import type { Campaign } from "../src/domain/Campaign.ts"
import type { Result } from "../src/domain/Result.ts"
import { EndpointPool } from "../src/inference/EndpointPool.ts"
import { loadInferenceConfig } from "../src/inference/InferenceConfig.ts"
import { narrate } from "../src/inference/narrative.ts"
import { analyzeSessions } from "../src/pipeline/analyzeSessions.ts"
import { generateSessions } from "../src/synthetic/generateSessions.ts"

const config = loadInferenceConfig(undefined)
if (config === undefined) {
  console.error("No inference endpoints: set OLLAMA_ENDPOINTS (or DSHIELD_INFERENCE_CONFIG) to real Ollama servers, one per GPU; see docs/inference.md.")
  process.exit(2)
}
const resultFile = process.argv[2]
const campaigns: ReadonlyArray<Campaign> = resultFile !== undefined
  ? (JSON.parse(readFileSync(resultFile, "utf8")) as Result).campaigns
  : analyzeSessions([...generateSessions({ sessions: 2000, seed: 5 })].map((s) => s.session), { ...DEFAULT_CONFIG, seed: 5 }).campaigns
const total = config.endpoints.reduce((a, e) => a + e.concurrency, 0)
const concurrency = Number(process.env.CONCURRENCY ?? 2 * total)
const rounds = Number(process.env.ROUNDS ?? 3)

// The pool is shared by every request, as the inference actor shares it.
const pool = new EndpointPool(config)
const byGpu = new Map<string, number>()
let models = 0
let templates = 0
const started = performance.now()
for (let r = 0; r < rounds; r++) {
  const narratives = await Promise.all(Array.from({ length: concurrency }, async () => {
    const t0 = performance.now()
    const n = await narrate(campaigns, pool)
    return { n, ms: performance.now() - t0 }
  }))
  for (const { n } of narratives) {
    if (n.source.kind === "model") {
      models++
      byGpu.set(n.source.gpu, (byGpu.get(n.source.gpu) ?? 0) + 1)
    } else templates++
  }
}
const seconds = (performance.now() - started) / 1000
console.log(`endpoints: ${config.endpoints.map((e) => `${e.url} (GPU ${e.gpu}, concurrency ${e.concurrency}, queue ${e.queue})`).join("; ")}`)
console.log(`models: ${config.models.join(", ")}; ${campaigns.filter((c) => c.level === "family").length} families in the Result`)
const quantile = (xs: ReadonlyArray<number>, q: number): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}
console.log(`| narratives | by a model | by the template | wall | narratives/s |`)
console.log(`|---:|---:|---:|---:|---:|`)
console.log(`| ${models + templates} | ${models} | ${templates} | ${seconds.toFixed(1)} s | ${((models + templates) / seconds).toFixed(2)} |\n`)
console.log(`| GPU | narratives | queue wait median | p95 |`)
console.log(`|---|---:|---:|---:|`)
for (const [gpu, waits] of [...pool.queueWaits].sort()) console.log(`| ${gpu} | ${byGpu.get(gpu) ?? 0} | ${quantile(waits, 0.5).toFixed(0)} ms | ${quantile(waits, 0.95).toFixed(0)} ms |`)

/**
 * Inference against local fakes of Ollama's HTTP API (test/integration/ollamaFake.ts; no GPU
 * or Ollama runs here): least-load routing over three GPU-pinned endpoints, a dead endpoint,
 * an overloaded one, malformed answers, fallback to the template, and what the narrative says
 * about who wrote it.
 */
import { afterAll, describe, expect, test } from "bun:test"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { REPO, runCli } from "../cli/helpers.ts"
import { Ollama } from "ollama/browser"
import { DEFAULT_CONFIG } from "../../src/config/AnalysisConfig.ts"
import type { Campaign } from "../../src/domain/Campaign.ts"
import { COOL_DOWN_MS, EndpointPool, FAILURES_TO_OPEN } from "../../src/inference/EndpointPool.ts"
import { type InferenceConfig, InferenceConfigError, parseEndpointsVariable, pinnedTo } from "../../src/inference/InferenceConfig.ts"
import { narrate, narrativeByline, NARRATIVE_FORMAT } from "../../src/inference/narrative.ts"
import { analyzeSessions } from "../../src/pipeline/analyzeSessions.ts"
import { generateSessions } from "../../src/synthetic/generateSessions.ts"
import { type ChatBody, type OllamaFake, startOllamaFake } from "./ollamaFake.ts"

const MODEL = { name: "llama3.1:8b", digest: "sha256:46e0c10c039e019119339687c3c1757cc81b9da49709a3b3924863ba87ca666e" }

const campaigns: ReadonlyArray<Campaign> = analyzeSessions(
  [...generateSessions({ sessions: 600, seed: 21 })].map((s) => s.session),
  { ...DEFAULT_CONFIG, seed: 21, permutations: 49, bootstrap: 0 }
).campaigns

/** A well-formed answer naming every campaign the prompt lists. */
const goodAnswer = (body: ChatBody): string => {
  const prompt = body.messages?.[0]?.content ?? ""
  const ids = [...prompt.matchAll(/^- id (c-[0-9a-f]+):/gm)].map((m) => m[1]!)
  return JSON.stringify({ summary: `Summary of ${ids.length} campaigns.`, campaigns: ids.map((id) => ({ id, narrative: `About ${id}.` })) })
}

const fakes: Array<OllamaFake> = []
const fake = (answer: (body: ChatBody) => string = goodAnswer): OllamaFake => {
  const f = startOllamaFake([MODEL], answer)
  fakes.push(f)
  return f
}
afterAll(async () => {
  for (const f of fakes) await f.stop()
})

const configOf = (endpoints: ReadonlyArray<{ url: string; gpu: string; concurrency?: number; queue?: number }>): InferenceConfig => ({
  endpoints: endpoints.map((e) => ({ url: e.url, gpu: e.gpu, models: [], concurrency: e.concurrency ?? 1, queue: e.queue ?? 4 })),
  models: ["qwen2.5:7b", MODEL.name],
  keepAlive: "30m",
  seed: 42,
  timeoutMs: 10_000
})

describe("inference on Ollama endpoints (local fakes)", () => {
  test("least-load routing over three GPU-pinned endpoints; temperature 0, the seed, keep_alive and the JSON schema are sent", async () => {
    const three = [fake(), fake(), fake()]
    for (const f of three) f.delayMs = 300
    const pool = new EndpointPool(configOf(three.map((f, k) => ({ url: f.url, gpu: String(k) }))))
    const narratives = await Promise.all(Array.from({ length: 6 }, () => narrate(campaigns, pool)))
    expect(three.map((f) => f.requests.length)).toEqual([2, 2, 2])
    for (const f of three) expect(f.maxConcurrent()).toBe(1)
    const gpus = narratives.map((n) => (n.source.kind === "model" ? n.source.gpu : "template")).sort()
    expect(gpus).toEqual(["0", "0", "1", "1", "2", "2"])
    const first = narratives[0]!
    expect(first.source.kind).toBe("model")
    expect(narrativeByline(first.source)).toMatch(/^Narrative by llama3\.1:8b \(sha256:46e0c10c039e\) on GPU \d at http:\/\/127\.0\.0\.1:\d+, prompt narrative-v1\.$/)
    expect(first.text.startsWith("Summary of ")).toBe(true)
    // The preferred model (qwen2.5:7b) is served nowhere: the fallback ran.
    const sent = three[0]!.requests[0]!
    expect(sent.model).toBe(MODEL.name)
    expect(sent.options).toEqual({ temperature: 0, seed: 42 })
    expect(sent.keep_alive).toBe("30m")
    expect(sent.stream).toBe(false)
    expect(sent.format).toEqual(NARRATIVE_FORMAT)
    // Every exchange is returned for the run to record.
    expect(first.exchanges).toHaveLength(1)
    expect(first.exchanges[0]!.digest).toBe(MODEL.digest)
    expect(first.exchanges[0]!.prompt).toBe(sent.messages![0]!.content)
  }, 30_000)

  test("a dead endpoint is skipped; after repeated failures its circuit opens and it is not tried", async () => {
    const live = fake()
    const dead = fake()
    await dead.stop()
    const pool = new EndpointPool(configOf([{ url: dead.url, gpu: "0" }, { url: live.url, gpu: "1" }]))
    for (let k = 0; k < FAILURES_TO_OPEN + 1; k++) {
      const n = await narrate(campaigns, pool)
      expect(n.source.kind === "model" && n.source.gpu).toBe("1")
    }
    expect(pool.load().map((l) => l.open)).toEqual([true, false])
    expect(COOL_DOWN_MS).toBeGreaterThan(0)
  }, 30_000)

  test("an endpoint that fails its requests (HTTP 500) hands them to the next; when all fail, the template says why", async () => {
    const failing = fake()
    failing.failWith = 500
    const other = fake()
    const pool = new EndpointPool(configOf([{ url: failing.url, gpu: "0" }, { url: other.url, gpu: "1" }]))
    const n = await narrate(campaigns, pool)
    expect(n.source.kind === "model" && n.source.gpu).toBe("1")
    other.failWith = 500
    const none = await narrate(campaigns, new EndpointPool(configOf([{ url: failing.url, gpu: "0" }, { url: other.url, gpu: "1" }])))
    expect(none.source.kind).toBe("template")
    expect(narrativeByline(none.source)).toStartWith("Narrative from the template: every inference endpoint tried failed (")
  }, 30_000)

  test("an overloaded GPU: requests beyond its concurrency and queue get the template, which says so", async () => {
    const busy = fake()
    busy.delayMs = 500
    const pool = new EndpointPool(configOf([{ url: busy.url, gpu: "0", concurrency: 1, queue: 1 }]))
    const narratives = await Promise.all(Array.from({ length: 3 }, () => narrate(campaigns, pool)))
    expect(narratives.filter((n) => n.source.kind === "model")).toHaveLength(2)
    const refused = narratives.find((n) => n.source.kind === "template")!
    expect(narrativeByline(refused.source)).toBe("Narrative from the template: every inference endpoint serving the models is overloaded (its GPU queue is full).")
    expect(busy.maxConcurrent()).toBe(1)
  }, 30_000)

  test("a malformed answer is asked again once; twice malformed, the template; an answer naming other campaigns is malformed too", async () => {
    let calls = 0
    const flaky = fake((body) => (++calls === 1 ? "{not json" : goodAnswer(body)))
    const recovered = await narrate(campaigns, new EndpointPool(configOf([{ url: flaky.url, gpu: "0" }])))
    expect(recovered.source.kind === "model" && recovered.source.attempts).toBe(2)
    expect(recovered.exchanges).toHaveLength(2)
    const broken = fake(() => JSON.stringify({ summary: "x", campaigns: [{ id: "c-0000000000000000", narrative: "invented" }] }))
    const fallback = await narrate(campaigns, new EndpointPool(configOf([{ url: broken.url, gpu: "0" }])))
    expect(fallback.source.kind).toBe("template")
    expect(narrativeByline(fallback.source)).toContain("the model's answer could not be used twice (the answer names a campaign that is not in the Result")
    expect(fallback.exchanges).toHaveLength(2)
  }, 30_000)

  test("no endpoint configured, or none serving the models: the template, saying which", async () => {
    expect(narrativeByline((await narrate(campaigns, undefined)).source)).toBe("Narrative from the template: no inference endpoint is configured (OLLAMA_ENDPOINTS or --inference-config).")
    const other = startOllamaFake([{ name: "mistral:7b", digest: "sha256:1" }], goodAnswer)
    fakes.push(other)
    const n = await narrate(campaigns, new EndpointPool(configOf([{ url: other.url, gpu: "0" }])))
    expect(narrativeByline(n.source)).toBe("Narrative from the template: no healthy inference endpoint serves qwen2.5:7b or llama3.1:8b.")
  }, 30_000)

  test("configuration: OLLAMA_ENDPOINTS as URLs or JSON, pinning to one GPU, mistakes in one sentence", () => {
    const byUrls = parseEndpointsVariable("http://gpu0:11434, http://gpu1:11434/")
    expect(byUrls.endpoints.map((e) => [e.url, e.gpu])).toEqual([["http://gpu0:11434", "0"], ["http://gpu1:11434", "1"]])
    const byJson = parseEndpointsVariable('[{"url": "http://a:11434", "gpu": "3", "models": ["llama3.1:8b"], "concurrency": 2}]')
    expect(byJson.endpoints[0]).toEqual({ url: "http://a:11434", gpu: "3", models: ["llama3.1:8b"], concurrency: 2, queue: 4 })
    expect(pinnedTo(byUrls, "1").endpoints.map((e) => e.url)).toEqual(["http://gpu1:11434"])
    expect(() => parseEndpointsVariable("gpu0:11434")).toThrow(InferenceConfigError)
    expect(() => parseEndpointsVariable("[{")).toThrow("OLLAMA_ENDPOINTS is not JSON")
  })

  test("analyze --depth deep --inference-config: the narrative is the model's and says so; worker --gpu and a bad file are one sentence", async () => {
    const f = fake()
    const dir = mkdtempSync(join(tmpdir(), "dshield-inference-"))
    expect(runCli(["generate", "--sessions", "400", "--seed", "23", "--out", dir, "--quiet"]).code).toBe(0)
    const file = join(dir, "inference.json")
    writeFileSync(file, JSON.stringify({ endpoints: [{ url: f.url, gpu: "0", concurrency: 2 }], models: [MODEL.name], seed: 7 }))
    const cli = async (args: ReadonlyArray<string>, env: Record<string, string> = {}) => {
      const proc = Bun.spawn([process.execPath, resolve(REPO, "src/cli/main.ts"), ...args], { cwd: REPO, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" })
      const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
      return { code, stdout, stderr }
    }
    const manifest = join(dir, "deep.manifest.json")
    const deep = await cli(["analyze", "--depth", "deep", "--inference-config", file, "--manifest", manifest, join(dir, "cowrie.json")])
    expect(deep.code).toBe(0)
    expect(deep.stdout).toContain(`Narrative by ${MODEL.name} (sha256:46e0c10c039e) on GPU 0 at ${f.url}, prompt narrative-v1.`)
    expect(deep.stdout).toContain("Summary of ")
    expect(f.requests.at(-1)!.options).toEqual({ temperature: 0, seed: 7 })
    // The exchange is in the manifest; with the endpoint gone, replay rebuilds the same
    // narrative from it (and the same Result, which never depends on the model).
    const recorded = JSON.parse(readFileSync(manifest, "utf8")) as { inference_exchanges: Array<{ request: string; response: string }>; narrative_digest?: string }
    expect(recorded.inference_exchanges).toHaveLength(1)
    expect(JSON.parse(recorded.inference_exchanges[0]!.request).digest).toBe(MODEL.digest)
    const asked = f.requests.length
    await f.stop()
    const replayed = await cli(["replay", manifest], { OLLAMA_ENDPOINTS: "", DSHIELD_INFERENCE_CONFIG: "" })
    expect(replayed.code).toBe(0)
    expect(replayed.stdout).toContain("identical result")
    expect(replayed.stdout).toContain(`Narrative reproduced from 1 recorded exchange(s), no endpoint asked: identical (digest ${recorded.narrative_digest!.slice(0, 16)}…).`)
    expect(f.requests.length).toBe(asked)
    // A tampered answer is caught.
    writeFileSync(manifest, JSON.stringify({ ...recorded, inference_exchanges: [{ ...recorded.inference_exchanges[0]!, response: recorded.inference_exchanges[0]!.response.replace("Summary", "Tampered") }] }))
    const tampered = await cli(["replay", manifest])
    expect(tampered.code).toBe(1)
    expect(tampered.stderr).toContain("the narrative rebuilt from the 1 recorded exchange(s) is not the recorded one")
    // Without a configuration the template narrates, and says so.
    const plain = await cli(["analyze", "--depth", "deep", join(dir, "cowrie.json")], { OLLAMA_ENDPOINTS: "", DSHIELD_INFERENCE_CONFIG: "" })
    expect(plain.stdout).toContain("Narrative from the template: no inference endpoint is configured")
    writeFileSync(join(dir, "bad.json"), "{")
    const bad = await cli(["analyze", "--depth", "deep", "--inference-config", join(dir, "bad.json"), join(dir, "cowrie.json")])
    expect(bad.code).toBe(2)
    expect(bad.stderr.trim()).toBe(`dshield-coord: ${join(dir, "bad.json")} is not JSON; see docs/inference.md for the inference configuration.`)
    const wrongGpu = await cli(["worker", "--roles", "inference", "--gpu", "5", "--inference-config", file, "--nats", "nats://127.0.0.1:1"])
    expect(wrongGpu.code).toBe(2)
    expect(wrongGpu.stderr.trim()).toBe("dshield-coord: No inference endpoint is pinned to GPU 5; name it in the configuration or drop --gpu.")
    expect(runCli(["analyze", "--inference-config", file, join(dir, "cowrie.json")]).stderr).toContain("--inference-config is for the narrative of --depth deep")
  }, 90_000)

  test("the fake speaks Ollama's API as the ollama client reads it: tags, ps, chat and generate, streaming and not", async () => {
    const f = fake(() => "hello there")
    const client = new Ollama({ host: f.url })
    expect((await client.list()).models.map((m) => m.digest)).toEqual([MODEL.digest])
    expect((await client.chat({ model: MODEL.name, messages: [{ role: "user", content: "hi" }], stream: false })).message.content).toBe("hello there")
    let streamed = ""
    for await (const part of await client.chat({ model: MODEL.name, messages: [{ role: "user", content: "hi" }], stream: true })) streamed += part.message.content
    expect(streamed).toBe("hello there")
    expect((await client.generate({ model: MODEL.name, prompt: "hi", stream: false })).response).toBe("hello there")
    expect((await client.ps()).models.map((m) => m.name)).toEqual([MODEL.name])
    await expect(client.chat({ model: "absent:1b", messages: [], stream: false })).rejects.toThrow('model "absent:1b" not found')
  }, 30_000)
})

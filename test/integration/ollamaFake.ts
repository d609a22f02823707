/**
 * A local fake of Ollama's HTTP API for tests, on `Bun.serve({ port: 0 })` (loopback), as
 * Ollama answers it (https://github.com/ollama/ollama docs/api.md):
 *
 * - `GET /api/tags` → `{"models": [{name, model, modified_at, size, digest, details}]}`;
 * - `GET /api/ps` → the models loaded (used since start), with `expires_at` and `size_vram`;
 * - `POST /api/chat` `{model, messages, format, options, keep_alive, stream}` and
 *   `POST /api/generate` `{model, prompt, …}` → one JSON object when `stream` is false, else
 *   (Ollama's default) newline-delimited JSON chunks ending with `"done": true`; an unknown
 *   model → 404 `{"error": "model \"x\" not found, try pulling it first"}`; a body that is not
 *   JSON → 400 `{"error": …}`.
 *
 * What it answers is the test's `answer(request)`; `delayMs` holds each answer (a busy GPU),
 * `failWith` makes it answer that HTTP status, and it counts requests and the most it ran at
 * once.
 */

export interface FakeModel {
  readonly name: string
  readonly digest: string
}

export interface ChatBody {
  readonly model: string
  readonly messages?: ReadonlyArray<{ role: string; content: string }>
  readonly prompt?: string
  readonly format?: unknown
  readonly options?: Record<string, unknown>
  readonly keep_alive?: unknown
  readonly stream?: boolean
}

export interface OllamaFake {
  readonly url: string
  /** Chat and generate requests, in arrival order. */
  readonly requests: Array<ChatBody>
  readonly maxConcurrent: () => number
  answer: (body: ChatBody) => string
  delayMs: number
  failWith: number | undefined
  readonly stop: () => Promise<void>
}

export const startOllamaFake = (models: ReadonlyArray<FakeModel>, answer: (body: ChatBody) => string): OllamaFake => {
  let running = 0
  let most = 0
  const loaded = new Set<string>()
  const requests: Array<ChatBody> = []
  const state = {
    answer,
    delayMs: 0,
    failWith: undefined as number | undefined
  }
  const stamp = (): string => new Date(Date.UTC(2026, 11, 3)).toISOString()
  const reply = async (request: Request, kind: "chat" | "generate"): Promise<Response> => {
    let body: ChatBody
    try {
      body = (await request.json()) as ChatBody
    } catch {
      return Response.json({ error: "invalid character 'x' looking for beginning of value" }, { status: 400 })
    }
    const model = models.find((m) => m.name === body.model)
    if (model === undefined) return Response.json({ error: `model "${body.model}" not found, try pulling it first` }, { status: 404 })
    requests.push(body)
    running++
    most = Math.max(most, running)
    try {
      if (state.delayMs > 0) await Bun.sleep(state.delayMs)
      if (state.failWith !== undefined) return Response.json({ error: "llama runner process has terminated" }, { status: state.failWith })
      loaded.add(model.name)
      const content = state.answer(body)
      const final = { model: model.name, created_at: stamp(), done: true, done_reason: "stop", total_duration: 1_000_000, load_duration: 1000, prompt_eval_count: 10, prompt_eval_duration: 1000, eval_count: 20, eval_duration: 1000 }
      const piece = (text: string) => (kind === "chat" ? { message: { role: "assistant", content: text } } : { response: text })
      if (body.stream === false) return Response.json({ ...final, ...piece(content) })
      const half = Math.floor(content.length / 2)
      const lines = [
        { model: model.name, created_at: stamp(), done: false, ...piece(content.slice(0, half)) },
        { model: model.name, created_at: stamp(), done: false, ...piece(content.slice(half)) },
        { ...final, ...piece("") }
      ]
      return new Response(lines.map((l) => JSON.stringify(l)).join("\n") + "\n", { headers: { "Content-Type": "application/x-ndjson" } })
    } finally {
      running--
    }
  }
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: async (request) => {
      const path = new URL(request.url).pathname
      if (path === "/api/tags" && request.method === "GET") {
        return Response.json({
          models: models.map((m) => ({ name: m.name, model: m.name, modified_at: stamp(), size: 4_920_753_328, digest: m.digest, details: { parent_model: "", format: "gguf", family: "llama", families: ["llama"], parameter_size: "8.0B", quantization_level: "Q4_K_M" } }))
        })
      }
      if (path === "/api/ps" && request.method === "GET") {
        return Response.json({ models: models.filter((m) => loaded.has(m.name)).map((m) => ({ name: m.name, model: m.name, size: 6_654_289_920, digest: m.digest, expires_at: stamp(), size_vram: 6_654_289_920 })) })
      }
      if (path === "/api/chat" && request.method === "POST") return reply(request, "chat")
      if (path === "/api/generate" && request.method === "POST") return reply(request, "generate")
      return new Response("404 page not found", { status: 404 })
    }
  })
  return {
    url: `http://127.0.0.1:${server.port}`,
    requests,
    maxConcurrent: () => most,
    get answer() {
      return state.answer
    },
    set answer(f) {
      state.answer = f
    },
    get delayMs() {
      return state.delayMs
    },
    set delayMs(ms) {
      state.delayMs = ms
    },
    get failWith() {
      return state.failWith
    },
    set failWith(status) {
      state.failWith = status
    },
    stop: () => server.stop(true)
  }
}

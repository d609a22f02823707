/**
 * OpenTelemetry traces across processes (issue 13): a fake OTLP/HTTP collector (JSON
 * encoding, OTEL_EXPORTER_OTLP_PROTOCOL=http/json) receives the spans of
 *
 * - `analyze --nats` against a `worker --roles api --pool 1` on a private nats-server: one
 *   trace links the client's spans, the api role's request handling, the orchestrator
 *   actor's handler and the analysis thread's stages, every process's root span a child of a
 *   span of another process (the client's root excepted);
 * - the same analysis with the variables unset: nothing reaches the collector;
 * - `serve`: an HTTP request carrying a W3C traceparent yields the server's spans in that
 *   trace, and the analysis it submitted (run on an analysis thread) in it too.
 *
 * Skipped with a notice without nats-server (failed under REQUIRE_SERVICES=1).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { REPO } from "../cli/helpers.ts"
import { childEnv, cliOk, serve } from "./apiServer.ts"
import { natsServerAvailable, startPrivateServer, startWorkerWith } from "./natsAuthServer.ts"

const HAVE_NATS = natsServerAvailable()
const MAIN = resolve(REPO, "src/cli/main.ts")

interface Span {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string | undefined
  readonly name: string
  readonly kind: number
  readonly attributes: Record<string, unknown>
  /** The exporting process: service name, pid, and the thread when it was an analysis thread's. */
  readonly service: string
  readonly process: string
}

interface AnyValue {
  readonly stringValue?: string
  readonly intValue?: string | number
  readonly boolValue?: boolean
  readonly doubleValue?: number
  readonly arrayValue?: { readonly values?: ReadonlyArray<AnyValue> }
}
interface KeyValue {
  readonly key: string
  readonly value: AnyValue
}

const valueOf = (v: AnyValue): unknown =>
  v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : undefined) ?? v.boolValue ?? v.doubleValue ?? v.arrayValue?.values?.map(valueOf)
const record = (attributes: ReadonlyArray<KeyValue> | undefined): Record<string, unknown> =>
  Object.fromEntries((attributes ?? []).map((a) => [a.key, valueOf(a.value)]))

/** An OTLP/HTTP collector on a free port: decodes OTLP/JSON trace exports. */
const startCollector = () => {
  const spans: Array<Span> = []
  const requests: Array<{ readonly path: string; readonly contentType: string }> = []
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: async (request) => {
      const path = new URL(request.url).pathname
      const contentType = request.headers.get("content-type") ?? ""
      requests.push({ path, contentType })
      if (request.method !== "POST" || path !== "/v1/traces") return new Response("not found", { status: 404 })
      if (!contentType.includes("application/json")) return new Response("{}", { headers: { "content-type": "application/json" } })
      const body = await request.json() as {
        resourceSpans: Array<{ resource: { attributes: Array<KeyValue> }; scopeSpans: Array<{ spans: Array<{ traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number; attributes: Array<KeyValue> }> }> }>
      }
      for (const rs of body.resourceSpans) {
        const resource = record(rs.resource.attributes)
        const service = String(resource["service.name"])
        const process = `${service}/${String(resource["process.pid"])}${resource["dshield.thread"] === undefined ? "" : `/${String(resource["dshield.thread"])}`}`
        for (const ss of rs.scopeSpans) {
          for (const s of ss.spans) {
            spans.push({ traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId || undefined, name: s.name, kind: s.kind, attributes: record(s.attributes), service, process })
          }
        }
      }
      return new Response("{}", { headers: { "content-type": "application/json" } })
    }
  })
  return { url: `http://127.0.0.1:${server.port}`, spans, requests, stop: () => server.stop(true) }
}

/** The environment without any OTEL_* variable (and nothing configuring the API). */
const untracedEnv = (extra: Record<string, string> = {}): Record<string, string> => {
  const env = childEnv({})
  for (const k of Object.keys(env)) if (k.startsWith("OTEL_")) delete env[k]
  return { ...env, ...extra }
}

const run = async (args: ReadonlyArray<string>, env: Record<string, string>) => {
  const proc = Bun.spawn([process.execPath, MAIN, ...args], { cwd: REPO, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" })
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  return { code, stdout, stderr }
}

/** The span tree of one trace, one span a line, indented under its parent: for failure messages and the report. */
const tree = (spans: ReadonlyArray<Span>): string => {
  const byParent = new Map<string | undefined, Array<Span>>()
  const ids = new Set(spans.map((s) => s.spanId))
  for (const s of spans) {
    const key = s.parentSpanId !== undefined && ids.has(s.parentSpanId) ? s.parentSpanId : undefined
    byParent.set(key, [...(byParent.get(key) ?? []), s])
  }
  const lines: Array<string> = []
  const visit = (parent: string | undefined, depth: number): void => {
    for (const s of byParent.get(parent) ?? []) {
      lines.push(`${"  ".repeat(depth)}${s.name}  [${s.process.replace(/\/\d+/, "")}]${s.parentSpanId !== undefined && !ids.has(s.parentSpanId) ? ` (parent ${s.parentSpanId} outside)` : ""}`)
      visit(s.spanId, depth + 1)
    }
  }
  visit(undefined, 0)
  return lines.join("\n")
}

describe.skipIf(!HAVE_NATS)("traces across processes", () => {
  const dir = mkdtempSync(join(tmpdir(), "dshield-tracing-"))
  const input = join(dir, "cowrie.json")
  const collector = startCollector()
  const traced = (extra: Record<string, string> = {}) =>
    untracedEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_EXPORTER_OTLP_PROTOCOL: "http/json", ...extra })
  let nats: Awaited<ReturnType<typeof startPrivateServer>>

  beforeAll(async () => {
    await cliOk(["generate", "--sessions", "300", "--seed", "3", "--out", dir, "--quiet"], REPO, untracedEnv())
    nats = await startPrivateServer()
  })
  afterAll(async () => {
    await nats?.stop()
    collector.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  test("without OTEL_* variables nothing reaches the collector", async () => {
    const before = collector.requests.length
    const worker = await startWorkerWith(REPO, ["--roles", "api", "--pool", "1", "--nats", nats.url], untracedEnv())
    try {
      const r = await run(["analyze", "--nats", nats.url, "--quiet", "--out", join(dir, "untraced.json"), input], untracedEnv())
      expect(r.stderr).toBe("")
      expect(r.code).toBe(0)
    } finally {
      worker.kill("SIGTERM")
      expect(await worker.exited).toBe(0)
    }
    expect(collector.requests.length).toBe(before)
  }, 120_000)

  test("one analysis on the NATS pool is one trace: client → api role → orchestrator → analysis thread", async () => {
    const worker = await startWorkerWith(REPO, ["--roles", "api", "--pool", "1", "--nats", nats.url], traced())
    let workerPid: number
    try {
      workerPid = worker.pid
      const r = await run(["analyze", "--nats", nats.url, "--quiet", "--out", join(dir, "traced.json"), input], traced())
      expect(r.stderr).toBe("")
      expect(r.code).toBe(0)
      expect(JSON.parse(readFileSync(join(dir, "traced.json"), "utf8")).input.sessions).toBeGreaterThan(0)
    } finally {
      // SIGTERM: the worker drains, and its spans and its thread's are flushed before it exits.
      worker.kill("SIGTERM")
      expect(await worker.exited).toBe(0)
    }
    // Every export is JSON to /v1/traces (the endpoint is a base URL).
    expect(collector.requests.every((q) => q.path === "/v1/traces" && q.contentType.includes("application/json"))).toBe(true)

    const client = collector.spans.find((s) => s.service === "dshield-coord-analyze" && s.name.startsWith("nats.request coord.v1.analyze"))
    if (client === undefined) throw new Error(`no client span; the collector got ${JSON.stringify(collector.requests)} and ${collector.spans.map((s) => `${s.service} ${s.name}`).join(", ")}`)
    const trace = collector.spans.filter((s) => s.traceId === client!.traceId)
    const shown = tree(trace)
    const byId = new Map(trace.map((s) => [s.spanId, s]))
    const named = (name: string, where: (s: Span) => boolean = () => true): Span => {
      const span = trace.find((s) => s.name === name && where(s))
      if (span === undefined) throw new Error(`no span ${name} in the trace:\n${shown}`)
      return span
    }
    const parentOf = (s: Span): Span => {
      const parent = s.parentSpanId === undefined ? undefined : byId.get(s.parentSpanId)
      if (parent === undefined) throw new Error(`${s.name} has no parent in the trace:\n${shown}`)
      return parent
    }
    const inWorker = (s: Span) => s.service === "dshield-coord-worker" && s.process.endsWith(`/${workerPid!}`)
    const inThread = (s: Span) => s.service === "dshield-coord-worker" && s.process.endsWith("/analysis")

    // The client: the command, the analysis over NATS, the request.
    expect(client!.kind).toBe(3) // client
    expect(parentOf(client!).name).toBe("Cli.analyzeOverNats")
    expect(parentOf(parentOf(client!)).name).toBe("Cli.analyze")
    // The api role: the request's server span is the child of the client's request span.
    const serverSpan = named("nats.serve coord.v1.analyze", inWorker)
    expect(serverSpan.kind).toBe(2) // server
    expect(serverSpan.parentSpanId).toBe(client!.spanId)
    const apiActor = named("actor coord.analyze", inWorker)
    expect(apiActor.parentSpanId).toBe(serverSpan.spanId)
    expect(parentOf(named("CoordApi.analyze", inWorker)).spanId).toBe(apiActor.spanId)
    // The orchestrator actor's handler, asked by the api role's handler.
    const orchestratorActor = named("actor orchestrator.analyze", inWorker)
    expect(parentOf(orchestratorActor).name).toBe("CoordApi.analyze")
    const orchestrator = named("Orchestrator.analyze", inWorker)
    expect(orchestrator.parentSpanId).toBe(orchestratorActor.spanId)
    const pool = named("AnalysisPool.run", inWorker)
    expect(parentOf(pool).spanId).toBe(orchestrator.spanId)
    // The analysis thread: its root is the child of the pool's span, its stages below.
    const document = named("Orchestrator.analyzeToDocument", inThread)
    expect(document.parentSpanId).toBe(pool.spanId)
    const analysis = named("Analysis.run", inThread)
    expect(analysis.parentSpanId).toBe(document.spanId)
    for (const stage of ["Analysis.ingest", "Analysis.linkage", "Analysis.hierarchy", "Analysis.scoring", "Analysis.report"]) {
      expect(named(stage, inThread).parentSpanId).toBe(analysis.spanId)
    }

    // Three processes (client, worker, its analysis thread) in the trace; each one's root
    // spans are children of a span of another one, but the client's root.
    const processes = new Set(trace.map((s) => s.process))
    expect(processes.size).toBe(3)
    for (const process of processes) {
      const roots = trace.filter((s) => s.process === process && (s.parentSpanId === undefined || byId.get(s.parentSpanId)?.process !== process))
      expect(roots.length).toBeGreaterThan(0)
      for (const root of roots) {
        if (process.startsWith("dshield-coord-analyze/")) {
          expect(root.parentSpanId).toBeUndefined()
        } else {
          const parent = root.parentSpanId === undefined ? undefined : byId.get(root.parentSpanId)
          if (parent === undefined) throw new Error(`${root.name} (${process}) has no parent in the trace:\n${shown}`)
          expect(parent.process).not.toBe(process)
        }
      }
    }
    console.log(`the trace of one analysis on the NATS pool:\n${shown}`)
  }, 120_000)

  test("a durable job is traced from its submission to the worker that ran it", async () => {
    const env = traced({ DSHIELD_JOBS_NAMESPACE: "tracing" })
    const worker = await startWorkerWith(REPO, ["--roles", "jobs", "--pool", "1", "--nats", nats.url], env)
    try {
      const r = await run(["analyze", "--nats", nats.url, "--durable", "--quiet", "--out", join(dir, "job.json"), input], env)
      expect(r.stderr).toBe("")
      expect(r.code).toBe(0)
    } finally {
      worker.kill("SIGTERM")
      expect(await worker.exited).toBe(0)
    }
    const submit = collector.spans.find((s) => s.service === "dshield-coord-analyze" && s.name === "jobs.submit coord.jobs.tracing.analyze")
    if (submit === undefined) throw new Error(`no jobs.submit span: ${collector.spans.map((s) => s.name).join(", ")}`)
    expect(submit.kind).toBe(4) // producer
    const trace = collector.spans.filter((s) => s.traceId === submit.traceId)
    const shown = tree(trace)
    const consumer = trace.find((s) => s.name === "jobs.process coord.jobs.tracing.analyze")
    if (consumer === undefined) throw new Error(`no jobs.process span in the submission's trace:\n${shown}`)
    expect(consumer.kind).toBe(5) // consumer
    expect(consumer.parentSpanId).toBe(submit.spanId)
    expect(consumer.service).toBe("dshield-coord-worker")
    const actor = trace.find((s) => s.name === "actor orchestrator.analyze")
    expect(actor?.parentSpanId).toBe(consumer.spanId)
    expect(trace.some((s) => s.name === "Analysis.scoring" && s.process.endsWith("/analysis"))).toBe(true)
  }, 120_000)

  test("serve: a request carrying a traceparent yields the server's spans, and its analysis's, in that trace", async () => {
    const store = ["--data-dir", join(dir, "db")]
    const key = (await cliOk(["keys", "create", "--role", "analyst", "--tenant", "acme", ...store], dir, untracedEnv())).trim()
    const server = await serve(["--threads", "1", ...store], dir, traced())
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736"
    const parentId = "00f067aa0ba902b7"
    try {
      const submitted = await fetch(`${server.url}/analyze/coordination?format=cowrie`, {
        method: "POST",
        headers: { "x-api-key": key, "content-type": "application/x-ndjson", traceparent: `00-${traceId}-${parentId}-01` },
        body: await Bun.file(input).bytes()
      })
      expect(submitted.status).toBe(202)
      const { analysis_id } = await submitted.json() as { analysis_id: string }
      const done = await (await fetch(`${server.url}/analyze/${analysis_id}?wait=30`, { headers: { "x-api-key": key } })).json() as { status: string }
      expect(done.status).toBe("completed")
    } finally {
      await server.stop()
    }
    const trace = collector.spans.filter((s) => s.traceId === traceId)
    const shown = tree(trace)
    // Effect's HTTP server span (named by the method, the route in http.route), under the caller's span.
    const http = trace.find((s) => s.name === "POST" && s.parentSpanId === parentId)
    if (http === undefined) throw new Error(`no POST server span under the caller's span:\n${shown}`)
    expect(http.attributes["http.route"]).toBe("/analyze/coordination")
    expect(http.service).toBe("dshield-coord-serve")
    expect(http.kind).toBe(2)
    const byId = new Map(trace.map((s) => [s.spanId, s]))
    const ancestors = (s: Span): Array<string> => {
      const names: Array<string> = []
      for (let at = s.parentSpanId === undefined ? undefined : byId.get(s.parentSpanId); at !== undefined; at = at.parentSpanId === undefined ? undefined : byId.get(at.parentSpanId)) names.push(at.name)
      return names
    }
    // The analysis it accepted ran later, on an analysis thread, in the same trace.
    const run = trace.find((s) => s.name === "ApiAnalysis.run")
    if (run === undefined) throw new Error(`no ApiAnalysis.run in the request's trace:\n${shown}`)
    expect(ancestors(run)).toContain("POST")
    const threadRun = trace.find((s) => s.name === "Analysis.run" && s.process.endsWith("/analysis"))
    if (threadRun === undefined) throw new Error(`no thread span in the request's trace:\n${shown}`)
    expect(ancestors(threadRun)).toEqual(expect.arrayContaining(["Orchestrator.analyzeToDocument", "AnalysisPool.run", "ApiAnalysis.run", "POST"]))
  }, 120_000)
})

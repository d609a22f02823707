/**
 * Tracing in one process (src/observability): W3C traceparent parsing and formatting, what is
 * injected (nothing when tracing is off, unless the trace came from outside), an in-process
 * actor's handler span under its asker's, the analysis stages as spans, the OTEL_* settings,
 * and the exporter's encodings (protobuf by default, JSON on request) against a fake collector.
 */
import { describe, expect, test } from "bun:test"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Tracer from "effect/Tracer"
import { protocol, spawn } from "../../actors/kernel/Actor.ts"
import { deliverWebhook } from "../../src/api/webhooks/Delivery.ts"
import { tracingLayer } from "../../src/observability/OtlpTracing.ts"
import { currentTraceCarrier, formatTraceparent, injectTraceContext, parseTraceparent, stageSpans, untimed } from "../../src/observability/TraceContext.ts"
import { commandName, tracingFromEnv } from "../../src/observability/TracingSettings.ts"

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
const SPAN = "00f067aa0ba902b7"

/** A tracer that keeps its spans (Effect's native spans, recorded). */
const recording = () => {
  const spans: Array<Tracer.NativeSpan> = []
  const tracer = Tracer.make({
    span(options) {
      const span = new Tracer.NativeSpan(options)
      spans.push(span)
      return span
    }
  })
  return { spans, tracer }
}

const parentIdOf = (span: Tracer.Span): string | undefined => Option.getOrUndefined(span.parent)?.spanId

describe("W3C trace context", () => {
  test("a valid traceparent is the parent; anything else is ignored", () => {
    const parent = parseTraceparent(`00-${TRACE}-${SPAN}-01`, "vendor=abc")!
    expect(parent).toMatchObject({ _tag: "ExternalSpan", traceId: TRACE, spanId: SPAN, sampled: true })
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-00`)?.sampled).toBe(false)
    // A later version is read by its first four fields; version ff is invalid.
    expect(parseTraceparent(`01-${TRACE}-${SPAN}-01-more`)?.spanId).toBe(SPAN)
    for (const bad of [undefined, "", "garbage", `00-${TRACE}-${SPAN}`, `00-${TRACE}-${SPAN}-01-extra`, `ff-${TRACE}-${SPAN}-01`, `00-${"0".repeat(32)}-${SPAN}-01`, `00-${TRACE}-${"0".repeat(16)}-01`, `00-${TRACE.toUpperCase()}-${SPAN}-01`, `00-${TRACE}-${SPAN}-0x`]) {
      expect(parseTraceparent(bad)).toBeUndefined()
    }
    expect(formatTraceparent(parent)).toBe(`00-${TRACE}-${SPAN}-01`)
  })

  test("with tracing off nothing is injected, unless the trace came from outside (then it is passed on)", async () => {
    const none = await Effect.runPromise(currentTraceCarrier)
    expect(none).toBeUndefined()
    const native = await Effect.runPromise(currentTraceCarrier.pipe(Effect.withSpan("work")))
    expect(native).toBeUndefined()
    const passedOn = await Effect.runPromise(currentTraceCarrier.pipe(Effect.withSpan("work"), Effect.withParentSpan(parseTraceparent(`00-${TRACE}-${SPAN}-01`, "vendor=abc")!)))
    expect(passedOn?.traceparent).toMatch(new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`))
    expect(passedOn?.traceparent).not.toContain(SPAN)
    expect(passedOn?.tracestate).toBe("vendor=abc")
  })

  test("with a tracer, the current span is injected", async () => {
    const { spans, tracer } = recording()
    const headers: Record<string, string> = {}
    await Effect.runPromise(injectTraceContext((k, v) => void (headers[k] = v)).pipe(Effect.withSpan("request", { kind: "client" }), Effect.withTracer(tracer)))
    expect(spans).toHaveLength(1)
    expect(headers).toEqual({ traceparent: `00-${spans[0]!.traceId}-${spans[0]!.spanId}-01` })
  })
})

describe("spans in process", () => {
  const Echo = protocol("echo", "1.0.0", { say: { payload: Schema.String, success: Schema.String, error: Schema.Never } })

  test("an actor's handler span is the child of its asker's span, not of the spawner's", async () => {
    const { spans, tracer } = recording()
    await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const ref = yield* spawn(Echo, Effect.succeed({ say: (text: string) => Effect.succeed(text).pipe(Effect.withSpan("Echo.say")) }))
      yield* ref.ask("say", "hi").pipe(Effect.withSpan("caller"))
      yield* ref.ask("say", "untraced")
    })).pipe(Effect.withSpan("spawner"), Effect.withTracer(tracer)))
    const [caller] = spans.filter((s) => s.name === "caller")
    const handlers = spans.filter((s) => s.name === "actor echo.say")
    expect(handlers).toHaveLength(2)
    expect(parentIdOf(handlers[0]!)).toBe(caller!.spanId)
    expect(handlers[0]!.traceId).toBe(caller!.traceId)
    expect(handlers[0]!.attributes.get("dshield.actor")).toBe("echo")
    expect(parentIdOf(spans.find((s) => s.name === "Echo.say")!)).toBe(handlers[0]!.spanId)
    // Asked under the spawner's span: that is its parent (the asker's span, whatever it is).
    expect(parentIdOf(handlers[1]!)).toBe(spans.find((s) => s.name === "spawner")!.spanId)
  })

  test("analysis stages are untimed without a tracer, child spans with one (ended when a promise settles)", async () => {
    expect(await Effect.runPromise(stageSpans)).toBe(untimed)
    const { spans, tracer } = recording()
    const value = await Effect.runPromise(Effect.gen(function*() {
      const stage = yield* stageSpans
      const a = stage("Analysis.linkage", () => 1)
      const b = yield* Effect.promise(() => stage("Analysis.ingest", () => Bun.sleep(5).then(() => 2)))
      expect(() => stage("Analysis.scoring", () => { throw new Error("boom") })).toThrow("boom")
      return a + b
    }).pipe(Effect.withSpan("Analysis.run"), Effect.withTracer(tracer)))
    expect(value).toBe(3)
    const run = spans.find((s) => s.name === "Analysis.run")!
    for (const name of ["Analysis.linkage", "Analysis.ingest", "Analysis.scoring"]) {
      const stage = spans.find((s) => s.name === name)!
      expect(parentIdOf(stage)).toBe(run.spanId)
      expect(stage.status._tag).toBe("Ended")
    }
    const ingest = spans.find((s) => s.name === "Analysis.ingest")!
    const ended = ingest.status as Extract<Tracer.SpanStatus, { _tag: "Ended" }>
    expect(Number(ended.endTime - ended.startTime)).toBeGreaterThan(4_000_000)
    expect((spans.find((s) => s.name === "Analysis.scoring")!.status as Extract<Tracer.SpanStatus, { _tag: "Ended" }>).exit._tag).toBe("Failure")
  })
})

describe("webhooks", () => {
  test("a delivery carries the traceparent of the span it is sent under", async () => {
    const seen: Array<string | null> = []
    const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (request) => {
      seen.push(request.headers.get("traceparent"))
      return new Response("ok")
    } })
    const { spans, tracer } = recording()
    try {
      const record = await Effect.runPromise(deliverWebhook(`http://127.0.0.1:${server.port}/hook`, { ok: true }, {
        secret: "s",
        deliveryId: "d-1",
        guard: { allowPrivateTargets: true, allowedTargets: [] },
        maxAttempts: 1
      }).pipe(Effect.withSpan("ApiAnalysis.run"), Effect.withTracer(tracer)))
      expect(record.delivered).toBe(true)
    } finally {
      server.stop(true)
    }
    const delivery = spans.find((s) => s.name === "Webhooks.deliverWebhook")!
    expect(seen).toHaveLength(1)
    // Sent under the delivery's span (or one inside it), in the analysis's trace.
    expect(seen[0]).toMatch(new RegExp(`^00-${delivery.traceId}-[0-9a-f]{16}-01$`))
    expect(spans.some((s) => seen[0]!.includes(s.spanId))).toBe(true)
  })
})

describe("OTEL_* settings", () => {
  const worker = { name: "worker", roles: ["api", "jobs"] }

  test("off unless an endpoint is set, and off when disabled", () => {
    expect(tracingFromEnv({}, worker)._tag).toBe("Off")
    expect(tracingFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "" }, worker)._tag).toBe("Off")
    expect(tracingFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_SDK_DISABLED: "true" }, worker)._tag).toBe("Off")
    expect(tracingFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_TRACES_EXPORTER: "none" }, worker)._tag).toBe("Off")
  })

  test("the general endpoint gets /v1/traces, the traces endpoint is used as given; names and resource", () => {
    const on = tracingFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" }, worker)
    if (on._tag !== "On") throw new Error(on._tag)
    expect(on.settings).toMatchObject({ url: "http://collector:4318/v1/traces", protocol: "http/protobuf", compression: "none", serviceName: "dshield-coord-worker", headers: {} })
    expect(on.settings.attributes).toMatchObject({ "dshield.command": "worker", "dshield.worker.roles": ["api", "jobs"], "dshield.engine.version": expect.any(String) })
    const specific = tracingFromEnv({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://vendor.example/otlp/traces",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_EXPORTER_OTLP_HEADERS: "api-key=s%3Dcret,x-team=sec",
      OTEL_SERVICE_NAME: "coord-edge",
      OTEL_BSP_SCHEDULE_DELAY: "1000"
    }, { name: commandName("OpsStatus") })
    if (specific._tag !== "On") throw new Error(specific._tag)
    expect(specific.settings).toMatchObject({ url: "https://vendor.example/otlp/traces", protocol: "http/json", serviceName: "coord-edge", headers: { "api-key": "s=cret", "x-team": "sec" }, exportIntervalMs: 1000 })
    expect(specific.settings.attributes["dshield.command"]).toBe("ops-status")
  })

  test("an unusable setting is reported, not fatal", () => {
    for (const env of [
      { OTEL_EXPORTER_OTLP_ENDPOINT: "not a url" },
      { OTEL_EXPORTER_OTLP_ENDPOINT: "ftp://c" },
      { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4317", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" },
      { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_EXPORTER_OTLP_HEADERS: "novalue" },
      { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_EXPORTER_OTLP_TIMEOUT: "-1" }
    ]) {
      const config = tracingFromEnv(env, worker)
      expect(config._tag).toBe("Invalid")
    }
  })
})

describe("the OTLP exporter", () => {
  const exportOnce = async (protocol: "http/json" | "http/protobuf") => {
    const received: Array<{ readonly type: string; readonly auth: string | null; readonly body: Uint8Array }> = []
    const server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: async (request) => {
        received.push({ type: request.headers.get("content-type") ?? "", auth: request.headers.get("authorization"), body: new Uint8Array(await request.arrayBuffer()) })
        return new Response("{}", { headers: { "content-type": "application/json" } })
      }
    })
    try {
      const config = tracingFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${server.port}`, OTEL_EXPORTER_OTLP_PROTOCOL: protocol, OTEL_EXPORTER_OTLP_HEADERS: "authorization=Bearer%20t" }, { name: "analyze" })
      if (config._tag !== "On") throw new Error(config._tag)
      // The layer's scope closes when the program ends: what it holds is sent then.
      await Effect.runPromise(Effect.void.pipe(Effect.withSpan("Cli.analyze"), Effect.provide(tracingLayer(config.settings) as Layer.Layer<never>)))
    } finally {
      server.stop(true)
    }
    return received
  }

  test("protobuf by default, JSON on request, with the configured headers; flushed at the end", async () => {
    const protobuf = await exportOnce("http/protobuf")
    expect(protobuf).toHaveLength(1)
    expect(protobuf[0]!.type).toBe("application/x-protobuf")
    expect(protobuf[0]!.auth).toBe("Bearer t")
    expect(new TextDecoder().decode(protobuf[0]!.body)).toContain("Cli.analyze")
    const json = await exportOnce("http/json")
    expect(json[0]!.type).toContain("application/json")
    const body = JSON.parse(new TextDecoder().decode(json[0]!.body)) as { resourceSpans: Array<{ resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> }; scopeSpans: Array<{ spans: Array<{ name: string }> }> }> }
    const resource = Object.fromEntries(body.resourceSpans[0]!.resource.attributes.map((a) => [a.key, a.value.stringValue]))
    expect(resource["service.name"]).toBe("dshield-coord-analyze")
    expect(resource["dshield.command"]).toBe("analyze")
    expect(body.resourceSpans[0]!.scopeSpans[0]!.spans.map((s) => s.name)).toEqual(["Cli.analyze"])
  })
})

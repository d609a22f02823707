/**
 * The OTLP/HTTP trace exporter: Effect's own (`effect/observability` OtlpTracer over the fetch
 * HttpClient), configured from TracingSettings. Every span the engine makes — the named
 * `Effect.fn` functions, the transport's request and handler spans — is batched and POSTed
 * to the collector's /v1/traces, protobuf by default or JSON (OTEL_EXPORTER_OTLP_PROTOCOL).
 *
 * Loaded only when tracing is configured (main.ts imports it on demand, an analysis thread
 * when its pool was started with settings), so a process without OTEL_* variables never loads
 * the exporter, the serializers or the HTTP client.
 *
 * Flushing: the exporter sends what it holds when its layer's scope closes — at the end of
 * the command, including after SIGTERM/SIGINT interrupted it (bounded by the export timeout,
 * 3 s by default) — and an analysis thread flushes after every analysis and when its pool
 * stops (threadTracing).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as OtlpExporter from "effect/observability/OtlpExporter"
import * as OtlpSerialization from "effect/observability/OtlpSerialization"
import * as OtlpTracer from "effect/observability/OtlpTracer"
import { ENGINE_VERSION } from "../version.ts"
import { TracingExport } from "./TraceContext.ts"
import type { TracingSettings } from "./TracingSettings.ts"

/**
 * Effect's tracer exporting to the collector, the Flusher of its buffer, and the settings
 * themselves (TracingExport: analysis threads started under this layer export too).
 */
export const tracingLayer = (settings: TracingSettings): Layer.Layer<OtlpExporter.Flusher> =>
  OtlpTracer.layer({
    url: settings.url,
    resource: { serviceName: settings.serviceName, serviceVersion: ENGINE_VERSION, attributes: { ...settings.attributes } },
    headers: settings.headers,
    compression: settings.compression,
    ...(settings.exportIntervalMs === undefined ? {} : { exportInterval: Duration.millis(settings.exportIntervalMs) }),
    ...(settings.timeoutMs === undefined ? {} : { shutdownTimeout: Duration.millis(settings.timeoutMs) })
  }).pipe(
    Layer.provide(settings.protocol === "http/json" ? OtlpSerialization.layerJson : OtlpSerialization.layerProtobuf),
    Layer.provide(FetchHttpClient.layer),
    Layer.merge(Layer.succeed(TracingExport, settings))
  )

/** An analysis thread's tracer: built once per thread, outside any fiber that could be interrupted. */
export interface ThreadTracing {
  /** Provide to each analysis: the tracer (and TracingExport). */
  readonly context: Context.Context<never>
  /** Sends the spans held now (bounded by the export timeout); never rejects. */
  readonly flush: () => Promise<void>
}

export const threadTracing = async (settings: TracingSettings, thread: string): Promise<ThreadTracing> => {
  const scope = Scope.makeUnsafe()
  const layer = tracingLayer({ ...settings, attributes: { ...settings.attributes, "dshield.thread": thread } })
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
  const flusher = Context.get(context, OtlpExporter.Flusher)
  const bound = Duration.millis(settings.timeoutMs ?? 3_000)
  return {
    context: context as Context.Context<never>,
    flush: () => Effect.runPromise(flusher.flush.pipe(Effect.timeoutOption(bound), Effect.asVoid)).catch(() => undefined)
  }
}

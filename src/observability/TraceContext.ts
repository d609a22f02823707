/**
 * W3C trace context across the engine's process boundaries (https://www.w3.org/TR/trace-context/):
 * the current span written as `traceparent` (and the `tracestate` that came with the trace)
 * into whatever carries a request — NATS request and job headers, the analysis thread's
 * message, webhook requests — and read back on the other side as the parent (an Effect
 * `ExternalSpan`) of the span that handles it.
 *
 * Light on purpose: only Effect's core modules. The exporter (OtlpTracing.ts) is loaded only
 * when tracing is configured; with it off, nothing is injected (the tracer is Effect's
 * native one, whose spans go nowhere) unless the trace came from outside, which is passed on.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import type { TracingSettings } from "./TracingSettings.ts"

export const TRACEPARENT_HEADER = "traceparent"
export const TRACESTATE_HEADER = "tracestate"

/** What crosses a boundary: the W3C headers' values. */
export interface TraceCarrier {
  readonly traceparent: string
  readonly tracestate?: string | undefined
}

/**
 * The incoming `tracestate` of a trace, kept on its external parent span so that it is sent
 * on with the trace (this engine adds no entry of its own).
 */
const TraceState = Context.Reference<string | undefined>("dshield-coord/observability/TraceState", { defaultValue: () => undefined })

/**
 * The export settings of this process when tracing is on (OtlpTracing.ts provides them): the
 * analysis threads are started with them and export their own spans to the same collector.
 */
export const TracingExport = Context.Reference<TracingSettings | undefined>("dshield-coord/observability/TracingExport", { defaultValue: () => undefined })

const TRACE_ID = /^[0-9a-f]{32}$/
const SPAN_ID = /^[0-9a-f]{16}$/
const FLAGS = /^[0-9a-f]{2}$/
/** tracestate: at most 512 characters of printable ASCII (32 list members of key=value). */
const TRACESTATE = /^[\x20-\x7e]{1,512}$/

/** `00-<trace id>-<span id>-<flags>` of a span. */
export const formatTraceparent = (span: Tracer.AnySpan): string =>
  `00-${span.traceId.padStart(32, "0")}-${span.spanId}-${span.sampled ? "01" : "00"}`

/**
 * The parent a `traceparent` names, or undefined when it is missing or not valid (then the
 * handler's span starts a trace of its own). Versions other than 00 are read as 00, as the
 * specification asks, when their first four fields parse.
 */
export const parseTraceparent = (traceparent: string | null | undefined, tracestate?: string | null): Tracer.ExternalSpan | undefined => {
  if (traceparent === null || traceparent === undefined) return undefined
  const parts = traceparent.trim().split("-")
  if (parts.length < 4) return undefined
  const [version, traceId, spanId, flags] = parts as [string, string, string, string]
  if (!FLAGS.test(version) || version === "ff" || (version === "00" && parts.length !== 4)) return undefined
  if (!TRACE_ID.test(traceId) || !SPAN_ID.test(spanId) || !FLAGS.test(flags)) return undefined
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined
  const state = tracestate?.trim()
  return Tracer.externalSpan({
    traceId,
    spanId,
    sampled: (parseInt(flags, 16) & 1) === 1,
    ...(state !== undefined && TRACESTATE.test(state) ? { annotations: Context.make(TraceState, state) } : {})
  })
}

/** The parent named by a carrier (a thread message's), if any. */
export const parentOf = (carrier: TraceCarrier | undefined): Tracer.ExternalSpan | undefined =>
  carrier === undefined ? undefined : parseTraceparent(carrier.traceparent, carrier.tracestate)

/** The external span a span's trace entered this process through, if it did. */
const entryOf = (span: Tracer.AnySpan): Tracer.ExternalSpan | undefined => {
  let at: Tracer.AnySpan | undefined = span
  for (let depth = 0; at !== undefined && depth < 1_000; depth++) {
    if (at._tag === "ExternalSpan") return at
    at = Option.getOrUndefined(at.parent)
  }
  return undefined
}

/**
 * The current span as a carrier, or undefined when there is nothing to propagate: no span,
 * or tracing off here and the trace did not come from outside (spans of Effect's native
 * tracer go nowhere; a trace that came in is passed on through them, ids intact).
 */
export const currentTraceCarrier: Effect.Effect<TraceCarrier | undefined> = Effect.gen(function*() {
  const current = yield* Effect.serviceOption(Tracer.ParentSpan)
  if (Option.isNone(current)) return undefined
  const span = current.value
  const entry = entryOf(span)
  if (entry === undefined && (yield* Effect.tracer) === Tracer.nativeTracer) return undefined
  const state = entry === undefined ? undefined : Context.get(entry.annotations, TraceState)
  return { traceparent: formatTraceparent(span), ...(state === undefined ? {} : { tracestate: state }) }
})

/** Writes the current trace context with `set` (a header setter); nothing when there is none. */
export const injectTraceContext = (set: (name: string, value: string) => void): Effect.Effect<void> =>
  Effect.map(currentTraceCarrier, (carrier) => {
    if (carrier === undefined) return
    set(TRACEPARENT_HEADER, carrier.traceparent)
    if (carrier.tracestate !== undefined) set(TRACESTATE_HEADER, carrier.tracestate)
  })

/** Reads a trace context with `get` (a header getter): the parent of the handler's span. */
export const extractTraceContext = (get: (name: string) => string | null | undefined): Tracer.ExternalSpan | undefined =>
  parseTraceparent(get(TRACEPARENT_HEADER) || undefined, get(TRACESTATE_HEADER) || undefined)

/**
 * Span options for the span that handles something received: a child of the sender's span,
 * or a trace of its own (`root`) — never a child of whatever long-lived span (the worker's
 * command) the receiving fiber happened to be started under.
 */
export const receivedSpan = (parent: Tracer.AnySpan | undefined, kind: Tracer.SpanKind, attributes: Record<string, unknown> = {}) => ({
  kind,
  attributes,
  ...(parent === undefined ? { root: true } : { parent })
})

/**
 * One named stage of synchronous or promise-returning work inside an Effect (the analysis
 * stages: ingest, linkage, hierarchy, scoring, report), timed as a span when tracing is on.
 */
export type Stage = <A>(name: string, run: () => A) => A

/** A stage with no span: the work, nothing else. */
export const untimed: Stage = (_name, run) => run()

/**
 * Stages as children of the current span, on the current tracer; `untimed` when tracing is
 * off here (Effect's native tracer), so an untraced analysis pays nothing for them.
 */
export const stageSpans: Effect.Effect<Stage> = Effect.gen(function*() {
  const tracer = yield* Effect.tracer
  if (tracer === Tracer.nativeTracer) return untimed
  const parent = yield* Effect.serviceOption(Tracer.ParentSpan)
  const clock = yield* Effect.service(Clock.Clock)
  const sampled = Option.isNone(parent) || parent.value.sampled
  return <A>(name: string, run: () => A): A => {
    const span = tracer.span({ name, parent, annotations: Context.empty(), links: [], startTime: clock.currentTimeNanosUnsafe(), kind: "internal", root: Option.isNone(parent), sampled })
    const end = (exit: Exit.Exit<unknown, unknown>): void => span.end(clock.currentTimeNanosUnsafe(), exit)
    let result: A
    try {
      result = run()
    } catch (error) {
      end(Exit.die(error))
      throw error
    }
    if (result instanceof Promise) {
      return result.then(
        (value) => {
          end(Exit.void)
          return value
        },
        (error) => {
          end(Exit.die(error))
          throw error
        }
      ) as A
    }
    end(Exit.void)
    return result
  }
})

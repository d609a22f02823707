/**
 * Whether this process exports traces, and where: read from the standard OpenTelemetry
 * variables (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/).
 * Tracing is on when OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT is set
 * (and neither OTEL_SDK_DISABLED=true nor an OTEL_TRACES_EXPORTER without `otlp` turns it off).
 *
 * No imports beyond the engine version: main.ts reads this on every command, and loads the
 * exporter (OtlpTracing.ts) only when it says on.
 *
 * @since 0.1.0
 */
import { ENGINE_VERSION } from "../version.ts"

/** Everything the exporter needs; plain data, so it can be handed to an analysis thread. */
export interface TracingSettings {
  /** The OTLP/HTTP traces URL (…/v1/traces). */
  readonly url: string
  readonly protocol: "http/protobuf" | "http/json"
  readonly headers: Readonly<Record<string, string>>
  readonly compression: "gzip" | "none"
  readonly serviceName: string
  /** Resource attributes besides the service name (OTEL_RESOURCE_ATTRIBUTES is merged in by the exporter). */
  readonly attributes: Readonly<Record<string, string | number | boolean | ReadonlyArray<string>>>
  /** How often buffered spans are sent (OTEL_BSP_SCHEDULE_DELAY; default 5 s). */
  readonly exportIntervalMs: number | undefined
  /** How long the last export may take at exit (OTEL_EXPORTER_OTLP[_TRACES]_TIMEOUT; default 3 s). */
  readonly timeoutMs: number | undefined
}

export type TracingConfig =
  | { readonly _tag: "Off" }
  | { readonly _tag: "On"; readonly settings: TracingSettings }
  /** Configured, but not usably: one sentence; the command runs without tracing. */
  | { readonly _tag: "Invalid"; readonly message: string }

/** The command being traced: its name (`analyze`, `worker`, …) and, for a worker, its roles. */
export interface TracedCommand {
  readonly name: string
  readonly roles?: ReadonlyArray<string> | undefined
}

type Env = Readonly<Record<string, string | undefined>>

const value = (env: Env, name: string): string | undefined => {
  const v = env[name]?.trim()
  return v === undefined || v === "" ? undefined : v
}

/** The first of the traces-specific variable and the general one. */
const either = (env: Env, specific: string, general: string): { readonly name: string; readonly value: string } | undefined => {
  const s = value(env, specific)
  if (s !== undefined) return { name: specific, value: s }
  const g = value(env, general)
  return g === undefined ? undefined : { name: general, value: g }
}

const positiveMs = (env: Env, ...names: Array<string>): number | "invalid" | undefined => {
  for (const name of names) {
    const raw = value(env, name)
    if (raw === undefined) continue
    const n = Number(raw)
    return Number.isFinite(n) && n > 0 ? n : "invalid"
  }
  return undefined
}

/** `key=value,key2=value2`, values percent-decoded (OTEL_EXPORTER_OTLP_HEADERS). */
const parseHeaders = (text: string): Record<string, string> | undefined => {
  const out: Record<string, string> = {}
  for (const item of text.split(",")) {
    if (item.trim() === "") continue
    const at = item.indexOf("=")
    if (at <= 0) return undefined
    try {
      out[decodeURIComponent(item.slice(0, at).trim()).toLowerCase()] = decodeURIComponent(item.slice(at + 1).trim())
    } catch {
      return undefined
    }
  }
  return out
}

/** Reads the OTEL_* variables for `command`. */
export const tracingFromEnv = (env: Env, command: TracedCommand): TracingConfig => {
  if (value(env, "OTEL_SDK_DISABLED")?.toLowerCase() === "true") return { _tag: "Off" }
  const exporters = value(env, "OTEL_TRACES_EXPORTER")
  if (exporters !== undefined && !exporters.split(",").map((e) => e.trim().toLowerCase()).includes("otlp")) return { _tag: "Off" }
  const endpoint = either(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
  if (endpoint === undefined) return { _tag: "Off" }
  let url: URL
  try {
    url = new URL(endpoint.value)
  } catch {
    return { _tag: "Invalid", message: `${endpoint.name}=${endpoint.value} is not a URL; traces are not exported (give http(s)://host:4318).` }
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return { _tag: "Invalid", message: `${endpoint.name} must be an http(s) URL (OTLP/HTTP); traces are not exported.` }
  }
  // The general endpoint is a base: the traces path is appended (the specific one is used as given).
  if (endpoint.name === "OTEL_EXPORTER_OTLP_ENDPOINT") url.pathname = `${url.pathname.replace(/\/+$/, "")}/v1/traces`
  const protocol = either(env, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
  if (protocol !== undefined && protocol.value !== "http/protobuf" && protocol.value !== "http/json") {
    return { _tag: "Invalid", message: `${protocol.name}=${protocol.value} is not supported; traces are exported over OTLP/HTTP only (http/protobuf or http/json), so none are.` }
  }
  const compression = either(env, "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION")
  if (compression !== undefined && compression.value !== "gzip" && compression.value !== "none") {
    return { _tag: "Invalid", message: `${compression.name}=${compression.value} is not gzip or none; traces are not exported.` }
  }
  const headerText = either(env, "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS")
  const headers = headerText === undefined ? {} : parseHeaders(headerText.value)
  if (headers === undefined) return { _tag: "Invalid", message: `${headerText!.name} is not a list of key=value pairs; traces are not exported.` }
  const interval = positiveMs(env, "OTEL_BSP_SCHEDULE_DELAY")
  const timeout = positiveMs(env, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT")
  if (interval === "invalid" || timeout === "invalid") {
    return { _tag: "Invalid", message: "OTEL_BSP_SCHEDULE_DELAY and OTEL_EXPORTER_OTLP[_TRACES]_TIMEOUT must be positive milliseconds; traces are not exported." }
  }
  return {
    _tag: "On",
    settings: {
      url: url.href,
      protocol: protocol?.value === "http/json" ? "http/json" : "http/protobuf",
      headers,
      compression: compression?.value === "gzip" ? "gzip" : "none",
      serviceName: value(env, "OTEL_SERVICE_NAME") ?? `dshield-coord-${command.name}`,
      attributes: {
        "dshield.engine.version": ENGINE_VERSION,
        "dshield.command": command.name,
        ...(command.roles === undefined ? {} : { "dshield.worker.roles": [...command.roles] }),
        "process.pid": process.pid
      },
      exportIntervalMs: interval,
      timeoutMs: timeout
    }
  }
}

/** A command's name as typed (`OpsStatus` → `ops-status`), for the default service name. */
export const commandName = (tag: string): string => tag.replace(/([a-z])([A-Z])/g, "$1-$2").toLowerCase()

/**
 * `--metrics-port`: this process's metrics for Prometheus at GET /metrics, on a listener of its
 * own (for `serve` and for every `worker`), so that scraping needs no API key and the API's
 * port stays the API's. It binds to --metrics-host (127.0.0.1 unless told otherwise: counts of
 * requests and analyses are not for everyone).
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { InputError } from "../domain/errors.ts"
import { metrics, METRICS_CONTENT_TYPE } from "./Registry.ts"

const rss = metrics.gauge("process_resident_memory_bytes", "Resident memory of this process in bytes.")
const heap = metrics.gauge("process_heap_bytes", "JavaScript heap in use, in bytes.")
const cpu = metrics.gauge("process_cpu_seconds_total", "CPU time this process has used, in seconds (user and system).")
const started = metrics.gauge("process_start_time_seconds", "When this process started, in seconds since the Unix epoch.")
const startedAt = Math.floor(Date.now() / 1000 - process.uptime())

metrics.collect(() => {
  const memory = process.memoryUsage()
  rss.set({}, memory.rss)
  heap.set({}, memory.heapUsed)
  const usage = process.cpuUsage()
  cpu.set({}, (usage.user + usage.system) / 1e6)
  started.set({}, startedAt)
})

export interface MetricsEndpoint {
  readonly url: string
}

/** Serves GET /metrics for the scope's lifetime. */
export const serveMetrics = (host: string, port: number): Effect.Effect<MetricsEndpoint, InputError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.try({
      try: () =>
        Bun.serve({
          hostname: host,
          port,
          fetch: async (request) => {
            const path = new URL(request.url).pathname
            if (request.method !== "GET" || path !== "/metrics") return new Response("Only GET /metrics is served here.\n", { status: 404 })
            return new Response(await metrics.render(), { headers: { "content-type": METRICS_CONTENT_TYPE } })
          }
        }),
      catch: (error) =>
        new InputError({
          message: /EADDRINUSE|in use/i.test(String(error))
            ? `Port ${port} on ${host} is already in use; choose another --metrics-port.`
            : `Cannot serve metrics on ${host}:${port} (${String((error as Error).message ?? error)}); check --metrics-host and --metrics-port.`
        })
    }),
    (server) => Effect.promise(() => server.stop(true))
  ).pipe(Effect.map((server) => ({ url: `http://${host.includes(":") ? `[${host}]` : host}:${server.port}/metrics` })))

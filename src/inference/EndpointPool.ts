/**
 * The Ollama endpoints of an inference actor, one per GPU: which ones are healthy and serve
 * a model, which one is least loaded, and how many requests each may run and queue.
 *
 * - Health: an endpoint's models come from its `/api/tags` (names and digests), checked on
 *   first use and again when older than HEALTH_TTL_MS; a failed check or request counts
 *   against it, and FAILURES_TO_OPEN in a row open its circuit for COOL_DOWN_MS (it is not
 *   tried, then tried once again).
 * - Routing: among the healthy endpoints serving the model, the one with the fewest requests
 *   running and waiting per unit of concurrency (ties: the order of the configuration).
 * - Bounds: an endpoint runs `concurrency` requests at once and lets `queue` more wait (its
 *   GPU's queue); when every candidate is full the request is refused as overloaded, never
 *   queued without bound.
 * - Models: tried in order of preference; the first one some healthy endpoint serves is used,
 *   the rest are the fallbacks.
 */
import { inferenceQueueWait, inferenceRequests } from "../metrics/engineMetrics.ts"
import type { InferenceConfig } from "./InferenceConfig.ts"

export const HEALTH_TTL_MS = 30_000
export const FAILURES_TO_OPEN = 3
export const COOL_DOWN_MS = 30_000
const WAITS_KEPT = 10_000

export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>

interface Endpoint {
  readonly url: string
  readonly gpu: string
  readonly pinnedModels: ReadonlyArray<string>
  readonly concurrency: number
  readonly queue: number
  inFlight: number
  readonly waiting: Array<() => void>
  failures: number
  openUntil: number
  served: Map<string, string> | undefined
  checkedAt: number
}

/** Where a request ran. */
export interface Placement {
  readonly url: string
  readonly gpu: string
  readonly model: string
  readonly digest: string
  /** How long it waited for its GPU's queue, ms. */
  readonly queuedMs: number
}

export class InferenceUnavailable extends Error {}

export class EndpointPool {
  private readonly endpoints: Array<Endpoint>
  /** How long recent requests waited for their GPU, ms, by GPU (0 when a slot was free). */
  readonly queueWaits = new Map<string, Array<number>>()

  constructor(
    readonly config: InferenceConfig,
    private readonly fetcher: FetchLike = fetch,
    private readonly now: () => number = Date.now
  ) {
    this.endpoints = config.endpoints.map((e) => ({
      url: e.url,
      gpu: e.gpu,
      pinnedModels: e.models,
      concurrency: e.concurrency,
      queue: e.queue,
      inFlight: 0,
      waiting: [],
      failures: 0,
      openUntil: 0,
      served: undefined,
      checkedAt: -Infinity
    }))
  }

  /** Requests running and waiting per endpoint (for metrics and tests). */
  load(): Array<{ readonly url: string; readonly gpu: string; readonly inFlight: number; readonly waiting: number; readonly open: boolean }> {
    return this.endpoints.map((e) => ({ url: e.url, gpu: e.gpu, inFlight: e.inFlight, waiting: e.waiting.length, open: this.now() < e.openUntil }))
  }

  private failed(e: Endpoint): void {
    e.failures++
    e.served = undefined
    if (e.failures >= FAILURES_TO_OPEN) e.openUntil = this.now() + COOL_DOWN_MS
  }

  /** The endpoint's models (name → digest), from /api/tags when stale; undefined when it does not answer. */
  private async models(e: Endpoint): Promise<Map<string, string> | undefined> {
    if (e.served !== undefined && this.now() - e.checkedAt < HEALTH_TTL_MS) return e.served
    try {
      const response = await this.fetcher(`${e.url}/api/tags`, { signal: AbortSignal.timeout(5_000) })
      if (!response.ok) throw new Error(`HTTP ${response.status}`)
      const body = (await response.json()) as { models?: Array<{ name?: unknown; model?: unknown; digest?: unknown }> }
      const served = new Map<string, string>()
      for (const m of body.models ?? []) {
        const name = typeof m.name === "string" ? m.name : typeof m.model === "string" ? m.model : undefined
        if (name !== undefined) served.set(name, typeof m.digest === "string" ? m.digest : "")
      }
      e.served = served
      e.checkedAt = this.now()
      e.failures = 0
      return served
    } catch {
      this.failed(e)
      return undefined
    }
  }

  /** Healthy endpoints serving `model`, least loaded first. */
  private async candidates(model: string): Promise<Array<Endpoint>> {
    const open = this.endpoints.filter((e) => this.now() >= e.openUntil && (e.pinnedModels.length === 0 || e.pinnedModels.includes(model)))
    const checked = await Promise.all(open.map(async (e) => ((await this.models(e))?.has(model) === true ? e : undefined)))
    return checked
      .filter((e): e is Endpoint => e !== undefined)
      .map((e, order) => ({ e, order, load: (e.inFlight + e.waiting.length) / e.concurrency }))
      .sort((a, b) => a.load - b.load || a.order - b.order)
      .map((x) => x.e)
  }

  /** A slot on `e`: at once when it has one, after waiting in its queue otherwise; false when the queue is full. */
  private async acquire(e: Endpoint): Promise<boolean> {
    if (e.inFlight < e.concurrency) {
      e.inFlight++
      return true
    }
    if (e.waiting.length >= e.queue) return false
    await new Promise<void>((resolve) => e.waiting.push(resolve))
    e.inFlight++
    return true
  }

  private release(e: Endpoint): void {
    e.inFlight--
    e.waiting.shift()?.()
  }

  /**
   * Runs `task` on the least-loaded healthy endpoint serving the most preferred model it can;
   * a failed request counts against its endpoint and is tried once on each other candidate.
   * Throws InferenceUnavailable (one sentence) when no endpoint could run it.
   */
  async run<A>(task: (placement: Placement, fetcher: FetchLike) => Promise<A>): Promise<{ readonly value: A; readonly placement: Placement }> {
    if (this.endpoints.length === 0) throw new InferenceUnavailable("no inference endpoint is configured")
    let overloaded = false
    const errors: Array<string> = []
    for (const model of this.config.models) {
      for (const e of await this.candidates(model)) {
        const queuedAt = this.now()
        if (!(await this.acquire(e))) {
          overloaded = true
          inferenceRequests.inc({ gpu: e.gpu, outcome: "overloaded" })
          continue
        }
        const placement: Placement = { url: e.url, gpu: e.gpu, model, digest: e.served?.get(model) ?? "", queuedMs: this.now() - queuedAt }
        const waits = this.queueWaits.get(e.gpu) ?? []
        // The latest WAITS_KEPT per GPU: a long-lived worker must not grow without bound.
        if (waits.length >= WAITS_KEPT) waits.shift()
        waits.push(placement.queuedMs)
        this.queueWaits.set(e.gpu, waits)
        inferenceQueueWait.observe({ gpu: e.gpu }, placement.queuedMs / 1000)
        try {
          const value = await task(placement, this.fetcher)
          e.failures = 0
          inferenceRequests.inc({ gpu: e.gpu, outcome: "ok" })
          return { value, placement }
        } catch (error) {
          this.failed(e)
          inferenceRequests.inc({ gpu: e.gpu, outcome: "failed" })
          errors.push(`${e.url}: ${String((error as Error).message ?? error).split("\n")[0]}`)
        } finally {
          this.release(e)
        }
      }
    }
    if (errors.length > 0) throw new InferenceUnavailable(`every inference endpoint tried failed (${errors.join("; ")})`)
    if (overloaded) throw new InferenceUnavailable("every inference endpoint serving the models is overloaded (its GPU queue is full)")
    throw new InferenceUnavailable(`no healthy inference endpoint serves ${this.config.models.join(" or ")}`)
  }
}

/**
 * Delivers one webhook: POSTs a JSON summary to a `callback_url` when an analysis finishes.
 *
 * The body is serialised once and signed on every attempt (Signature.ts: the timestamp is the
 * attempt's, so a late retry still verifies within the receiver's tolerance). Each attempt runs
 * the SSRF guard (TargetGuard.ts) again, and again on every redirect hop: redirects are
 * followed by hand (at most `maxRedirects`), always as a POST with the same body and
 * signature — a webhook has nothing to say in a GET — and a hop to a refused address ends the
 * delivery before any request is sent there.
 *
 * DNS rebinding: the guard resolves the host and checks every address, and the request is
 * then sent to the first checked address itself (IPv4 first), not to the name: the URL's host
 * is replaced by that address, the Host header carries the original host, and for https the
 * TLS server name (SNI and certificate check) is the original host name (Bun's
 * `tls.serverName`). No second lookup happens between check and connect, so there is no
 * window in which a rebinding DNS answer could move the connection to a private address.
 * Proxies from the environment (HTTP_PROXY and friends) are ignored (`proxy: false`): a
 * proxy would resolve the name again itself. The cost: no fallback to the host's other
 * addresses within an attempt (the next attempt resolves and checks afresh).
 *
 * Retries: network errors, timeouts, DNS failures, 408, 429 and 5xx are retried with
 * exponential backoff (Effect Schedule: base × factor^(n-1), capped); a Retry-After header
 * (seconds or HTTP date) replaces the backoff delay when it is no longer than the cap. Any
 * other 4xx, a 3xx that is not a followable redirect, too many redirects and a refused target
 * end the delivery at once. Failure is data: the Effect never fails, it returns a record of
 * every attempt.
 */
import { isIP } from "node:net"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import { signatureHeader, SIGNATURE_HEADER } from "./Signature.ts"
import type { CheckedTarget, HostResolver, TargetGuardConfig } from "./TargetGuard.ts"
import { checkWebhookTarget } from "./TargetGuard.ts"
import { injectTraceContext } from "../../observability/TraceContext.ts"

export const USER_AGENT = "dshield-coord-webhook/1"
export const DELIVERY_ID_HEADER = "Coord-Delivery-Id"

export const DELIVERY_DEFAULTS = {
  /** Per attempt, covering DNS, every redirect hop and the response headers. */
  timeoutMs: 10_000,
  /** First attempt included. */
  maxAttempts: 5,
  baseDelayMs: 1_000,
  backoffFactor: 2,
  maxDelayMs: 60_000,
  maxRedirects: 3
} as const

/** One attempt: one POST, plus the redirect hops it followed. */
export interface DeliveryAttempt {
  /** 1-based. */
  readonly attempt: number
  /** ISO time the attempt started (Effect Clock). */
  readonly at: string
  /** The last URL this attempt requested, or was refused at (differs from the callback_url after a redirect). */
  readonly url: string
  /** The last HTTP status received in this attempt, when there was one. */
  readonly status?: number
  /** Why the attempt did not deliver. Absent when it did. */
  readonly error?: string
  readonly durationMs: number
}

export interface DeliveryRecord {
  readonly deliveryId: string
  readonly url: string
  readonly attempts: Array<DeliveryAttempt>
  readonly delivered: boolean
  /** One sentence: "delivered: HTTP 200 on attempt 3", the refusal, or why it gave up. */
  readonly finalReason: string
}

export interface DeliveryOptions<R = never> {
  /** The HMAC secret shared with the receiver. */
  readonly secret: string
  /** Deterministic id chosen by the caller (sent as Coord-Delivery-Id; the receiver's idempotency key). */
  readonly deliveryId: string
  readonly guard: TargetGuardConfig
  /** DNS resolver for the guard (tests); defaults to the system resolver. */
  readonly resolver?: HostResolver
  readonly timeoutMs?: number
  readonly maxAttempts?: number
  readonly baseDelayMs?: number
  readonly backoffFactor?: number
  readonly maxDelayMs?: number
  readonly maxRedirects?: number
  /** Called after every attempt, before any backoff sleep (to store it). */
  readonly onAttempt?: (attempt: DeliveryAttempt) => Effect.Effect<void, never, R> | void
}

type AttemptOutcome =
  | { readonly kind: "delivered"; readonly status: number }
  | { readonly kind: "final"; readonly status?: number; readonly error: string }
  | RetryableOutcome

interface RetryableOutcome {
  readonly kind: "retry"
  readonly status?: number
  readonly error: string
  readonly retryAfterMs?: number
}

const REDIRECTS = new Set([301, 302, 303, 307, 308])
const isRetryableStatus = (status: number): boolean => status === 408 || status === 429 || status >= 500

/** Retry-After as milliseconds from `nowMs`: delta-seconds or an HTTP date. */
export const parseRetryAfter = (value: string | null, nowMs: number): number | undefined => {
  if (value === null) return undefined
  const text = value.trim()
  if (/^\d{1,10}$/.test(text)) return Number(text) * 1000
  const date = Date.parse(text)
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs)
}

const describeNetworkError = (cause: unknown): string => {
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code
    const prefix = typeof code === "string" && !cause.message.startsWith(code) ? `${code}: ` : ""
    return `network error: ${prefix}${cause.message}`
  }
  return `network error: ${String(cause)}`
}

interface HopResponse {
  readonly status: number
  readonly location: string | null
  readonly retryAfter: string | null
}

/** One POST to the checked address itself (see the header on DNS rebinding). */
const postPinned = async (target: CheckedTarget, body: string, headers: Record<string, string>, signal: AbortSignal): Promise<HopResponse> => {
  const pinned = new URL(target.url)
  const address = target.addresses[0] ?? target.hostname
  pinned.hostname = isIP(address) === 6 ? `[${address}]` : address
  const named = isIP(target.hostname) === 0
  const response = await fetch(pinned, {
    method: "POST",
    body,
    headers: { ...headers, Host: target.hostHeader },
    redirect: "manual",
    signal,
    proxy: false,
    ...(target.protocol === "https:" && named ? { tls: { serverName: target.hostname } } : {})
  })
  const answer = { status: response.status, location: response.headers.get("location"), retryAfter: response.headers.get("retry-after") }
  await response.body?.cancel().catch(() => undefined)
  return answer
}

/**
 * POSTs `payload` as JSON to `url`, retrying as described above. Never fails: the record says
 * whether it was delivered and why not.
 */
export const deliverWebhook = Effect.fn("Webhooks.deliverWebhook")(function*<R = never>(
  url: string,
  payload: unknown,
  options: DeliveryOptions<R>
) {
  const timeoutMs = options.timeoutMs ?? DELIVERY_DEFAULTS.timeoutMs
  const maxAttempts = Math.max(1, Math.floor(options.maxAttempts ?? DELIVERY_DEFAULTS.maxAttempts))
  const baseDelayMs = options.baseDelayMs ?? DELIVERY_DEFAULTS.baseDelayMs
  const backoffFactor = options.backoffFactor ?? DELIVERY_DEFAULTS.backoffFactor
  const maxDelayMs = options.maxDelayMs ?? DELIVERY_DEFAULTS.maxDelayMs
  const maxRedirects = options.maxRedirects ?? DELIVERY_DEFAULTS.maxRedirects
  const attempts: Array<DeliveryAttempt> = []
  const record = (delivered: boolean, finalReason: string): DeliveryRecord => ({ deliveryId: options.deliveryId, url, attempts, delivered, finalReason })

  let body: string
  try {
    body = JSON.stringify(payload) ?? "null"
  } catch (cause) {
    return record(false, `the payload could not be serialised as JSON (${String(cause)}); nothing was sent.`)
  }

  /** One attempt: guard, POST, follow redirects; `progress` survives a timeout. */
  const runChain = (signedAt: number, progress: { url: string; status?: number }) =>
    Effect.gen(function*() {
      const headers: Record<string, string> = {
        "Content-Type": "application/json",
        [SIGNATURE_HEADER]: signatureHeader(options.secret, signedAt, body),
        [DELIVERY_ID_HEADER]: options.deliveryId,
        "User-Agent": USER_AGENT
      }
      // The receiver may continue the analysis's trace (W3C traceparent).
      yield* injectTraceContext((name, value) => void (headers[name] = value))
      for (let hop = 0;; hop++) {
        const checked = yield* Effect.result(
          checkWebhookTarget(progress.url, options.guard, {
            ...(options.resolver === undefined ? {} : { resolver: options.resolver }),
            subject: hop === 0 ? "callback_url" : `the redirect target ${progress.url}`
          })
        )
        if (Result.isFailure(checked)) {
          const refused = checked.failure._tag === "WebhookTargetRefused"
          return { kind: refused ? "final" : "retry", error: checked.failure.message } as AttemptOutcome
        }
        const sent = yield* Effect.result(
          Effect.tryPromise({ try: (signal) => postPinned(checked.success, body, headers, signal), catch: describeNetworkError })
        )
        if (Result.isFailure(sent)) return { kind: "retry", error: sent.failure } as AttemptOutcome
        const { status, location, retryAfter } = sent.success
        progress.status = status
        if (status >= 200 && status < 300) return { kind: "delivered", status } as AttemptOutcome
        if (REDIRECTS.has(status)) {
          if (location === null) return { kind: "final", status, error: `the receiver answered HTTP ${status} without a Location header; not retried.` } as AttemptOutcome
          if (hop >= maxRedirects) {
            return { kind: "final", status, error: `the receiver redirected more than ${maxRedirects} times; not retried.` } as AttemptOutcome
          }
          let next: string
          try {
            next = new URL(location, progress.url).href
          } catch {
            return { kind: "final", status, error: `the receiver redirected to ${JSON.stringify(location)}, which is not a URL; not retried.` } as AttemptOutcome
          }
          progress.url = next
          continue
        }
        if (isRetryableStatus(status)) {
          const retryAfterMs = parseRetryAfter(retryAfter, signedAt * 1000)
          return { kind: "retry", status, error: `the receiver answered HTTP ${status}.`, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) } as AttemptOutcome
        }
        return { kind: "final", status, error: `the receiver answered HTTP ${status}; only 408, 429 and 5xx are retried.` } as AttemptOutcome
      }
    })

  const attempt = Effect.gen(function*() {
    const number = attempts.length + 1
    const startedMs = yield* Clock.currentTimeMillis
    const progress: { url: string; status?: number } = { url }
    const outcome = yield* runChain(Math.floor(startedMs / 1000), progress).pipe(
      Effect.timeoutOrElse({
        duration: Duration.millis(timeoutMs),
        orElse: () => Effect.succeed<AttemptOutcome>({ kind: "retry", error: `no answer within ${timeoutMs} ms.` })
      })
    )
    const endedMs = yield* Clock.currentTimeMillis
    const entry: DeliveryAttempt = {
      attempt: number,
      at: new Date(startedMs).toISOString(),
      url: progress.url,
      ...(progress.status === undefined ? {} : { status: progress.status }),
      ...(outcome.kind === "delivered" ? {} : { error: outcome.error }),
      durationMs: endedMs - startedMs
    }
    attempts.push(entry)
    const stored = options.onAttempt?.(entry)
    if (Effect.isEffect(stored)) yield* (stored as Effect.Effect<void, never, R>)
    return outcome.kind === "retry" ? yield* Effect.fail(outcome) : outcome
  })

  const backoff = Schedule.exponential(Duration.millis(baseDelayMs), backoffFactor).pipe(
    Schedule.setInputType<RetryableOutcome>(),
    Schedule.modifyDelay(({ input, duration }) =>
      Effect.succeed(Duration.millis(
        input.retryAfterMs !== undefined && input.retryAfterMs <= maxDelayMs
          ? input.retryAfterMs
          : Math.min(Duration.toMillis(duration), maxDelayMs)
      ))
    ),
    Schedule.upTo({ times: maxAttempts - 1 })
  )

  const result = yield* attempt.pipe(Effect.retry(backoff), Effect.result)
  if (Result.isFailure(result)) {
    return record(false, `gave up after ${attempts.length} attempt${attempts.length === 1 ? "" : "s"}; the last one: ${result.failure.error}`)
  }
  const outcome = result.success
  if (outcome.kind === "delivered") return record(true, `delivered: HTTP ${outcome.status} on attempt ${attempts.length}.`)
  return record(false, outcome.error)
})

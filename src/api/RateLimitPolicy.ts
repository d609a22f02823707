/**
 * What the HTTP API's rate limits are and how one request's answer is worked out: the policy
 * windows (per principal, per client IP, per endpoint class) with their defaults and their
 * configuration, which windows a request counts against, how several windows' tallies become
 * the one answer a client sees (the most restrictive), the RateLimit-* headers for it, and
 * the UTC-day arithmetic of the daily analysis quota — and `RateLimitBackend`, the atomic
 * operations each backend (RateLimitMemory, RateLimitRedis) provides. No I/O and no clock
 * here: the backends keep the counts, the server passes `nowMs` in.
 *
 * Effect's own `effect/persistence` RateLimiter was considered: it offers fixed windows and
 * token buckets for one key per call, not a sliding window checked atomically across several
 * keys, which is what "deny without consuming the other windows" needs.
 */
import { createHash } from "node:crypto"
import { isIPv4, isIPv6 } from "node:net"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
/** At most `limit` requests in any `windowMs` milliseconds (a sliding window). */
export interface RateWindow {
  readonly limit: number
  readonly windowMs: number
}

/** Endpoint classes with their own window: submitting analyses is costly, reading is not. */
export const ENDPOINT_CLASSES = ["submit", "read"] as const
export type EndpointClass = (typeof ENDPOINT_CLASSES)[number]

export interface RateLimitPolicies {
  /** Per principal (API key id or token subject), across all endpoints. */
  readonly perPrincipal: RateWindow
  /** Per client IP (IPv6: per /64), across all endpoints and principals. */
  readonly perIp: RateWindow
  /** Per caller (the principal, or the client IP when there is none) per endpoint class. */
  readonly perEndpoint: Readonly<Record<EndpointClass, RateWindow>>
  /** Accepted analyses per principal per UTC day. */
  readonly dailyAnalyses: number
}

/**
 * Defaults: 600 requests a minute per principal; 1200 a minute per client IP (higher than
 * one principal's, so that several principals behind one NAT are not starved by each other,
 * while anonymous floods and key spraying from one address are still bounded); per caller 30
 * analysis submissions and 300 reads a minute; 1000 accepted analyses per principal per UTC
 * day.
 */
export const DEFAULT_RATE_LIMIT_POLICIES: RateLimitPolicies = {
  perPrincipal: { limit: 600, windowMs: 60_000 },
  perIp: { limit: 1200, windowMs: 60_000 },
  perEndpoint: {
    submit: { limit: 30, windowMs: 60_000 },
    read: { limit: 300, windowMs: 60_000 }
  },
  dailyAnalyses: 1000
}

/** The environment variables that override the defaults, e.g. `DSHIELD_RATE_LIMIT_IP=100/1m`. */
export const RATE_LIMIT_ENV = {
  perPrincipal: "DSHIELD_RATE_LIMIT_PRINCIPAL",
  perIp: "DSHIELD_RATE_LIMIT_IP",
  submit: "DSHIELD_RATE_LIMIT_SUBMIT",
  read: "DSHIELD_RATE_LIMIT_READ",
  dailyAnalyses: "DSHIELD_DAILY_ANALYSES"
} as const

export class RateLimitConfigError extends Schema.TaggedError<RateLimitConfigError>()("RateLimitConfigError", {
  message: Schema.String
}) {}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const
const MAX_WINDOW_MS = 24 * 3_600_000

/**
 * Reads `<limit>/<window>`: a positive whole number of requests per a window of `ms`, `s`,
 * `m` or `h` with an optional count (`30/m`, `600/60s`, `5/500ms`), at most one day.
 */
export const parseRateWindow = (text: string): RateWindow | undefined => {
  const match = /^\s*(\d+)\s*\/\s*(\d*)\s*(ms|s|m|h)\s*$/.exec(text)
  if (match === null) return undefined
  const limit = Number(match[1])
  const windowMs = (match[2] === "" ? 1 : Number(match[2])) * UNIT_MS[match[3] as keyof typeof UNIT_MS]
  if (!Number.isSafeInteger(limit) || limit < 1 || windowMs < 1 || windowMs > MAX_WINDOW_MS) return undefined
  return { limit, windowMs }
}

/** The policies: the defaults, each overridden by its environment variable when set. */
export const resolveRateLimitPolicies = Effect.fn("RateLimitPolicy.resolve")(function*(
  env: Record<string, string | undefined> = process.env,
  defaults: RateLimitPolicies = DEFAULT_RATE_LIMIT_POLICIES
) {
  const windowFrom = (name: string, fallback: RateWindow): Effect.Effect<RateWindow, RateLimitConfigError> => {
    const text = env[name]
    if (text === undefined || text.trim() === "") return Effect.succeed(fallback)
    const parsed = parseRateWindow(text)
    return parsed === undefined
      ? Effect.fail(new RateLimitConfigError({ message: `${name}=${JSON.stringify(text)} is not <limit>/<window> such as 600/1m, 30/60s or 5/500ms (limit >= 1, window <= 24h).` }))
      : Effect.succeed(parsed)
  }
  const daily = env[RATE_LIMIT_ENV.dailyAnalyses]
  let dailyAnalyses = defaults.dailyAnalyses
  if (daily !== undefined && daily.trim() !== "") {
    dailyAnalyses = Number(daily.trim())
    if (!/^\d+$/.test(daily.trim()) || !Number.isSafeInteger(dailyAnalyses)) {
      return yield* new RateLimitConfigError({ message: `${RATE_LIMIT_ENV.dailyAnalyses}=${JSON.stringify(daily)} is not a whole number of analyses per day.` })
    }
  }
  return {
    perPrincipal: yield* windowFrom(RATE_LIMIT_ENV.perPrincipal, defaults.perPrincipal),
    perIp: yield* windowFrom(RATE_LIMIT_ENV.perIp, defaults.perIp),
    perEndpoint: {
      submit: yield* windowFrom(RATE_LIMIT_ENV.submit, defaults.perEndpoint.submit),
      read: yield* windowFrom(RATE_LIMIT_ENV.read, defaults.perEndpoint.read)
    },
    dailyAnalyses
  } satisfies RateLimitPolicies
})

/** One request as the limiter sees it. */
export interface RateLimitRequest {
  /** The API key's id or the token subject — an identifier, never the secret itself. */
  readonly principal?: string | undefined
  /** The client address as the server determined it (after any trusted-proxy handling). */
  readonly ip?: string | undefined
  readonly endpoint: EndpointClass
  /** The server's clock, read once per request. */
  readonly nowMs: number
}

/** A window one request counts against: `policy` names it for logs and headers. */
export interface WindowHit extends RateWindow {
  readonly policy: string
  readonly key: string
}

/**
 * An identifier as it appears in a storage key: hashed, so API key ids or subjects are not
 * readable to whoever can read Redis, and odd characters cannot collide with the key layout.
 */
export const principalKey = (principal: string): string => createHash("sha256").update(principal).digest("base64url").slice(0, 22)

const expandIPv6 = (address: string): Array<number> => {
  let text = address
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (v4 !== null) {
    const [a, b, c, d] = v4[1]!.split(".").map(Number) as [number, number, number, number]
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head = "", tail] = text.split("::")
  const parse = (part: string): Array<number> => (part === "" ? [] : part.split(":").map((h) => parseInt(h, 16)))
  const front = parse(head)
  const back = tail === undefined ? [] : parse(tail)
  return [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back]
}

/**
 * The unit a per-IP window counts: an IPv4 address as it is (IPv4-mapped IPv6 included); an
 * IPv6 address by its /64, since one host commonly holds a whole /64 and could otherwise
 * rotate addresses to escape its window. Anything that is not an address is used as given.
 */
export const clientIpBucket = (ip: string): string => {
  const bare = ip.trim().replace(/^\[(.*)\]$/, "$1").replace(/%.*$/, "").toLowerCase()
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare)
  if (mapped !== null && isIPv4(mapped[1]!)) return mapped[1]!
  if (isIPv4(bare) || !isIPv6(bare)) return bare
  return `${expandIPv6(bare).slice(0, 4).map((h) => h.toString(16)).join(":")}::/64`
}

/**
 * The windows `request` counts against: its principal's (when it has one), its client IP's
 * (when known), and its endpoint class's for the caller — the principal, else the IP bucket,
 * else one shared anonymous caller.
 */
export const windowsFor = (policies: RateLimitPolicies, request: RateLimitRequest): ReadonlyArray<WindowHit> => {
  const windows: Array<WindowHit> = []
  const principal = request.principal === undefined || request.principal === "" ? undefined : principalKey(request.principal)
  const ip = request.ip === undefined || request.ip === "" ? undefined : clientIpBucket(request.ip)
  if (principal !== undefined) windows.push({ policy: "principal", key: `principal:${principal}`, ...policies.perPrincipal })
  if (ip !== undefined) windows.push({ policy: "ip", key: `ip:${ip}`, ...policies.perIp })
  const caller = principal !== undefined ? `principal:${principal}` : ip !== undefined ? `ip:${ip}` : "anonymous"
  windows.push({ policy: `endpoint:${request.endpoint}`, key: `endpoint:${request.endpoint}:${caller}`, ...policies.perEndpoint[request.endpoint] })
  return windows
}

/** What a backend reports for one window after an atomic check of all of a request's windows. */
export interface WindowTally {
  /** Hits now in the window; includes this request only when every window allowed it. */
  readonly count: number
  /**
   * Time of the hit whose leaving the window frees the next slot (the oldest, or — when the
   * window holds more than its limit after a lowered limit — the one at rank count - limit);
   * undefined when the window is empty.
   */
  readonly freesSlotHitMs: number | undefined
}

export interface HitOutcome {
  /** Every window allowed the request, and it was counted in each; otherwise in none. */
  readonly allowed: boolean
  readonly tallies: ReadonlyArray<WindowTally>
}

/** The atomic operations a rate-limit backend provides; `E` is how it fails. */
export interface RateLimitBackend<E> {
  /**
   * Drops hits older than each window, and — only when every window has room — counts one hit
   * at `nowMs` in each. `member` is unique to this hit (backends that store members need it).
   */
  readonly hit: (windows: ReadonlyArray<WindowHit>, nowMs: number, member: string) => Effect.Effect<HitOutcome, E>
  /** Adds one to the counter `key` unless it has reached `limit`; the counter ends at `expiresAtMs`. */
  readonly consumeQuota: (key: string, limit: number, nowMs: number, expiresAtMs: number) => Effect.Effect<{ readonly allowed: boolean; readonly used: number }, E>
  /** Takes one back from the counter `key` (never below 0). */
  readonly refundQuota: (key: string, nowMs: number) => Effect.Effect<void, E>
  readonly quotaUsed: (key: string, nowMs: number) => Effect.Effect<number, E>
}

/** The answer for one request, describing its most restrictive window. */
export interface RateLimitDecision {
  readonly allowed: boolean
  readonly limit: number
  readonly remaining: number
  /** Seconds until the oldest counted hit leaves this window, freeing a slot (0: window empty). */
  readonly resetSeconds: number
  /** When denied: seconds until a retry can be allowed by every window that denied it (>= 1). */
  readonly retryAfterSeconds?: number
  /** Which window the numbers describe: "principal", "ip", "endpoint:submit", ... */
  readonly policy: string
  readonly windowMs: number
}

/**
 * Combines per-window tallies into one decision. Denied: the denying window that frees last
 * (a retry must wait for all of them). Allowed: the window with the fewest remaining requests,
 * the one that frees later on a tie — the closest to denying the next request.
 */
export const decide = (windows: ReadonlyArray<WindowHit>, outcome: HitOutcome, nowMs: number): RateLimitDecision => {
  const perWindow = windows.map((window, i) => {
    const tally = outcome.tallies[i] ?? { count: 0, freesSlotHitMs: undefined }
    const resetSeconds = tally.freesSlotHitMs === undefined ? 0 : Math.max(0, Math.ceil((tally.freesSlotHitMs + window.windowMs - nowMs) / 1000))
    return {
      denies: !outcome.allowed && tally.count >= window.limit,
      limit: window.limit,
      remaining: Math.max(0, window.limit - tally.count),
      resetSeconds,
      policy: window.policy,
      windowMs: window.windowMs
    }
  })
  const candidates = outcome.allowed ? perWindow : perWindow.filter((w) => w.denies)
  const worst = candidates.reduce((a, b) => {
    if (!outcome.allowed) return b.resetSeconds > a.resetSeconds ? b : a
    if (b.remaining !== a.remaining) return b.remaining < a.remaining ? b : a
    return b.resetSeconds > a.resetSeconds ? b : a
  })
  const base = { limit: worst.limit, remaining: worst.remaining, resetSeconds: worst.resetSeconds, policy: worst.policy, windowMs: worst.windowMs }
  return outcome.allowed ? { allowed: true, ...base } : { allowed: false, ...base, remaining: 0, retryAfterSeconds: Math.max(1, worst.resetSeconds) }
}

/**
 * The response headers for a decision: RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset
 * and RateLimit-Policy (`<limit>;w=<seconds>`), plus Retry-After when denied.
 */
export const rateLimitHeaders = (decision: RateLimitDecision): Record<string, string> => ({
  "RateLimit-Limit": String(decision.limit),
  "RateLimit-Remaining": String(decision.remaining),
  "RateLimit-Reset": String(decision.resetSeconds),
  "RateLimit-Policy": `${decision.limit};w=${Math.max(1, Math.ceil(decision.windowMs / 1000))}`,
  ...(decision.retryAfterSeconds === undefined ? {} : { "Retry-After": String(decision.retryAfterSeconds) })
})

const DAY_MS = 86_400_000

/** The daily quota's state for one principal. */
export interface DailyQuota {
  readonly used: number
  readonly limit: number
  /** Seconds until the UTC day ends and `used` starts again from 0. */
  readonly resetSeconds: number
}

export interface QuotaDecision extends DailyQuota {
  /** The analysis was within the quota and has been counted. */
  readonly allowed: boolean
}

/** The UTC day of `nowMs` as YYYY-MM-DD, and the instant (ms) at which it ends. */
export const utcDay = (nowMs: number): { readonly stamp: string; readonly endsAtMs: number } => {
  const start = Math.floor(nowMs / DAY_MS) * DAY_MS
  return { stamp: new Date(start).toISOString().slice(0, 10), endsAtMs: start + DAY_MS }
}

/**
 * Outgoing webhooks (src/api/webhooks/): the SSRF guard, the signature, and delivery against
 * real receivers on 127.0.0.1 (allowed one port at a time through allowedTargets).
 */
import { afterEach, describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import type { DeliveryAttempt, DeliveryOptions } from "../../src/api/webhooks/Delivery.ts"
import { deliverWebhook, parseRetryAfter } from "../../src/api/webhooks/Delivery.ts"
import { computeSignature, signatureHeader, verifySignature } from "../../src/api/webhooks/Signature.ts"
import type { HostResolver, TargetGuardConfig } from "../../src/api/webhooks/TargetGuard.ts"
import { checkWebhookTarget, classifyAddress } from "../../src/api/webhooks/TargetGuard.ts"

const STRICT: TargetGuardConfig = { allowPrivateTargets: false, allowedTargets: [] }

/** A fixed DNS table; unknown names fail like getaddrinfo does. */
const table = (entries: Record<string, ReadonlyArray<string>>): HostResolver => async (hostname) => {
  const found = entries[hostname]
  if (found === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" })
  return found
}

const resolver = table({
  "evil.example": ["127.0.0.1"],
  "mixed.example": ["93.184.216.34", "10.1.2.3"],
  "public.example": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
  "rebind.example": ["::ffff:169.254.169.254"]
})

const check = (url: string, config: TargetGuardConfig = STRICT) =>
  Effect.runPromise(Effect.result(checkWebhookTarget(url, config, { resolver })))

const refusal = async (url: string, config: TargetGuardConfig = STRICT): Promise<string> => {
  const result = await check(url, config)
  if (Result.isSuccess(result)) throw new Error(`${url} was accepted: ${JSON.stringify(result.success)}`)
  expect(result.failure._tag).toBe("WebhookTargetRefused")
  return result.failure.message
}

describe("TargetGuard: refused targets", () => {
  const ADVICE = "webhooks may only call public addresses unless the server allows the target (--allow-webhook-targets HOST:PORT, or --allow-private-webhooks)."

  test("the exact sentence for a loopback literal", async () => {
    expect(await refusal("http://127.0.0.1/")).toBe(`callback_url points at 127.0.0.1, a loopback address; ${ADVICE}`)
  })

  test.each([
    ["http://[::1]/", "points at ::1, a loopback address"],
    ["http://169.254.169.254/latest/meta-data", "points at 169.254.169.254, a link-local address (the cloud metadata endpoint)"],
    ["http://10.0.0.1/", "points at 10.0.0.1, a private address"],
    // Bun's URL parser turns every numeric host form into a dotted quad before the guard sees it.
    ["http://0x7f000001/", "points at 127.0.0.1, a loopback address"],
    ["http://2130706433/", "points at 127.0.0.1, a loopback address"],
    ["http://0x7f.1/", "points at 127.0.0.1, a loopback address"],
    ["http://0177.0.0.1/", "points at 127.0.0.1, a loopback address"],
    ["http://[::ffff:127.0.0.1]/", "points at ::ffff:7f00:1 (IPv4-mapped 127.0.0.1), a loopback address"],
    ["http://[::ffff:7f00:1]/", "points at ::ffff:7f00:1 (IPv4-mapped 127.0.0.1), a loopback address"],
    ["http://[::127.0.0.1]/", "points at ::7f00:1 (IPv4-compatible 127.0.0.1), a loopback address"],
    ["http://[64:ff9b::a00:1]/", "points at 64:ff9b::a00:1 (NAT64 10.0.0.1), a private address"],
    ["http://[2002:a9fe:a9fe::1]/", "points at 2002:a9fe:a9fe::1 (6to4 169.254.169.254), a link-local address (the cloud metadata endpoint)"],
    ["http://0.0.0.0:8080/", "points at 0.0.0.0, an unspecified (\"this network\") address"],
    ["http://[::]/", "points at ::, an unspecified address"],
    ["http://172.16.5.4/", "a private address"],
    ["http://192.168.1.1/", "a private address"],
    ["http://100.64.0.1/", "a carrier-grade NAT (shared) address"],
    ["http://224.0.0.251/", "a multicast address"],
    ["http://255.255.255.255/", "the broadcast address"],
    ["http://240.0.0.1/", "a reserved address"],
    ["http://198.19.0.1/", "a benchmarking address"],
    ["http://203.0.113.7/", "a documentation address"],
    ["http://[fe80::1]/", "a link-local address"],
    ["http://[fd00::5]/", "a unique-local (private) address"],
    ["http://[ff02::1]/", "a multicast address"],
    ["http://[2001:db8::1]/", "a documentation address"],
    ["http://[4000::1]/", "an address outside global unicast space"],
    ["http://evil.example/hook", "callback_url host evil.example resolves to 127.0.0.1, a loopback address"],
    ["http://mixed.example/hook", "callback_url host mixed.example resolves to 10.1.2.3, a private address"],
    ["https://rebind.example/", "resolves to ::ffff:169.254.169.254 (IPv4-mapped 169.254.169.254), a link-local address (the cloud metadata endpoint)"]
  ])("%s", async (url, reason) => {
    const message = await refusal(url)
    expect(message).toContain(reason)
    expect(message.endsWith(ADVICE)).toBe(true)
  })

  test("localhost through the system resolver", async () => {
    const result = await Effect.runPromise(Effect.result(checkWebhookTarget("http://localhost:8080/", STRICT)))
    expect(Result.isFailure(result)).toBe(true)
    if (Result.isFailure(result)) {
      expect(result.failure._tag).toBe("WebhookTargetRefused")
      expect(result.failure.message).toMatch(/^callback_url host localhost resolves to (127\.0\.0\.1|::1), a loopback address;/)
    }
  })

  test.each([
    ["ftp://example.com/file", "callback_url uses the ftp scheme; webhooks may only use http or https."],
    ["file:///etc/passwd", "callback_url uses the file scheme; webhooks may only use http or https."],
    ["gopher://example.com/", "callback_url uses the gopher scheme; webhooks may only use http or https."],
    ["http://user:secret@public.example/", "callback_url contains a user name or password; put credentials in the shared secret, not in the URL."],
    ["https://user@public.example/", "callback_url contains a user name or password; put credentials in the shared secret, not in the URL."],
    ["not a url", "callback_url \"not a url\" is not a valid absolute URL; give an http or https URL."]
  ])("%s", async (url, message) => {
    expect(await refusal(url)).toBe(message)
  })

  test("a name that does not resolve is unresolved (retryable), not refused", async () => {
    const result = await check("http://nowhere.example/")
    expect(Result.isFailure(result) && result.failure._tag).toBe("WebhookTargetUnresolved")
    if (Result.isFailure(result)) expect(result.failure.message).toBe("callback_url host nowhere.example could not be resolved (ENOTFOUND); check the name.")
  })
})

describe("TargetGuard: accepted targets", () => {
  test("a public name: every address is named, IPv4 first", async () => {
    const result = await check("https://public.example/hooks?x=1")
    expect(Result.isSuccess(result)).toBe(true)
    if (Result.isSuccess(result)) {
      expect(result.success).toEqual({
        url: "https://public.example/hooks?x=1",
        protocol: "https:",
        hostname: "public.example",
        hostHeader: "public.example",
        port: 443,
        addresses: ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
        allowedBy: "public-addresses"
      })
    }
  })

  test("public literals, including NAT64 and 6to4 of a public IPv4", async () => {
    for (const url of ["http://8.8.8.8/", "http://[2606:4700:4700::1111]/", "http://[64:ff9b::808:808]/", "http://[2002:808:808::1]/", "http://172.32.0.1/", "http://100.128.0.1/"]) {
      const result = await check(url)
      expect({ url, ok: Result.isSuccess(result) }).toEqual({ url, ok: true })
    }
  })

  test("allowedTargets allows exactly one host:port", async () => {
    const config: TargetGuardConfig = { allowPrivateTargets: false, allowedTargets: ["127.0.0.1:8080", "evil.example:80"] }
    const allowed = await check("http://127.0.0.1:8080/hook", config)
    expect(Result.isSuccess(allowed) && allowed.success.allowedBy).toBe("allowed-targets")
    const named = await check("http://evil.example/hook", config)
    expect(Result.isSuccess(named) && named.success.addresses).toEqual(["127.0.0.1"])
    expect(await refusal("http://127.0.0.1:8081/hook", config)).toContain("127.0.0.1, a loopback address")
    expect(await refusal("http://evil.example:8080/hook", config)).toContain("resolves to 127.0.0.1")
  })

  test("allowPrivateTargets switches the address check off, not the scheme check", async () => {
    const config: TargetGuardConfig = { allowPrivateTargets: true, allowedTargets: [] }
    const result = await check("http://10.0.0.1/", config)
    expect(Result.isSuccess(result) && result.success.allowedBy).toBe("allow-private-targets")
    expect(await refusal("file:///etc/passwd", config)).toContain("file scheme")
  })

  test("range boundaries", () => {
    const isPublic = (a: string) => classifyAddress(a).public
    expect(["172.15.255.255", "172.32.0.0", "100.63.255.255", "100.128.0.0", "198.17.255.255", "198.20.0.0", "223.255.255.255", "11.0.0.0"].map(isPublic)).toEqual(
      [true, true, true, true, true, true, true, true]
    )
    expect(["172.16.0.0", "172.31.255.255", "100.64.0.0", "100.127.255.255", "198.18.0.0", "198.19.255.255", "224.0.0.0", "9.255.255.255"].map(isPublic)).toEqual(
      [false, false, false, false, false, false, false, true]
    )
    expect(["fbff::1", "fc00::", "fdff:ffff::1", "fe7f::1", "fe80::", "febf::1", "fe80::1%eth0", "garbage"].map(isPublic)).toEqual(
      [false, false, false, false, false, false, false, false]
    )
    expect(classifyAddress("fbff::1")).toEqual({ public: false, kind: "an address outside global unicast space" })
  })
})

describe("Signature", () => {
  const secret = "whsec_test"
  const body = "{\"id\":\"a-1\",\"campaigns\":2}"
  // openssl: printf '%s' '1700000000.{"id":"a-1","campaigns":2}' | openssl dgst -sha256 -hmac whsec_test
  const HEX = "62ead65326198fd7e02802fe5a2297f7b1f7c7f3479d991563ef778dba0f9d7d"

  test("HMAC-SHA256 over `${t}.${body}`, in the documented header format", () => {
    expect(computeSignature(secret, 1_700_000_000, body)).toBe(HEX)
    expect(signatureHeader(secret, 1_700_000_000, body)).toBe(`t=1700000000,v1=${HEX}`)
  })

  test("verifySignature accepts the right signature and nothing else", () => {
    const header = `t=1700000000,v1=${HEX}`
    expect(verifySignature(secret, header, body, 1_700_000_000)).toBe(true)
    expect(verifySignature(secret, header, body, 1_700_000_300)).toBe(true)
    expect(verifySignature(secret, header, body, 1_700_000_301)).toBe(false)
    expect(verifySignature(secret, header, body, 1_699_999_699)).toBe(false)
    expect(verifySignature(secret, header, body, 1_700_001_000, 1_000)).toBe(true)
    expect(verifySignature("other", header, body, 1_700_000_000)).toBe(false)
    expect(verifySignature(secret, header, body + " ", 1_700_000_000)).toBe(false)
    expect(verifySignature(secret, `t=1700000001,v1=${HEX}`, body, 1_700_000_000)).toBe(false)
    expect(verifySignature(secret, `t=1700000000,v1=${HEX.toUpperCase()}`, body, 1_700_000_000)).toBe(false)
    expect(verifySignature(secret, `t=1700000000,v1=${HEX.slice(2)}`, body, 1_700_000_000)).toBe(false)
    expect(verifySignature(secret, `v1=${HEX}`, body, 1_700_000_000)).toBe(false)
    expect(verifySignature(secret, null, body, 1_700_000_000)).toBe(false)
    expect(verifySignature(secret, `t=1700000000, v1=${"0".repeat(64)}, v1=${HEX}`, body, 1_700_000_000)).toBe(true)
  })

  test("docs/webhooks.md shows verifySignature verbatim, and its example header is right", () => {
    const source = readFileSync(new URL("../../src/api/webhooks/Signature.ts", import.meta.url), "utf8")
    const docs = readFileSync(new URL("../../docs/webhooks.md", import.meta.url), "utf8")
    const snippet = source.split("// receiver snippet: start\n")[1]?.split("// receiver snippet: end")[0] ?? ""
    expect(snippet).toContain("export function verifySignature(")
    expect(docs).toContain(snippet)
    expect(docs).toContain(`Coord-Signature: t=1700000000,v1=${HEX}`)
    expect(docs).toContain(body)
  })
})

// ---------------------------------------------------------------------------------------------
// Delivery against real receivers
// ---------------------------------------------------------------------------------------------

interface Received {
  readonly method: string
  readonly path: string
  readonly headers: Record<string, string>
  readonly body: string
}

const servers: Array<{ stop: (force?: boolean) => unknown }> = []
afterEach(() => {
  for (const server of servers.splice(0)) server.stop(true)
})

/** A receiver on 127.0.0.1 answering with `answer(n)` for its n-th request (1-based). */
const receiver = (answer: (n: number, request: Request) => Response | Promise<Response>) => {
  const received: Array<Received> = []
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: async (request) => {
      received.push({
        method: request.method,
        path: new URL(request.url).pathname,
        headers: Object.fromEntries(request.headers.entries()),
        body: await request.text()
      })
      return answer(received.length, request)
    }
  })
  servers.push(server)
  return { port: server.port as number, received, url: `http://127.0.0.1:${server.port}` }
}

const SECRET = "test-secret"
const allow = (...ports: Array<number>): TargetGuardConfig => ({ allowPrivateTargets: false, allowedTargets: ports.map((p) => `127.0.0.1:${p}`) })
const options = (guard: TargetGuardConfig, extra: Partial<DeliveryOptions> = {}): DeliveryOptions => ({
  secret: SECRET,
  deliveryId: "analysis-42:completed",
  guard,
  baseDelayMs: 20,
  timeoutMs: 2_000,
  ...extra
})
const deliver = (url: string, payload: unknown, opts: DeliveryOptions) => Effect.runPromise(deliverWebhook(url, payload, opts))

describe("deliverWebhook", () => {
  test("POSTs the JSON once, signed so verifySignature accepts it", async () => {
    const r = receiver(() => new Response("ok"))
    const payload = { analysis_id: "analysis-42", status: "completed", campaigns: 3, note: "ünïcode ✓" }
    const seen: Array<DeliveryAttempt> = []
    const record = await deliver(`${r.url}/hook?x=1`, payload, options(allow(r.port), { onAttempt: (a) => void seen.push(a) }))
    expect(record.delivered).toBe(true)
    expect(record.finalReason).toBe("delivered: HTTP 200 on attempt 1.")
    expect(record.deliveryId).toBe("analysis-42:completed")
    expect(record.attempts.map((a) => [a.attempt, a.status, a.error, a.url])).toEqual([[1, 200, undefined, `${r.url}/hook?x=1`]])
    expect(seen).toEqual(record.attempts)
    expect(Number.isNaN(Date.parse(record.attempts[0]!.at))).toBe(false)
    expect(r.received).toHaveLength(1)
    const got = r.received[0]!
    expect(got.method).toBe("POST")
    expect(got.path).toBe("/hook")
    expect(got.body).toBe(JSON.stringify(payload))
    expect(JSON.parse(got.body)).toEqual(payload)
    expect(got.headers["content-type"]).toBe("application/json")
    expect(got.headers["user-agent"]).toBe("dshield-coord-webhook/1")
    expect(got.headers["coord-delivery-id"]).toBe("analysis-42:completed")
    expect(got.headers["host"]).toBe(`127.0.0.1:${r.port}`)
    const header = got.headers["coord-signature"] ?? ""
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/)
    const now = Math.floor(Date.now() / 1000)
    expect(verifySignature(SECRET, header, got.body, now)).toBe(true)
    expect(verifySignature("wrong-secret", header, got.body, now)).toBe(false)
  })

  test("503, 503, 200: retried with exponential backoff and delivered on attempt 3", async () => {
    const r = receiver((n) => new Response("", { status: n < 3 ? 503 : 200 }))
    const record = await deliver(r.url, { n: 1 }, options(allow(r.port), { baseDelayMs: 40 }))
    expect(record.delivered).toBe(true)
    expect(record.finalReason).toBe("delivered: HTTP 200 on attempt 3.")
    expect(record.attempts.map((a) => [a.attempt, a.status, a.error])).toEqual([
      [1, 503, "the receiver answered HTTP 503."],
      [2, 503, "the receiver answered HTTP 503."],
      [3, 200, undefined]
    ])
    expect(r.received).toHaveLength(3)
    // Same delivery id every time; every attempt's signature verifies.
    expect(new Set(r.received.map((x) => x.headers["coord-delivery-id"]))).toEqual(new Set(["analysis-42:completed"]))
    for (const x of r.received) expect(verifySignature(SECRET, x.headers["coord-signature"], x.body, Math.floor(Date.now() / 1000))).toBe(true)
    const starts = record.attempts.map((a) => Date.parse(a.at))
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(40)
    expect(starts[2]! - starts[1]!).toBeGreaterThanOrEqual(80)
  })

  test("a receiver answering 400 is not retried", async () => {
    const r = receiver(() => new Response("bad", { status: 400 }))
    const record = await deliver(r.url, {}, options(allow(r.port)))
    expect(record.delivered).toBe(false)
    expect(record.finalReason).toBe("the receiver answered HTTP 400; only 408, 429 and 5xx are retried.")
    expect(record.attempts).toHaveLength(1)
    expect(r.received).toHaveLength(1)
  })

  test("gives up after maxAttempts", async () => {
    const r = receiver(() => new Response("", { status: 500 }))
    const record = await deliver(r.url, {}, options(allow(r.port), { maxAttempts: 3, baseDelayMs: 5 }))
    expect(record.delivered).toBe(false)
    expect(record.finalReason).toBe("gave up after 3 attempts; the last one: the receiver answered HTTP 500.")
    expect(r.received).toHaveLength(3)
  })

  test("Retry-After replaces the backoff delay (here 0 s instead of 30 s)", async () => {
    const r = receiver((n) => new Response("", { status: n === 1 ? 429 : 204, headers: n === 1 ? { "Retry-After": "0" } : {} }))
    const started = Date.now()
    const record = await deliver(r.url, {}, options(allow(r.port), { baseDelayMs: 30_000 }))
    expect(record.finalReason).toBe("delivered: HTTP 204 on attempt 2.")
    expect(Date.now() - started).toBeLessThan(2_000)
    expect(parseRetryAfter("120", 0)).toBe(120_000)
    expect(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", Date.UTC(2015, 9, 21, 7, 27, 30))).toBe(30_000)
    expect(parseRetryAfter("soon", 0)).toBeUndefined()
  })

  test("a redirect to a loopback port not in allowedTargets is refused before any request", async () => {
    const hidden = receiver(() => new Response("secret"))
    const r = receiver(() => new Response(null, { status: 302, headers: { Location: `${hidden.url}/admin` } }))
    const record = await deliver(`${r.url}/hook`, { x: 1 }, options(allow(r.port)))
    expect(hidden.received).toHaveLength(0)
    expect(r.received).toHaveLength(1)
    expect(record.delivered).toBe(false)
    expect(record.finalReason).toBe(
      `the redirect target ${hidden.url}/admin points at 127.0.0.1, a loopback address; webhooks may only call public addresses unless the server allows the target (--allow-webhook-targets HOST:PORT, or --allow-private-webhooks).`
    )
    expect(record.attempts.map((a) => [a.status, a.url])).toEqual([[302, `${hidden.url}/admin`]])
  })

  test("a redirect to an allowed target is followed, as the same signed POST", async () => {
    const second = receiver(() => new Response("ok"))
    const first = receiver(() => new Response(null, { status: 302, headers: { Location: `${second.url}/moved` } }))
    const record = await deliver(`${first.url}/hook`, { x: 2 }, options(allow(first.port, second.port)))
    expect(record.finalReason).toBe("delivered: HTTP 200 on attempt 1.")
    expect(record.attempts.map((a) => [a.status, a.url])).toEqual([[200, `${second.url}/moved`]])
    expect(second.received.map((x) => [x.method, x.path, x.body])).toEqual([["POST", "/moved", "{\"x\":2}"]])
    expect(second.received[0]!.headers["coord-signature"]).toBe(first.received[0]!.headers["coord-signature"])
  })

  test("at most maxRedirects hops", async () => {
    const loop = receiver((n) => new Response(null, { status: 307, headers: { Location: `/again/${n}` } }))
    const record = await deliver(loop.url, {}, options(allow(loop.port), { maxRedirects: 2 }))
    expect(record.finalReason).toBe("the receiver redirected more than 2 times; not retried.")
    expect(loop.received.map((x) => x.path)).toEqual(["/", "/again/1", "/again/2"])
  })

  test("the connection goes to the checked address; Host keeps the name", async () => {
    const r = receiver(() => new Response("ok"))
    const record = await deliver(`http://receiver.test:${r.port}/hook`, {}, {
      ...options({ allowPrivateTargets: false, allowedTargets: [`receiver.test:${r.port}`] }),
      resolver: table({ "receiver.test": ["127.0.0.1"] })
    })
    expect(record.delivered).toBe(true)
    expect(r.received[0]!.headers["host"]).toBe(`receiver.test:${r.port}`)
  })

  test("a refused callback_url is one attempt, not retried, nothing sent", async () => {
    const r = receiver(() => new Response("ok"))
    const record = await deliver(`${r.url}/hook`, {}, options(STRICT))
    expect(record.delivered).toBe(false)
    expect(record.finalReason).toContain("callback_url points at 127.0.0.1, a loopback address")
    expect(record.attempts).toHaveLength(1)
    expect(r.received).toHaveLength(0)
  })

  test("network errors and timeouts are retried and recorded", async () => {
    const closed = receiver(() => new Response("ok"))
    servers.pop()!.stop(true)
    const refused = await deliver(closed.url, {}, options(allow(closed.port), { maxAttempts: 2, baseDelayMs: 5 }))
    expect(refused.delivered).toBe(false)
    expect(refused.attempts).toHaveLength(2)
    expect(refused.attempts[0]!.error).toContain("network error")
    expect(refused.attempts[0]!.error).toContain("ECONNREFUSED")
    expect(refused.finalReason).toStartWith("gave up after 2 attempts; the last one: network error")

    const slow = receiver(async () => {
      await Bun.sleep(1_000)
      return new Response("late")
    })
    const timedOut = await deliver(slow.url, {}, options(allow(slow.port), { maxAttempts: 1, timeoutMs: 100 }))
    expect(timedOut.finalReason).toBe("gave up after 1 attempt; the last one: no answer within 100 ms.")
    expect(timedOut.attempts[0]!.durationMs).toBeGreaterThanOrEqual(90)
    expect(timedOut.attempts[0]!.durationMs).toBeLessThan(900)
  })

  test("an onAttempt Effect runs once per attempt, in order", async () => {
    const r = receiver((n) => new Response("", { status: n === 1 ? 502 : 200 }))
    const stored: Array<string> = []
    const record = await deliver(r.url, {}, options(allow(r.port), {
      onAttempt: (a) => Effect.sync(() => void stored.push(`${a.attempt}:${a.status}`))
    }))
    expect(record.delivered).toBe(true)
    expect(stored).toEqual(["1:502", "2:200"])
  })

  test("an unserialisable payload is a failed record, not an exception", async () => {
    const cyclic: Record<string, unknown> = {}
    cyclic["self"] = cyclic
    const record = await deliver("http://127.0.0.1:9/", cyclic, options(STRICT))
    expect(record.delivered).toBe(false)
    expect(record.attempts).toHaveLength(0)
    expect(record.finalReason).toStartWith("the payload could not be serialised as JSON")
  })
})

/**
 * Decides whether the engine may call a webhook URL (the SSRF guard).
 *
 * A `callback_url` is chosen by whoever submits an analysis, so without this check the server
 * could be made to POST into its own network: the loopback admin port, a database, the cloud
 * metadata endpoint at 169.254.169.254. The rules:
 *
 * - only `http:` and `https:`; no user name or password in the URL;
 * - the host is resolved with DNS and EVERY address it resolves to must be public unicast —
 *   one private address among public ones is enough to refuse (a DNS answer is not ours to
 *   pick from);
 * - IPv6 forms that carry an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible
 *   `::a.b.c.d`, IPv4-translated `::ffff:0:a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`)
 *   are judged by the IPv4 address inside;
 * - decimal, octal and hex host forms (`http://2130706433/`, `http://0x7f.1/`) need no rule
 *   of their own: WHATWG URL parsing (Bun's `URL`) turns them into dotted quads before the
 *   guard sees them, and the guard judges what the URL parser produced — the same host the
 *   request goes to;
 * - an operator can let one receiver through anyway: `allowedTargets` lists exact
 *   `host:port` strings (host as the URL parser writes it, port explicit, e.g.
 *   `127.0.0.1:8080`, `[::1]:8080`, `hooks.internal:443`); `allowPrivateTargets: true`
 *   switches the address check off altogether (scheme and userinfo rules still apply).
 *
 * The answer names the addresses that were checked, so the caller can connect to exactly
 * those (Delivery.ts pins the connection to them: no second DNS lookup an attacker could
 * answer differently).
 */
import { lookup } from "node:dns/promises"
import { isIP } from "node:net"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
/** What an operator may loosen. */
export interface TargetGuardConfig {
  /** true: any resolved address is accepted (internal deployments). Default false. */
  readonly allowPrivateTargets: boolean
  /** Exact `host:port` strings accepted even when they resolve to non-public addresses. */
  readonly allowedTargets: ReadonlyArray<string>
}

export const defaultTargetGuardConfig: TargetGuardConfig = { allowPrivateTargets: false, allowedTargets: [] }

/** Resolves a host name to every address it has (tests inject a fixed table). */
export type HostResolver = (hostname: string) => Promise<ReadonlyArray<string>>

/** The system resolver: getaddrinfo through `node:dns/promises`, all addresses, in order. */
export const systemResolver: HostResolver = (hostname) =>
  lookup(hostname, { all: true, verbatim: true }).then((answers) => answers.map((answer) => answer.address))

/** A URL the guard accepted, with the addresses it checked. */
export interface CheckedTarget {
  /** The URL as the WHATWG parser normalised it. */
  readonly url: string
  readonly protocol: "http:" | "https:"
  /** Host name or address literal, IPv6 without brackets. */
  readonly hostname: string
  /** `host[:port]` as it goes into the Host header (default port omitted). */
  readonly hostHeader: string
  readonly port: number
  /** Every address the host resolved to; all of them passed. An address literal is its own. */
  readonly addresses: ReadonlyArray<string>
  readonly allowedBy: "public-addresses" | "allowed-targets" | "allow-private-targets"
}

/** The URL may not be called; `message` is one sentence saying why. Never worth retrying. */
export class WebhookTargetRefused extends Schema.TaggedError<WebhookTargetRefused>()("WebhookTargetRefused", {
  message: Schema.String,
  url: Schema.String
}) {}

/** The host did not resolve (DNS failure or no address); may be transient. */
export class WebhookTargetUnresolved extends Schema.TaggedError<WebhookTargetUnresolved>()("WebhookTargetUnresolved", {
  message: Schema.String,
  url: Schema.String
}) {}

// ---------------------------------------------------------------------------------------------
// Address classification
// ---------------------------------------------------------------------------------------------

/** Whether one address may be called, and if not, what it is ("a loopback address"). */
export type AddressVerdict =
  | { readonly public: true }
  | { readonly public: false; readonly kind: string; readonly embedded?: string }

const parseIPv4 = (text: string): number | undefined => {
  const parts = text.split(".")
  if (parts.length !== 4) return undefined
  let value = 0
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined
    const octet = Number(part)
    if (octet > 255) return undefined
    value = value * 256 + octet
  }
  return value
}

const formatIPv4 = (value: number): string =>
  [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff].join(".")

/** 128-bit value of an IPv6 address (zone id dropped, dotted IPv4 tail accepted). */
const parseIPv6 = (text: string): bigint | undefined => {
  let body = text.replace(/%.*$/, "")
  const lastColon = body.lastIndexOf(":")
  const tail = body.slice(lastColon + 1)
  if (tail.includes(".")) {
    const v4 = parseIPv4(tail)
    if (v4 === undefined) return undefined
    body = `${body.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`
  }
  const halves = body.split("::")
  if (halves.length > 2) return undefined
  const groups = (half: string | undefined): Array<string> => (half === undefined || half === "" ? [] : half.split(":"))
  const head = groups(halves[0])
  const rest = groups(halves[1])
  const missing = 8 - head.length - rest.length
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined
  let value = 0n
  for (const group of [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...rest]) {
    if (!/^[0-9a-f]{1,4}$/i.test(group)) return undefined
    value = (value << 16n) | BigInt(parseInt(group, 16))
  }
  return value
}

type V4Range = readonly [base: string, prefix: number, kind: string]

/** Every IPv4 block that is not public unicast (IANA special-purpose registry, RFC 6890). */
const IPV4_RANGES: ReadonlyArray<V4Range> = [
  ["169.254.169.254", 32, "a link-local address (the cloud metadata endpoint)"],
  ["255.255.255.255", 32, "the broadcast address"],
  ["0.0.0.0", 8, "an unspecified (\"this network\") address"],
  ["10.0.0.0", 8, "a private address"],
  ["100.64.0.0", 10, "a carrier-grade NAT (shared) address"],
  ["127.0.0.0", 8, "a loopback address"],
  ["169.254.0.0", 16, "a link-local address"],
  ["172.16.0.0", 12, "a private address"],
  ["192.0.0.0", 24, "an IETF protocol-assignment address"],
  ["192.0.2.0", 24, "a documentation address"],
  ["192.88.99.0", 24, "a 6to4 relay anycast address"],
  ["192.168.0.0", 16, "a private address"],
  ["198.18.0.0", 15, "a benchmarking address"],
  ["198.51.100.0", 24, "a documentation address"],
  ["203.0.113.0", 24, "a documentation address"],
  ["224.0.0.0", 4, "a multicast address"],
  ["240.0.0.0", 4, "a reserved address"]
]

const inV4Range = (value: number, base: string, prefix: number): boolean => {
  const shift = 32 - prefix
  return Math.floor(value / 2 ** shift) === Math.floor((parseIPv4(base) ?? 0) / 2 ** shift)
}

const classifyIPv4 = (value: number): AddressVerdict => {
  for (const [base, prefix, kind] of IPV4_RANGES) {
    if (inV4Range(value, base, prefix)) return { public: false, kind }
  }
  return { public: true }
}

type V6Range = readonly [base: string, prefix: number, kind: string]

/** IPv6 blocks judged on their own (the ones carrying IPv4 are handled before these). */
const IPV6_RANGES: ReadonlyArray<V6Range> = [
  ["64:ff9b:1::", 48, "a local-use NAT64 address"],
  ["100::", 64, "a discard-only address"],
  ["2001::", 32, "a Teredo tunnel address"],
  ["2001::", 23, "an IETF protocol-assignment address"],
  ["2001:db8::", 32, "a documentation address"],
  ["3fff::", 20, "a documentation address"],
  ["fc00::", 7, "a unique-local (private) address"],
  ["fe80::", 10, "a link-local address"],
  ["fec0::", 10, "a site-local (private) address"],
  ["ff00::", 8, "a multicast address"]
]

const inV6Range = (value: bigint, base: string, prefix: number): boolean => {
  const shift = BigInt(128 - prefix)
  return value >> shift === (parseIPv6(base) ?? 0n) >> shift
}

/** IPv6 forms that carry an IPv4 address, and where it sits. */
const IPV6_EMBEDDING: ReadonlyArray<readonly [base: string, prefix: number, name: string, extract: (value: bigint) => number]> = [
  ["::ffff:0:0", 96, "IPv4-mapped", (v) => Number(v & 0xffffffffn)],
  ["::ffff:0:0:0", 96, "IPv4-translated", (v) => Number(v & 0xffffffffn)],
  ["64:ff9b::", 96, "NAT64", (v) => Number(v & 0xffffffffn)],
  ["2002::", 16, "6to4", (v) => Number((v >> 80n) & 0xffffffffn)]
]

const classifyIPv6 = (value: bigint): AddressVerdict => {
  if (value === 0n) return { public: false, kind: "an unspecified address" }
  if (value === 1n) return { public: false, kind: "a loopback address" }
  // IPv4-compatible (::a.b.c.d, deprecated) also embeds an IPv4 address.
  const embeddings = value >> 32n === 0n ? [["::", 96, "IPv4-compatible", (v: bigint) => Number(v)] as const] : IPV6_EMBEDDING
  for (const [base, prefix, name, extract] of embeddings) {
    if (inV6Range(value, base, prefix)) {
      const v4 = extract(value)
      const inner = classifyIPv4(v4)
      return inner.public ? inner : { public: false, kind: inner.kind, embedded: `${name} ${formatIPv4(v4)}` }
    }
  }
  for (const [base, prefix, kind] of IPV6_RANGES) {
    if (inV6Range(value, base, prefix)) return { public: false, kind }
  }
  // Global unicast is 2000::/3; everything else is reserved or unassigned.
  if (value >> 125n !== 1n) return { public: false, kind: "an address outside global unicast space" }
  return { public: true }
}

/** Judges one IP address (IPv4 or IPv6, IPv6 without brackets). Anything unparsable is refused. */
export const classifyAddress = (address: string): AddressVerdict => {
  const family = isIP(address)
  if (family === 4) {
    const value = parseIPv4(address)
    if (value !== undefined) return classifyIPv4(value)
  } else if (family === 6) {
    const value = parseIPv6(address)
    if (value !== undefined) return classifyIPv6(value)
  }
  return { public: false, kind: "not an address the guard can parse" }
}

// ---------------------------------------------------------------------------------------------
// The URL check
// ---------------------------------------------------------------------------------------------

const ADVICE = "webhooks may only call public addresses unless the server allows the target (--allow-webhook-targets HOST:PORT, or --allow-private-webhooks)."

const stripBrackets = (hostname: string): string =>
  hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname

/** IPv4 first, each family in resolver order: the order Delivery tries them in. */
const ipv4First = (addresses: ReadonlyArray<string>): Array<string> => [
  ...addresses.filter((a) => isIP(a) === 4),
  ...addresses.filter((a) => isIP(a) !== 4)
]

export interface CheckTargetOptions {
  /** Defaults to the system resolver. */
  readonly resolver?: HostResolver
  /** How messages name the URL: "callback_url" (default) or e.g. "the redirect target". */
  readonly subject?: string
}

/**
 * Checks a URL against the rules above. Succeeds with the checked target; fails with
 * `WebhookTargetRefused` (policy: never retry) or `WebhookTargetUnresolved` (DNS: may retry).
 */
export const checkWebhookTarget = Effect.fn("TargetGuard.checkWebhookTarget")(function*(
  rawUrl: string,
  config: TargetGuardConfig,
  options: CheckTargetOptions = {}
) {
  const subject = options.subject ?? "callback_url"
  const refuse = (message: string) => Effect.fail(new WebhookTargetRefused({ message, url: rawUrl }))
  let url: URL
  try {
    url = new URL(rawUrl)
  } catch {
    return yield* refuse(`${subject} ${JSON.stringify(rawUrl)} is not a valid absolute URL; give an http or https URL.`)
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return yield* refuse(`${subject} uses the ${url.protocol.replace(/:$/, "")} scheme; webhooks may only use http or https.`)
  }
  if (url.username !== "" || url.password !== "") {
    return yield* refuse(`${subject} contains a user name or password; put credentials in the shared secret, not in the URL.`)
  }
  const hostname = stripBrackets(url.hostname)
  if (hostname === "") return yield* refuse(`${subject} has no host; give an http or https URL with a host.`)
  const port = url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port)
  const hostPort = `${url.hostname}:${port}`
  const listed = config.allowedTargets.some((entry) => entry.trim().toLowerCase() === hostPort)
  const literal = isIP(hostname) !== 0

  const resolved: ReadonlyArray<string> = literal ? [hostname] : yield* Effect.tryPromise({
    try: () => (options.resolver ?? systemResolver)(hostname),
    catch: (cause) =>
      new WebhookTargetUnresolved({
        message: `${subject} host ${hostname} could not be resolved (${(cause as { code?: string }).code ?? String(cause)}); check the name.`,
        url: rawUrl
      })
  })
  if (resolved.length === 0) {
    return yield* Effect.fail(new WebhookTargetUnresolved({ message: `${subject} host ${hostname} resolved to no address; check the name.`, url: rawUrl }))
  }
  const addresses = ipv4First(resolved)
  const allowedBy: CheckedTarget["allowedBy"] = config.allowPrivateTargets
    ? "allow-private-targets"
    : listed
    ? "allowed-targets"
    : "public-addresses"
  if (allowedBy === "public-addresses") {
    for (const address of addresses) {
      const verdict = classifyAddress(address)
      if (!verdict.public) {
        const what = literal ? `${subject} points at ${address}` : `${subject} host ${hostname} resolves to ${address}`
        const embedded = verdict.embedded === undefined ? "" : ` (${verdict.embedded})`
        return yield* refuse(`${what}${embedded}, ${verdict.kind}; ${ADVICE}`)
      }
    }
  }
  return {
    url: url.href,
    protocol: url.protocol === "https:" ? "https:" : "http:",
    hostname,
    hostHeader: url.host,
    port,
    addresses,
    allowedBy
  } satisfies CheckedTarget
})

/**
 * Signs webhook bodies so a receiver can tell a delivery came from this engine and was not
 * replayed later: HMAC-SHA256 with the shared secret over `${timestamp}.${body}`, sent as
 *
 *     Coord-Signature: t=<unix seconds>,v1=<64 lower-case hex digits>
 *
 * The timestamp is inside the MAC, so a captured delivery cannot be re-sent with a fresh
 * time; receivers refuse timestamps more than `toleranceSeconds` (default 300) from their clock.
 * `body` is the exact request body text (the raw bytes as UTF-8), never a re-serialisation.
 *
 * `verifySignature` is self-contained (only `node:crypto`) on purpose: docs/webhooks.md shows
 * it verbatim as the receiver snippet, and a test checks the two stay identical.
 */
import { createHmac, timingSafeEqual } from "node:crypto"

export const SIGNATURE_HEADER = "Coord-Signature"

/** Lower-case hex HMAC-SHA256 of `${timestampSeconds}.${body}`. */
export const computeSignature = (secret: string, timestampSeconds: number, body: string): string =>
  createHmac("sha256", secret).update(`${timestampSeconds}.${body}`).digest("hex")

/** The `Coord-Signature` header value for `body` signed at `timestampSeconds`. */
export const signatureHeader = (secret: string, timestampSeconds: number, body: string): string =>
  `t=${timestampSeconds},v1=${computeSignature(secret, timestampSeconds, body)}`

// receiver snippet: start
export function verifySignature(secret: string, header: string | null | undefined, body: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  if (!header) return false
  const parts = header.split(",").map((part) => part.trim().split("="))
  const t = parts.find(([key]) => key === "t")?.[1] ?? ""
  if (!/^\d{1,15}$/.test(t) || Math.abs(nowSeconds - Number(t)) > toleranceSeconds) return false
  const expected = createHmac("sha256", secret).update(`${t}.${body}`).digest()
  return parts.some(([key, value]) =>
    key === "v1" && value !== undefined && /^[0-9a-f]{64}$/.test(value) &&
    timingSafeEqual(Buffer.from(value, "hex"), expected))
}
// receiver snippet: end

/**
 * Bearer secrets of the HTTP API (API keys and refresh tokens): how they look, how they are
 * hashed for storage and how a presented one is checked.
 *
 * A secret reads `<prefix>_<id>_<secret>`: the id finds the stored row without scanning, the
 * secret is 32 random bytes. Only `sha256$<salt>$<digest>` of the secret is stored, with a
 * salt per row. A fast hash is enough here, unlike for passwords: a 256-bit random secret
 * cannot be guessed by trying candidates, however fast each try is (the reason GitHub and
 * others store token digests the same way), and a slow hash would put a deliberate
 * 50–100 ms of CPU on every API request.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto"

export type SecretKind = "key" | "refresh"

const PREFIX: Record<SecretKind, string> = { key: "dsk", refresh: "dsr" }

/** A freshly made secret: the id, the text shown once to its owner, and what is stored. */
export interface IssuedSecret {
  readonly id: string
  readonly text: string
  readonly hash: string
}

const digest = (salt: string, secret: string): string => createHash("sha256").update(salt).update("\0").update(secret).digest("base64url")

export const issueSecret = (kind: SecretKind): IssuedSecret => {
  const id = randomBytes(9).toString("base64url").replace(/[-_]/g, "x")
  const secret = randomBytes(32).toString("base64url")
  const salt = randomBytes(16).toString("base64url")
  return { id, text: `${PREFIX[kind]}_${id}_${secret}`, hash: `sha256$${salt}$${digest(salt, secret)}` }
}

/** The id and secret of a presented text, or undefined when it is not of this kind's shape. */
export const parseSecret = (kind: SecretKind, text: string): { readonly id: string; readonly secret: string } | undefined => {
  const match = /^([a-z]{3})_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$/.exec(text)
  if (match === null || match[1] !== PREFIX[kind]) return undefined
  return { id: match[2]!, secret: match[3]! }
}

/** True when `secret` is the one `stored` was made from (constant time in the digest). */
export const secretMatches = (stored: string, secret: string): boolean => {
  const [scheme, salt, expected] = stored.split("$")
  if (scheme !== "sha256" || salt === undefined || expected === undefined) return false
  const a = Buffer.from(digest(salt, secret))
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

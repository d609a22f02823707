/**
 * Short-lived access tokens (JWT, HS256) issued from an API key, and the key ring they are
 * signed with.
 *
 * The ring is a set of named secrets; tokens carry the name (`kid`) of the one that signed
 * them. Rotation: add a new secret and make it the active one; tokens signed with the old one
 * stay valid until they expire (15 minutes), then the old one can be dropped. Verification
 * accepts HS256 only, from this issuer for this audience, so `alg: none`, another algorithm
 * or another signer's token is refused.
 *
 * Where the ring comes from: DSHIELD_JWT_KEYS (`kid=base64secret,kid2=…`, the first is the
 * active one), else `--jwt-keys FILE` (the same as JSON: {"active": kid, "keys": {kid: secret}}),
 * else a ring made once and kept beside the embedded store (mode 0600) — fine for one server;
 * several servers behind one balancer must share a configured ring.
 */
import { randomBytes, randomUUID } from "node:crypto"
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname } from "node:path"
import { errors as joseErrors, jwtVerify, SignJWT } from "jose"
import type { PrincipalShape, Role } from "./Principal.ts"

export const ACCESS_TOKEN_SECONDS = 15 * 60
export const REFRESH_TOKEN_SECONDS = 30 * 24 * 3600
const ISSUER = "dshield-coord"
const AUDIENCE = "dshield-coord-api"
/** A secret shorter than this is refused: HS256 wants at least its hash size. */
const MIN_SECRET_BYTES = 32

export interface KeyRing {
  readonly active: string
  readonly keys: ReadonlyMap<string, Uint8Array>
}

const decodeSecret = (kid: string, text: string): Uint8Array => {
  const bytes = Buffer.from(text, "base64")
  if (bytes.length < MIN_SECRET_BYTES) throw new Error(`JWT key "${kid}" is ${bytes.length} bytes; give at least ${MIN_SECRET_BYTES} random bytes, base64-encoded.`)
  return new Uint8Array(bytes)
}

const ringFromJson = (json: { active?: unknown; keys?: unknown }, where: string): KeyRing => {
  if (typeof json.active !== "string" || json.keys === null || typeof json.keys !== "object") {
    throw new Error(`${where} must be {"active": "kid", "keys": {"kid": "base64 secret"}}.`)
  }
  const keys = new Map(Object.entries(json.keys as Record<string, string>).map(([kid, secret]) => [kid, decodeSecret(kid, String(secret))]))
  if (!keys.has(json.active)) throw new Error(`${where} names "${json.active}" as active but has no key by that name.`)
  return { active: json.active, keys }
}

/** The ring from the environment, a file, or one kept at `fallbackPath` (made when missing). */
export const loadKeyRing = (options: { readonly env?: string | undefined; readonly file?: string | undefined; readonly fallbackPath: string }): KeyRing => {
  if (options.env !== undefined && options.env.trim() !== "") {
    const entries = options.env.split(",").map((e) => e.trim()).filter((e) => e.length > 0).map((e) => {
      const eq = e.indexOf("=")
      if (eq <= 0) throw new Error("DSHIELD_JWT_KEYS must be kid=base64secret entries separated by commas.")
      return [e.slice(0, eq), decodeSecret(e.slice(0, eq), e.slice(eq + 1))] as const
    })
    return { active: entries[0]![0], keys: new Map(entries) }
  }
  if (options.file !== undefined) return ringFromJson(JSON.parse(readFileSync(options.file, "utf8")), options.file)
  if (!existsSync(options.fallbackPath)) {
    mkdirSync(dirname(options.fallbackPath), { recursive: true })
    const kid = `k-${randomBytes(4).toString("hex")}`
    writeFileSync(options.fallbackPath, `${JSON.stringify({ active: kid, keys: { [kid]: randomBytes(32).toString("base64") } }, null, 2)}\n`, { mode: 0o600, flag: "wx" })
  }
  return ringFromJson(JSON.parse(readFileSync(options.fallbackPath, "utf8")), options.fallbackPath)
}

/** Signs an access token for a principal that authenticated with its key. */
export const issueAccessToken = async (ring: KeyRing, p: { readonly keyId: string; readonly tenant: string; readonly role: Role }, nowSeconds: number) => {
  const jti = randomUUID()
  const token = await new SignJWT({ tenant: p.tenant, role: p.role })
    .setProtectedHeader({ alg: "HS256", kid: ring.active, typ: "JWT" })
    .setSubject(p.keyId)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + ACCESS_TOKEN_SECONDS)
    .setJti(jti)
    .sign(ring.keys.get(ring.active)!)
  return { token, jti, expiresAt: new Date((nowSeconds + ACCESS_TOKEN_SECONDS) * 1000).toISOString() }
}

export type TokenCheck =
  | { readonly ok: true; readonly principal: PrincipalShape; readonly expiresAt: string }
  | { readonly ok: false; readonly reason: string }

const ROLE_NAMES: ReadonlyArray<string> = ["viewer", "analyst", "admin"]

/** Verifies an access token's signature, algorithm, issuer, audience and lifetime. */
export const verifyAccessToken = async (ring: KeyRing, token: string, nowSeconds: number): Promise<TokenCheck> => {
  try {
    const { payload } = await jwtVerify(token, async (header) => {
      const key = header.kid === undefined ? undefined : ring.keys.get(header.kid)
      if (key === undefined) throw new joseErrors.JWKSNoMatchingKey()
      return key
    }, { algorithms: ["HS256"], issuer: ISSUER, audience: AUDIENCE, currentDate: new Date(nowSeconds * 1000), clockTolerance: 5 })
    const role = String(payload.role)
    if (typeof payload.sub !== "string" || typeof payload.tenant !== "string" || !ROLE_NAMES.includes(role) || typeof payload.jti !== "string" || payload.exp === undefined) {
      return { ok: false, reason: "the access token lacks its claims" }
    }
    return {
      ok: true,
      principal: { keyId: payload.sub, tenant: payload.tenant, role: role as Role, via: "token", tokenId: payload.jti },
      expiresAt: new Date(payload.exp * 1000).toISOString()
    }
  } catch (error) {
    const code = (error as { code?: string }).code
    return {
      ok: false,
      reason: code === "ERR_JWT_EXPIRED"
        ? "the access token has expired"
        : code === "ERR_JWS_SIGNATURE_VERIFICATION_FAILED" || code === "ERR_JWKS_NO_MATCHING_KEY"
        ? "the access token is not signed by this server"
        : code === "ERR_JOSE_ALG_NOT_ALLOWED"
        ? "the access token's algorithm is not accepted"
        : "the access token is malformed"
    }
  }
}

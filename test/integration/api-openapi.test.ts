/**
 * What the HTTP API answers is what /openapi.json declares: each answer below, successes and
 * refusals alike (the API's own, and the server edge's: body limits, media types, rate limits,
 * unknown routes), validates against the schema the document gives for its path, method and
 * status. Integrators generate clients from that document; an answer it does not describe
 * breaks them.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import Ajv from "ajv"
import { childEnv, cliOk, serve, type Serving, stopServers } from "./apiServer.ts"

interface Operation {
  readonly responses: Record<string, { readonly content?: Record<string, { readonly schema: unknown }> }>
}
interface OpenApiDocument {
  readonly paths: Record<string, Record<string, Operation>>
  readonly components: { readonly schemas: Record<string, unknown> }
}

const dir = mkdtempSync(join(tmpdir(), "dshield-openapi-"))
const store = ["--data-dir", join(dir, "db")]
// Five reads a minute, so the sixth is rate-limited; a key with a quota of one analysis a day.
const env = childEnv({ DSHIELD_RATE_LIMIT_READ: "5/1m" })
let server: Serving
let doc: OpenApiDocument
let analyst = ""
let limited = ""
const ajv = new Ajv({ strict: false, allErrors: true })

beforeAll(async () => {
  analyst = (await cliOk(["keys", "create", "--role", "analyst", "--tenant", "acme", ...store], dir, env)).trim()
  limited = (await cliOk(["keys", "create", "--role", "analyst", "--tenant", "acme", "--quota", "1", ...store], dir, env)).trim()
  server = await serve(store, dir, env)
  doc = await (await fetch(`${server.url}/openapi.json`)).json() as OpenApiDocument
  ajv.addSchema({ $id: "openapi", components: doc.components })
}, 60_000)
afterAll(() => stopServers())

interface Answer {
  readonly status: number
  readonly type: string
  readonly body: unknown
  readonly retryAfter: string | null
}

const send = async (method: string, path: string, init: { key?: string; type?: string; body?: string } = {}): Promise<Answer> => {
  const headers: Record<string, string> = {}
  if (init.key !== undefined) headers["x-api-key"] = init.key
  if (init.type !== undefined) headers["content-type"] = init.type
  const response = await fetch(`${server.url}${path}`, { method, headers, ...(init.body === undefined ? {} : { body: init.body }) })
  const text = await response.text()
  return { status: response.status, type: response.headers.get("content-type") ?? "", body: text === "" ? undefined : JSON.parse(text), retryAfter: response.headers.get("retry-after") }
}

/** The schema /openapi.json declares for this answer; undefined when it declares none. */
const declared = (template: string, method: string, status: number, mediaType: string): unknown => {
  const content = doc.paths[template]?.[method.toLowerCase()]?.responses[String(status)]?.content
  const schema = content?.[mediaType.split(";")[0]!.trim()]?.schema
  // References point into the components, registered under the id "openapi".
  return schema === undefined ? undefined : JSON.parse(JSON.stringify(schema).replace(/"#\/components\//g, "\"openapi#/components/"))
}

const expectDeclared = (template: string, method: string, answer: Answer, what: string): void => {
  const schema = declared(template, method, answer.status, answer.type)
  expect(schema, `${what}: ${method} ${template} declares no ${answer.status} ${answer.type}`).toBeDefined()
  const validate = ajv.compile(schema as object)
  const ok = validate(answer.body)
  expect(ok, `${what}: ${JSON.stringify(answer.body).slice(0, 300)} against ${JSON.stringify(validate.errors).slice(0, 500)}`).toBe(true)
}

const session = (i: number) => ({
  source_ip: `192.0.2.${10 + i}`,
  timestamp: `2024-04-01T00:0${i}:00Z`,
  target_port: 22,
  protocol: "ssh",
  payload: "uname -a"
})

describe("answers match /openapi.json", () => {
  test("the API's own answers: accepted, status, list, and schema refusals", async () => {
    const accepted = await send("POST", "/analyze/coordination", { key: analyst, type: "application/json", body: JSON.stringify({ attack_sessions: [session(1), session(2)] }) })
    expect(accepted.status).toBe(202)
    expectDeclared("/analyze/coordination", "POST", accepted, "a submission")
    const id = (accepted.body as { analysis_id: string }).analysis_id
    const status = await send("GET", `/analyze/${id}?wait=20`, { key: analyst })
    expect(status.status).toBe(200)
    expectDeclared("/analyze/{id}", "GET", status, "its status")

    // A field no body form has; the framework's issues of the other form are not reported.
    const bogus = await send("POST", "/analyze/coordination", { key: analyst, type: "application/json", body: JSON.stringify({ attack_sessions: [], bogus: 1 }) })
    expect(bogus.status).toBe(400)
    expectDeclared("/analyze/coordination", "POST", bogus, "an unknown field")
    expect((bogus.body as { detail: string }).detail).toBe("The request does not match the API's schema (body field bogus: Expected no excess property); see /openapi.json.")
    expect((bogus.body as { errors: Array<{ path: Array<string> }> }).errors.map((e) => e.path.join("."))).toEqual(["payload.bogus"])

    const badId = await send("GET", "/analyze/not-an-id", { key: analyst })
    expect(badId.status).toBe(400)
    expectDeclared("/analyze/{id}", "GET", badId, "a malformed id")
    expect((badId.body as { detail: string }).detail).toContain("path parameter id")

    const unknown = await send("GET", `/analyze/an-${"0".repeat(24)}`, { key: analyst })
    expect(unknown.status).toBe(404)
    expectDeclared("/analyze/{id}", "GET", unknown, "an unknown analysis")

    // An unknown route: a problem too, repeating at most 120 characters of the path.
    const nowhere = await send("GET", `/${"x".repeat(5000)}`, { key: analyst })
    expect(nowhere.status).toBe(404)
    expect((nowhere.body as { type: string }).type).toBe("urn:dshield-coord:problem:not-found")
    expect((nowhere.body as { detail: string }).detail.length).toBeLessThan(200)

    const noKey = await send("GET", "/campaigns")
    expect(noKey.status).toBe(401)
    expectDeclared("/campaigns", "GET", noKey, "no credentials")
  }, 60_000)

  test("the edge's answers: nesting, media type, the daily quota and the rate limit", async () => {
    const deep = await send("POST", "/analyze/coordination", { key: analyst, type: "application/json", body: `${"[".repeat(100)}${"]".repeat(100)}` })
    expect(deep.status).toBe(400)
    expectDeclared("/analyze/coordination", "POST", deep, "a body nested too deep")

    const json = await send("POST", "/uploads", { key: analyst, type: "application/json", body: "{}" })
    expect(json.status).toBe(415)
    expectDeclared("/uploads", "POST", json, "JSON sent to /uploads")
    expect((json.body as { detail: string }).detail).not.toContain("send application/json")

    const body = JSON.stringify({ attack_sessions: [session(1), session(2)] })
    expect((await send("POST", "/analyze/coordination", { key: limited, type: "application/json", body })).status).toBe(202)
    const quota = await send("POST", "/analyze/coordination", { key: limited, type: "application/json", body })
    expect(quota.status).toBe(429)
    expectDeclared("/analyze/coordination", "POST", quota, "beyond the daily quota")
    expect(quota.retryAfter).toBe(String((quota.body as { retry_after: number }).retry_after))

    // Reads until the window of five is spent (earlier tests read too).
    let read: Answer | undefined
    for (let i = 0; i < 10; i++) {
      read = await send("GET", "/campaigns", { key: analyst })
      if (read.status === 429) break
    }
    expect(read!.status).toBe(429)
    expectDeclared("/campaigns", "GET", read!, "a read beyond the rate limit")
    expect(Number(read!.retryAfter)).toBeGreaterThan(0)
  }, 60_000)
})

/**
 * The client API over the real nats-server: coord.v1.status | analyze (inline sessions and
 * file paths) | result, and its errors, through plain JSON requests as any client sends.
 */
import { afterAll, describe, expect, test } from "bun:test"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { connect, type NatsConnection, ServiceError } from "nats"
import { generateSessions } from "../../src/synthetic/generateSessions.ts"
import { REPO, runCli } from "../cli/helpers.ts"
import { serviceAvailable, startWorker } from "./services.ts"

const HAVE_NATS = await serviceAvailable("NATS", 4222)

describe.skipIf(!HAVE_NATS)("NATS API coord.v1", () => {
  let worker: Awaited<ReturnType<typeof startWorker>> | undefined
  let nc: NatsConnection | undefined
  afterAll(async () => {
    worker?.kill("SIGTERM")
    await worker?.exited
    await nc?.close()
  })

  const call = async (endpoint: string, body: unknown) => {
    const reply = await nc!.request(`coord.v1.${endpoint}`, new TextEncoder().encode(JSON.stringify(body)), { timeout: 60_000 })
    const payload = reply.data.length > 0 ? JSON.parse(new TextDecoder().decode(reply.data)) : undefined
    return ServiceError.isServiceError(reply) ? { error: ServiceError.toServiceError(reply)!, payload } : { ok: payload }
  }

  test("status, inline and file analyses, result fetch, and typed errors", async () => {
    worker = await startWorker(REPO, "api")
    nc = await connect({ servers: "127.0.0.1:4222" })

    const status = await call("status", {})
    expect(status.ok).toMatchObject({ result_schema: "dshield-coordination/result@1", results_bucket: "coord-results" })

    // Inline: 400 generated sessions as AttackSession objects.
    const sessions = [...generateSessions({ sessions: 400, seed: 4 })].map((s) => s.session)
    const inline = await call("analyze", { sessions })
    expect(inline.ok.sessions).toBe(400)
    const fetched = await call("result", { result_object: inline.ok.result_object })
    expect(fetched.ok.schema).toBe("dshield-coordination/result@1")
    expect(fetched.ok.input.sessions).toBe(400)
    expect(fetched.ok.campaigns.length).toBe(inline.ok.campaigns)

    // By file reference: the same numbers as the CLI in process.
    const dir = mkdtempSync(join(tmpdir(), "dshield-api-"))
    expect(runCli(["generate", "--sessions", "500", "--seed", "4", "--out", dir, "--quiet"]).code).toBe(0)
    const byPath = await call("analyze", { paths: [join(dir, "cowrie.json")] })
    expect(byPath.ok.sessions).toBe(500)

    // Errors: both inputs, a missing file, an unknown result, a body that does not decode.
    const both = await call("analyze", { sessions: [], paths: ["/x"] })
    expect(both.error?.code).toBe(400)
    expect(both.payload).toMatchObject({ _tag: "ApiError", code: "bad_request" })
    const missing = await call("analyze", { paths: [join(dir, "nope.json")] })
    expect(missing.payload).toMatchObject({ _tag: "ApiError", code: "input" })
    const unknown = await call("result", { result_object: "result-does-not-exist" })
    expect(unknown.payload).toMatchObject({ _tag: "ApiError", code: "not_found" })
    const malformed = await call("analyze", { sessions: [{ id: 1 }] })
    expect(malformed.error?.code).toBe(422)
  }, 120_000)
})

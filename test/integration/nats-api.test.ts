/**
 * The client API over a real nats-server (a private one, so no other worker joins the queue
 * group): coord.v1.status | analyze (inline sessions, uploaded inputs, and file paths under a
 * root the worker allows) | result, and its errors, through plain JSON requests as any client
 * sends.
 */
import { afterAll, describe, expect, test } from "bun:test"
import { mkdirSync, mkdtempSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import { connect, headers, type NatsConnection, ServiceError } from "nats"
import { uploadInputs } from "../../actors/transport/ClaimCheck.ts"
import { generateSessions } from "../../src/synthetic/generateSessions.ts"
import { REPO, runCli } from "../cli/helpers.ts"
import { natsServerAvailable, startPrivateServer, startWorkerWith } from "./natsAuthServer.ts"

const HAVE_NATS = natsServerAvailable()

describe.skipIf(!HAVE_NATS)("NATS API coord.v1", () => {
  let worker: Awaited<ReturnType<typeof startWorkerWith>> | undefined
  let nc: NatsConnection | undefined
  let server: Awaited<ReturnType<typeof startPrivateServer>> | undefined
  afterAll(async () => {
    worker?.kill("SIGTERM")
    await worker?.exited
    await nc?.close()
    await server?.stop()
  })

  const call = async (endpoint: string, body: unknown) => {
    const reply = await nc!.request(`coord.v1.${endpoint}`, new TextEncoder().encode(JSON.stringify(body)), { timeout: 60_000 })
    const payload = reply.data.length > 0 ? JSON.parse(new TextDecoder().decode(reply.data)) : undefined
    return ServiceError.isServiceError(reply) ? { error: ServiceError.toServiceError(reply)!, payload } : { ok: payload }
  }

  test("status, inline and file analyses, result fetch, and typed errors", async () => {
    server = await startPrivateServer()
    const dir = mkdtempSync(join(tmpdir(), "dshield-api-"))
    // File paths are read only under roots the worker allows; uploads need none.
    worker = await startWorkerWith(REPO, ["--roles", "api", "--pool", "1", "--nats", server.url, "--allow-paths", dir])
    nc = await connect({ servers: server.url })

    const status = await call("status", {})
    expect(status.ok).toMatchObject({ result_schema: "dshield-coordination/result@1", results_bucket: "coord-results", inputs_bucket: "coord-inputs" })

    // Inline: 400 generated sessions as AttackSession objects.
    const sessions = [...generateSessions({ sessions: 400, seed: 4 })].map((s) => s.session)
    const inline = await call("analyze", { sessions })
    expect(inline.ok.sessions).toBe(400)
    const fetched = await call("result", { result_object: inline.ok.result_object })
    expect(fetched.ok.schema).toBe("dshield-coordination/result@1")
    expect(fetched.ok.input.sessions).toBe(400)
    expect(fetched.ok.campaigns.length).toBe(inline.ok.campaigns)
    expect(fetched.ok.run.id).toBe(inline.ok.run_id)
    // The same sessions again: the same Result, kept once; the reply names the run the kept
    // document says (it named a new run whose document was never stored).
    const again = await call("analyze", { sessions })
    expect(again.ok.result_object).toBe(inline.ok.result_object)
    expect(again.ok.run_id).toBe(inline.ok.run_id)
    expect((await call("result", { result_object: again.ok.result_object })).ok.run.id).toBe(again.ok.run_id)

    // By file reference under an allowed root, and by claim-check upload: the same Result.
    expect(runCli(["generate", "--sessions", "500", "--seed", "4", "--out", dir, "--quiet"]).code).toBe(0)
    const byPath = await call("analyze", { paths: [join(dir, "cowrie.json")] })
    expect(byPath.ok.sessions).toBe(500)
    const inputs = await Effect.runPromise(uploadInputs(nc, [join(dir, "cowrie.json")]))
    const byUpload = await call("analyze", { inputs, timeout_ms: 60_000 })
    expect(byUpload.ok.result_digest).toBe(byPath.ok.result_digest)
    expect(byUpload.ok.sessions).toBe(500)
    // A directory is uploaded as ingest reads it: a link to a file is read, a link to a directory is not followed.
    const linked = join(dir, "linked")
    mkdirSync(linked)
    symlinkSync(join(dir, "cowrie.json"), join(linked, "today.json"))
    symlinkSync(dir, join(linked, "up"))
    const linkedInputs = await Effect.runPromise(uploadInputs(nc, [linked]))
    expect(linkedInputs[0]!.files.map((f) => f.name)).toEqual(["today.json"])
    expect((await call("analyze", { inputs: linkedInputs, timeout_ms: 60_000 })).ok.sessions).toBe(500)

    // Errors: both inputs, a path outside the roots, an unknown result, a body that does not
    // decode — all typed 400s.
    const both = await call("analyze", { sessions: [], paths: ["/x"] })
    expect(both.error?.code).toBe(400)
    expect(both.payload).toMatchObject({ _tag: "ApiError", code: "bad_request" })
    const outside = await call("analyze", { paths: ["/etc/passwd"] })
    expect(outside.payload).toMatchObject({ _tag: "ApiError", code: "bad_request" })
    const unknown = await call("result", { result_object: "result-does-not-exist" })
    expect(unknown.payload).toMatchObject({ _tag: "ApiError", code: "not_found" })
    // A body said to be in the payloads bucket that is not there, or a header that names no
    // payload object: refused (422), nothing read, the worker keeps serving.
    for (const name of [`payload-${"0".repeat(64)}`, "../../etc/passwd"]) {
      const h = headers()
      h.set("Coord-Payload-Object", name)
      const reply = await nc!.request("coord.v1.analyze", new Uint8Array(0), { timeout: 10_000, headers: h })
      expect(ServiceError.toServiceError(reply)?.code).toBe(422)
    }
    const malformed = await call("analyze", { sessions: [{ id: 1 }] })
    expect(malformed.error?.code).toBe(400)
    expect(malformed.payload).toMatchObject({ _tag: "ApiError", code: "bad_request" })
  }, 120_000)
})

/**
 * The orchestrators' result cache over a real nats-server and the real Redis: the same
 * uploaded inputs, configuration and engine are answered with the stored reply (the same run
 * — a fresh analysis would have a new run id, which includes its start time), shared by every
 * worker through Redis; another configuration, or a reply whose Result object has left the
 * results bucket, is analysed again.
 */
import { afterAll, describe, expect, test } from "bun:test"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import type { NatsConnection } from "nats"
import { uploadInputs } from "../../actors/transport/ClaimCheck.ts"
import { RESULTS_BUCKET } from "../../actors/transport/NatsResultStore.ts"
import { REPO, runCli } from "../cli/helpers.ts"
import { natsServerAvailable, privatePool } from "./natsAuthServer.ts"
import { serviceAvailable } from "./services.ts"

const HAVE_NATS = natsServerAvailable()
const HAVE_REDIS = await serviceAvailable("Redis", 6379)

describe.skipIf(!HAVE_NATS || !HAVE_REDIS)("result cache", () => {
  const pool = privatePool()
  let nc: NatsConnection | undefined
  afterAll(() => pool.close())

  const analyze = async (body: unknown): Promise<{ run_id: string; result_object: string; sessions: number }> => {
    const reply = await nc!.request("coord.v1.analyze", new TextEncoder().encode(JSON.stringify(body)), { timeout: 60_000 })
    return JSON.parse(new TextDecoder().decode(reply.data)) as { run_id: string; result_object: string; sessions: number }
  }
  const startWorker = () => pool.worker(REPO, ["--roles", "api", "--pool", "1", "--redis-url", "redis://127.0.0.1:6379"])

  test("same inputs and config: the stored reply, across workers; another config or a dropped Result: a new analysis", async () => {
    nc = (await pool.start()).nc
    const dir = mkdtempSync(join(tmpdir(), "dshield-cache-"))
    expect(runCli(["generate", "--sessions", "400", "--seed", "19", "--out", dir, "--quiet"]).code).toBe(0)
    const first = await startWorker()
    const inputs = await Effect.runPromise(uploadInputs(nc, [join(dir, "cowrie.json")]))

    const fresh = await analyze({ inputs })
    expect(fresh.sessions).toBe(400)
    const again = await analyze({ inputs })
    expect(again).toEqual(fresh)

    // Another configuration is another analysis.
    const reseeded = await analyze({ inputs, config: { seed: 7 } })
    expect(reseeded.run_id).not.toBe(fresh.run_id)

    // Another worker process (its own memory empty) finds the reply in Redis.
    first.kill("SIGTERM")
    expect(await first.exited).toBe(0)
    await startWorker()
    expect(await analyze({ inputs })).toEqual(fresh)

    // The Result object dropped from the results bucket: the cached reply is not used.
    const os = await nc.jetstream().views.os(RESULTS_BUCKET)
    await os.delete(fresh.result_object)
    const recomputed = await analyze({ inputs })
    expect(recomputed.run_id).not.toBe(fresh.run_id)
    expect(recomputed.sessions).toBe(400)
    expect((await os.info(recomputed.result_object))?.deleted ?? true).toBe(false)
  }, 120_000)
})

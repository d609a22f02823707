/**
 * The same workflow with the Live layer: agent actors served by a worker over the real
 * nats-server give the Result of the embedded layer, byte for byte.
 */
import { describe, expect, test } from "bun:test"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { MemorySaver } from "@langchain/langgraph"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { connect } from "nats"
import { Live } from "../../layers/Live.ts"
import { serializeResult } from "../../src/domain/Result.ts"
import { DEFAULT_CONFIG } from "../../src/config/AnalysisConfig.ts"
import { analysisActors } from "../../src/workflow/analysisActors.ts"
import { analysisGraph, runWorkflow } from "../../src/workflow/analysisGraph.ts"
import { REPO, runCli, withoutRunTimes } from "../cli/helpers.ts"
import { PAYLOADS_BUCKET } from "../../actors/transport/LargePayloads.ts"
import { natsServerAvailable, startPrivateServer, startWorkerWith } from "./natsAuthServer.ts"
import { serviceAvailable, startWorker } from "./services.ts"

const HAVE_NATS = await serviceAvailable("NATS", 4222)

describe.skipIf(!HAVE_NATS)("workflow over NATS agent actors (Live layer)", () => {
  test("deep analysis through remote agents equals the embedded result", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dshield-live-"))
    expect(runCli(["generate", "--sessions", "300", "--seed", "17", "--out", dir, "--quiet"]).code).toBe(0)
    const input = join(dir, "cowrie.json")
    expect(runCli(["analyze", "--quiet", "--out", join(dir, "local.json"), input]).code).toBe(0)
    const worker = await startWorker(REPO, "pattern-analyzer,confidence-scorer,tool-coordinator,inference,elasticsearch-enricher", 2)
    const nc = await connect({ servers: "127.0.0.1:4222" })
    try {
      const run = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
        const context = yield* Layer.build(Live(nc))
        const actors = yield* Effect.provideContext(analysisActors, context)
        return yield* Effect.promise(() => runWorkflow(analysisGraph(actors, new MemorySaver()), "live", { paths: [input], config: DEFAULT_CONFIG, depth: "deep" }))
      })))
      expect(run.trail).toEqual(["ingestInputs", "findPatterns", "coordinateTools", "scoreConfidence", "narrate", "indexResults"])
      expect(withoutRunTimes(serializeResult(run.result))).toBe(withoutRunTimes(readFileSync(join(dir, "local.json"), "utf8")))
      expect(run.narrative).toContain("campaign famil")
    } finally {
      await nc.close()
      worker.kill("SIGTERM")
      await worker.exited
    }
  }, 120_000)

  test.skipIf(!natsServerAvailable())("analyze --depth standard|deep --nats: sessions over one NATS message travel by claim-check; standard equals analyze in process", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dshield-live-large-"))
    // 3,000 sessions: their JSON is several MiB, over NATS' 1 MiB message limit.
    expect(runCli(["generate", "--sessions", "3000", "--seed", "23", "--out", dir, "--quiet"]).code).toBe(0)
    const input = join(dir, "cowrie.json")
    expect(runCli(["analyze", "--quiet", "--out", join(dir, "local.json"), input]).code).toBe(0)
    const server = await startPrivateServer()
    const worker = await startWorkerWith(REPO, ["--roles", "pattern-analyzer,confidence-scorer,tool-coordinator,inference,elasticsearch-enricher", "--pool", "1", "--nats", server.url])
    const nc = await connect({ servers: server.url })
    try {
      const standard = runCli(["analyze", "--depth", "standard", "--nats", server.url, "--quiet", "--out", join(dir, "pool.json"), input])
      expect(standard.stderr).toBe("")
      expect(standard.code).toBe(0)
      expect(withoutRunTimes(readFileSync(join(dir, "pool.json"), "utf8"))).toBe(withoutRunTimes(readFileSync(join(dir, "local.json"), "utf8")))
      // The sessions went through the payloads bucket, not inline.
      const stored = await (await nc.jetstreamManager()).streams.info(`OBJ_${PAYLOADS_BUCKET}`)
      expect(stored.state.messages).toBeGreaterThan(0)

      const deep = runCli(["analyze", "--depth", "deep", "--nats", server.url, "--out", join(dir, "deep.json"), input])
      expect(deep.code).toBe(0)
      expect(deep.stdout).toContain("campaign famil")

      // No agent workers: the failing node is named and the run can be resumed (exit 1).
      worker.kill("SIGTERM")
      await worker.exited
      const orphan = runCli(["analyze", "--depth", "standard", "--nats", server.url, "--quiet", "--out", join(dir, "none.json"), input])
      expect(orphan.code).toBe(1)
      expect(orphan.stderr).toContain("failed at findPatterns")
      expect(orphan.stderr).toContain("--thread")
      // One sentence: the node's failure and the advice, without stray punctuation between them.
      expect(orphan.stderr).not.toMatch(/\.;|;;/)
    } finally {
      await nc.close()
      worker.kill("SIGTERM")
      await worker.exited
      await server.stop()
    }
  }, 180_000)
})

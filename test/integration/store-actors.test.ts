/**
 * The store actors own their stores and answer typed operations (here on the embedded
 * PGlite and the in-memory cache, the embedded defaults), and the in-process job queue keeps
 * the durable-job contract: one result per analysis id.
 */
import { describe, expect, test } from "bun:test"
import { mkdtempSync, readdirSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import { spawn } from "../../actors/kernel/Actor.ts"
import { Orchestrator, orchestratorBehaviour, memoryResultStore } from "../../actors/orchestrator/Orchestrator.ts"
import { PostgresStore, postgresStoreBehaviour } from "../../actors/postgres/PostgresStore.ts"
import { RedisStore, redisStoreBehaviour } from "../../actors/redis/RedisStore.ts"
import { memoryJobQueue } from "../../actors/transport/JobQueue.ts"
import { DEFAULT_CONFIG } from "../../src/config/AnalysisConfig.ts"
import { Cache } from "../../src/store/Cache.ts"
import { SqlStore } from "../../src/store/SqlStore.ts"
import { generateSessions } from "../../src/synthetic/generateSessions.ts"
import { analyzeSessions } from "../../src/pipeline/analyzeSessions.ts"
import { runCli } from "../cli/helpers.ts"

/** Every migration the repository ships, in order: a fresh store applies them all. */
const MIGRATION_FILES = readdirSync(new URL("../../migrations", import.meta.url).pathname).filter((f) => f.endsWith(".sql")).sort().map((f) => f.replace(/\.sql$/, ""))

describe("store actors and the in-process job queue", () => {
  test("postgres actor: migrate, save an analysis, list its campaigns; redis actor: cache round trip and status", async () => {
    const r = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const pg = yield* spawn(PostgresStore, postgresStoreBehaviour(SqlStore.pglite("memory://")))
      const redis = yield* spawn(RedisStore, redisStoreBehaviour(Cache.memory))
      const migrated = yield* pg.ask("migrate", {})
      const sessions = [...generateSessions({ sessions: 600, seed: 2 })].map((s) => s.session).sort((a, b) => (a.start < b.start ? -1 : 1))
      // Attacker text with a NUL (PostgreSQL cannot store it: kept as U+FFFD) and the literal
      // text "\\u0000" (a backslash and five characters: kept as it is).
      sessions[0] = { ...sessions[0]!, client_version: "SSH-2.0-\u0000nul \\u0000 text" }
      const analysis = analyzeSessions(sessions, DEFAULT_CONFIG)
      const result = {
        schema: "dshield-coordination/result@1" as const,
        run: { id: "run-actor-test", engine_version: "0.1.0", input_digest: "i", config_digest: "c", seed: 42, started_at: "2024-04-01T00:00:00.000Z", finished_at: "2024-04-01T00:00:01.000Z" },
        input: { files: [], events: 1, sessions: sessions.length, rejected: {} },
        campaigns: analysis.campaigns,
        unclustered_sessions: analysis.unclusteredSessions
      }
      const saved = yield* pg.ask("saveAnalysis", { result, sessions })
      const listed = yield* pg.ask("listCampaigns", {})
      const reloaded = yield* pg.ask("loadSessions", {})
      yield* redis.ask("set", { kind: "result", key: "k", value: "v" })
      const withNul = reloaded.find((s) => s.id === sessions[0]!.id)
      return { migrated, saved, listed, reloaded: reloaded.length, clientVersion: withNul?.client_version, value: yield* redis.ask("get", { kind: "result", key: "k" }), status: yield* redis.ask("status", {}) }
    })))
    expect(r.migrated.applied).toEqual(MIGRATION_FILES)
    expect(r.saved.sessionsWritten).toBe(600)
    expect(r.saved.campaignsCreated).toBeGreaterThan(0)
    expect(r.listed.length).toBe(r.saved.campaignsCreated)
    expect(r.reloaded).toBe(600)
    expect(r.clientVersion).toBe("SSH-2.0-\ufffdnul \\u0000 text")
    expect(r.saved.result.campaigns.map((c) => c.id).sort()).toEqual(r.listed.map((c) => c.id).sort())
    expect(r.value).toBe("v")
    expect(r.status).toMatchObject({ backend: "memory", degraded: false })
  }, 60_000)

  test("in-process job queue: a job submitted twice with one analysis id produces one result", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dshield-memjobs-"))
    expect(runCli(["generate", "--sessions", "300", "--seed", "6", "--out", dir, "--quiet"]).code).toBe(0)
    const r = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const results = memoryResultStore()
      let runs = 0
      const orchestrator = yield* spawn(Orchestrator, orchestratorBehaviour(results))
      const jobs = yield* memoryJobQueue(results)
      yield* Effect.forkScoped(jobs.consume((request) => Effect.sync(() => runs++).pipe(Effect.andThen(orchestrator.ask("analyze", request)))))
      const job = { analysis_id: "same-id", request: { paths: [join(dir, "cowrie.json")], config: {} } }
      yield* jobs.submit(job)
      yield* jobs.submit(job)
      let result: Uint8Array | undefined
      for (let i = 0; i < 200 && result === undefined; i++) {
        yield* Effect.sleep(25)
        result = yield* jobs.result("same-id")
      }
      yield* Effect.sleep(200)
      return { runs, reply: JSON.parse(new TextDecoder().decode(result!)) as { sessions: number } }
    })))
    expect(r.reply.sessions).toBe(300)
    expect(r.runs).toBe(1)
  }, 60_000)
})

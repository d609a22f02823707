/**
 * The analysis thread pool: the Result from a thread is the in-process one byte for byte
 * (apart from the run id and times); an interrupted analysis terminates its thread and the
 * pool goes on with a fresh one; a thread that crashes is a defect, not a hang.
 */
import { describe, expect, test } from "bun:test"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Scope from "effect/Scope"
import { analyzeToDocument } from "../../actors/orchestrator/Orchestrator.ts"
import { makeAnalysisPool, wantsIngestThread } from "../../actors/threads/AnalysisPool.ts"
import { writeDataset } from "../../src/synthetic/writeDataset.ts"

const dir = mkdtempSync(join(tmpdir(), "dshield-pool-"))
const dataset = await writeDataset({ sessions: 400, seed: 3, outDir: dir })
const request = { paths: [dataset.cowriePath], config: {} }
const withoutRun = (document: Uint8Array): string =>
  new TextDecoder().decode(document)
    .replace(/"id": "run-[0-9a-f]+"/, "")
    .replace(/"started_at": "[^"]+"/, "")
    .replace(/"finished_at": "[^"]+"/, "")
const run = <A, E>(body: Effect.Effect<A, E, Scope.Scope>): Promise<A> => Effect.runPromise(Effect.scoped(body))

describe("analysis thread pool", () => {
  test("a thread gives the in-process Result, byte for byte apart from the run id and times", async () => {
    const r = await run(Effect.gen(function*() {
      const pool = yield* makeAnalysisPool(2)
      const [a, b] = yield* Effect.all([pool.run(request), pool.run(request)], { concurrency: "unbounded" })
      const local = yield* analyzeToDocument(request)
      return { a, b, local }
    }))
    expect(withoutRun(r.a.document)).toBe(withoutRun(r.local.document))
    expect(withoutRun(r.b.document)).toBe(withoutRun(r.local.document))
    expect(r.a.reply.sessions).toBe(r.local.reply.sessions)
  }, 60_000)

  test("an interrupted analysis stops at once; the pool goes on with a fresh thread", async () => {
    const r = await run(Effect.gen(function*() {
      // Each analysis holds its thread 3 s first: only terminating it ends one early.
      const pool = yield* makeAnalysisPool(1, { blockMs: 3_000 })
      const t0 = Date.now()
      const cut = yield* Effect.exit(pool.run(request).pipe(Effect.timeout(300)))
      const cancelledAfter = Date.now() - t0
      // The same pool answers the next request, on the thread that replaced the terminated one.
      const next = yield* pool.run({ paths: [join(dir, "missing.json")], config: {} }).pipe(Effect.flip)
      return { cut, cancelledAfter, next, busy: pool.busy() }
    }))
    expect(Exit.isFailure(r.cut)).toBe(true)
    expect(r.cancelledAfter).toBeLessThan(2_500)
    expect(r.next.kind).toBe("input")
    expect(r.busy).toBe(0)
  }, 60_000)

  test("a crashing thread is a defect, and the next analysis gets a new thread", async () => {
    const r = await run(Effect.gen(function*() {
      const pool = yield* makeAnalysisPool(1, { crash: true })
      const first = yield* Effect.exit(pool.run(request))
      const second = yield* Effect.exit(pool.run(request))
      return { first, second, busy: pool.busy() }
    }))
    for (const exit of [r.first, r.second]) {
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) expect(Cause.hasDies(exit.cause)).toBe(true)
    }
    expect(r.busy).toBe(0)
  }, 60_000)
})

describe("when a pool thread reads on an ingest thread", () => {
  test("only a large input analysed alone, on a pool with fewer threads than cores", () => {
    const large = 1024 * 1024 * 1024
    expect(wantsIngestThread({ running: 1, size: 1, cores: 2, bytes: large })).toBe(true)
    expect(wantsIngestThread({ running: 2, size: 2, cores: 4, bytes: large })).toBe(false)
    expect(wantsIngestThread({ running: 1, size: 2, cores: 2, bytes: large })).toBe(false)
    expect(wantsIngestThread({ running: 1, size: 1, cores: 2, bytes: 86 * 1024 * 1024 })).toBe(false)
  })
})

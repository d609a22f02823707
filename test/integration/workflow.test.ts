/**
 * The LangGraph workflow over the agent actors: depths do different work, standard gives the
 * in-process result byte for byte, and an analysis interrupted mid-way resumes from its last
 * completed node — with the memory checkpointer and with PostgreSQL.
 */
import { afterAll, describe, expect, test } from "bun:test"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type BaseCheckpointSaver, MemorySaver } from "@langchain/langgraph"
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres"
import * as Effect from "effect/Effect"
import { DEFAULT_CONFIG } from "../../src/config/AnalysisConfig.ts"
import { serializeResult } from "../../src/domain/Result.ts"
import { spawnAnalysisActors } from "../../src/workflow/analysisActors.ts"
import { analysisGraph, runWorkflow } from "../../src/workflow/analysisGraph.ts"
import { runCli, withoutRunTimes } from "../cli/helpers.ts"
import { freshDatabase, serviceAvailable } from "./services.ts"

const HAVE_POSTGRES = await serviceAvailable("PostgreSQL", 5432)
const database = freshDatabase("dshield_coord_graph", HAVE_POSTGRES)
const savers: Array<PostgresSaver> = []
afterAll(async () => {
  for (const s of savers) await s.end()
  database?.drop()
})

const dir = mkdtempSync(join(tmpdir(), "dshield-graph-"))
const input = join(dir, "cowrie.json")
expect(runCli(["generate", "--sessions", "1500", "--seed", "8", "--out", dir, "--quiet"]).code).toBe(0)
expect(runCli(["analyze", "--quiet", "--out", join(dir, "local.json"), input]).code).toBe(0)
const local = withoutRunTimes(readFileSync(join(dir, "local.json"), "utf8"))

const withActors = <A>(body: (actors: Effect.Success<typeof spawnAnalysisActors>) => Promise<A>): Promise<A> =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(spawnAnalysisActors, (actors) => Effect.promise(() => body(actors)))))

describe("analysis workflow (LangGraph over actors)", () => {
  test("depths: standard equals the in-process result; minimal skips the interval; deep adds tools, narrative, index", async () => {
    await withActors(async (actors) => {
      const graph = analysisGraph(actors, new MemorySaver())
      const standard = await runWorkflow(graph, "standard", { paths: [input], config: DEFAULT_CONFIG, depth: "standard" })
      expect(withoutRunTimes(serializeResult(standard.result))).toBe(local)
      expect(standard.trail).toEqual(["ingestInputs", "findPatterns", "scoreConfidence"])

      const minimal = await runWorkflow(graph, "minimal", { paths: [input], config: DEFAULT_CONFIG, depth: "minimal" })
      expect(minimal.result.campaigns.every((c) => c.confidence_interval[0] === c.confidence && c.confidence_interval[1] === c.confidence)).toBe(true)
      expect(minimal.result.campaigns.map((c) => c.sessions)).toEqual(standard.result.campaigns.map((c) => c.sessions))

      const deep = await runWorkflow(graph, "deep", { paths: [input], config: DEFAULT_CONFIG, depth: "deep" })
      expect(deep.trail).toEqual(["ingestInputs", "findPatterns", "coordinateTools", "scoreConfidence", "narrate", "indexResults"])
      expect(deep.narrative).toContain("campaign famil")
      // ASN and country from the shipped databases; no threat-intel feed imported in this test.
      expect(deep.tools?.map((t) => `${t.tool} ${t.status}`)).toEqual(["asn-prefix ok", "geo ok", "threat-intel unavailable"])
      expect(deep.narrative).toContain("Narrative from the template: no inference endpoint is configured")
      expect(deep.indexed).toContain("skipped")
    })
  }, 120_000)

  const checkpointers: Array<readonly [string, () => Promise<BaseCheckpointSaver>, boolean]> = [
    ["memory", async () => new MemorySaver(), true],
    [
      "PostgreSQL",
      async () => {
        const saver = PostgresSaver.fromConnString(database!.url)
        await saver.setup()
        savers.push(saver)
        return saver
      },
      HAVE_POSTGRES
    ]
  ]
  for (const [name, make, available] of checkpointers) {
    test.skipIf(!available)(`an analysis interrupted during scoring resumes from its last completed node (${name} checkpointer)`, async () => {
      await withActors(async (actors) => {
        const saver = await make()
        let crash = true
        const ran: Array<string> = []
        const graph = analysisGraph(actors, saver, {
          beforeNode: (node) => {
            ran.push(node)
            if (node === "scoreConfidence" && crash) {
              crash = false
              throw new Error("simulated crash during scoring")
            }
          }
        })
        const thread = `resume-${name}-${process.pid}`
        await expect(runWorkflow(graph, thread, { paths: [input], config: DEFAULT_CONFIG, depth: "standard" })).rejects.toThrow("simulated crash")
        expect(ran).toEqual(["ingestInputs", "findPatterns", "scoreConfidence"])
        ran.length = 0
        const resumed = await runWorkflow(graph, thread, undefined)
        // Only the node that had not completed runs again.
        expect(ran).toEqual(["scoreConfidence"])
        expect(withoutRunTimes(serializeResult(resumed.result))).toBe(local)
      })
    }, 120_000)
  }
})

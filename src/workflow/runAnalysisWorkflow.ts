/**
 * `analyze --depth minimal|standard|deep [--thread ID]`: the analysis as the LangGraph
 * workflow over the agent actors (whose layer the caller gives: layers/Analyzers.ts). With DATABASE_URL / --database-url the checkpoints live in
 * PostgreSQL, so an analysis interrupted by a crash is resumed by running the same command
 * with the same --thread; without it they are kept in memory for the run.
 */
import { randomUUID } from "node:crypto"
import { type BaseCheckpointSaver, MemorySaver } from "@langchain/langgraph"
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { AnalysisConfig } from "../config/AnalysisConfig.ts"
import { AnalysisError } from "../domain/errors.ts"
import { analysisActors, type EmbeddedAgents } from "./analysisActors.ts"
import { analysisGraph, type Depth, NodeFailure, runWorkflow, type WorkflowRun } from "./analysisGraph.ts"

const checkpointer = (databaseUrl: string | undefined) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async (): Promise<BaseCheckpointSaver & { end?: () => Promise<void> }> => {
        if (databaseUrl === undefined) return new MemorySaver()
        const saver = PostgresSaver.fromConnString(databaseUrl)
        await saver.setup()
        return saver
      },
      catch: (error) => new AnalysisError({ message: `Cannot set up workflow checkpoints in PostgreSQL (${String(error)}); check DATABASE_URL.` })
    }),
    (saver) => Effect.promise(async () => void (await saver.end?.()))
  )

/** The agent actors' clients, wherever they run: layers/Embedded.ts (here) or layers/Live.ts (the pool). */
export type AgentActorsLayer = Layer.Layer<Layer.Success<typeof EmbeddedAgents>>

export const runAnalysisWorkflow = Effect.fn("Workflow.run")(function*(
  agents: AgentActorsLayer,
  paths: ReadonlyArray<string>,
  config: AnalysisConfig,
  depth: Depth,
  thread: string | undefined,
  databaseUrl: string | undefined,
  quiet: boolean,
  /** What a failure tells the user to do: resume with --thread (the CLI), or submit again (the API). */
  onFailure: "resume" | "resubmit" = "resume"
) {
  const actors = yield* Effect.provideContext(analysisActors, yield* Layer.build(agents))
  const saver = yield* checkpointer(databaseUrl)
  const graph = analysisGraph(actors, saver)
  const threadId = thread ?? `analysis-${randomUUID()}`
  const existing = yield* Effect.promise(() => graph.getState({ configurable: { thread_id: threadId } }))
  const resuming = existing.next.length > 0
  if (!quiet) {
    yield* Effect.sync(() => process.stderr.write(resuming ? `resuming ${threadId} at ${existing.next.join(", ")}\n` : `workflow ${threadId} (${depth})\n`))
  }
  const run: WorkflowRun = yield* Effect.tryPromise({
    try: () => runWorkflow(graph, threadId, resuming ? undefined : { paths, config, depth }),
    catch: (error) => {
      // A node's typed failure, unwrapped: input problems are the user's to fix (exit 2);
      // anything else failed the workflow, which resumes from its last completed node.
      if (error instanceof NodeFailure && error.failure._tag === "InputError") return error.failure
      const where = error instanceof NodeFailure ? ` at ${error.node}` : ""
      const message = error instanceof NodeFailure ? error.failure.message : String((error as Error).message ?? error)
      const advice = onFailure === "resume" ? `run the same command with --thread ${threadId} to resume it` : "check the workers (dshield-coord ops status) and submit it again"
      return new AnalysisError({ message: `The workflow ${threadId} failed${where}: ${message.replace(/[.;\s]+$/, "")}; ${advice}.` })
    }
  })
  return run
})

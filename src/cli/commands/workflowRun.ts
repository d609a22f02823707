/**
 * `analyze --depth minimal|standard|deep [--thread ID]`: the analysis as the LangGraph
 * workflow over the agent actors. With DATABASE_URL / --database-url the checkpoints live in
 * PostgreSQL, so an analysis interrupted by a crash is resumed by running the same command
 * with the same --thread; without it they are kept in memory for the run.
 */
import { randomUUID } from "node:crypto"
import { type BaseCheckpointSaver, MemorySaver } from "@langchain/langgraph"
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres"
import { Effect, Layer } from "effect"
import type { AnalysisConfig } from "../../config/AnalysisConfig.ts"
import { AnalysisError } from "../../domain/errors.ts"
import { analysisActors } from "../../workflow/analysisActors.ts"
import type { NatsFlags } from "../../../actors/transport/NatsConnection.ts"
import { analysisGraph, type Depth, NodeFailure, runWorkflow, type WorkflowRun } from "../../workflow/analysisGraph.ts"

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

/**
 * The agent actors: in this process, or with `nats` the pool's (workers started with the
 * agent roles), reached through the same typed clients. Messages too large for one NATS
 * message — the sessions of a large input, the campaigns of a large result — travel by
 * claim-check through the coord-payloads bucket (actors/transport/LargePayloads.ts).
 */
const agentActors = (nats: NatsFlags | undefined, timeoutMs: number | undefined) =>
  Effect.gen(function*() {
    // The wiring lives in layers/: Embedded spawns the agents here, Live reaches the pool's.
    const layer = nats === undefined
      ? (yield* Effect.promise(() => import("../../../layers/Embedded.ts"))).Embedded
      : (yield* Effect.promise(() => import("../../../layers/Live.ts"))).Live(yield* Effect.flatMap(Effect.promise(() => import("./remote.ts")), ({ natsConnection }) => natsConnection(nats)), timeoutMs)
    return yield* Effect.provideContext(analysisActors, yield* Layer.build(layer))
  })

export const runAnalysisWorkflow = Effect.fn("Cli.workflow")(function*(
  paths: ReadonlyArray<string>,
  config: AnalysisConfig,
  depth: Depth,
  thread: string | undefined,
  databaseUrl: string | undefined,
  quiet: boolean,
  nats?: NatsFlags,
  timeoutMs?: number
) {
  const actors = yield* agentActors(nats, timeoutMs)
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
      return new AnalysisError({ message: `The workflow ${threadId} failed${where}: ${message}; run the same command with --thread ${threadId} to resume it.` })
    }
  })
  return run
})

/**
 * Running analyses through NATS actors: `dshield-coord worker` serves a pool of actors, and
 * `analyze --nats URL` sends the analysis to whichever instance of the pool is free.
 */
import { randomUUID } from "node:crypto"
import { resolve } from "node:path"
import { Effect, Schema, type Scope } from "effect"
import { connect, type NatsConnection } from "nats"
import { API_GROUP, CoordApi, coordApiBehaviour } from "../../../actors/api/CoordApi.ts"
import { ConfidenceScorer, confidenceScorerBehaviour } from "../../../actors/confidence-scorer/ConfidenceScorer.ts"
import { ElasticsearchEnricher } from "../../../actors/elasticsearch-enricher/ElasticsearchEnricher.ts"
import { Inference, inferenceBehaviour } from "../../../actors/inference/Inference.ts"
import { spawn } from "../../../actors/kernel/Actor.ts"
import { PatternAnalyzer, patternAnalyzerBehaviour } from "../../../actors/pattern-analyzer/PatternAnalyzer.ts"
import { ToolCoordinator, toolCoordinatorBehaviour } from "../../../actors/tool-coordinator/ToolCoordinator.ts"
import { AGENT_POLICY, enricherBehaviour } from "../../workflow/analysisActors.ts"
import { Orchestrator, orchestratorBehaviour } from "../../../actors/orchestrator/Orchestrator.ts"
import { consumeJobs, ensureJobStream, resultName, submitJob } from "../../../actors/transport/JobQueue.ts"
import { natsResultStore } from "../../../actors/transport/NatsResultStore.ts"
import { natsClient, serveOverNats } from "../../../actors/transport/NatsTransport.ts"
import type { AnalysisConfig } from "../../config/AnalysisConfig.ts"
import { AnalysisError, InputError } from "../../domain/errors.ts"
import { Result } from "../../domain/Result.ts"
import { type AgentRoleName, WORKER_ROLES } from "../workerRoles.ts"

/** A NATS connection for the scope, drained (in-flight replies sent) when the scope closes. */
export const natsConnection = (url: string) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () => connect({ servers: url, name: "dshield-coord" }),
      catch: () => new InputError({ message: `Cannot connect to NATS at ${url}; check --nats and that nats-server is running.` })
    }),
    (nc: NatsConnection) => Effect.promise(() => nc.drain().catch(() => undefined))
  )

/** Runs one analysis on the NATS pool and fetches its Result from the object store. */
export const analyzeOverNats = Effect.fn("Cli.analyzeOverNats")(function*(natsUrl: string, paths: ReadonlyArray<string>, config: AnalysisConfig) {
  const nc = yield* natsConnection(natsUrl)
  const client = natsClient(nc, Orchestrator, { timeoutMs: 30 * 60_000 })
  const reply = yield* client.ask("analyze", { paths: paths.map((p) => resolve(p)), display_paths: [...paths], config: { ...config } }).pipe(
    Effect.mapError((error) => {
      switch (error._tag) {
        case "AnalysisFailed":
          return error.kind === "input" ? new InputError({ message: error.message }) : new AnalysisError({ message: error.message })
        case "ActorUnavailable":
          return new AnalysisError({ message: `The analysis could not run on NATS: ${error.reason}` })
        case "ActorTimeout":
          return new AnalysisError({ message: `No orchestrator answered within ${error.timeoutMs / 1000} s; check the workers (dshield-coord ops status).` })
      }
    })
  )
  const blob = yield* natsResultStore(nc).get(reply.result_object)
  if (blob === undefined) {
    return yield* new AnalysisError({ message: `The result ${reply.result_object} is missing from the NATS object store; run the analysis again.` })
  }
  const parsed = JSON.parse(new TextDecoder().decode(blob)) as unknown
  yield* Schema.decodeUnknownEffect(Result)(parsed).pipe(
    Effect.mapError(() => new AnalysisError({ message: "The worker's result does not match Result v1; check that workers run the same engine version." }))
  )
  // The document as the worker wrote it (decoding would reorder keys): same bytes as in process.
  return parsed as Result
})

/** `dshield-coord worker`: serve `pool` instances of each role until interrupted (SIGTERM/SIGINT). */
export const workerCommand = Effect.fn("Cli.worker")(function*(roles: ReadonlyArray<string>, pool: number, natsUrl: string, quiet: boolean) {
  for (const role of roles) {
    for (let i = 0; i < pool; i++) {
      // One connection per instance: instances behave like separate processes in the queue group.
      const nc = yield* natsConnection(natsUrl)
      if (role === "orchestrator") {
        const ref = yield* spawn(Orchestrator, orchestratorBehaviour(natsResultStore(nc)))
        yield* serveOverNats(nc, ref)
      } else if (AGENT_ROLES[role] !== undefined) {
        // A workflow agent actor, reached by the Live layer's clients.
        yield* AGENT_ROLES[role]!(nc)
      } else if (role === "api") {
        // The client API: coord.v1.analyze | result | status (docs/nats-api.md).
        const ref = yield* spawn(CoordApi, coordApiBehaviour(natsResultStore(nc)))
        yield* serveOverNats(nc, ref, { group: API_GROUP })
      } else if (role === "jobs") {
        // Durable jobs: this instance pulls from the JetStream work queue, one job at a time.
        const results = natsResultStore(nc)
        const ref = yield* spawn(Orchestrator, orchestratorBehaviour(results))
        yield* ensureJobStream(nc, jobOptions())
        yield* Effect.forkScoped(consumeJobs(nc, results, (request) => ref.ask("analyze", request), jobOptions()))
      }
    }
  }
  if (!quiet) yield* Effect.sync(() => process.stderr.write(`worker ready: ${roles.join(", ")} × ${pool} on ${natsUrl}; SIGTERM drains and stops.\n`))
  return yield* Effect.never
})

/** The workflow's agent actors, served over NATS (the names are in ../workerRoles.ts). */
const AGENT_ROLES: Record<string, (nc: NatsConnection) => Effect.Effect<unknown, never, Scope.Scope>> = {
  "pattern-analyzer": (nc) => Effect.flatMap(spawn(PatternAnalyzer, patternAnalyzerBehaviour, { policy: AGENT_POLICY }), (ref) => serveOverNats(nc, ref)),
  "confidence-scorer": (nc) => Effect.flatMap(spawn(ConfidenceScorer, confidenceScorerBehaviour, { policy: AGENT_POLICY }), (ref) => serveOverNats(nc, ref)),
  "tool-coordinator": (nc) => Effect.flatMap(spawn(ToolCoordinator, toolCoordinatorBehaviour, { policy: AGENT_POLICY }), (ref) => serveOverNats(nc, ref)),
  inference: (nc) => Effect.flatMap(spawn(Inference, inferenceBehaviour, { policy: AGENT_POLICY }), (ref) => serveOverNats(nc, ref)),
  "elasticsearch-enricher": (nc) => Effect.flatMap(spawn(ElasticsearchEnricher, enricherBehaviour, { policy: AGENT_POLICY }), (ref) => serveOverNats(nc, ref))
} satisfies Record<AgentRoleName, (nc: NatsConnection) => Effect.Effect<unknown, never, Scope.Scope>>

export { WORKER_ROLES }

/** Job timing; DSHIELD_JOB_ACK_WAIT_MS shortens the redelivery delay (tests, small jobs). */
const jobOptions = () => ({ ackWaitMs: Number(process.env.DSHIELD_JOB_ACK_WAIT_MS ?? 30_000) })

/**
 * Runs one analysis as a durable job: submitted to the JetStream work queue, picked up by
 * any `jobs` worker (again by another if that one dies), result fetched by its analysis id.
 */
export const analyzeAsDurableJob = Effect.fn("Cli.analyzeAsDurableJob")(function*(natsUrl: string, paths: ReadonlyArray<string>, config: AnalysisConfig, timeoutMs: number) {
  const nc = yield* natsConnection(natsUrl)
  yield* ensureJobStream(nc, jobOptions())
  const analysisId = randomUUID()
  yield* submitJob(nc, { analysis_id: analysisId, request: { paths: paths.map((p) => resolve(p)), display_paths: [...paths], config: { ...config } } })
  const results = natsResultStore(nc)
  const started = Date.now()
  while (Date.now() - started < timeoutMs) {
    const blob = yield* results.get(resultName(analysisId))
    if (blob !== undefined) {
      const reply = JSON.parse(new TextDecoder().decode(blob)) as { result_object?: string; failed?: string }
      if (reply.result_object === undefined) return yield* new AnalysisError({ message: `Job ${analysisId} failed on the worker: ${reply.failed ?? "unknown error"}` })
      const document = yield* results.get(reply.result_object)
      if (document === undefined) return yield* new AnalysisError({ message: `The result of job ${analysisId} is missing from the object store; submit it again.` })
      return JSON.parse(new TextDecoder().decode(document)) as Result
    }
    yield* Effect.sleep(250)
  }
  return yield* new AnalysisError({ message: `Job ${analysisId} did not finish within ${timeoutMs / 1000} s; it stays queued — check the jobs workers (dshield-coord ops status).` })
})

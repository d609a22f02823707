/**
 * The `dshield-coord` entry point: parse the command, run it, map typed failures to exit codes
 * (0 ok, 1 analysis error, 2 usage or input error) with one sentence on stderr.
 *
 * Each command's module is imported when that command runs, not before: `analyze FILE` loads
 * ingest, analytics and result writing, and none of NATS, the stores, LangGraph or
 * Elasticsearch (which only `--nats`, `--store`, `--depth` and the store commands use).
 * Start-up of a short command is dominated by module loading, so keep this file's static
 * imports to what every command needs.
 */
import { accessSync, constants } from "node:fs"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { ENGINE_VERSION } from "../version.ts"
import { InputError } from "../domain/errors.ts"
import { inputsReadable } from "../ingest/inputPaths.ts"
import { commandName, tracingFromEnv } from "../observability/TracingSettings.ts"
import { type Command, parseCommand } from "./args.ts"
import { ANALYZE_HELP, ASSESS_HELP, AUDIT_HELP, CAMPAIGNS_HELP, CONFIG_HELP, KEYS_HELP, MAINTENANCE_HELP, OPS_HELP, REPLAY_HELP, SERVE_HELP, WORKER_HELP, EVAL_HELP, GENERATE_HELP, MAIN_HELP, MIGRATE_HELP, SCHEMA_HELP, VERSION_HELP, TECHNIQUES_HELP, EXPORT_HELP, REPORT_HELP, MCP_HELP } from "./help.ts"
import { IMPORT_HELP, INGEST_HELP, TAIL_HELP } from "./help.ts"

const HELP = { main: MAIN_HELP, analyze: ANALYZE_HELP, schema: SCHEMA_HELP, version: VERSION_HELP, eval: EVAL_HELP, assess: ASSESS_HELP, generate: GENERATE_HELP, migrate: MIGRATE_HELP, config: CONFIG_HELP, campaigns: CAMPAIGNS_HELP, maintenance: MAINTENANCE_HELP, ops: OPS_HELP, replay: REPLAY_HELP, worker: WORKER_HELP, serve: SERVE_HELP, keys: KEYS_HELP, audit: AUDIT_HELP, techniques: TECHNIQUES_HELP, export: EXPORT_HELP, report: REPORT_HELP, mcp: MCP_HELP, ingest: INGEST_HELP, tail: TAIL_HELP, import: IMPORT_HELP } as const

/** A command's module, loaded on first use (a failure to load it is a defect: a broken install). */
const load = <M>(module: () => Promise<M>): Effect.Effect<M> => Effect.promise(module)

/** --asn-db FILE: this process's analyses (and their threads) take country and ASN from it (DSHIELD_ASN_DB). */
const useAsnDatabase = (file: string) =>
  Effect.suspend(() => {
    try {
      accessSync(file, constants.R_OK)
    } catch (error) {
      return Effect.fail(new InputError({ message: `Cannot read the ASN database ${file} (${(error as { code?: string }).code ?? String(error)}); give an iptoasn.com ip2asn TSV file (plain or .gz).`, path: file }))
    }
    process.env.DSHIELD_ASN_DB = file
    return Effect.void
  })

/**
 * --geoip-db FILE…: this process's analyses (and their threads) ask these MaxMind files first
 * (DSHIELD_GEOIP_DB). They are opened here, as the process's geography the analysis then
 * uses, so a wrong file stops the command in one sentence instead of failing inside the
 * analysis, and is read once.
 */
const useGeoIpDatabases = (files: ReadonlyArray<string>) =>
  Effect.flatMap(
    load(() => Promise.all([import("../enrichment/Geography.ts"), import("../enrichment/maxmindGeography.ts")])),
    ([{ defaultGeography }, { GeoIpDatabaseError }]) =>
      Effect.suspend(() => {
        const withComma = files.find((f) => f.includes(","))
        if (withComma !== undefined) return Effect.fail(new InputError({ message: `A --geoip-db path contains a comma (${withComma}); rename or link the file without one.` }))
        process.env.DSHIELD_GEOIP_DB = files.join(",")
        try {
          defaultGeography()
        } catch (error) {
          return error instanceof GeoIpDatabaseError ? Effect.fail(new InputError({ message: error.message, path: files[0] })) : Effect.die(error)
        }
        return Effect.void
      })
  )

/**
 * The inference actors of this process read DSHIELD_INFERENCE_CONFIG and DSHIELD_GPU (so do a
 * pool's workers); --inference-config and --gpu set them. A configuration that cannot be read
 * stops the command here, in one sentence, instead of every narrative saying so later.
 */
const configureInference = (file: string | undefined, gpu: string | undefined) =>
  Effect.flatMap(load(() => import("../inference/InferenceConfig.ts")), ({ loadInferenceConfig, InferenceConfigError }) =>
    Effect.suspend(() => {
      if (file !== undefined) process.env.DSHIELD_INFERENCE_CONFIG = file
      if (gpu !== undefined) process.env.DSHIELD_GPU = gpu
      try {
        const config = loadInferenceConfig(undefined)
        if (gpu !== undefined && config !== undefined && !config.endpoints.some((e) => e.gpu === gpu)) {
          return Effect.fail(new InputError({ message: `No inference endpoint is pinned to GPU ${gpu}; name it in the configuration or drop --gpu.` }))
        }
        return Effect.void
      } catch (error) {
        return error instanceof InferenceConfigError ? Effect.fail(new InputError({ message: error.message })) : Effect.die(error)
      }
    }))

/**
 * Traces the command when OTEL_EXPORTER_OTLP_ENDPOINT (or …_TRACES_ENDPOINT) is set
 * (src/observability, docs/operations.md "Tracing"): only then is the exporter loaded; it
 * flushes when the command ends, after SIGTERM/SIGINT too.
 */
const traced = <A, E>(command: Command, effect: Effect.Effect<A, E>): Effect.Effect<A, E> => {
  if (command._tag === "Help" || command._tag === "Version") return effect
  const config = tracingFromEnv(process.env, { name: commandName(command._tag), roles: command._tag === "Worker" ? command.roles : undefined })
  if (config._tag === "Off") return effect
  if (config._tag === "Invalid") return Effect.andThen(Effect.sync(() => process.stderr.write(`dshield-coord: ${config.message}\n`)), effect)
  return Effect.flatMap(load(() => import("../observability/OtlpTracing.ts")), ({ tracingLayer }) => Effect.provide(effect, tracingLayer(config.settings)))
}

const program = (argv: ReadonlyArray<string>) => Effect.flatMap(parseCommand(argv), (command) => traced(command, run(command)))

const run = (command: Command) =>
  Effect.gen(function*() {
    switch (command._tag) {
      case "Help":
        return yield* Effect.sync(() => process.stdout.write(HELP[command.text]))
      case "Version":
        return yield* Effect.sync(() => process.stdout.write(`${ENGINE_VERSION}\n`))
      case "Schema": {
        const { schemaCommand } = yield* load(() => import("./commands/schema.ts"))
        return yield* schemaCommand(command.out)
      }
      case "Analyze": {
        if (command.asnDb !== undefined) yield* useAsnDatabase(command.asnDb)
        if (command.geoipDb.length > 0) yield* useGeoIpDatabases(command.geoipDb)
        if (command.depth === "deep" && command.nats === undefined) yield* configureInference(command.inferenceConfig, undefined)
        // The embedded store gets ready (PostgreSQL compiled, a new store copied from its
        // template) on other threads while the rest of the command loads and the input is read;
        // not for an input that is missing, whose one-sentence error must leave no store behind.
        const embedded = command.store !== undefined && command.store.databaseUrl === undefined && command.nats === undefined && command.depth === undefined
        if (embedded && command.es === undefined && inputsReadable(command.paths)) {
          import("../store/pgliteTemplate.ts").then(({ warmEmbeddedStore }) => warmEmbeddedStore(command.store!.dataDir), () => undefined)
        }
        const [{ analyzeCommand }, analyzers] = yield* load(() => Promise.all([import("./commands/analyze.ts"), import("../../layers/Analyzers.ts")]))
        // The command asks the Analyzer service; its layer says where the analysis runs.
        const analyze = (c: typeof command) => analyzeCommand(c).pipe(Effect.provide(analyzers.forCommand(c)))
        if (command.es === undefined) return yield* analyze(command)
        const { fromElasticsearch } = yield* load(() => import("./commands/elasticsearchInput.ts"))
        return yield* fromElasticsearch(command.es, command.quiet, (path) => analyze({ ...command, paths: [path] }))
      }
      case "Assess": {
        const { assessCommand } = yield* load(() => import("./commands/assess.ts"))
        return yield* assessCommand(command)
      }
      case "Generate": {
        const { generateCommand } = yield* load(() => import("./commands/generate.ts"))
        return yield* generateCommand(command)
      }
      case "Migrate": {
        const { migrateCommand } = yield* load(() => import("./commands/store.ts"))
        return yield* migrateCommand(command.store, command.quiet)
      }
      case "Config": {
        const { configCommand } = yield* load(() => import("./commands/store.ts"))
        return yield* configCommand(command.store)
      }
      case "Worker": {
        if (command.roles.includes("inference")) yield* configureInference(command.inferenceConfig, command.gpu)
        const { workerCommand } = yield* load(() => import("./commands/worker.ts"))
        return yield* Effect.scoped(workerCommand(command.roles, command.pool, command.nats, command.quiet, command, command.graceMs))
      }
      case "Replay": {
        if (command.asnDb !== undefined) yield* useAsnDatabase(command.asnDb)
        if (command.geoipDb.length > 0) yield* useGeoIpDatabases(command.geoipDb)
        const { replayCommand } = yield* load(() => import("./commands/replay.ts"))
        return yield* replayCommand(command.manifest, command.out, command.nats, command.timeoutMs)
      }
      case "OpsStatus": {
        const { opsStatusCommand } = yield* load(() => import("./commands/store.ts"))
        return yield* opsStatusCommand(command.store, command.nats)
      }
      case "Maintenance": {
        const { maintenanceCommand } = yield* load(() => import("./commands/store.ts"))
        return yield* maintenanceCommand(command.store, command.policy, command.quiet)
      }
      case "Campaigns": {
        const { campaignsCommand } = yield* load(() => import("./commands/store.ts"))
        return yield* campaignsCommand(command.action, command.id, command.all, command.store, command.nats, command.tenant)
      }
      case "Serve": {
        const { serveCommand } = yield* load(() => import("./commands/serve.ts"))
        return yield* Effect.scoped(serveCommand(command))
      }
      case "Mcp": {
        const { mcpCommand } = yield* load(() => import("./commands/mcp.ts"))
        return yield* mcpCommand(command)
      }
      case "Keys": {
        const { keysCommand } = yield* load(() => import("./commands/serve.ts"))
        return yield* Effect.scoped(keysCommand(command))
      }
      case "AuditTail": {
        const { auditTailCommand } = yield* load(() => import("./commands/serve.ts"))
        return yield* Effect.scoped(auditTailCommand(command.store, command.count, command.follow))
      }
      case "Export": {
        const from = command.from
        if (from.kind === "store") {
          const { exportStoredCampaign } = yield* load(() => import("./commands/store.ts"))
          return yield* exportStoredCampaign(from.campaignId, from.tenant, from.store, from.nats, command.exports, command.quiet)
        }
        const { exportCommand } = yield* load(() => import("./commands/export.ts"))
        return yield* exportCommand(from.path, command.exports, command.quiet)
      }
      case "Report": {
        const { reportCommand } = yield* load(() => import("./commands/report.ts"))
        return yield* reportCommand(command)
      }
      case "Import": {
        const { importCommand } = yield* load(() => import("./commands/importIntel.ts"))
        return yield* importCommand(command)
      }
      case "Techniques": {
        const { techniquesCommand } = yield* load(() => import("./commands/techniques.ts"))
        return yield* techniquesCommand(command)
      }
      case "Ingest": {
        const { ingestCommand } = yield* load(() => import("./commands/live.ts"))
        return yield* Effect.scoped(ingestCommand(command))
      }
      case "Tail": {
        const { tailCommand } = yield* load(() => import("./commands/live.ts"))
        return yield* Effect.scoped(tailCommand(command))
      }
      case "Eval": {
        const { evalCommand } = yield* load(() => import("./commands/evalCommand.ts"))
        return yield* evalCommand(command.labels, command.result, command.json)
      }
    }
  })
/**
 * Commands that serve until they are told to stop: SIGTERM or SIGINT is their normal end (they
 * drain first) and exits 0. Any other command stopped by a signal did not finish its work and
 * exits 128 + the signal's number (130, 143), so `analyze … && use result.json` does not go on.
 */
const SERVING_COMMANDS = new Set(["worker", "serve", "ingest", "mcp"])
const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 }

/** Runs the CLI and resolves to the process exit code. */
export const runCli = async (argv: ReadonlyArray<string>): Promise<number> => {
  // SIGTERM / SIGINT interrupt the program: finalizers run (NATS services stop, connections
  // drain so in-flight replies are sent, stores close) before the process exits.
  const fiber = Effect.runFork(program(argv))
  let signal: string | undefined
  const stopOn = (name: string) => (): void => {
    signal ??= name
    void Effect.runFork(Fiber.interrupt(fiber))
  }
  const onTerm = stopOn("SIGTERM")
  const onInt = stopOn("SIGINT")
  process.once("SIGTERM", onTerm)
  process.once("SIGINT", onInt)
  const exit = await Effect.runPromise(Fiber.await(fiber))
  process.off("SIGTERM", onTerm)
  process.off("SIGINT", onInt)
  if (Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)) {
    return signal === undefined || SERVING_COMMANDS.has(argv[0] ?? "") ? 0 : SIGNAL_EXIT[signal] ?? 1
  }
  if (Exit.isSuccess(exit)) return 0
  const error = Cause.findErrorOption(exit.cause)
  if (error._tag === "Some") {
    const e = error.value
    process.stderr.write(`dshield-coord: ${e.message}\n`)
    return e._tag === "AnalysisError" ? 1 : 2
  }
  process.stderr.write(`dshield-coord: unexpected failure; please report it:\n${Cause.pretty(exit.cause)}\n`)
  return 1
}

if (import.meta.main) {
  const code = await runCli(process.argv.slice(2))
  // Let stdout drain before exiting (large --out - results are written asynchronously).
  process.exitCode = code
}

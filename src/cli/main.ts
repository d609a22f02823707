/**
 * The `dshield-coord` entry point: parse the command, run it, map typed failures to exit codes
 * (0 ok, 1 analysis error, 2 usage or input error) with one sentence on stderr.
 */
import { Cause, Effect, Exit, Fiber } from "effect"
import { ENGINE_VERSION } from "../version.ts"
import { parseCommand } from "./args.ts"
import { analyzeCommand } from "./commands/analyze.ts"
import { assessCommand } from "./commands/assess.ts"
import { evalCommand } from "./commands/evalCommand.ts"
import { generateCommand } from "./commands/generate.ts"
import { workerCommand } from "./commands/remote.ts"
import { replayCommand } from "./commands/replay.ts"
import { campaignsCommand, configCommand, maintenanceCommand, migrateCommand, opsStatusCommand } from "./commands/store.ts"
import { schemaCommand } from "./commands/schema.ts"
import { ANALYZE_HELP, ASSESS_HELP, CAMPAIGNS_HELP, CONFIG_HELP, MAINTENANCE_HELP, OPS_HELP, REPLAY_HELP, WORKER_HELP, EVAL_HELP, GENERATE_HELP, MAIN_HELP, MIGRATE_HELP, SCHEMA_HELP, VERSION_HELP } from "./help.ts"

const HELP = { main: MAIN_HELP, analyze: ANALYZE_HELP, schema: SCHEMA_HELP, version: VERSION_HELP, eval: EVAL_HELP, assess: ASSESS_HELP, generate: GENERATE_HELP, migrate: MIGRATE_HELP, config: CONFIG_HELP, campaigns: CAMPAIGNS_HELP, maintenance: MAINTENANCE_HELP, ops: OPS_HELP, replay: REPLAY_HELP, worker: WORKER_HELP } as const

const program = (argv: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const command = yield* parseCommand(argv)
    switch (command._tag) {
      case "Help":
        return yield* Effect.sync(() => process.stdout.write(HELP[command.text]))
      case "Version":
        return yield* Effect.sync(() => process.stdout.write(`${ENGINE_VERSION}\n`))
      case "Schema":
        return yield* schemaCommand(command.out)
      case "Analyze":
        return yield* analyzeCommand(command)
      case "Assess":
        return yield* assessCommand(command)
      case "Generate":
        return yield* generateCommand(command)
      case "Migrate":
        return yield* migrateCommand(command.store, command.quiet)
      case "Config":
        return yield* configCommand(command.store)
      case "Worker":
        return yield* Effect.scoped(workerCommand(command.roles, command.pool, command.nats, command.quiet))
      case "Replay":
        return yield* replayCommand(command.manifest, command.out, command.nats)
      case "OpsStatus":
        return yield* opsStatusCommand(command.store, command.nats)
      case "Maintenance":
        return yield* maintenanceCommand(command.store, command.policy, command.quiet)
      case "Campaigns":
        return yield* campaignsCommand(command.action, command.id, command.all, command.store)
      case "Eval":
        return yield* evalCommand(command.labels, command.result, command.json)
    }
  })

/** Runs the CLI and resolves to the process exit code. */
export const runCli = async (argv: ReadonlyArray<string>): Promise<number> => {
  // SIGTERM / SIGINT interrupt the program: finalizers run (NATS services stop, connections
  // drain so in-flight replies are sent, stores close) before the process exits.
  const fiber = Effect.runFork(program(argv))
  const stop = (): void => void Effect.runFork(Fiber.interrupt(fiber))
  process.once("SIGTERM", stop)
  process.once("SIGINT", stop)
  const exit = await Effect.runPromise(Fiber.await(fiber))
  process.off("SIGTERM", stop)
  process.off("SIGINT", stop)
  if (Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)) return 0
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

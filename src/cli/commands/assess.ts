/**
 * `dshield-coord assess FILE…`: one assessment of the given sessions as a set.
 *
 * The null population is the user's own traffic: the `--reference` logs; else, when a store
 * is configured (DATABASE_URL, or an embedded store already in DSHIELD_DATA_DIR or
 * ./.dshield-coord/db), its stored history; else a synthetic background, flagged in
 * `assessment.null_population.kind` and on the terminal.
 */
import { existsSync } from "node:fs"
import { writeFile } from "node:fs/promises"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { type AnalysisConfig, DEFAULT_CONFIG, sha256Hex } from "../../config/AnalysisConfig.ts"
import { resolveStoreConfig, type StoreConfig } from "../../config/StoreConfig.ts"
import type { AttackSession } from "../../domain/AttackSession.ts"
import { ASSESSMENT_SCHEMA_ID, AssessmentResult } from "../../domain/AssessmentResult.ts"
import { AnalysisError, InputError } from "../../domain/errors.ts"
import { ingest, IngestFailure, type IngestReport } from "../../ingest/ingest.ts"
import { assessSessions } from "../../pipeline/assessSessions.ts"
import { inputDigest, runInfo } from "../../pipeline/assembleResult.ts"
import type { Command } from "../args.ts"

type AssessCommand = Extract<Command, { _tag: "Assess" }>

// The store (and its database drivers) is loaded only when assess reads the stored history.
const store = Effect.promise(() => import("../../../actors/postgres/StoreActor.ts"))

/** A store is configured when DATABASE_URL is set or an embedded store already exists. */
const configuredStore = (): StoreConfig | undefined => {
  const config = resolveStoreConfig({})
  return config.databaseUrl !== undefined || existsSync(config.dataDir) ? config : undefined
}

/** The stored history of the configured store, through the postgres store actor. */
const storedHistory = (config: StoreConfig) =>
  Effect.flatMap(store, ({ postgresActor, storeFailure }) =>
    Effect.scoped(Effect.flatMap(postgresActor(config), (pg) => pg.ask("loadSessions", {}))).pipe(
      Effect.mapError((error) => {
        const failure = storeFailure(error)
        return failure._tag === "InputError"
          ? failure
          : new AnalysisError({
            message: `The configured store could not be read for the null population (${failure.message}); pass --reference with the sensor's logs, or fix the store.`
          })
      })
    ))

const read = (paths: ReadonlyArray<string>, config: AnalysisConfig) =>
  Effect.tryPromise({
    try: () => ingest(paths, { format: config.format, syslogYear: config.syslogYear ?? undefined, sessionGapMs: config.sessionGapMs }),
    catch: (error) =>
      error instanceof IngestFailure
        ? new InputError({ message: error.message, path: error.path })
        : new AnalysisError({ message: `Reading the input failed unexpectedly: ${String(error)}; please report this.` })
  })

export const assessCommand = Effect.fn("Cli.assess")(function*(command: AssessCommand) {
  const config: AnalysisConfig = { ...DEFAULT_CONFIG, format: command.format, seed: command.seed }
  const startedAt = yield* Clock.currentTimeMillis
  const report: IngestReport = yield* read(command.paths, config)
  if (report.sessions.length === 0) {
    return yield* new InputError({ message: "The input holds no sessions to assess; check the files and --format." })
  }
  // The null population, in order of preference: the given logs, the stored history, and
  // only without either a synthetic background.
  const reference: IngestReport | undefined = command.reference.length > 0 ? yield* read(command.reference, config) : undefined
  const storeConfig = reference === undefined ? configuredStore() : undefined
  const history: ReadonlyArray<AttackSession> = storeConfig === undefined ? [] : yield* storedHistory(storeConfig)
  const assessment = yield* Effect.try({
    try: () =>
      assessSessions(report.sessions, {
        config,
        reference: reference?.sessions ?? history,
        referenceKind: reference === undefined ? "stored_history" : "reference"
      }),
    catch: (error) => new AnalysisError({ message: `The assessment failed: ${String(error)}; please report this.` })
  })
  const finishedAt = yield* Clock.currentTimeMillis
  const digest = sha256Hex([inputDigest(report), reference === undefined ? "" : inputDigest(reference)].join("\n"))
  // The null population changes the evidence, so which one was used (and how large it is) is
  // part of the config digest.
  const result: AssessmentResult = {
    schema: ASSESSMENT_SCHEMA_ID,
    run: runInfo(
      digest,
      { ...config, null_population: assessment.null_population.kind, null_sessions: assessment.null_population.sessions } as AnalysisConfig,
      startedAt,
      finishedAt
    ),
    input: { files: report.files, events: report.events, sessions: report.sessions.length, rejected: report.rejects.toRecord() },
    assessment
  }
  yield* Schema.decodeUnknownEffect(AssessmentResult)(result).pipe(
    Effect.mapError((issue) => new AnalysisError({ message: `The assessment does not match its schema (${String(issue)}); please report this.` }))
  )
  const json = `${JSON.stringify(result, null, 2)}\n`
  if (command.out === "-") yield* Effect.sync(() => process.stdout.write(json))
  else if (command.out !== undefined) {
    const out = command.out
    yield* Effect.tryPromise({
      try: () => writeFile(out, json),
      catch: () => new InputError({ message: `Cannot write ${out}; choose a writable path for --out.`, path: out })
    })
  }
  if (!command.quiet) {
    const stream = command.out === "-" ? process.stderr : process.stdout
    const a = assessment
    const lines = [
      `${a.sessions.length} sessions from ${a.source_ips.length} source IPs, ${a.first_seen} → ${a.last_seen}`,
      `assessment: ${a.assessment} (confidence ${a.confidence.toFixed(3)}, 95% interval ${a.confidence_interval[0].toFixed(3)}–${a.confidence_interval[1].toFixed(3)})`,
      `compared with: ${
        a.null_population.kind === "reference"
          ? `${a.null_population.sessions} reference sessions`
          : a.null_population.kind === "stored_history"
          ? `${a.null_population.sessions} sessions of the stored history`
          : `${a.null_population.sessions} synthetic background sessions — not your traffic; temporal and infrastructure evidence against it mean little (pass --reference with the sensor's logs)`
      }`,
      ...Object.entries(a.evidence).map(([kind, e]) => `  ${kind.padEnd(26)} score ${e.score.toFixed(3)}  p ${e.p_value.toPrecision(3).padEnd(9)} ${e.detail}`),
      a.ttps.length > 0 ? `techniques: ${a.ttps.join(", ")}` : "techniques: none observed"
    ]
    yield* Effect.sync(() => stream.write(`${lines.join("\n")}\n`))
  }
})

/**
 * Live mode on the command line: `ingest --from nats` (src/live/LiveConsumer.ts) keeps the
 * store's campaigns up to date from a JetStream stream of sensor events, and `tail FILE --to
 * nats` (src/live/tail.ts) publishes a log to such a stream at a given rate, for testing.
 *
 * Both stop cleanly on SIGTERM / SIGINT (main.ts interrupts the command): the consumer commits
 * what is finished, acks and exits 0; tail waits for the acknowledgements of what it sent.
 */
import { dirname, join, resolve } from "node:path"
import * as Effect from "effect/Effect"
import type { NatsConnection } from "nats"
import { postgresActor, storeFailure } from "../../../actors/postgres/StoreActor.ts"
import { type NatsFlags, openNatsConnection, redactUrl, resolveNatsSettings } from "../../../actors/transport/NatsConnection.ts"
import { DEFAULT_CONFIG } from "../../config/AnalysisConfig.ts"
import { describeStoreConfig, type StoreConfig } from "../../config/StoreConfig.ts"
import { AnalysisError, InputError } from "../../domain/errors.ts"
import type { LiveOptions } from "../../live/LiveConsumer.ts"

/** `ingest --from nats`: the consumer's own options (src/live/LiveConsumer.ts), and where alerts, the store and NATS are. */
export interface IngestCommand extends Pick<LiveOptions, "stream" | "subject" | "consumer" | "tenant" | "format" | "commitEveryMs" | "sessionTimeoutMs" | "statusSubject"> {
  /** Where alerts are published; undefined = not published. */
  readonly alertSubject: string | undefined
  readonly alertWebhook: string | undefined
  readonly allowPrivateWebhooks: boolean
  readonly allowedWebhookTargets: ReadonlyArray<string>
  readonly dormantDays: number
  readonly seed: number
  readonly store: StoreConfig
  readonly nats: NatsFlags
  readonly quiet: boolean
}

export interface TailCommand {
  readonly file: string
  readonly stream: string
  readonly subject: string
  readonly rate: number
  readonly nats: NatsFlags
  readonly quiet: boolean
}

/** A failure of the live code as the CLI reports it: exit 2 for what the operator fixes, 1 otherwise. */
const cliFailure = (error: unknown): AnalysisError | InputError => {
  // NATS refused a subject to this user: the operator gives the right user (exit 2).
  const denied = (error as { permissionContext?: { operation?: string; subject?: string } }).permissionContext
  if ((error as { code?: unknown }).code === "PERMISSIONS_VIOLATION" && denied !== undefined) {
    return new InputError({
      message: `NATS refused to let this user ${denied.operation ?? "use"} ${denied.subject ?? "a subject"} (permissions violation); connect as a user with the live role of deploy/nats (or give yours that permission).`
    })
  }
  const message = String((error as { message?: unknown }).message ?? error)
  return (error as { exitCode?: unknown }).exitCode === 2 ? new InputError({ message }) : new AnalysisError({ message })
}

const connect = (nats: NatsFlags, name: string) =>
  Effect.flatMap(resolveNatsSettings(nats), (settings) => openNatsConnection(settings, name)).pipe(
    Effect.mapError((error) => new InputError({ message: error.message }))
  )

/**
 * Runs a promise-returning loop until it ends, or until the command is interrupted: then its
 * signal is aborted and the interruption waits for the loop to finish cleanly.
 */
const untilStopped = <A>(run: (signal: AbortSignal) => Promise<A>, onStopFailure: (error: unknown) => void) =>
  Effect.callback<A, AnalysisError | InputError>((resume) => {
    const controller = new AbortController()
    const done = run(controller.signal)
    done.then((value) => resume(Effect.succeed(value)), (error) => resume(Effect.fail(cliFailure(error))))
    return Effect.promise(() => {
      controller.abort()
      return done.then(() => undefined, (error) => onStopFailure(error))
    })
  })

/** Where `serve` keeps its webhook secret when DSHIELD_WEBHOOK_SECRET is unset (the same file, so receivers share it). */
const stateDir = (store: StoreConfig): string => (store.databaseUrl === undefined ? dirname(resolve(store.dataDir)) : resolve(".dshield-coord"))

export const ingestCommand = Effect.fn("Cli.ingest")(function*(command: IngestCommand) {
  const log = (line: string): void => {
    if (!command.quiet) process.stderr.write(`${line}\n`)
  }
  const [{ runLiveConsumer }, { liveStore }, { alertSink }] = yield* Effect.promise(() =>
    Promise.all([import("../../live/LiveConsumer.ts"), import("../../live/LiveStore.ts"), import("../../live/alerts.ts")])
  )
  let webhook: import("../../live/alerts.ts").AlertWebhook | undefined
  if (command.alertWebhook !== undefined) {
    const [{ loadWebhookSecret, refusedCallback }] = yield* Effect.promise(() => Promise.all([import("../../api/webhookDispatch.ts")]))
    const guard = { allowPrivateTargets: command.allowPrivateWebhooks, allowedTargets: command.allowedWebhookTargets }
    const serverSecret = yield* Effect.try({
      try: () => loadWebhookSecret(process.env.DSHIELD_WEBHOOK_SECRET, join(stateDir(command.store), "webhook-secret")),
      catch: (error) => new InputError({ message: `The webhook secret could not be read or made (${String(error)}); set DSHIELD_WEBHOOK_SECRET.` })
    })
    // A target the guard refuses is refused now, not at the first alert.
    const refused = yield* refusedCallback(command.alertWebhook, { secret: serverSecret, guard })
    if (refused !== undefined) return yield* new InputError({ message: `--alert-webhook: ${refused}` })
    webhook = { url: command.alertWebhook, serverSecret, guard }
  }
  const nc: NatsConnection = yield* connect(command.nats, "dshield-coord-live")
  const pg = yield* postgresActor(command.store)
  yield* pg.ask("migrate", {}).pipe(Effect.mapError(storeFailure))
  log(`live: store ${describeStoreConfig(command.store).database}; NATS ${redactUrl(nc.getServer())}.`)
  const store = liveStore(pg, {
    consumer: command.consumer,
    stream: command.stream,
    tenant: command.tenant,
    config: { ...DEFAULT_CONFIG, format: command.format, seed: command.seed },
    dormantAfterDays: command.dormantDays
  })
  const alerts = alertSink(nc, command.alertSubject, webhook, command.tenant, (line) => process.stderr.write(`${line}\n`))
  const summary = yield* untilStopped(
    (signal) =>
      runLiveConsumer(nc, store, alerts, {
        stream: command.stream,
        subject: command.subject,
        consumer: command.consumer,
        tenant: command.tenant,
        format: command.format,
        commitEveryMs: command.commitEveryMs,
        sessionTimeoutMs: command.sessionTimeoutMs,
        statusSubject: command.statusSubject,
        log
      }, signal),
    (error) => process.stderr.write(`dshield-coord: stopping the live consumer failed: ${String((error as Error).message ?? error)}\n`)
  ).pipe(Effect.ensuring(Effect.promise(() => alerts.close(15_000))))
  return summary
})

export const tailCommand = Effect.fn("Cli.tail")(function*(command: TailCommand) {
  const { tailToNats } = yield* Effect.promise(() => import("../../live/tail.ts"))
  const nc: NatsConnection = yield* connect(command.nats, "dshield-coord-tail")
  const progress = (published: number, elapsedMs: number): void => {
    if (!command.quiet && process.stderr.isTTY === true) {
      process.stderr.write(`\rtail: ${published} lines in ${(elapsedMs / 1000).toFixed(1)} s (${Math.round(published / Math.max(0.001, elapsedMs / 1000))}/s)`)
    }
  }
  const report = (summary: import("../../live/tail.ts").TailSummary): void => {
    if (command.quiet) return
    if (process.stderr.isTTY === true) process.stderr.write("\n")
    const seconds = summary.elapsedMs / 1000
    process.stdout.write(
      `tail: published ${summary.published} line(s) of ${command.file} to ${command.stream} (${command.subject}) in ${seconds.toFixed(1)} s` +
        ` (${Math.round(summary.published / Math.max(0.001, seconds))} lines/s)` +
        (summary.firstSeq === undefined ? "" : `, stream sequences ${summary.firstSeq}–${summary.lastSeq}`) +
        (summary.skipped > 0 ? `; skipped ${summary.skipped} line(s) too long for a NATS message` : "") +
        (summary.streamCreated ? `; created the stream ${command.stream}` : "") +
        ".\n"
    )
  }
  // The summary is printed from inside, so an interrupted tail (Ctrl-C) prints it too.
  yield* untilStopped(
    (signal) =>
      tailToNats(nc, { file: command.file, stream: command.stream, subject: command.subject, rate: command.rate, onProgress: progress }, signal).then((summary) => {
        report(summary)
        return summary
      }),
    (error) => process.stderr.write(`dshield-coord: stopping tail failed: ${String((error as Error).message ?? error)}\n`)
  )
})

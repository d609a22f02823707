/**
 * `dshield-coord serve` (the HTTP API), `keys create|list|revoke` (API keys, made and
 * revoked by the store's owner — how the first admin key comes to exist) and `audit tail`.
 */
import { dirname, join, resolve } from "node:path"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { sqlStoreLayer } from "../../../actors/postgres/StoreActor.ts"
import { makeAnalysisPool } from "../../../actors/threads/AnalysisPool.ts"
import type { NatsFlags } from "../../../actors/transport/NatsConnection.ts"
import type { AnalysisPlaces } from "../../api/AnalysisRunner.ts"
import { insertKey, listKeys, revokeKey, revokeRefreshTokensOfKey, tailAudit } from "../../api/ApiRepository.ts"
import type { Role } from "../../api/auth/Principal.ts"
import { issueSecret } from "../../api/auth/secrets.ts"
import { type ServeOptions, startServer } from "../../api/Server.ts"
import { loadWebhookSecret, tenantWebhookSecret } from "../../api/webhookDispatch.ts"
import type { StoreConfig } from "../../config/StoreConfig.ts"
import { AnalysisError, InputError } from "../../domain/errors.ts"
import { Analyzer, type AnalyzerService } from "../../pipeline/Analyzer.ts"
import { embeddedStoreMissing, noStoreMessage } from "../../store/dataDir.ts"
import { loadMigrations, migrate } from "../../store/migrate.ts"
import { SqlStore } from "../../store/SqlStore.ts"

/** Where the server keeps its own files (key ring, webhook secret, uploads): beside the embedded store. */
const stateDir = (store: StoreConfig): string => (store.databaseUrl === undefined ? dirname(resolve(store.dataDir)) : resolve(".dshield-coord"))

/** The server's options as the command line gives them (what the server derives is left out). */
export interface ServeCommand extends
  Pick<ServeOptions, "host" | "port" | "store" | "maxQueued" | "minSessions" | "maxSessions" | "maxBodyBytes" | "corsOrigins" | "trustProxy" | "jwtKeysFile">
{
  /** Analyses run at once: analysis threads here, or requests in flight to the NATS pool. */
  readonly threads: number
  /** Where /metrics is served (--metrics-port); not served without. */
  readonly metrics: { readonly host: string; readonly port: number } | undefined
  /** How long uploaded objects are kept. */
  readonly uploadTtlHours: number
  /** Run analyses on the NATS pool instead of this process's threads. */
  readonly nats: NatsFlags | undefined
  readonly allowPrivateWebhooks: boolean
  readonly allowedWebhookTargets: ReadonlyArray<string>
  readonly quiet: boolean
}

/**
 * Where the server's analyses run, through the Analyzer service's layers (the same as
 * `analyze`): minimal and standard on this process's analysis threads, or on the NATS pool
 * with --nats (one connection for the server's lifetime, checked by /health/ready); deep as
 * the LangGraph workflow over the agent actors, here or the pool's.
 */
const analysisPlaces = (command: ServeCommand) => (store: Context.Context<SqlStore>) =>
  Effect.gen(function*() {
    const Analyzers = yield* Effect.promise(() => import("../../../layers/Analyzers.ts"))
    const service = (layer: Layer.Layer<Analyzer>) => Effect.map(Layer.build(layer), (context) => Context.get(context, Analyzer))
    // Stored analyses use the server's open store (a second PGlite on one directory would corrupt it).
    const storedFor = (tenant: string): AnalyzerService => ({
      analyze: (inputs) => Effect.scoped(Effect.flatMap(service(Analyzers.store(Layer.succeedContext(store), undefined, tenant)), (a) => a.analyze(inputs)))
    })
    const deep = (nats: Parameters<typeof Analyzers.workflow>[0]["nats"]) =>
      // Checkpoints in memory: an API analysis is submitted again, not resumed by thread id.
      service(Analyzers.workflow({ depth: "deep", thread: undefined, databaseUrl: undefined, quiet: true, nats, timeoutMs: undefined, onFailure: "resubmit" }))
    if (command.nats === undefined) {
      const standard = yield* service(Analyzers.threads(yield* makeAnalysisPool(command.threads)))
      const workflow = yield* deep(undefined)
      return { analyzerFor: (depth) => (depth === "deep" ? workflow : standard), concurrency: command.threads, storedFor } satisfies AnalysisPlaces
    }
    const { natsConnection } = yield* Effect.promise(() => import("../../../actors/clients/RemoteAnalysis.ts"))
    const nc = yield* natsConnection(command.nats)
    const standard = yield* service(Analyzers.nats(nc, undefined))
    const workflow = yield* deep(nc)
    return {
      analyzerFor: (depth) => (depth === "deep" ? workflow : standard),
      concurrency: command.threads,
      storedFor,
      check: () =>
        Effect.tryPromise(() => nc.rtt()).pipe(
          Effect.timeout(Duration.seconds(5)),
          Effect.match({
            onSuccess: (ms) => ({ name: "nats", ok: true, detail: `answers in ${Math.round(ms)} ms` }),
            onFailure: (error) => ({ name: "nats", ok: false, detail: nc.isClosed() ? "the connection is closed" : String((error as { message?: string }).message ?? error) })
          })
        )
    } satisfies AnalysisPlaces & { check: unknown }
  })

export const serveCommand = Effect.fn("Cli.serve")(function*(command: ServeCommand) {
  const dir = stateDir(command.store)
  const server = yield* startServer({
    host: command.host,
    port: command.port,
    store: command.store,
    sqlStore: sqlStoreLayer(command.store),
    places: analysisPlaces(command),
    maxQueued: command.maxQueued,
    minSessions: command.minSessions,
    maxSessions: command.maxSessions,
    maxBodyBytes: command.maxBodyBytes,
    corsOrigins: command.corsOrigins,
    trustProxy: command.trustProxy,
    jwtKeysFile: command.jwtKeysFile,
    workDir: join(dir, "api-uploads"),
    uploadDir: join(dir, "api-objects"),
    uploadTtlMs: command.uploadTtlHours * 3_600_000,
    webhooks: {
      secret: loadWebhookSecret(process.env.DSHIELD_WEBHOOK_SECRET, join(dir, "webhook-secret")),
      guard: { allowPrivateTargets: command.allowPrivateWebhooks, allowedTargets: command.allowedWebhookTargets }
    }
  }).pipe(
    // A store that does not answer is a failed dependency (exit 1); a port in use, a bad
    // setting or an unreachable NATS server is the operator's to fix (exit 2).
    Effect.mapError((e) => (e._tag === "StoreError" || e._tag === "AnalysisError" ? new AnalysisError({ message: e.message }) : new InputError({ message: e.message })))
  )
  const metricsAt = command.metrics === undefined
    ? undefined
    : yield* Effect.flatMap(Effect.promise(() => import("../../metrics/MetricsServer.ts")), ({ serveMetrics }) => serveMetrics(command.metrics!.host, command.metrics!.port))
  if (!command.quiet) {
    yield* Effect.sync(() =>
      process.stderr.write(`dshield-coord: serving the API on ${server.url} (docs ${server.url}/docs)${metricsAt === undefined ? "" : `, metrics on ${metricsAt.url}`}; Ctrl-C stops.\n`)
    )
  }
  // Print the address on stdout as one line, for scripts that started the server on port 0.
  yield* Effect.sync(() => process.stdout.write(`${server.url}\n`))
  return yield* Effect.never
})

/** The store as its owner (keys and audit are not tenant data), migrated. */
const ownerStore = (store: StoreConfig) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(sqlStoreLayer(store))
    yield* Effect.flatMap(loadMigrations(), migrate).pipe(Effect.provideContext(context))
    return context
  }).pipe(Effect.mapError((e) => new AnalysisError({ message: e.message })))

const days = (text: string): number => {
  const match = /^(\d+)d?$/.exec(text)
  if (match === null || Number(match[1]) < 1 || Number(match[1]) > 3650) throw new InputError({ message: `--expires must be a number of days like 90d, not "${text}".` })
  return Number(match[1])
}

export const keysCommand = Effect.fn("Cli.keys")(function*(command: {
  readonly action: "create" | "list" | "revoke" | "webhook-secret"
  readonly id: string | undefined
  readonly role: Role
  readonly tenant: string
  readonly name: string
  readonly expires: string | undefined
  readonly quota: number | undefined
  readonly store: StoreConfig
}) {
  if (command.action === "webhook-secret") {
    // The secret `serve` signs this tenant's deliveries with (the same server secret, the same derivation).
    const serverSecret = loadWebhookSecret(process.env.DSHIELD_WEBHOOK_SECRET, join(stateDir(command.store), "webhook-secret"))
    yield* Effect.sync(() => process.stdout.write(`${tenantWebhookSecret(serverSecret, command.tenant)}\n`))
    return
  }
  // Listing or revoking keys of a store that was never made: nothing to list, nothing made.
  if (command.action !== "create" && embeddedStoreMissing(command.store)) {
    if (command.action === "list") return yield* Effect.sync(() => process.stdout.write(`No API keys yet (no store in ${command.store.dataDir}); create one with \`dshield-coord keys create --role admin --tenant NAME\`.\n`))
    return yield* new InputError({ message: `No live key ${command.id}; there is no store in ${command.store.dataDir} (give --data-dir or --database-url naming your store).` })
  }
  const context = yield* ownerStore(command.store)
  const inStore = <A, E>(e: Effect.Effect<A, E, SqlStore>) => e.pipe(Effect.provideContext(context), Effect.mapError((err) => new AnalysisError({ message: (err as { message?: string }).message ?? String(err) })))
  if (command.action === "create") {
    const expiresIn = command.expires === undefined ? undefined : yield* Effect.try({ try: () => days(command.expires!), catch: (e) => e as InputError })
    const secret = issueSecret("key")
    const key = yield* inStore(insertKey({
      id: secret.id,
      tenant: command.tenant,
      role: command.role,
      name: command.name,
      hash: secret.hash,
      expiresAt: expiresIn === undefined ? null : new Date(Date.now() + expiresIn * 86_400_000).toISOString(),
      dailyAnalysisQuota: command.quota ?? null
    }))
    yield* Effect.sync(() => {
      process.stderr.write(`Created key ${key.id} (role ${key.role}, tenant ${key.tenant}${key.expires_at === null ? "" : `, expires ${key.expires_at}`}). It is shown once; store it now.\n`)
      process.stdout.write(`${secret.text}\n`)
    })
    return
  }
  if (command.action === "list") {
    const keys = yield* inStore(listKeys(undefined))
    const lines = keys.map((k) =>
      [k.id, k.tenant.padEnd(12), k.role.padEnd(7), (k.revoked_at !== null ? "revoked" : k.expires_at !== null && Date.parse(k.expires_at) <= Date.now() ? "expired" : "live").padEnd(7), k.created_at.slice(0, 16), (k.expires_at ?? "-").slice(0, 16).padEnd(16), (k.last_used_at ?? "-").slice(0, 16).padEnd(16), k.name].join("  ")
    )
    yield* Effect.sync(() => process.stdout.write(keys.length === 0 ? "No API keys yet; create one with `dshield-coord keys create --role admin --tenant NAME`.\n" : `ID            TENANT        ROLE     STATE    CREATED           EXPIRES           LAST USED         NAME\n${lines.join("\n")}\n`))
    return
  }
  const id = command.id!
  if (!(yield* inStore(revokeKey(id, undefined)))) return yield* new InputError({ message: `No live key ${id}; see \`dshield-coord keys list\`.` })
  yield* inStore(revokeRefreshTokensOfKey(id))
  yield* Effect.sync(() => process.stdout.write(`Revoked key ${id} and every token issued from it.\n`))
})

export const auditTailCommand = Effect.fn("Cli.auditTail")(function*(store: StoreConfig, count: number, follow: boolean) {
  if (embeddedStoreMissing(store)) {
    return yield* new InputError({ message: noStoreMessage(store.dataDir) })
  }
  const context = yield* ownerStore(store)
  let after = 0
  let first = true
  for (;;) {
    const rows = yield* tailAudit(first ? count : 1000, after).pipe(Effect.provideContext(context), Effect.mapError((e) => new AnalysisError({ message: e.message })))
    first = false
    for (const r of rows) {
      after = r.id
      yield* Effect.sync(() => process.stdout.write(`${JSON.stringify(r)}\n`))
    }
    if (!follow) return
    yield* Effect.sleep("1 second")
  }
})


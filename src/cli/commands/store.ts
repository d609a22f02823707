/**
 * The store commands — `migrate`, `maintenance`, `campaigns`, `config`, `ops status` — and
 * the postgres store actor they all go through: the actor owns the SQL store (PostgreSQL
 * pool or embedded PGlite); commands only send it typed messages.
 */
import * as Effect from "effect/Effect"
import { RequestStrategy, type ServiceStats } from "nats"
import { spawn } from "../../../actors/kernel/Actor.ts"
import { PostgresStore } from "../../../actors/postgres/PostgresStore.ts"
import { natsClient } from "../../../actors/transport/NatsTransport.ts"
import { RedisStore, redisStoreBehaviour } from "../../../actors/redis/RedisStore.ts"
import { DEFAULT_CONFIG } from "../../config/AnalysisConfig.ts"
import { describeStoreConfig, type StoreConfig } from "../../config/StoreConfig.ts"
import { InputError } from "../../domain/errors.ts"
import { printable } from "../../domain/printable.ts"
import { type ExportTargets, exportResult, resultOfStoredFamily } from "./export.ts"
import { Cache } from "../../store/Cache.ts"
import { embeddedStoreMissing, noStoreMessage } from "../../store/dataDir.ts"
import type { RetentionPolicy } from "../../store/maintenance.ts"
import { natsConnection } from "../../../actors/clients/RemoteAnalysis.ts"
import { postgresActor, storeFailure } from "../../../actors/postgres/StoreActor.ts"
import { type NatsFlags, redactUrl } from "../../../actors/transport/NatsConnection.ts"

/** The NATS URL(s) in use, without credentials. */
const natsUrl = (nats: NatsFlags): string => redactUrl(nats.url ?? process.env.NATS_URL ?? "nats://127.0.0.1:4222")

export const migrateCommand = Effect.fn("Cli.migrate")(function*(config: StoreConfig, quiet: boolean) {
  const report = yield* Effect.scoped(Effect.flatMap(postgresActor(config), (pg) => pg.ask("migrate", {}))).pipe(Effect.mapError(storeFailure))
  if (!quiet) {
    yield* Effect.sync(() =>
      process.stdout.write(
        `${describeStoreConfig(config).database}: ${report.applied.length === 0 ? "up to date" : `applied ${report.applied.join(", ")}`}` +
          ` (${report.alreadyApplied} already applied); ${report.partitionsCreated} attack_sessions partition(s) created.\n`
      )
    )
  }
})

export const configCommand = Effect.fn("Cli.config")(function*(config: StoreConfig) {
  const shown = {
    ...describeStoreConfig(config),
    analysis: DEFAULT_CONFIG
  }
  yield* Effect.sync(() => process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`))
})

/** `campaigns list` and `campaigns show ID`. */
/**
 * The postgres store actor for a store command: this process's own (a connection to the
 * configured store), or with `nats` the pool's `postgres` role — the same typed client, so a
 * pool's users share one database without its credentials (the role migrated it at start).
 */
const storeActor = (config: StoreConfig, nats: NatsFlags | undefined) =>
  nats === undefined
    ? Effect.tap(postgresActor(config), (pg) => pg.ask("migrate", {}))
    : Effect.map(natsConnection(nats), (nc) => natsClient(nc, PostgresStore, { timeoutMs: 5 * 60_000 }))

/** An embedded store that was never made, read in this process (not through the pool). */
const noEmbeddedStore = (config: StoreConfig, nats: NatsFlags | undefined): boolean => nats === undefined && embeddedStoreMissing(config)

export const campaignsCommand = Effect.fn("Cli.campaigns")(function*(action: "list" | "show" | "timeline", id: string | undefined, all: boolean, config: StoreConfig, nats?: NatsFlags, tenant: string = "default") {
  if (noEmbeddedStore(config, nats)) {
    if (action === "list") return yield* Effect.sync(() => process.stdout.write(`No store in ${config.dataDir} yet; run \`dshield-coord analyze --store FILE\` first (or give --data-dir or --database-url naming your store).\n`))
    return yield* new InputError({ message: noStoreMessage(config.dataDir) })
  }
  const text = yield* Effect.gen(function*() {
    const pg = yield* storeActor(config, nats)
    const campaigns = yield* pg.ask("listCampaigns", { all: all || action !== "list", tenant })
    if (action === "list") {
      if (campaigns.length === 0) return "No campaigns stored yet; run `dshield-coord analyze --store FILE` first.\n"
      const lines = campaigns.map((c) =>
        [c.id.padEnd(19), c.level.padEnd(7), c.state.padEnd(9), String(c.session_count).padStart(6), String(c.source_ip_count).padStart(5), c.first_seen.slice(0, 16), c.last_seen.slice(0, 16), c.confidence.toFixed(2), printable(c.name)].join("  ")
      )
      return `${["ID".padEnd(19), "LEVEL  ", "STATE    ", "  SESS", "  IPS", "FIRST SEEN      ", "LAST SEEN       ", "CONF", "NAME"].join("  ")}\n${lines.join("\n")}\n`
    }
    const found = campaigns.find((c) => c.id === id)
    if (found === undefined) return yield* new InputError({ message: `No stored campaign has id ${id}; see \`dshield-coord campaigns list\`.` })
    if (action === "timeline") {
      const days = yield* pg.ask("campaignTimeline", { campaignId: found.id, tenant })
      const peak = Math.max(1, ...days.map((d) => d.sessions))
      const bars = days.map((d) => `${d.day}  ${String(d.sessions).padStart(6)}  ${String(d.sourceIps).padStart(5)}  ${"#".repeat(Math.max(1, Math.round((d.sessions / peak) * 40)))}`)
      return `${printable(found.name)} (${found.id}, ${found.level}, ${found.state})\nDAY          SESSIONS    IPS\n${bars.join("\n")}\n`
    }
    const sessions = yield* pg.ask("campaignSessions", { campaignId: found.id })
    return `${JSON.stringify({ ...found, sessions }, null, 2)}\n`
  }).pipe(Effect.scoped, Effect.mapError(storeFailure))
  yield* Effect.sync(() => process.stdout.write(text))
})

/** `export --campaign ID`: a stored family exported like the family of a Result v1. */
export const exportStoredCampaign = Effect.fn("Cli.exportStoredCampaign")(function*(
  id: string,
  tenant: string,
  config: StoreConfig,
  nats: NatsFlags | undefined,
  targets: ExportTargets,
  quiet: boolean
) {
  if (noEmbeddedStore(config, nats)) {
    return yield* new InputError({ message: noStoreMessage(config.dataDir) })
  }
  const family = yield* Effect.gen(function*() {
    const pg = yield* storeActor(config, nats)
    return yield* pg.ask("campaignFamily", { campaignId: id, tenant })
  }).pipe(Effect.scoped, Effect.mapError(storeFailure))
  if (family === null) return yield* new InputError({ message: `No stored campaign has id ${id} in tenant ${tenant}; see \`dshield-coord campaigns list\`.` })
  yield* exportResult(resultOfStoredFamily(family), targets, quiet)
})

export const maintenanceCommand = Effect.fn("Cli.maintenance")(function*(config: StoreConfig, policy: RetentionPolicy, quiet: boolean) {
  const report = yield* Effect.scoped(Effect.gen(function*() {
    const pg = yield* postgresActor(config)
    yield* pg.ask("migrate", {})
    return yield* pg.ask("maintenance", policy)
  })).pipe(Effect.mapError(storeFailure))
  if (!quiet) {
    yield* Effect.sync(() =>
      process.stdout.write(
        `deleted ${report.analysesDeleted} finished analyses older than ${policy.analysesDays} days, ${report.usageLogsDeleted} usage log rows older than ${policy.usageLogsDays} days, ` +
          `${report.auditRowsDeleted} audit rows older than ${policy.auditDays} days; created ${report.partitionsCreated} partition(s).\n`
      )
    )
  }
})

/** `ops status`: what the stores are and whether they answer. */
export const opsStatusCommand = Effect.fn("Cli.opsStatus")(function*(config: StoreConfig, nats: NatsFlags | undefined) {
  // A status check does not make a store: an embedded one that was never made is reported so.
  const database = noEmbeddedStore(config, undefined)
    ? { status: "not_created", detail: `No store in ${config.dataDir} yet; \`dshield-coord analyze --store FILE\` makes it.` }
    : yield* Effect.scoped(Effect.flatMap(postgresActor(config), (pg) => pg.ask("health", {}))).pipe(
      Effect.map((h) => ({ status: "ok", ...h })),
      Effect.catch((error) => Effect.succeed({ status: "unavailable", detail: storeFailure(error).message }))
    )
  // Through the redis store actor, which owns the cache (Redis or memory).
  const cache = yield* Effect.scoped(
    Effect.flatMap(spawn(RedisStore, redisStoreBehaviour(config.redisUrl === undefined ? Cache.memory : Cache.redis(config.redisUrl))), (redis) =>
      redis.ask("status", {}))
  ).pipe(Effect.catch(() => Effect.succeed({ backend: "unknown", degraded: true, detail: "the redis store actor did not answer" })))
  const described = describeStoreConfig(config)
  const report = {
    database: { configured: described.database, ...database },
    cache: { configured: described.redis, ...cache, status: cache.degraded ? "degraded" : "ok" },
    actors: nats === undefined
      ? "in process (pass --nats URL or set NATS_URL to list the NATS actor pools)"
      : yield* listActorInstances(nats)
  }
  yield* Effect.sync(() => process.stdout.write(`${JSON.stringify(report, null, 2)}\n`))
})

/** Every actor instance on NATS, by service, with its request counts ($SRV.STATS). */
const listActorInstances = (nats: NatsFlags) =>
  Effect.scoped(Effect.gen(function*() {
    const nc = yield* natsConnection(nats)
    return yield* Effect.tryPromise({ try: async () => {
      const instances: Array<Record<string, unknown>> = []
      // No service at all on the server is "no responders" (503): zero instances, not an error.
      const noResponders = (error: unknown): Array<never> => {
        if ((error as { code?: string }).code === "503") return []
        throw error
      }
      const replies = await nc.services.client({ maxWait: 1000, strategy: RequestStrategy.Timer }).stats().catch(noResponders)
      const all: Array<ServiceStats> = []
      try {
        for await (const s of replies) all.push(s)
      } catch (error) {
        noResponders(error)
      }
      for (const s of all) {
        // The instance's own report (its statsHandler): role, readiness, state, restarts, last
        // error, and what it answered, timed to the answer (NATS's endpoint statistics time
        // only the synchronous start of a handler and miss most error answers).
        const data = (s.endpoints?.[0]?.data ?? {}) as Record<string, unknown>
        const own = typeof data.answered === "number"
        const { answered, answered_with_error, refused, average_answer_ms, ...report } = data
        instances.push({
          service: s.name,
          version: s.version,
          id: s.id,
          started: s.started,
          requests: own ? Number(answered) + Number(refused) : s.endpoints?.reduce((a, e) => a + e.num_requests, 0) ?? 0,
          errors: own ? Number(answered_with_error) + Number(refused) : s.endpoints?.reduce((a, e) => a + e.num_errors, 0) ?? 0,
          average_processing_ms: own ? Number(average_answer_ms) : Math.round(
            (s.endpoints?.reduce((a, e) => a + e.average_processing_time, 0) ?? 0) / Math.max(1, s.endpoints?.length ?? 1) / 1e6
          ),
          ...report
        })
      }
      instances.sort((a, b) => String(a.service).localeCompare(String(b.service)) || String(a.id).localeCompare(String(b.id)))
      return { nats: natsUrl(nats), instances }
    }, catch: (error) => error })
  })).pipe(Effect.catch((error: unknown) => Effect.succeed({ nats: natsUrl(nats), error: String((error as { message?: string }).message ?? error) })))

/**
 * The postgres store actor: owns the SQL store (PostgreSQL pool, or the embedded PGlite) and
 * answers typed store operations; no other code holds the client when analyses run on
 * actors. Behind it: src/store (SqlStore, migrations, AnalysisRepository).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { AttackSession } from "../../src/domain/AttackSession.ts"
import { Campaign } from "../../src/domain/Campaign.ts"
import { Result } from "../../src/domain/Result.ts"
import { campaignSessions, campaignTimeline, listCampaigns, loadLiveOffset, loadSessions, saveAnalysis, StoredCampaign } from "../../src/store/AnalysisRepository.ts"
import { storedFamily } from "../../src/store/CampaignDocuments.ts"
import { runMaintenance } from "../../src/store/maintenance.ts"
import { loadMigrations, migrate } from "../../src/store/migrate.ts"
import { SqlStore, type StoreError } from "../../src/store/SqlStore.ts"
import { type Handlers, protocol } from "../kernel/Actor.ts"

export class StoreFailed extends Schema.TaggedError<StoreFailed>()("StoreFailed", { message: Schema.String }) {}


/** A live consumer's checkpoint (src/live): committed with the analysis, read when it starts. */
const LiveOffset = Schema.Struct({
  consumer: Schema.String,
  stream: Schema.String,
  floorSeq: Schema.Int,
  processedSeq: Schema.Int,
  openSessions: Schema.Record(Schema.String, Schema.Int)
})

export const PostgresStore = protocol("postgres", "1.0.0", {
  migrate: {
    payload: Schema.Struct({}),
    success: Schema.Struct({ applied: Schema.Array(Schema.String), alreadyApplied: Schema.Int, partitionsCreated: Schema.Int }),
    error: StoreFailed
  },
  saveAnalysis: {
    payload: Schema.Struct({
      result: Result,
      sessions: Schema.Array(AttackSession),
      tenant: Schema.optionalKey(Schema.String),
      replaceIds: Schema.optionalKey(Schema.Array(Schema.String)),
      dormantAfterDays: Schema.optionalKey(Schema.Int),
      live: Schema.optionalKey(LiveOffset)
    }),
    success: Schema.Struct({
      result: Result,
      analysisId: Schema.String,
      sessionsWritten: Schema.Int,
      campaignsCreated: Schema.Int,
      campaignsUpdated: Schema.Int,
      campaignsConcluded: Schema.Int,
      created: Schema.optionalKey(Schema.Array(Schema.String)),
      reactivated: Schema.optionalKey(Schema.Array(Schema.String))
    }),
    error: StoreFailed
  },
  liveOffset: {
    payload: Schema.Struct({ consumer: Schema.String, stream: Schema.String, tenant: Schema.optionalKey(Schema.String) }),
    success: Schema.NullOr(Schema.Struct({ ...LiveOffset.fields, commits: Schema.Int })),
    error: StoreFailed
  },
  loadSessions: { payload: Schema.Struct({ tenant: Schema.optionalKey(Schema.String) }), success: Schema.Array(AttackSession), error: StoreFailed },
  listCampaigns: { payload: Schema.Struct({ tenant: Schema.optionalKey(Schema.String), all: Schema.optionalKey(Schema.Boolean) }), success: Schema.Array(StoredCampaign), error: StoreFailed },
  campaignSessions: { payload: Schema.Struct({ campaignId: Schema.String }), success: Schema.Array(Schema.String), error: StoreFailed },
  /** A stored family (of a family, variant or wave id) as Result v1 campaigns; null when the tenant has no such campaign. */
  campaignFamily: {
    payload: Schema.Struct({ campaignId: Schema.String, tenant: Schema.optionalKey(Schema.String) }),
    success: Schema.NullOr(Schema.Struct({ campaigns: Schema.Array(Campaign), updatedAt: Schema.String })),
    error: StoreFailed
  },
  campaignTimeline: {
    payload: Schema.Struct({ campaignId: Schema.String, tenant: Schema.optionalKey(Schema.String) }),
    success: Schema.Array(Schema.Struct({ day: Schema.String, sessions: Schema.Int, sourceIps: Schema.Int })),
    error: StoreFailed
  },
  maintenance: {
    payload: Schema.Struct({ analysesDays: Schema.Int, usageLogsDays: Schema.Int, auditDays: Schema.Int, partitionsAhead: Schema.Int }),
    success: Schema.Struct({ analysesDeleted: Schema.Int, usageLogsDeleted: Schema.Int, auditRowsDeleted: Schema.Int, partitionsCreated: Schema.Int }),
    error: StoreFailed
  },
  health: {
    payload: Schema.Struct({}),
    success: Schema.Struct({ backend: Schema.String, migrationsApplied: Schema.Int }),
    error: StoreFailed
  }
})

/** The behaviour owns one SqlStore for the actor's lifetime (rebuilt with the actor on a crash). */
export const postgresStoreBehaviour = (store: Layer.Layer<SqlStore, StoreError>) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(store)
    const inStore = <A>(effect: Effect.Effect<A, StoreError, SqlStore>): Effect.Effect<A, StoreFailed> =>
      effect.pipe(Effect.provideContext(context), Effect.mapError((e) => new StoreFailed({ message: e.message })))
    return {
      migrate: () => inStore(Effect.flatMap(loadMigrations(), migrate)).pipe(Effect.map((r) => ({ ...r, applied: [...r.applied] }))),
      saveAnalysis: ({ result, sessions, ...options }) => inStore(saveAnalysis(result, sessions, options)),
      loadSessions: ({ tenant }) => inStore(loadSessions(tenant)),
      liveOffset: ({ consumer, stream, tenant }) => inStore(Effect.map(loadLiveOffset(consumer, stream, tenant), (o) => o ?? null)),
      listCampaigns: ({ tenant, all }) => inStore(listCampaigns(tenant, all === true)),
      campaignSessions: ({ campaignId }) => inStore(campaignSessions(campaignId)),
      campaignFamily: ({ campaignId, tenant }) => inStore(Effect.map(storedFamily(campaignId, tenant), (f) => f ?? null)),
      campaignTimeline: ({ campaignId, tenant }) => inStore(campaignTimeline(campaignId, tenant)),
      maintenance: (policy) => inStore(runMaintenance(policy)),
      health: () =>
        inStore(Effect.gen(function*() {
          const store = yield* SqlStore
          // Reachability first (a failure here is the answer); a store never migrated has no
          // schema_migrations table yet, which only means zero migrations.
          yield* store.query("SELECT 1")
          const rows = yield* store.query("SELECT count(*)::integer AS n FROM schema_migrations").pipe(Effect.catch(() => Effect.succeed([{ n: 0 }])))
          return { backend: store.kind, migrationsApplied: Number(rows[0]?.n ?? 0) }
        }))
    } satisfies Handlers<typeof PostgresStore>
  }).pipe(Effect.orDie)

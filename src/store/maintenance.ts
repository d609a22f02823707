/**
 * Retention and partition upkeep, run by `dshield-coord maintenance` (and safe to run from
 * cron): finished analyses, API usage logs and audit rows older than their retention are
 * deleted (results and campaign memberships of a deleted analysis go with it), and monthly
 * attack_sessions partitions are created ahead.
 */
import * as Effect from "effect/Effect"
import { ensurePartitions } from "./migrate.ts"
import { DEFAULT_RETENTION, type RetentionPolicy } from "./retention.ts"
import { SqlStore } from "./SqlStore.ts"

export { DEFAULT_RETENTION, type RetentionPolicy }

export interface MaintenanceReport {
  readonly analysesDeleted: number
  readonly usageLogsDeleted: number
  readonly auditRowsDeleted: number
  readonly partitionsCreated: number
}

export const runMaintenance = Effect.fn("Store.maintenance")(function*(policy: RetentionPolicy = DEFAULT_RETENTION) {
  const store = yield* SqlStore
  return yield* store.transaction(Effect.gen(function*() {
    const analyses = yield* store.query(
      `DELETE FROM analysis_sessions
       WHERE status IN ('completed', 'failed', 'cancelled') AND coalesce(finished_at, created_at) < now() - make_interval(days => $1::integer)
       RETURNING id`,
      [policy.analysesDays]
    )
    const usage = yield* store.query("DELETE FROM api_usage_logs WHERE created_at < now() - make_interval(days => $1::integer) RETURNING id", [policy.usageLogsDays])
    // The audit rows the deletions above just wrote are recent, so they are kept.
    const audit = yield* store.query("DELETE FROM audit_log WHERE created_at < now() - make_interval(days => $1::integer) RETURNING id", [policy.auditDays])
    const partitionsCreated = yield* ensurePartitions(policy.partitionsAhead)
    return {
      analysesDeleted: analyses.length,
      usageLogsDeleted: usage.length,
      auditRowsDeleted: audit.length,
      partitionsCreated
    } satisfies MaintenanceReport
  }))
})

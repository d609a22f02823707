/**
 * Retention policy of the store (what `dshield-coord maintenance` deletes and creates), apart
 * from the SQL that applies it (maintenance.ts), so that parsing a command line loads no store.
 */

export interface RetentionPolicy {
  readonly analysesDays: number
  readonly usageLogsDays: number
  readonly auditDays: number
  readonly partitionsAhead: number
}

export const DEFAULT_RETENTION: RetentionPolicy = { analysesDays: 90, usageLogsDays: 30, auditDays: 365, partitionsAhead: 3 }

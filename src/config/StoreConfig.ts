/**
 * Where the engine keeps its data: DATABASE_URL (PostgreSQL) or, when absent, the embedded
 * PGlite store in a data directory; REDIS_URL or, when absent, in-memory caches. Flags
 * (--database-url, --redis-url, --data-dir) override the environment.
 */
import { redactUrl } from "./redactUrl.ts"

export const DEFAULT_DATA_DIR = "./.dshield-coord/db"

export interface StoreConfig {
  readonly databaseUrl: string | undefined
  readonly redisUrl: string | undefined
  readonly dataDir: string
}

export interface StoreFlags {
  readonly databaseUrl?: string | undefined
  readonly redisUrl?: string | undefined
  readonly dataDir?: string | undefined
}

const nonEmpty = (s: string | undefined): string | undefined => (s === undefined || s.trim() === "" ? undefined : s.trim())

export const resolveStoreConfig = (flags: StoreFlags, env: Record<string, string | undefined> = process.env): StoreConfig => ({
  databaseUrl: nonEmpty(flags.databaseUrl) ?? nonEmpty(env.DATABASE_URL),
  redisUrl: nonEmpty(flags.redisUrl) ?? nonEmpty(env.REDIS_URL),
  dataDir: nonEmpty(flags.dataDir) ?? nonEmpty(env.DSHIELD_DATA_DIR) ?? DEFAULT_DATA_DIR
})

/** The effective configuration as shown to users: passwords in URLs replaced by ***. */
export const describeStoreConfig = (config: StoreConfig): Record<string, string> => ({
  database: config.databaseUrl === undefined ? `embedded PGlite in ${config.dataDir} (DATABASE_URL not set)` : `PostgreSQL ${redactUrl(config.databaseUrl)}`,
  redis: config.redisUrl === undefined ? "in-memory (REDIS_URL not set)" : `Redis ${redactUrl(config.redisUrl)}`
})

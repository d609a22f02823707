/**
 * Command-line parsing: argv in, a typed command out, or a UsageError with one sentence.
 */
import { availableParallelism } from "node:os"
import { parseArgs } from "node:util"
import * as Effect from "effect/Effect"
import { UsageError } from "../domain/errors.ts"
import { resolveStoreConfig, type StoreConfig } from "../config/StoreConfig.ts"
import { DEFAULT_RETENTION, type RetentionPolicy } from "../store/retention.ts"
import { WORKER_ROLES } from "./workerRoles.ts"
import type { FormatChoice } from "../ingest/ingest.ts"
import type { NatsFlags } from "../../actors/transport/NatsConnection.ts"

export type Command =
  | { readonly _tag: "Help"; readonly text: "main" | "analyze" | "schema" | "version" | "eval" | "assess" | "generate" | "migrate" | "config" | "campaigns" | "maintenance" | "ops" | "replay" | "worker" | "serve" | "keys" | "audit" | "techniques" | "export" | "report" | "mcp" | "ingest" | "tail" | "import" }
  | ({ readonly _tag: "Serve" } & import("./commands/serve.ts").ServeCommand)
  | ({ readonly _tag: "Ingest" } & import("./commands/live.ts").IngestCommand)
  | ({ readonly _tag: "Tail" } & import("./commands/live.ts").TailCommand)
  | ({ readonly _tag: "Mcp" } & import("./commands/mcp.ts").McpCommand)
  | {
    readonly _tag: "Keys"
    readonly action: "create" | "list" | "revoke" | "webhook-secret"
    readonly id: string | undefined
    readonly role: "viewer" | "analyst" | "admin"
    readonly tenant: string
    readonly name: string
    readonly expires: string | undefined
    readonly quota: number | undefined
    readonly store: StoreConfig
  }
  | { readonly _tag: "AuditTail"; readonly store: StoreConfig; readonly count: number; readonly follow: boolean }
  | { readonly _tag: "Migrate"; readonly store: StoreConfig; readonly quiet: boolean }
  | { readonly _tag: "Config"; readonly store: StoreConfig }
  | {
    readonly _tag: "Assess"
    readonly paths: ReadonlyArray<string>
    readonly reference: ReadonlyArray<string>
    readonly format: FormatChoice
    readonly out: string | undefined
    readonly seed: number
    readonly quiet: boolean
  }
  | {
    readonly _tag: "Generate"
    readonly sessions: number
    readonly out: string
    readonly seed: number
    readonly gzip: boolean
    readonly quiet: boolean
  }
  | { readonly _tag: "Eval"; readonly labels: string; readonly result: string; readonly json: string | undefined }
  | ({ readonly _tag: "Techniques" } & import("./commands/techniques.ts").TechniquesCommand)
  | ({ readonly _tag: "Report" } & import("./commands/report.ts").ReportCommand)
  | {
    readonly _tag: "Import"
    /** The MISP base URL (key in MISP_KEY); undefined when importing --list files. */
    readonly misp: string | undefined
    /** A MISP feed folder (manifest.json and <uuid>.json events) instead of a server (--misp-feed DIR). */
    readonly mispFeed: string | undefined
    /** Plain lists of IPs, CIDR networks, sha256 hashes, URLs and domains (--list FILE). */
    readonly lists: ReadonlyArray<string>
    readonly tags: ReadonlyArray<string>
    /** MISP's timestamp filter: "30d", "12h", "90m" or unix seconds; undefined: all time. */
    readonly since: string | undefined
    /** The feed file (--feed; else DSHIELD_THREAT_INTEL, else the default beside the embedded store). */
    readonly feed: string | undefined
    readonly quiet: boolean
  }
  | {
    readonly _tag: "Export"
    /** A Result v1 file, or a stored family by a campaign id (with its store and tenant). */
    readonly from:
      | { readonly kind: "result"; readonly path: string }
      | { readonly kind: "store"; readonly campaignId: string; readonly tenant: string; readonly store: StoreConfig; readonly nats: NatsFlags | undefined }
    readonly exports: import("./commands/export.ts").ExportTargets
    readonly quiet: boolean
  }
  | { readonly _tag: "Version" }
  | { readonly _tag: "Schema"; readonly out: string | undefined }
  | {
    readonly _tag: "Analyze"
    readonly paths: ReadonlyArray<string>
    readonly format: FormatChoice
    readonly out: string | undefined
    readonly seed: number
    readonly strict: boolean
    readonly quiet: boolean
    readonly limit: number
    readonly syslogYear: number | null
    /** Persist to the store (and analyse together with its history) when set. */
    readonly store: StoreConfig | undefined
    /** Days of silence after which a stored campaign becomes dormant. */
    readonly dormantDays: number
    /** Whose stored history the analysis joins, and whose campaigns it updates (--tenant). */
    readonly tenant: string
    /** Where to write the replay manifest, if anywhere. */
    readonly manifest: string | undefined
    /** Run on the NATS actor pool (URL, credentials, TLS) instead of in process. */
    readonly nats: NatsFlags | undefined
    /** With --nats: how long to wait, sent as the request's deadline (--timeout). */
    readonly timeoutMs: number | undefined
    /** With --nats: submit as a durable JetStream job instead of a request. */
    readonly durable: boolean
    /** Run as the LangGraph workflow over the agent actors at this depth. */
    readonly depth: "minimal" | "standard" | "deep" | undefined
    /** The inference endpoints of a deep analysis's narrative (in process; the pool's are its workers'). */
    readonly inferenceConfig: string | undefined
    /** Read the input from Elasticsearch (--es URL --index P --since T …) instead of files. */
    readonly es: ElasticsearchFlags | undefined
    /** Country and ASN from this iptoasn file instead of the shipped databases (--asn-db; DSHIELD_ASN_DB). */
    readonly asnDb: string | undefined
    /** MaxMind databases (--geoip-db, repeatable; DSHIELD_GEOIP_DB), asked before the ASN database. */
    readonly geoipDb: ReadonlyArray<string>
    /** Workflow thread id (resumes it when it has a checkpoint). */
    readonly thread: string | undefined
    /** STIX 2.1 and MISP exports of the Result (--stix, --misp, --misp-url, --tlp). */
    readonly exports: import("./commands/export.ts").ExportTargets
    /** Also write the HTML report of the Result to this file (--html). */
    readonly html: string | undefined
  }
  | {
    readonly _tag: "Worker"
    readonly roles: ReadonlyArray<string>
    /** The inference role serves only the endpoints pinned to this GPU (--gpu). */
    readonly gpu: string | undefined
    /** The inference endpoints (--inference-config FILE; else DSHIELD_INFERENCE_CONFIG or OLLAMA_ENDPOINTS). */
    readonly inferenceConfig: string | undefined
    /** Instances per role and analysis threads; undefined = one per core. */
    readonly pool: number | undefined
    /** How long SIGTERM waits for work in flight (--grace). */
    readonly graceMs: number
    readonly nats: NatsFlags
    readonly quiet: boolean
    /** Directories requests may name files under (--allow-paths); empty = uploaded inputs only. */
    readonly allowPaths: ReadonlyArray<string>
    readonly defaultTimeoutMs: number
    readonly maxTimeoutMs: number
    /** Redis for the shared result cache (--redis-url, else REDIS_URL); this process's memory without. */
    readonly redisUrl: string | undefined
    /** The database the `postgres` role serves (--database-url / DATABASE_URL, else --data-dir). */
    readonly store: StoreConfig
    /** The api role checks API keys and access tokens (--require-keys; keys in `store`). */
    readonly requireKeys: boolean
    /** Where /metrics is served (--metrics-port); not served without. */
    readonly metrics: { readonly host: string; readonly port: number } | undefined
    readonly jwtKeysFile: string | undefined
  }
  | {
    readonly _tag: "Replay"
    readonly manifest: string
    readonly out: string | undefined
    readonly nats: NatsFlags | undefined
    readonly timeoutMs: number | undefined
    /** The geography databases the run was recorded with, when not the shipped ones (as analyze takes them). */
    readonly asnDb: string | undefined
    readonly geoipDb: ReadonlyArray<string>
  }
  | {
    readonly _tag: "Campaigns"
    readonly action: "list" | "show" | "timeline"
    readonly id: string | undefined
    readonly all: boolean
    readonly tenant: string
    readonly store: StoreConfig
    /** Through the pool's `postgres` role instead of a database connection of this process. */
    readonly nats: NatsFlags | undefined
  }
  | { readonly _tag: "OpsStatus"; readonly store: StoreConfig; readonly nats: NatsFlags | undefined }
  | { readonly _tag: "Maintenance"; readonly store: StoreConfig; readonly policy: RetentionPolicy; readonly quiet: boolean }

/** A tenant name as the store and the API keys use it (default "default"). */
const tenantName = (value: string | undefined): string => {
  const tenant = value ?? "default"
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(tenant)) throw new UsageError({ message: "--tenant must be 1 to 64 letters, digits, '.', '_' or '-'." })
  return tenant
}

const FORMATS: ReadonlyArray<FormatChoice> = ["auto", "cowrie", "ecs", "firewall", "webhoneypot", "sessions"]

const integer = (name: string, value: string | undefined, fallback: number, min: number, max: number): number => {
  if (value === undefined) return fallback
  if (!/^-?\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError({ message: `--${name} must be a whole number between ${min} and ${max}, not "${value}".` })
  }
  return Number(value)
}

/** The options every command that connects to NATS takes (actors/transport/NatsConnection.ts). */
const NATS_OPTIONS = {
  nats: { type: "string" },
  "nats-token": { type: "string" },
  "nats-creds": { type: "string" },
  "nats-tls-ca": { type: "string" },
  "nats-tls-cert": { type: "string" },
  "nats-tls-key": { type: "string" }
} as const

type NatsValues = { readonly [K in keyof typeof NATS_OPTIONS]?: string | undefined }

/** The NATS flags given; the environment (NATS_URL, NATS_TOKEN, …) fills the rest when connecting. */
const natsFlags = (values: NatsValues): NatsFlags => ({
  url: values.nats,
  token: values["nats-token"],
  creds: values["nats-creds"],
  tlsCa: values["nats-tls-ca"],
  tlsCert: values["nats-tls-cert"],
  tlsKey: values["nats-tls-key"]
})

/** Where a long-running command serves its Prometheus metrics (--metrics-port, --metrics-host). */
const METRICS_OPTIONS = {
  "metrics-port": { type: "string" },
  "metrics-host": { type: "string" }
} as const

const metricsEndpoint = (values: { readonly "metrics-port"?: string | undefined; readonly "metrics-host"?: string | undefined }): { readonly host: string; readonly port: number } | undefined => {
  if (values["metrics-port"] === undefined) {
    if (values["metrics-host"] !== undefined) throw new UsageError({ message: "--metrics-host needs --metrics-port N (where /metrics is served)." })
    return undefined
  }
  return { host: values["metrics-host"] ?? "127.0.0.1", port: integer("metrics-port", values["metrics-port"], 9464, 0, 65535) }
}

/** The options of the STIX and MISP exports (`export`, and `analyze` after its analysis). */
const EXPORT_OPTIONS = {
  stix: { type: "string" },
  misp: { type: "string" },
  "misp-url": { type: "string" },
  tlp: { type: "string" }
} as const

const TLPS = ["clear", "green", "amber", "red"] as const

const exportTargets = (values: { readonly [K in keyof typeof EXPORT_OPTIONS]?: string | undefined }): import("./commands/export.ts").ExportTargets => {
  const tlp = values.tlp ?? "amber"
  if (!(TLPS as ReadonlyArray<string>).includes(tlp)) throw new UsageError({ message: `--tlp must be one of ${TLPS.join(", ")}, not "${tlp}".` })
  if (values.tlp !== undefined && values.misp === undefined && values["misp-url"] === undefined) {
    throw new UsageError({ message: "--tlp marks the MISP events; add --misp DIR or --misp-url URL, or drop it (a STIX bundle carries no TLP)." })
  }
  return { stix: values.stix, misp: values.misp, mispUrl: values["misp-url"], tlp: tlp as (typeof TLPS)[number] }
}

const natsDetailGiven = (values: NatsValues): boolean =>
  (["nats-token", "nats-creds", "nats-tls-ca", "nats-tls-cert", "nats-tls-key"] as const).some((k) => values[k] !== undefined)

/** `analyze --es`: where and what to read (credentials come from the environment). */
export interface ElasticsearchFlags {
  readonly url: string
  readonly index: string
  /** ISO instants (a relative --since/--until is resolved against now when parsed). */
  readonly since: string
  readonly until: string | undefined
  readonly query: string | undefined
  readonly caFile: string | undefined
}

/** An instant: ISO 8601, or a time ago such as 24h, 7d, 90m. */
const instant = (name: string, value: string): string => {
  const relative = /^(\d{1,6})([mhd])$/.exec(value.trim())
  if (relative !== null) return new Date(Date.now() - Number(relative[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as "m" | "h" | "d"]).toISOString()
  const ms = Date.parse(value)
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(ms)) throw new UsageError({ message: `--${name} must be an ISO time (2024-04-01T00:00:00Z) or a time ago such as 24h, 7d or 90m, not "${value}".` })
  return new Date(ms).toISOString()
}

const elasticsearchInput = (
  values: { readonly es?: string | undefined; readonly index?: string | undefined; readonly since?: string | undefined; readonly until?: string | undefined; readonly query?: string | undefined; readonly "es-ca"?: string | undefined },
  files: number
): ElasticsearchFlags | undefined => {
  const given = values.index !== undefined || values.since !== undefined || values.until !== undefined || values.query !== undefined || values["es-ca"] !== undefined
  if (values.es === undefined) {
    if (given) throw new UsageError({ message: "--index, --since, --until, --query and --es-ca choose what to read from Elasticsearch; give --es URL too." })
    return undefined
  }
  if (files > 0) throw new UsageError({ message: "Give either input files or --es URL, not both." })
  if (!/^https?:\/\//.test(values.es)) throw new UsageError({ message: `--es must be an http(s) URL of Elasticsearch, not "${values.es}".` })
  if (values.index === undefined || values.index.trim() === "") throw new UsageError({ message: "--es needs --index PATTERN, e.g. --index 'cowrie-*'." })
  if (values.since === undefined) throw new UsageError({ message: "--es needs --since T (an ISO time or a time ago such as 24h), so a read never scans a whole cluster by accident." })
  const since = instant("since", values.since)
  const until = values.until === undefined ? undefined : instant("until", values.until)
  if (until !== undefined && until <= since) throw new UsageError({ message: "--until must be later than --since." })
  return { url: values.es, index: values.index.trim(), since, until, query: values.query, caFile: values["es-ca"] }
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** A duration such as 500ms, 90s, 30m or 2h, in milliseconds, within [1 ms, max]. */
const duration = (name: string, value: string | undefined, fallback: number, maxMs: number): number => {
  if (value === undefined) return fallback
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value.trim())
  const ms = match === null ? NaN : Math.round(Number(match[1]) * UNIT_MS[match[2]!]!)
  if (!Number.isFinite(ms) || ms < 1 || ms > maxMs) {
    throw new UsageError({ message: `--${name} must be a duration such as 90s, 30m or 2h (at most ${maxMs / 3_600_000} h), not "${value}".` })
  }
  return ms
}

/** Longest deadline a command line may ask for: 24 h. */
const MAX_TIMEOUT_MS = 24 * 3_600_000

/** node:util parseArgs errors, shortened to the part a user needs. */
const describeParseError = (error: unknown): string => {
  const code = (error as { code?: string }).code
  const message = error instanceof Error ? error.message : String(error)
  const option = /'(-[^' ]+)/.exec(message)?.[1]
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && option !== undefined) return `Unknown option ${option}`
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && option !== undefined) {
    return message.includes("does not take an argument") ? `Option ${option} takes no value` : `Option ${option} needs a value`
  }
  if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") return `Unexpected argument (${message.replace(/\.$/, "")})`
  return message.replace(/\.$/, "")
}

/**
 * `--limit -3` as `--limit=-3`: node's parser reads a value that starts with "-" as an option
 * and said "--limit needs a value"; joined, the option's own check says what it accepts.
 */
const joinNegativeValues = (args: ReadonlyArray<string>): Array<string> => {
  const out: Array<string> = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    const next = args[i + 1]
    if (arg.startsWith("--") && arg.length > 2 && !arg.includes("=") && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`)
      i++
    } else out.push(arg)
  }
  return out
}

const parse = (argv: ReadonlyArray<string>): Command => {
  const [command, ...given] = argv
  const rest = joinNegativeValues(given)
  if (command === undefined || command === "-h" || command === "--help" || command === "help") {
    return { _tag: "Help", text: "main" }
  }
  if (command === "--version" || command === "-v") return { _tag: "Version" }
  try {
    switch (command) {
      case "version": {
        const { values } = parseArgs({ args: [...rest], options: { help: { type: "boolean", short: "h" } }, strict: true })
        return values.help === true ? { _tag: "Help", text: "version" } : { _tag: "Version" }
      }
      case "schema": {
        const { values } = parseArgs({
          args: [...rest],
          options: { help: { type: "boolean", short: "h" }, out: { type: "string" } },
          strict: true
        })
        return values.help === true ? { _tag: "Help", text: "schema" } : { _tag: "Schema", out: values.out }
      }
      case "assess": {
        const { positionals, values } = parseArgs({
          args: [...rest],
          allowPositionals: true,
          strict: true,
          options: {
            help: { type: "boolean", short: "h" },
            reference: { type: "string", multiple: true },
            format: { type: "string" },
            out: { type: "string" },
            seed: { type: "string" },
            quiet: { type: "boolean" }
          }
        })
        if (values.help === true) return { _tag: "Help", text: "assess" }
        const format = (values.format ?? "auto") as FormatChoice
        if (!FORMATS.includes(format)) throw new UsageError({ message: `--format must be one of ${FORMATS.join(", ")}, not "${values.format}".` })
        if (positionals.length === 0) throw new UsageError({ message: "assess needs at least one input holding the sessions to assess." })
        return {
          _tag: "Assess",
          paths: positionals,
          reference: values.reference ?? [],
          format,
          out: values.out,
          seed: integer("seed", values.seed, 42, 0, 2 ** 32 - 1),
          quiet: values.quiet === true
        }
      }
      case "generate": {
        const { positionals, values } = parseArgs({
          args: [...rest],
          allowPositionals: true,
          strict: true,
          options: {
            help: { type: "boolean", short: "h" },
            sessions: { type: "string" },
            out: { type: "string" },
            seed: { type: "string" },
            gzip: { type: "boolean" },
            quiet: { type: "boolean" }
          }
        })
        if (values.help === true) return { _tag: "Help", text: "generate" }
        if (positionals.length > 0) throw new UsageError({ message: `generate takes no file arguments (got "${positionals[0]}"); use --out DIR.` })
        if (values.out === undefined) throw new UsageError({ message: "generate needs --out DIR, the directory to write cowrie.json and labels.tsv into." })
        return {
          _tag: "Generate",
          sessions: integer("sessions", values.sessions ?? "10000", 10000, 1, 100_000_000),
          out: values.out,
          seed: integer("seed", values.seed, 42, 0, 2 ** 32 - 1),
          gzip: values.gzip === true,
          quiet: values.quiet === true
        }
      }
      case "worker": {
        const { values } = parseArgs({
          args: [...rest],
          strict: true,
          options: {
            help: { type: "boolean", short: "h" },
            roles: { type: "string" },
            pool: { type: "string" },
            ...NATS_OPTIONS,
            "allow-paths": { type: "string" },
            "default-timeout": { type: "string" },
            "max-timeout": { type: "string" },
            grace: { type: "string" },
            "redis-url": { type: "string" },
            "database-url": { type: "string" },
            "data-dir": { type: "string" },
            "require-keys": { type: "boolean" },
            ...METRICS_OPTIONS,
            "jwt-keys": { type: "string" },
            gpu: { type: "string" },
            "inference-config": { type: "string" },
            quiet: { type: "boolean" }
          }
        })
        if (values.help === true) return { _tag: "Help", text: "worker" }
        if (values.gpu !== undefined && !/^[A-Za-z0-9_-]{1,32}$/.test(values.gpu)) throw new UsageError({ message: `--gpu must name one GPU as the inference configuration does (e.g. 0), not "${values.gpu}".` })
        // Each role once, in the order given: "api,api" is one role, "" none (refused below).
        const roles = [...new Set((values.roles ?? "api").split(",").map((r) => r.trim()).filter((r) => r.length > 0))]
        if (roles.length === 0) throw new UsageError({ message: `--roles names no role; give one or more of ${WORKER_ROLES.join(", ")}.` })
        const unknown = roles.filter((r) => !WORKER_ROLES.includes(r))
        if (unknown.length > 0) {
          throw new UsageError({ message: `Role(s) ${unknown.join(", ")} cannot be served yet; this build serves: ${WORKER_ROLES.join(", ")}.` })
        }
        const defaultTimeoutMs = duration("default-timeout", values["default-timeout"], 30 * 60_000, MAX_TIMEOUT_MS)
        const maxTimeoutMs = duration("max-timeout", values["max-timeout"], 6 * 3_600_000, MAX_TIMEOUT_MS)
        if (defaultTimeoutMs > maxTimeoutMs) {
          throw new UsageError({ message: `--default-timeout (${values["default-timeout"] ?? "30m"}) is longer than --max-timeout (${values["max-timeout"] ?? "6h"}); a request without a deadline gets the default, which the maximum caps: lower it or raise --max-timeout.` })
        }
        return {
          _tag: "Worker",
          roles,
          pool: values.pool === undefined ? undefined : integer("pool", values.pool, 1, 1, 256),
          graceMs: duration("grace", values.grace, 60_000, MAX_TIMEOUT_MS),
          nats: natsFlags(values),
          quiet: values.quiet === true,
          allowPaths: (values["allow-paths"] ?? "").split(",").map((r) => r.trim()).filter((r) => r.length > 0),
          defaultTimeoutMs,
          maxTimeoutMs,
          redisUrl: resolveStoreConfig({ redisUrl: values["redis-url"] }).redisUrl,
          store: resolveStoreConfig({ databaseUrl: values["database-url"], dataDir: values["data-dir"] }),
          requireKeys: values["require-keys"] === true,
          metrics: metricsEndpoint(values),
          jwtKeysFile: values["jwt-keys"],
          gpu: values.gpu,
          inferenceConfig: values["inference-config"]
        }
      }
      case "serve": {
        const { values } = parseArgs({
          args: [...rest],
          strict: true,
          options: {
            help: { type: "boolean", short: "h" },
            host: { type: "string" },
            port: { type: "string" },
            threads: { type: "string" },
            "max-queued": { type: "string" },
            "min-sessions": { type: "string" },
            "max-sessions": { type: "string" },
            "max-body-mb": { type: "string" },
            "upload-ttl-hours": { type: "string" },
            "cors-origins": { type: "string" },
            "trust-proxy": { type: "boolean" },
            ...METRICS_OPTIONS,
            "jwt-keys": { type: "string" },
            "allow-private-webhooks": { type: "boolean" },
            "allow-webhook-targets": { type: "string" },
            "database-url": { type: "string" },
            "redis-url": { type: "string" },
            "data-dir": { type: "string" },
            quiet: { type: "boolean" },
            ...NATS_OPTIONS
          }
        })
        if (values.help === true) return { _tag: "Help", text: "serve" }
        if (values.nats === undefined && natsDetailGiven(values)) {
          throw new UsageError({ message: "--nats-token, --nats-creds and --nats-tls-* apply to --nats; give --nats URL to run analyses on the pool." })
        }
        const list = (text: string | undefined): Array<string> => (text ?? "").split(",").map((r) => r.trim()).filter((r) => r.length > 0)
        const minSessions = integer("min-sessions", values["min-sessions"], 2, 1, 1_000_000)
        return {
          _tag: "Serve",
          host: values.host ?? "127.0.0.1",
          port: integer("port", values.port, 8080, 0, 65535),
          store: resolveStoreConfig({ databaseUrl: values["database-url"], redisUrl: values["redis-url"], dataDir: values["data-dir"] }),
          threads: integer("threads", values.threads, Math.max(1, availableParallelism()), 1, 256),
          maxQueued: integer("max-queued", values["max-queued"], 1000, 1, 1_000_000),
          minSessions,
          maxSessions: integer("max-sessions", values["max-sessions"], 10_000, minSessions, 100_000),
          maxBodyBytes: integer("max-body-mb", values["max-body-mb"], 64, 1, 4096) * 1024 * 1024,
          uploadTtlHours: integer("upload-ttl-hours", values["upload-ttl-hours"], 24, 1, 24 * 90),
          corsOrigins: list(values["cors-origins"]),
          trustProxy: values["trust-proxy"] === true,
          metrics: metricsEndpoint(values),
          jwtKeysFile: values["jwt-keys"],
          allowPrivateWebhooks: values["allow-private-webhooks"] === true,
          allowedWebhookTargets: list(values["allow-webhook-targets"]),
          nats: values.nats === undefined ? undefined : natsFlags(values),
          quiet: values.quiet === true
        }
      }
      case "keys": {
        const { positionals, values } = parseArgs({
          args: [...rest],
          allowPositionals: true,
          strict: true,
          options: {
            help: { type: "boolean", short: "h" },
            role: { type: "string" },
            tenant: { type: "string" },
            name: { type: "string" },
            expires: { type: "string" },
            quota: { type: "string" },
            "database-url": { type: "string" },
            "data-dir": { type: "string" }
          }
        })
        if (values.help === true) return { _tag: "Help", text: "keys" }
        const [action, id] = positionals
        if (action !== "create" && action !== "list" && action !== "revoke" && action !== "webhook-secret") {
          throw new UsageError({ message: "keys needs an action: create, list, revoke ID or webhook-secret." })
        }
        if (action === "revoke" && id === undefined) throw new UsageError({ message: "keys revoke needs the key id (see keys list)." })
        const role = values.role ?? "viewer"
        if (role !== "viewer" && role !== "analyst" && role !== "admin") throw new UsageError({ message: `--role must be viewer, analyst or admin, not "${role}".` })
        if (action === "create" && values.tenant === undefined) throw new UsageError({ message: "keys create needs --tenant NAME (the tenant whose data the key may see)." })
        if (action === "webhook-secret" && values.tenant === undefined) throw new UsageError({ message: "keys webhook-secret needs --tenant NAME (the tenant whose webhook receivers verify with it)." })
        const tenant = tenantName(values.tenant)
        return {
          _tag: "Keys",
          action,
          id,
          role,
          tenant,
          name: values.name ?? "",
          expires: values.expires,
          quota: values.quota === undefined ? undefined : integer("quota", values.quota, 0, 0, 1_000_000),
          store: resolveStoreConfig({ databaseUrl: values["database-url"], dataDir: values["data-dir"] })
        }
      }
      case "audit": {
        const { positionals, values } = parseArgs({
          args: [...rest],
          allowPositionals: true,
          strict: true,
          options: {
            help: { type: "boolean", short: "h" },
            lines: { type: "string", short: "n" },
            follow: { type: "boolean", short: "f" },
            "database-url": { type: "string" },
            "data-dir": { type: "string" }
          }
        })
        if (values.help === true) return { _tag: "Help", text: "audit" }
        if (positionals[0] !== "tail") throw new UsageError({ message: "audit needs an action: tail." })
        return {
          _tag: "AuditTail",
          store: resolveStoreConfig({ databaseUrl: values["database-url"], dataDir: values["data-dir"] }),
          count: integer("lines", values.lines, 20, 1, 100_000),
          follow: values.follow === true
        }
      }
      case "replay": {
        const { positionals, values } = parseArgs({
          args: [...rest],
          allowPositionals: true,
          strict: true,
          options: { help: { type: "boolean", short: "h" }, out: { type: "string" }, ...NATS_OPTIONS, timeout: { type: "string" }, "asn-db": { type: "string" }, "geoip-db": { type: "string", multiple: true } }
        })
        if (values.help === true) return { _tag: "Help", text: "replay" }
        if (positionals.length !== 1) throw new UsageError({ message: "replay needs exactly one manifest (written by analyze --manifest FILE)." })
        if (values.nats === undefined && (natsDetailGiven(values) || values.timeout !== undefined)) {
          throw new UsageError({ message: "The --nats-* and --timeout options need --nats URL; add it or drop them." })
        }
        return {
          _tag: "Replay",
          manifest: positionals[0]!,
          out: values.out,
          nats: values.nats === undefined ? undefined : natsFlags(values),
          timeoutMs: values.timeout === undefined ? undefined : duration("timeout", values.timeout, 0, MAX_TIMEOUT_MS),
          asnDb: values["asn-db"],
          geoipDb: values["geoip-db"] ?? []
        }
      }
      case "campaigns": {
        const { positionals, values } = parseArgs({
          args: [...rest],
          allowPositionals: true,
          strict: true,
          options: {
            help: { type: "boolean", short: "h" },
            all: { type: "boolean" },
            tenant: { type: "string" },
            "database-url": { type: "string" },
            "data-dir": { type: "string" },
            ...NATS_OPTIONS
          }
        })
        if (values.help === true) return { _tag: "Help", text: "campaigns" }
        if (values.nats !== undefined && (values["database-url"] !== undefined || values["data-dir"] !== undefined)) {
          throw new UsageError({ message: "Give either --nats (the pool's postgres role) or --database-url/--data-dir (a store of this process), not both." })
        }
        const [action, id] = positionals
        if (action !== "list" && action !== "show" && action !== "timeline") {
          throw new UsageError({ message: "campaigns needs an action: list, show ID or timeline ID." })
        }
        if (action !== "list" && id === undefined) throw new UsageError({ message: `campaigns ${action} needs a campaign id (see campaigns list).` })
        return {
          _tag: "Campaigns",
          action,
          id,
          all: values.all === true,
          tenant: tenantName(values.tenant),
          store: resolveStoreConfig({ databaseUrl: values["database-url"], dataDir: values["data-dir"] }),
          nats: values.nats === undefined ? undefined : natsFlags(values)
        }
      }
      case "ops": {
        const { positionals, values } = parseArgs({
          args: [...rest],
          allowPositionals: true,
          strict: true,
          options: {
            help: { type: "boolean", short: "h" },
            "database-url": { type: "string" },
            "redis-url": { type: "string" },
            "data-dir": { type: "string" },
            ...NATS_OPTIONS
          }
        })
        if (values.help === true) return { _tag: "Help", text: "ops" }
        if (positionals[0] !== "status") throw new UsageError({ message: "ops needs an action: status." })
        return {
          _tag: "OpsStatus",
          store: resolveStoreConfig({ databaseUrl: values["database-url"], redisUrl: values["redis-url"], dataDir: values["data-dir"] }),
          nats: values.nats !== undefined || process.env.NATS_URL !== undefined ? natsFlags(values) : undefined
        }
      }
      case "maintenance": {
        const { values } = parseArgs({
          args: [...rest],
          strict: true,
          options: {
            help: { type: "boolean", short: "h" },
            "database-url": { type: "string" },
            "data-dir": { type: "string" },
            "analyses-days": { type: "string" },
            "usage-days": { type: "string" },
            "audit-days": { type: "string" },
            "partitions-ahead": { type: "string" },
            quiet: { type: "boolean" }
          }
        })
        if (values.help === true) return { _tag: "Help", text: "maintenance" }
        return {
          _tag: "Maintenance",
          store: resolveStoreConfig({ databaseUrl: values["database-url"], dataDir: values["data-dir"] }),
          policy: {
            analysesDays: integer("analyses-days", values["analyses-days"], DEFAULT_RETENTION.analysesDays, 1, 36500),
            usageLogsDays: integer("usage-days", values["usage-days"], DEFAULT_RETENTION.usageLogsDays, 1, 36500),
            auditDays: integer("audit-days", values["audit-days"], DEFAULT_RETENTION.auditDays, 1, 36500),
            partitionsAhead: integer("partitions-ahead", values["partitions-ahead"], DEFAULT_RETENTION.partitionsAhead, 0, 120)
          },
          quiet: values.quiet === true
        }
      }
      case "migrate":
      case "config": {
        const { values } = parseArgs({
          args: [...rest],
          strict: true,
          options: {
            help: { type: "boolean", short: "h" },
            "database-url": { type: "string" },
            "redis-url": { type: "string" },
            "data-dir": { type: "string" },
            quiet: { type: "boolean" }
          }
        })
        if (values.help === true) return { _tag: "Help", text: command }
        const store = resolveStoreConfig({ databaseUrl: values["database-url"], redisUrl: values["redis-url"], dataDir: values["data-dir"] })
        return command === "migrate" ? { _tag: "Migrate", store, quiet: values.quiet === true } : { _tag: "Config", store }
      }
      case "eval": {
        const { positionals, values } = parseArgs({
          args: [...rest],
          allowPositionals: true,
          strict: true,
          options: { help: { type: "boolean", short: "h" }, labels: { type: "string" }, json: { type: "string" } }
        })
        if (values.help === true) return { _tag: "Help", text: "eval" }
        if (values.labels === undefined) throw new UsageError({ message: "eval needs --labels LABELS.tsv." })
        if (positionals.length !== 1) throw new UsageError({ message: "eval needs exactly one Result v1 JSON file." })
        return { _tag: "Eval", labels: values.labels, result: positionals[0]!, json: values.json }
      }
      case "export": {
        const { positionals, values } = parseArgs({
          args: [...rest],
          allowPositionals: true,
          strict: true,
          options: {
            help: { type: "boolean", short: "h" },
            quiet: { type: "boolean" },
            ...EXPORT_OPTIONS,
            campaign: { type: "string" },
            tenant: { type: "string" },
            "database-url": { type: "string" },
            "data-dir": { type: "string" },
            ...NATS_OPTIONS
          }
        })
        if (values.help === true) return { _tag: "Help", text: "export" }
        const exports = exportTargets(values)
        if (exports.stix === undefined && exports.misp === undefined && exports.mispUrl === undefined) {
          throw new UsageError({ message: "export needs at least one of --stix FILE, --misp DIR or --misp-url URL." })
        }
        const storeGiven = values.tenant !== undefined || values["database-url"] !== undefined || values["data-dir"] !== undefined || values.nats !== undefined
        if (values.campaign === undefined) {
          if (storeGiven) throw new UsageError({ message: "--tenant, --database-url, --data-dir and --nats choose the store of --campaign ID; give --campaign too, or a Result file alone." })
          if (positionals.length !== 1) throw new UsageError({ message: "export needs exactly one Result v1 JSON file (written by analyze --out), or --campaign ID for a stored campaign." })
          return { _tag: "Export", from: { kind: "result", path: positionals[0]! }, exports, quiet: values.quiet === true }
        }
        if (positionals.length !== 0) throw new UsageError({ message: "Give either a Result v1 file or --campaign ID, not both." })
        if (values.nats !== undefined && (values["database-url"] !== undefined || values["data-dir"] !== undefined)) {
          throw new UsageError({ message: "Give either --nats (the pool's postgres role) or --database-url/--data-dir (a store of this process), not both." })
        }
        return {
          _tag: "Export",
          from: {
            kind: "store",
            campaignId: values.campaign,
            tenant: tenantName(values.tenant),
            store: resolveStoreConfig({ databaseUrl: values["database-url"], dataDir: values["data-dir"] }),
            nats: values.nats === undefined ? undefined : natsFlags(values)
          },
          exports,
          quiet: values.quiet === true
        }
      }
      case "import": {
        const { positionals, values } = parseArgs({
          args: [...rest],
          allowPositionals: true,
          strict: true,
          options: {
            help: { type: "boolean", short: "h" },
            quiet: { type: "boolean" },
            misp: { type: "string" },
            "misp-feed": { type: "string" },
            list: { type: "string", multiple: true },
            tag: { type: "string", multiple: true },
            since: { type: "string" },
            feed: { type: "string" }
          }
        })
        if (values.help === true) return { _tag: "Help", text: "import" }
        if (positionals.length > 0) throw new UsageError({ message: `import takes no file arguments (got "${positionals[0]}"); give --misp URL --tag TAG or --list FILE.` })
        const tags = (values.tag ?? []).map((t) => t.trim()).filter((t) => t !== "")
        const sources = [values.misp, values["misp-feed"], values.list].filter((v) => v !== undefined).length
        if (sources > 1) throw new UsageError({ message: "Give one of --misp URL, --misp-feed DIR or --list FILE, not several." })
        const since = values.since?.trim()
        if (since !== undefined && !/^(\d{1,5}[dhm]|\d{9,11})$/.test(since)) {
          throw new UsageError({ message: `--since must be a MISP time such as 30d, 12h or 90m, or unix seconds, not "${values.since}".` })
        }
        const base = { tags, feed: values.feed, quiet: values.quiet === true }
        if (values.list !== undefined) {
          if (since !== undefined) throw new UsageError({ message: "--since applies to --misp and --misp-feed, not to --list files." })
          return { _tag: "Import", misp: undefined, mispFeed: undefined, lists: values.list, since: undefined, ...base }
        }
        if (values["misp-feed"] !== undefined) return { _tag: "Import", misp: undefined, mispFeed: values["misp-feed"], lists: [], since, ...base }
        if (values.misp === undefined) throw new UsageError({ message: "import needs --misp URL (a MISP server; its key in MISP_KEY), --misp-feed DIR (a MISP feed folder) or --list FILE (addresses, networks, hashes, URLs, domains)." })
        if (tags.length === 0) throw new UsageError({ message: "import needs at least one --tag TAG: the MISP tag(s) whose attributes to pull, e.g. --tag tlp:green." })
        return { _tag: "Import", misp: values.misp, mispFeed: undefined, lists: [], since, ...base }
      }
      case "report": {
        const { positionals, values } = parseArgs({
          args: [...rest],
          allowPositionals: true,
          strict: true,
          options: {
            help: { type: "boolean", short: "h" },
            html: { type: "string" },
            logs: { type: "string", multiple: true },
            format: { type: "string" },
            quiet: { type: "boolean" }
          }
        })
        if (values.help === true) return { _tag: "Help", text: "report" }
        if (positionals.length !== 1) throw new UsageError({ message: "report needs exactly one Result v1 JSON file (written by analyze --out)." })
        if (values.html === undefined) throw new UsageError({ message: "report needs --html FILE (where to write the report)." })
        const format = (values.format ?? "auto") as FormatChoice
        if (!FORMATS.includes(format)) throw new UsageError({ message: `--format must be one of ${FORMATS.join(", ")}, not "${values.format}".` })
        return { _tag: "Report", result: positionals[0]!, html: values.html, logs: values.logs ?? [], format, quiet: values.quiet === true }
      }
      case "techniques": {
        const { positionals, values } = parseArgs({
          args: [...rest],
          allowPositionals: true,
          strict: true,
          options: {
            help: { type: "boolean", short: "h" },
            format: { type: "string" },
            unmapped: { type: "boolean" },
            limit: { type: "string" },
            json: { type: "string" }
          }
        })
        if (values.help === true) return { _tag: "Help", text: "techniques" }
        if (positionals.length === 0) throw new UsageError({ message: "techniques needs at least one input: FILE, DIR or - for stdin." })
        const format = (values.format ?? "auto") as FormatChoice
        if (!FORMATS.includes(format)) throw new UsageError({ message: `--format must be one of ${FORMATS.join(", ")}, not "${values.format}".` })
        return {
          _tag: "Techniques",
          paths: positionals,
          format,
          unmapped: values.unmapped === true,
          limit: integer("limit", values.limit, 50, 1, 1_000_000),
          json: values.json
        }
      }
      case "analyze": {
        const { positionals, values } = parseArgs({
          args: [...rest],
          allowPositionals: true,
          strict: true,
          options: {
            help: { type: "boolean", short: "h" },
            format: { type: "string" },
            out: { type: "string" },
            seed: { type: "string" },
            strict: { type: "boolean" },
            quiet: { type: "boolean" },
            limit: { type: "string" },
            "syslog-year": { type: "string" },
            store: { type: "boolean" },
            "database-url": { type: "string" },
            "data-dir": { type: "string" },
            "dormant-days": { type: "string" },
            tenant: { type: "string" },
            manifest: { type: "string" },
            ...NATS_OPTIONS,
            timeout: { type: "string" },
            durable: { type: "boolean" },
            depth: { type: "string" },
            "inference-config": { type: "string" },
            thread: { type: "string" },
            html: { type: "string" },
            "asn-db": { type: "string" },
            "geoip-db": { type: "string", multiple: true },
            es: { type: "string" },
            index: { type: "string" },
            since: { type: "string" },
            until: { type: "string" },
            query: { type: "string" },
            "es-ca": { type: "string" },
            ...EXPORT_OPTIONS
          }
        })
        if (values.help === true) return { _tag: "Help", text: "analyze" }
        const es = elasticsearchInput(values, positionals.length)
        const depth = values.depth
        if (depth !== undefined && depth !== "minimal" && depth !== "standard" && depth !== "deep") {
          throw new UsageError({ message: `--depth must be minimal, standard or deep, not "${depth}".` })
        }
        if (values["inference-config"] !== undefined && depth !== "deep") {
          throw new UsageError({ message: "--inference-config is for the narrative of --depth deep; add --depth deep or drop it." })
        }
        if (depth !== undefined && (values.store === true || values.durable === true)) {
          throw new UsageError({ message: "--depth cannot be combined with --store or --durable yet; run the workflow on its own (with --nats to use the pool's agent actors)." })
        }
        if (values.durable === true && values.nats === undefined) {
          throw new UsageError({ message: "--durable needs --nats URL (durable jobs live in JetStream)." })
        }
        if (values.nats === undefined && (natsDetailGiven(values) || values.timeout !== undefined)) {
          throw new UsageError({ message: "The --nats-* and --timeout options need --nats URL; add it or drop them." })
        }
        if (values.nats !== undefined && positionals.includes("-")) {
          throw new UsageError({ message: "--nats cannot send stdin yet; save the input to a file and pass its path (it is uploaded to the workers)." })
        }
        if (values.tenant !== undefined && values.store !== true) {
          throw new UsageError({ message: "--tenant names whose stored history the analysis joins; it needs --store." })
        }
        // Options of one mode given without it would be ignored without a word.
        for (const option of ["database-url", "data-dir", "dormant-days"] as const) {
          if (values[option] !== undefined && values.store !== true) {
            throw new UsageError({ message: `--${option} is an option of the stored analysis; add --store or drop it.` })
          }
        }
        if (values.thread !== undefined && depth === undefined) {
          throw new UsageError({ message: "--thread names the conversation of a workflow analysis; add --depth or drop it." })
        }
        if (values.nats !== undefined && values.store === true) {
          throw new UsageError({ message: "--nats cannot be combined with --store yet; run the stored analysis in process." })
        }
        if (values.manifest !== undefined && values.store === true) {
          throw new UsageError({ message: "--manifest cannot be combined with --store yet (the stored history is not recorded in the manifest); drop one of them." })
        }
        const format = (values.format ?? "auto") as FormatChoice
        if (!FORMATS.includes(format)) {
          throw new UsageError({ message: `--format must be one of ${FORMATS.join(", ")}, not "${values.format}".` })
        }
        if (es !== undefined && (values.nats !== undefined || values.durable === true)) {
          throw new UsageError({ message: "--es reads Elasticsearch in this process; it cannot be combined with --nats or --durable yet." })
        }
        // Numbers first: `--limit FILE` took the file as its value, and "needs an input" hid why.
        const seed = integer("seed", values.seed, 42, 0, 2 ** 32 - 1)
        const limit = integer("limit", values.limit, 40, 0, 1_000_000)
        const dormantDays = integer("dormant-days", values["dormant-days"], 14, 1, 36500)
        const syslogYear = values["syslog-year"] === undefined ? null : integer("syslog-year", values["syslog-year"], 0, 1990, 2099)
        if (positionals.length === 0 && es === undefined) {
          throw new UsageError({ message: "analyze needs at least one input: a file, a directory, - for stdin, or --es URL --index PATTERN --since T." })
        }
        return {
          _tag: "Analyze",
          paths: positionals,
          format,
          out: values.out,
          seed,
          strict: values.strict === true,
          quiet: values.quiet === true,
          limit,
          syslogYear,
          store: values.store === true
            ? resolveStoreConfig({ databaseUrl: values["database-url"], dataDir: values["data-dir"] })
            : undefined,
          dormantDays,
          tenant: tenantName(values.tenant),
          manifest: values.manifest,
          nats: values.nats === undefined ? undefined : natsFlags(values),
          timeoutMs: values.timeout === undefined ? undefined : duration("timeout", values.timeout, 0, MAX_TIMEOUT_MS),
          durable: values.durable === true,
          depth: depth as "minimal" | "standard" | "deep" | undefined,
          inferenceConfig: values["inference-config"],
          thread: values.thread,
          exports: exportTargets(values),
          html: values.html,
          es,
          asnDb: values["asn-db"],
          geoipDb: values["geoip-db"] ?? []
        }
      }
      case "mcp": {
        const { values } = parseArgs({
          args: [...rest],
          strict: true,
          options: {
            help: { type: "boolean", short: "h" },
            http: { type: "string" },
            host: { type: "string" },
            "allow-paths": { type: "string" },
            tenant: { type: "string" },
            "state-dir": { type: "string" },
            "database-url": { type: "string" },
            "data-dir": { type: "string" },
            quiet: { type: "boolean" }
          }
        })
        if (values.help === true) return { _tag: "Help", text: "mcp" }
        if (values.http === undefined && values.host !== undefined) throw new UsageError({ message: "--host needs --http PORT (over stdio there is nothing to bind)." })
        if (values.http !== undefined && values.tenant !== undefined) {
          throw new UsageError({ message: "--tenant is for stdio; over --http each API key's own tenant applies, so drop --tenant." })
        }
        if (values["database-url"] !== undefined && values["data-dir"] !== undefined) {
          throw new UsageError({ message: "Give either --database-url (PostgreSQL) or --data-dir (the embedded store), not both." })
        }
        return {
          _tag: "Mcp",
          http: values.http === undefined ? undefined : integer("http", values.http, 0, 0, 65535),
          host: values.host ?? "127.0.0.1",
          store: resolveStoreConfig({ databaseUrl: values["database-url"], dataDir: values["data-dir"] }),
          allowPaths: (values["allow-paths"] ?? "").split(",").map((r) => r.trim()).filter((r) => r.length > 0),
          tenant: tenantName(values.tenant),
          stateDir: values["state-dir"],
          quiet: values.quiet === true
        }
      }
      case "ingest": {
        const { positionals, values } = parseArgs({
          args: [...rest],
          allowPositionals: true,
          strict: true,
          options: {
            help: { type: "boolean", short: "h" },
            from: { type: "string" },
            stream: { type: "string" },
            subject: { type: "string" },
            consumer: { type: "string" },
            format: { type: "string" },
            tenant: { type: "string" },
            "commit-every": { type: "string" },
            "session-timeout": { type: "string" },
            "alert-subject": { type: "string" },
            "alert-webhook": { type: "string" },
            "allow-private-webhooks": { type: "boolean" },
            "allow-webhook-targets": { type: "string" },
            "status-subject": { type: "string" },
            "dormant-days": { type: "string" },
            seed: { type: "string" },
            "database-url": { type: "string" },
            "data-dir": { type: "string" },
            quiet: { type: "boolean" },
            ...NATS_OPTIONS
          }
        })
        if (values.help === true) return { _tag: "Help", text: "ingest" }
        if (values.from !== "nats") {
          throw new UsageError({ message: "ingest reads sensor events from NATS only: give --from nats --stream S --subject 'dshield.events.>' (files are read by analyze)." })
        }
        if (positionals.length > 0) throw new UsageError({ message: `ingest --from nats takes no file arguments (got "${positionals[0]}"); files are read by analyze.` })
        const format = values.format ?? "auto"
        if (format === "firewall" || format === "webhoneypot" || format === "sessions") {
          throw new UsageError({ message: `Live mode cannot read ${format} events: they carry no session id, so a session's end is only known after the fact; analyze such logs with analyze --store.` })
        }
        if (format !== "auto" && format !== "cowrie" && format !== "ecs") throw new UsageError({ message: `--format must be auto, cowrie or ecs in live mode, not "${format}".` })
        const tenant = tenantName(values.tenant)
        const consumer = values.consumer ?? `coord-live-${tenant.replace(/[^A-Za-z0-9_-]/g, "_")}`
        if (!/^[A-Za-z0-9_-]{1,64}$/.test(consumer)) throw new UsageError({ message: "--consumer must be 1 to 64 letters, digits, '_' or '-' (a JetStream durable name)." })
        const stream = values.stream ?? "SENSORS"
        if (!/^[A-Za-z0-9_-]{1,64}$/.test(stream)) throw new UsageError({ message: "--stream must be 1 to 64 letters, digits, '_' or '-' (a JetStream stream name)." })
        const subject = values.subject ?? "dshield.events.>"
        if (!/^[^\s]+$/.test(subject)) throw new UsageError({ message: "--subject must be a NATS subject (wildcards allowed), without spaces." })
        const alertSubject = values["alert-subject"] ?? "coord.alerts.campaign"
        if (/[\s*>]/.test(alertSubject) || alertSubject === "") throw new UsageError({ message: "--alert-subject must be a NATS subject without wildcards (or \"none\" to publish no alerts)." })
        const list = (text: string | undefined): Array<string> => (text ?? "").split(",").map((r) => r.trim()).filter((r) => r.length > 0)
        if (values["alert-webhook"] === undefined && (values["allow-private-webhooks"] === true || values["allow-webhook-targets"] !== undefined)) {
          throw new UsageError({ message: "--allow-private-webhooks and --allow-webhook-targets apply to --alert-webhook URL; add it or drop them." })
        }
        return {
          _tag: "Ingest",
          stream,
          subject,
          consumer,
          tenant,
          format,
          commitEveryMs: duration("commit-every", values["commit-every"], 10_000, MAX_TIMEOUT_MS),
          sessionTimeoutMs: duration("session-timeout", values["session-timeout"], 5 * 60_000, MAX_TIMEOUT_MS),
          alertSubject: alertSubject === "none" ? undefined : alertSubject,
          alertWebhook: values["alert-webhook"],
          allowPrivateWebhooks: values["allow-private-webhooks"] === true,
          allowedWebhookTargets: list(values["allow-webhook-targets"]),
          statusSubject: values["status-subject"] ?? `coord.live.status.${consumer}`,
          dormantDays: integer("dormant-days", values["dormant-days"], 14, 1, 36500),
          seed: integer("seed", values.seed, 42, 0, 2 ** 32 - 1),
          store: resolveStoreConfig({ databaseUrl: values["database-url"], dataDir: values["data-dir"] }),
          nats: natsFlags(values),
          quiet: values.quiet === true
        }
      }
      case "tail": {
        const { positionals, values } = parseArgs({
          args: [...rest],
          allowPositionals: true,
          strict: true,
          options: {
            help: { type: "boolean", short: "h" },
            to: { type: "string" },
            stream: { type: "string" },
            subject: { type: "string" },
            rate: { type: "string" },
            quiet: { type: "boolean" },
            ...NATS_OPTIONS
          }
        })
        if (values.help === true) return { _tag: "Help", text: "tail" }
        if (values.to !== "nats") throw new UsageError({ message: "tail publishes to NATS only: give --to nats (and --nats URL, else $NATS_URL or nats://127.0.0.1:4222)." })
        if (positionals.length !== 1) throw new UsageError({ message: "tail needs exactly one log file to publish (plain or gzip)." })
        const stream = values.stream ?? "SENSORS"
        if (!/^[A-Za-z0-9_-]{1,64}$/.test(stream)) throw new UsageError({ message: "--stream must be 1 to 64 letters, digits, '_' or '-' (a JetStream stream name)." })
        const subject = values.subject ?? "dshield.events.cowrie"
        if (!/^[^\s*>]+$/.test(subject) || subject.startsWith(".") || subject.endsWith(".") || subject.includes("..")) {
          throw new UsageError({ message: "--subject must be a NATS subject without wildcards, such as dshield.events.cowrie." })
        }
        return {
          _tag: "Tail",
          file: positionals[0]!,
          stream,
          subject,
          rate: integer("rate", values.rate, 1000, 0, 10_000_000),
          nats: natsFlags(values),
          quiet: values.quiet === true
        }
      }
      default:
        throw new UsageError({ message: `Unknown command "${command}"; run "dshield-coord --help" for the list of commands.` })
    }
  } catch (error) {
    if (error instanceof UsageError) throw error
    throw new UsageError({ message: `${describeParseError(error)}; run "dshield-coord ${command} --help" for the options.` })
  }
}

/** Parses argv (without the node/bun and script entries). */
export const parseCommand = (argv: ReadonlyArray<string>): Effect.Effect<Command, UsageError> =>
  Effect.try({
    try: () => parse(argv),
    catch: (error) => (error instanceof UsageError ? error : new UsageError({ message: String(error) }))
  })

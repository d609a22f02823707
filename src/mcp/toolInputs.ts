/**
 * What each MCP tool takes, as Effect Schemas: the one definition both of the JSON Schema an
 * assistant reads in `tools/list` and of the decoding of the arguments it sends.
 *
 * Why Effect Schemas and not zod: the SDK's `McpServer.registerTool` (1.32) accepts zod
 * schemas only, while the engine's shapes already exist as Effect Schemas (the earlier
 * engine's session in api/Contract.ts, the assessment labels and campaign ids of the domain).
 * A zod copy would drift from them. So the tools are served by the SDK's protocol-level
 * `Server` (which McpServer wraps; see mcpServer.ts), their `inputSchema` is
 * `Schema.toJsonSchemaDocument` of the Schemas below with excess properties refused, and the
 * arguments are decoded by the same Schemas with `onExcessProperty: "error"`.
 *
 * Bounds are the tools' own (10,000 inline sessions, 256 paths, 50 families, 100 rows), so a
 * call can never ask for an answer too large for a model's context.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { AttackSessionInput } from "../api/Contract.ts"
import { ToolRefusal } from "./ToolRefusal.ts"

/** Most inline sessions one call may send (the HTTP API allows more; a model's call should not). */
export const MAX_INLINE_SESSIONS = 10_000

/** A run of analyze_coordination: "run-" and 16 hex digits (its file is named by it). */
export const RunId = Schema.String.check(Schema.isPattern(/^run-[0-9a-f]{16}$/)).annotate({
  description: "The run id analyze_coordination answered (run-<16 hex digits>)."
})

/** A campaign of a Result or of the store: "c-" and 16 hex digits. */
export const CampaignId = Schema.String.check(Schema.isPattern(/^c-[0-9a-f]{16}$/)).annotate({
  description: "A campaign id (c-<16 hex digits>)."
})

const SessionId = Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(256))

const Path = Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(4096))

/**
 * One session of the earlier engine's request body (api/Contract.ts), with its numbers
 * finite: the Contract's `Schema.Number` would advertise "NaN" and "Infinity" strings in the
 * JSON Schema, which no caller should send.
 */
export const AttackSessionArgument = Schema.Struct({
  ...AttackSessionInput.fields,
  timestamp: Schema.Union([AttackSessionInput.fields.timestamp.members[0], Schema.Finite]).annotate({
    description: "ISO 8601 time, or seconds (or milliseconds) since the epoch."
  }),
  target_port: Schema.optionalKey(Schema.NullOr(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65535 }))))
})

const InlineSessions = Schema.Array(AttackSessionArgument).check(Schema.isMinLength(2), Schema.isMaxLength(MAX_INLINE_SESSIONS))

const Seed = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 2 ** 32 - 1 })).annotate({
  description: "Seed of every random draw (default 42): the same input and seed give the same campaigns."
})

export const AnalyzeCoordinationArguments = Schema.Struct({
  paths: Schema.optionalKey(Schema.Array(Path).check(Schema.isMinLength(1), Schema.isMaxLength(256)).annotate({
    description: "Absolute paths of log files or directories on the server's machine (cowrie, ECS, firewall, web honeypot; plain or gzip), under a root the server allows (--allow-paths). Give paths or attack_sessions."
  })),
  attack_sessions: Schema.optionalKey(InlineSessions.annotate({
    description: "2 to 10,000 sessions in the earlier engine's shape {source_ip, timestamp, payload, target_port, protocol}. Give paths or attack_sessions."
  })),
  format: Schema.optionalKey(Schema.Literals(["auto", "cowrie", "ecs", "firewall", "webhoneypot"]).annotate({
    description: "Format of the files in paths (default auto: detected per file)."
  })),
  top: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 50 })).annotate({
    description: "How many campaign families to describe, largest first (default 10, at most 50)."
  })),
  seed: Schema.optionalKey(Seed)
}).annotate({ title: "analyze_coordination arguments" })
export type AnalyzeCoordinationArguments = typeof AnalyzeCoordinationArguments.Type

export const AssessSessionsArguments = Schema.Struct({
  run_id: Schema.optionalKey(RunId.annotate({
    description: "A run of analyze_coordination whose input holds the sessions; with session_ids or campaign_id. The rest of that input is the null population (your own traffic)."
  })),
  session_ids: Schema.optionalKey(Schema.Array(SessionId).check(Schema.isMinLength(1), Schema.isMaxLength(MAX_INLINE_SESSIONS)).annotate({
    description: "Ids of sessions in run_id's input (cowrie session ids, or the derived ids of other formats)."
  })),
  campaign_id: Schema.optionalKey(CampaignId.annotate({ description: "A campaign of run_id's Result: its sessions are assessed." })),
  attack_sessions: Schema.optionalKey(InlineSessions.annotate({
    description: "Instead of run_id: 2 to 10,000 sessions in the earlier engine's shape."
  })),
  reference_run_id: Schema.optionalKey(RunId.annotate({
    description: "With attack_sessions: a run whose input is the null population. Without it the null population is a synthetic background, and the answer says so."
  })),
  seed: Schema.optionalKey(Seed)
}).annotate({ title: "assess_sessions arguments" })
export type AssessSessionsArguments = typeof AssessSessionsArguments.Type

export const ListCampaignsArguments = Schema.Struct({
  status: Schema.optionalKey(Schema.Literals(["active", "dormant", "concluded"]).annotate({ description: "Only campaigns in this state." })),
  min_confidence: Schema.optionalKey(Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 })).annotate({
    description: "Only campaigns with at least this confidence (0..1)."
  })),
  limit: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 100 })).annotate({
    description: "Rows, most recently active first (default 20, at most 100)."
  }))
}).annotate({ title: "list_campaigns arguments" })
export type ListCampaignsArguments = typeof ListCampaignsArguments.Type

export const GetCampaignArguments = Schema.Struct({
  campaign_id: CampaignId.annotate({ description: "A stored campaign's id (from list_campaigns)." })
}).annotate({ title: "get_campaign arguments" })
export type GetCampaignArguments = typeof GetCampaignArguments.Type

export const ExportCampaignArguments = Schema.Struct({
  run_id: RunId,
  campaign_id: CampaignId.annotate({ description: "A campaign of that run's Result; its whole family is exported." }),
  format: Schema.Literals(["stix", "misp"]).annotate({ description: "stix: a STIX 2.1 bundle; misp: a MISP event (core format)." }),
  tlp: Schema.optionalKey(Schema.Literals(["clear", "green", "amber", "red"]).annotate({ description: "TLP of a MISP event (default amber)." })),
  to_file: Schema.optionalKey(Schema.Boolean.annotate({
    description: "Write it to a file of the server and answer its path, however small (default: only when larger than about 48 KB)."
  }))
}).annotate({ title: "export_campaign arguments" })
export type ExportCampaignArguments = typeof ExportCampaignArguments.Type

/** The arguments' JSON Schema as `tools/list` shows it: an object schema, unknown keys refused. */
export const argumentsJsonSchema = (schema: Schema.Top): { readonly type: "object"; readonly [key: string]: unknown } => {
  const document = Schema.toJsonSchemaDocument(schema, { onExcessProperty: "error" })
  return {
    ...document.schema,
    type: "object",
    ...(Object.keys(document.definitions).length > 0 ? { $defs: document.definitions } : {})
  }
}

/** The arguments of a call decoded by the tool's Schema, or one sentence saying what is wrong. */
export const decodeArguments = <S extends Schema.Top & { readonly DecodingServices: never }>(tool: string, schema: S, args: unknown) =>
  Schema.decodeUnknownEffect(schema)(args ?? {}, { onExcessProperty: "error" }).pipe(
    Effect.mapError((issue) =>
      new ToolRefusal({
        message: `The arguments of ${tool} are not valid: ${(issue.message === "" ? String(issue) : issue.message).replace(/\s+/g, " ").trim().slice(0, 400)}; fix them and call again.`
      })
    )
  )

/**
 * tool-coordinator: runs the enrichment tools a deep analysis asks for (ASN / prefix / geo,
 * threat intelligence) over the campaigns' source addresses. This build has no enrichment
 * database or threat-intel feed configured: it says so per tool instead of guessing.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import { type Handlers, protocol } from "../kernel/Actor.ts"

export class ToolFailed extends Schema.TaggedError<ToolFailed>()("ToolFailed", { message: Schema.String }) {}

export const ToolReport = Schema.Struct({ tool: Schema.String, status: Schema.Literals(["ok", "unavailable"]), detail: Schema.String })

export const ToolCoordinator = protocol("tool-coordinator", "1.0.0", {
  enrich: { payload: Schema.Struct({ addresses: Schema.Array(Schema.String) }), success: Schema.Array(ToolReport), error: ToolFailed }
})

export const toolCoordinatorBehaviour: Effect.Effect<Handlers<typeof ToolCoordinator>> = Effect.succeed({
  enrich: ({ addresses }) =>
    Effect.succeed([
      { tool: "asn-prefix", status: "unavailable" as const, detail: `no ASN database configured; ${addresses.length} addresses not enriched` },
      { tool: "geo", status: "unavailable" as const, detail: "no country database configured" },
      { tool: "threat-intel", status: "unavailable" as const, detail: "no threat-intelligence feed configured" }
    ])
})

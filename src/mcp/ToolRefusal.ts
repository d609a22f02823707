/**
 * Why an MCP tool call was not answered, in one sentence the assistant (and its user) can act
 * on. The server turns it into a tool result with `isError: true` (the protocol's way of
 * telling a model that a call failed), never into a protocol error that would end its turn.
 */
import * as Schema from "effect/Schema"
export class ToolRefusal extends Schema.TaggedError<ToolRefusal>()("ToolRefusal", {
  message: Schema.String
}) {}

/** Any failure as a refusal: typed engine errors keep their sentence, the rest are reported as defects. */
export const asRefusal = (error: unknown): ToolRefusal => {
  if (error instanceof ToolRefusal) return error
  const tagged = error as { readonly _tag?: unknown; readonly message?: unknown }
  if (typeof tagged?._tag === "string" && typeof tagged.message === "string" && tagged.message !== "") {
    return new ToolRefusal({ message: tagged.message })
  }
  const text = error instanceof Error ? error.message : String(error)
  return new ToolRefusal({ message: `The tool failed unexpectedly (${text.replace(/\s+/g, " ").slice(0, 300)}); please report this.` })
}

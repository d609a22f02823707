/**
 * The MCP server of one caller: the engine's tools (tools.ts) behind the SDK's protocol
 * `Server`, on whatever transport the command connects it to (stdio, or one HTTP request).
 *
 * The SDK's higher-level `McpServer` is not used because its `registerTool` (SDK 1.32) takes
 * zod schemas; the tools' arguments are Effect Schemas (toolInputs.ts), so `tools/list`
 * serves the JSON Schema Effect derives from them and `tools/call` decodes with the same
 * Schemas — the two handlers below are what McpServer would have installed.
 *
 * A failed call is a tool result with `isError: true` and one sentence (what the protocol
 * tells clients to show a model), never a JSON-RPC error. A client that sends a progress
 * token gets progress notifications (bytes and events read) while an analysis reads its
 * input; a client that cancels the request interrupts the analysis.
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import { CallToolRequestSchema, type CallToolResult, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { ENGINE_VERSION } from "../version.ts"
import type { Caller } from "./Caller.ts"
import { type ToolContext, TOOLS } from "./tools.ts"
import { asRefusal } from "./ToolRefusal.ts"

/** What the server tells a client about itself when it connects (clients may show it to the model). */
const INSTRUCTIONS = [
  "The DShield Coordination Engine groups honeypot attack sessions (cowrie SSH/telnet, DShield web honeypot and firewall logs) into coordinated campaigns, each with a calibrated confidence and statistical evidence.",
  "Start with analyze_coordination (files on the server or inline sessions); its answer names a run_id and campaign ids.",
  "assess_sessions tests one set of sessions; export_campaign turns a campaign into STIX 2.1 or MISP; list_campaigns and get_campaign read the campaigns kept across runs in the store.",
  "Answers are compact JSON; the whole Result of a run stays in a file on the server."
].join(" ")

/** Progress notifications at most this often (an ingest reports every few milliseconds). */
const PROGRESS_EVERY_MS = 250

const answer = (text: string, isError = false): CallToolResult => (isError ? { content: [{ type: "text", text }], isError: true } : { content: [{ type: "text", text }] })

/** The sentence a failed call answers: the refusal's, or a defect's, reported as such. */
const failureText = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.findErrorOption(cause)
  if (error._tag === "Some") return asRefusal(error.value).message
  if (Cause.hasInterruptsOnly(cause)) return "The call was cancelled before it finished; nothing was kept."
  return asRefusal(Cause.squash(cause)).message
}

export const makeMcpServer = (caller: Caller, context: ToolContext): Server => {
  const server = new Server({ name: "dshield-coord", title: "DShield Coordination Engine", version: ENGINE_VERSION }, {
    capabilities: { tools: {} },
    instructions: INSTRUCTIONS
  })
  const byName = new Map(TOOLS.map((tool) => [tool.name, tool] as const))

  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: TOOLS.map((tool) => ({
      name: tool.name,
      title: tool.title,
      description: tool.description,
      inputSchema: tool.inputSchema,
      annotations: { title: tool.title, readOnlyHint: tool.readOnly, destructiveHint: false, openWorldHint: false }
    }))
  }))

  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const tool = byName.get(request.params.name)
    if (tool === undefined) return answer(`There is no tool ${JSON.stringify(request.params.name)}; the tools are ${TOOLS.map((t) => t.name).join(", ")}.`, true)
    const token = request.params._meta?.progressToken
    let lastSent = 0
    const onProgress = token === undefined ? undefined : (bytes: number, events: number): void => {
      const now = Date.now()
      if (now - lastSent < PROGRESS_EVERY_MS) return
      lastSent = now
      extra.sendNotification({ method: "notifications/progress", params: { progressToken: token, progress: bytes, message: `${bytes} bytes and ${events} events read` } })
        .catch(() => undefined)
    }
    const exit = await Effect.runPromiseExit(tool.call(request.params.arguments, { caller, onProgress }, context), { signal: extra.signal })
    return Exit.isSuccess(exit) ? answer(exit.value) : answer(failureText(exit.cause), true)
  })
  return server
}

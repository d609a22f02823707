/**
 * The MCP server over streamable HTTP (`dshield-coord mcp --http PORT`), on Bun.serve at
 * POST /mcp.
 *
 * Stateless: every POST is authenticated (httpCaller.ts) and then served by a fresh MCP
 * server and transport of that caller (the SDK's WebStandardStreamableHTTPServerTransport,
 * which speaks Request/Response as Bun does). No session is kept, so there is no standalone
 * GET stream and nothing to DELETE (both 405, which MCP clients expect of a stateless
 * server), no session id another key could borrow, and a revoked key ends at the next request.
 * Answers stream as server-sent events so that progress and keep-alive frames reach the
 * client while a long analysis runs.
 */
import * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js"
import type { KeyRing } from "../api/auth/Tokens.ts"
import type { SqlStore } from "../store/SqlStore.ts"
import { callerOfRequest } from "./httpCaller.ts"
import { makeMcpServer } from "./mcpServer.ts"
import type { ToolContext } from "./tools.ts"

export const MCP_PATH = "/mcp"

/** Largest request body: 10,000 inline sessions with long payloads fit. */
const MAX_BODY_BYTES = 64 * 1024 * 1024

/** The server cannot listen where it was told to (another port or host is the user's to choose). */
export class McpListenError extends Schema.TaggedError<McpListenError>()("McpListenError", { message: Schema.String }) {}

const jsonRpcError = (status: number, code: number, message: string, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null }), {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store", ...headers }
  })

export interface McpHttpOptions {
  readonly host: string
  readonly port: number
  readonly store: Context.Context<SqlStore>
  readonly ring: KeyRing
  readonly context: ToolContext
}

export const serveMcpOverHttp = (options: McpHttpOptions): Effect.Effect<{ readonly url: string }, McpListenError, Scope.Scope> =>
  Effect.gen(function*() {
    const handle = async (request: Request, clientIp: string | null): Promise<Response> => {
      const path = new URL(request.url).pathname
      if (path !== MCP_PATH) return jsonRpcError(404, -32601, `There is nothing at ${path}; the MCP endpoint is POST ${MCP_PATH}.`)
      const authenticated = await Effect.runPromiseExit(callerOfRequest(request, clientIp, options.store, options.ring))
      if (authenticated._tag === "Failure") {
        const refusal = Cause.findErrorOption(authenticated.cause)
        const message = refusal._tag === "Some" ? refusal.value.reason : "Authentication failed: the key store did not answer."
        return jsonRpcError(401, -32001, message, { "www-authenticate": "Bearer realm=\"dshield-coord\"" })
      }
      if (request.method !== "POST") {
        return jsonRpcError(405, -32000, `This MCP server is stateless: send every message with POST ${MCP_PATH}.`, { allow: "POST" })
      }
      const server = makeMcpServer(authenticated.value, options.context)
      const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, maxRequestBodySize: MAX_BODY_BYTES, keepAliveMs: 5_000 })
      await server.connect(transport)
      return transport.handleRequest(request)
    }
    const server = yield* Effect.try({
      try: () =>
        Bun.serve({
          hostname: options.host,
          port: options.port,
          maxRequestBodySize: MAX_BODY_BYTES,
          // Answers stream while an analysis runs; keep-alive frames every 5 s keep the connection busy.
          idleTimeout: 60,
          fetch: (request, bun) => handle(request, bun.requestIP(request)?.address ?? null)
        }),
      catch: (error) =>
        new McpListenError({
          message: /EADDRINUSE|in use/i.test(String(error))
            ? `Port ${options.port} on ${options.host} is already in use; stop the other server or choose another --http port.`
            : `Cannot listen on ${options.host}:${options.port} (${String((error as Error).message ?? error)}); check --host and --http.`
        })
    })
    yield* Effect.addFinalizer(() => Effect.promise(() => server.stop(true)))
    return { url: `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${server.port}${MCP_PATH}` }
  })

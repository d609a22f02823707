/**
 * `dshield-coord mcp`: the engine as an MCP server (Model Context Protocol), so assistants can
 * analyse logs, assess sessions, read stored campaigns and export them (src/mcp/tools.ts).
 *
 * - stdio (the default): the assistant starts this process and speaks on its stdin and
 *   stdout. The caller is the local user: every tool, the tenant of --tenant. Analyses run in
 *   this process; the store is opened for each store call only (see src/mcp/StoreAccess.ts).
 *   The process ends when the assistant closes stdin.
 * - `--http PORT`: streamable HTTP on --host (127.0.0.1 unless told otherwise) at /mcp; every
 *   request needs an engine API key, whose role and tenant decide what it may do. The store
 *   stays open (keys are checked against it), analyses run on analysis threads so that the
 *   server keeps answering, and the endpoint's URL is printed on stdout (for port 0).
 */
import { dirname, join, resolve } from "node:path"
import { format } from "node:util"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { resolveRoots } from "../../../actors/api/LocalPaths.ts"
import { loadKeyRing } from "../../api/auth/Tokens.ts"
import type { StoreConfig } from "../../config/StoreConfig.ts"
import { AnalysisError, InputError } from "../../domain/errors.ts"
import { Analyzer } from "../../pipeline/Analyzer.ts"
import { localCaller } from "../../mcp/Caller.ts"
import { serveMcpOverHttp } from "../../mcp/httpEndpoint.ts"
import { makeMcpServer } from "../../mcp/mcpServer.ts"
import { serverFiles } from "../../mcp/ServerFiles.ts"
import { openStore, openStoreContext, storePerCall } from "../../mcp/StoreAccess.ts"
import { TOOLS } from "../../mcp/tools.ts"

export interface McpCommand {
  /** Serve streamable HTTP on this port (0: any free one); stdio when undefined. */
  readonly http: number | undefined
  readonly host: string
  readonly store: StoreConfig
  /** Roots under which tool calls may name files (--allow-paths); empty: no files, inline sessions only. */
  readonly allowPaths: ReadonlyArray<string>
  /** The local user's tenant over stdio (--tenant); over HTTP each key's own. */
  readonly tenant: string
  /** Where the server keeps Results, inputs and exports (--state-dir); default beside the store. */
  readonly stateDir: string | undefined
  readonly quiet: boolean
}

/** Analysis threads of the HTTP server: analyses that run at once while it keeps answering. */
const HTTP_ANALYSIS_THREADS = 2

/** Beside the embedded store (as `serve` keeps its files), or ./.dshield-coord with PostgreSQL. */
const defaultStateDir = (store: StoreConfig): string =>
  join(store.databaseUrl === undefined ? dirname(resolve(store.dataDir)) : resolve(".dshield-coord"), "mcp")

const analyzerOf = (layer: Layer.Layer<Analyzer>) => Effect.map(Layer.build(layer), (context) => Context.get(context, Analyzer))

const say = (quiet: boolean, line: string) => (quiet ? Effect.void : Effect.sync(() => process.stderr.write(`dshield-coord: ${line}\n`)))

/** Over stdio, stdout carries the protocol: anything else printed there would corrupt it. */
const keepStdoutForTheProtocol = (): void => {
  const toStderr = (...args: Array<unknown>): void => void process.stderr.write(`${format(...args)}\n`)
  console.log = toStderr
  console.info = toStderr
  console.debug = toStderr
}

const serveStdio = (command: McpCommand, roots: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    keepStdoutForTheProtocol()
    const [{ StdioServerTransport }, Analyzers] = yield* Effect.promise(() => Promise.all([import("@modelcontextprotocol/sdk/server/stdio.js"), import("../../../layers/Analyzers.ts")]))
    const files = serverFiles(command.stateDir ?? defaultStateDir(command.store))
    const server = makeMcpServer(localCaller(command.tenant), {
      analyzer: yield* analyzerOf(Analyzers.inProcess),
      store: storePerCall(command.store),
      files,
      roots
    })
    const transport = new StdioServerTransport()
    yield* Effect.promise(() => server.connect(transport))
    yield* Effect.addFinalizer(() => Effect.promise(() => server.close().catch(() => undefined)))
    yield* say(command.quiet, `MCP server on stdio (${TOOLS.map((t) => t.name).join(", ")}); results in ${files.root}; ${roots.length === 0 ? "no files readable (--allow-paths)" : `files readable under ${roots.join(", ")}`}.`)
    // Served until the client closes stdin (or the transport closes).
    yield* Effect.callback<void>((resume) => {
      const done = (): void => resume(Effect.void)
      process.stdin.once("end", done)
      process.stdin.once("close", done)
      server.onclose = done
      return Effect.sync(() => {
        process.stdin.off("end", done)
        process.stdin.off("close", done)
      })
    })
  })

const serveHttp = (command: McpCommand, port: number, roots: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const [Analyzers, { makeAnalysisPool }] = yield* Effect.promise(() => Promise.all([import("../../../layers/Analyzers.ts"), import("../../../actors/threads/AnalysisPool.ts")]))
    const store = yield* openStoreContext(command.store).pipe(
      Effect.mapError((e) => new AnalysisError({ message: `The store could not be opened (${e.message.replace(/[.\s]+$/, "")}); check --database-url or --data-dir.` }))
    )
    const stateDir = command.stateDir ?? defaultStateDir(command.store)
    // The key ring `serve` signs access tokens with (the same place), so its tokens work here too.
    const ring = yield* Effect.try({
      try: () =>
        loadKeyRing({
          env: process.env.DSHIELD_JWT_KEYS,
          fallbackPath: join(command.store.databaseUrl === undefined ? dirname(resolve(command.store.dataDir)) : resolve(".dshield-coord"), "jwt-keys.json")
        }),
      catch: (error) => new InputError({ message: `The access-token key ring cannot be read (${(error as Error).message}); fix DSHIELD_JWT_KEYS or the key file.` })
    })
    const files = serverFiles(stateDir)
    const pool = yield* makeAnalysisPool(HTTP_ANALYSIS_THREADS)
    const { url } = yield* serveMcpOverHttp({
      host: command.host,
      port,
      store,
      ring,
      context: { analyzer: yield* analyzerOf(Analyzers.threads(pool)), store: openStore(store), files, roots }
    }).pipe(Effect.mapError((e) => new InputError({ message: e.message })))
    yield* say(command.quiet, `MCP server on ${url} (streamable HTTP; an engine API key per request); results in ${files.root}; Ctrl-C stops.`)
    // The endpoint on stdout as one line, for scripts that started the server on port 0.
    yield* Effect.sync(() => process.stdout.write(`${url}\n`))
    return yield* Effect.never
  })

export const mcpCommand = Effect.fn("Cli.mcp")(function*(command: McpCommand) {
  const roots = yield* Effect.try({ try: () => resolveRoots(command.allowPaths), catch: (error) => new InputError({ message: (error as Error).message }) })
  return yield* Effect.scoped(command.http === undefined ? serveStdio(command, roots) : serveHttp(command, command.http, roots))
})

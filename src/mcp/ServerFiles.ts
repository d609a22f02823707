/**
 * The files the MCP server owns, under its state directory (beside the store by default):
 *
 *   results/<tenant>/<run id>.json          the whole Result v1 of a run (a tool answers only
 *                                           a summary of it and names this file)
 *   results/<tenant>/<run id>.input.json    what that run read, so that assess_sessions can
 *                                           find its sessions again by id
 *   inputs/<tenant>/<run id>.sessions.json  inline attack_sessions a run analysed, as written
 *   exports/<tenant>/<run id>-<campaign>.stix.json | .misp.json   exports too large to answer
 *
 * Per tenant, so that a key of one tenant can never read another's run by guessing its id.
 * Every name is built from checked ids (run-…, c-…) and a tenant name that cannot climb out
 * of its directory, so no argument of a call chooses a path here.
 */
import { randomBytes } from "node:crypto"
import { mkdir, readFile, rename, writeFile } from "node:fs/promises"
import { dirname, join, resolve } from "node:path"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { sha256Hex } from "../config/AnalysisConfig.ts"
import { Result, serializeResult } from "../domain/Result.ts"
import type { FormatChoice } from "../ingest/ingest.ts"
import { ToolRefusal } from "./ToolRefusal.ts"

/** What a run read: the real paths (checked against the allowed roots), or the server's own file of inline sessions. */
export interface RunInput {
  readonly paths: ReadonlyArray<string>
  readonly format: FormatChoice
  readonly seed: number
  /** True when the paths are the server's own files (inline sessions), not the user's. */
  readonly owned: boolean
}

const RunInputSchema = Schema.Struct({
  paths: Schema.Array(Schema.String),
  format: Schema.Literals(["auto", "cowrie", "ecs", "firewall", "webhoneypot", "sessions"]),
  seed: Schema.Int,
  owned: Schema.Boolean
})

/** A tenant's directory name: the tenant itself when it is a plain name, else a digest of it. */
const tenantDir = (tenant: string): string => (/^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$/.test(tenant) ? tenant : `t-${sha256Hex(tenant).slice(0, 16)}`)

const RUN_ID = /^run-[0-9a-f]{16}$/
const CAMPAIGN_ID = /^c-[0-9a-f]{16}$/

const checked = (id: string, pattern: RegExp): string => {
  // The tools' Schemas already refuse other ids; this keeps a path from ever holding one.
  if (!pattern.test(id)) throw new Error(`refusing to build a file name from ${JSON.stringify(id)}`)
  return id
}

export interface ServerFiles {
  readonly root: string
  readonly resultPath: (tenant: string, runId: string) => string
  readonly exportPath: (tenant: string, runId: string, campaignId: string, format: "stix" | "misp") => string
}

export const serverFiles = (stateDir: string): ServerFiles => {
  const root = resolve(stateDir)
  return {
    root,
    resultPath: (tenant, runId) => join(root, "results", tenantDir(tenant), `${checked(runId, RUN_ID)}.json`),
    exportPath: (tenant, runId, campaignId, format) =>
      join(root, "exports", tenantDir(tenant), `${checked(runId, RUN_ID)}-${checked(campaignId, CAMPAIGN_ID)}.${format}.json`)
  }
}

const inputRecordPath = (files: ServerFiles, tenant: string, runId: string): string => files.resultPath(tenant, runId).replace(/\.json$/, ".input.json")

const failedWrite = (path: string) => (error: unknown) =>
  new ToolRefusal({ message: `The server cannot write ${path} (${(error as { code?: string }).code ?? String(error)}); check its --state-dir.` })

/** Writes `text` to `path`, creating its directory. */
export const writeServerFile = (path: string, text: string) =>
  Effect.tryPromise({
    try: async () => {
      await mkdir(dirname(path), { recursive: true })
      await writeFile(path, text)
    },
    catch: failedWrite(path)
  })

/**
 * Inline sessions as the earlier engine's body, in a file of the server (format `sessions`
 * reads it as the HTTP API's body is read). Named at random until its run id is known.
 */
export const writeInlineSessions = (files: ServerFiles, tenant: string, sessions: ReadonlyArray<unknown>) =>
  Effect.gen(function*() {
    const path = join(files.root, "inputs", tenantDir(tenant), `pending-${randomBytes(8).toString("hex")}.sessions.json`)
    yield* writeServerFile(path, JSON.stringify({ attack_sessions: sessions }))
    return path
  })

/** Keeps a run: its whole Result, and what it read (inline sessions are renamed after the run). */
export const saveRun = (files: ServerFiles, tenant: string, result: Result, input: RunInput) =>
  Effect.gen(function*() {
    const runId = result.run.id
    let paths = input.paths
    if (input.owned) {
      const kept = join(files.root, "inputs", tenantDir(tenant), `${checked(runId, RUN_ID)}.sessions.json`)
      yield* Effect.tryPromise({ try: () => rename(input.paths[0]!, kept), catch: failedWrite(kept) })
      paths = [kept]
    }
    const resultPath = files.resultPath(tenant, runId)
    const text = serializeResult(result)
    yield* writeServerFile(resultPath, text)
    yield* writeServerFile(inputRecordPath(files, tenant, runId), `${JSON.stringify({ ...input, paths }, null, 2)}\n`)
    return { path: resultPath, bytes: Buffer.byteLength(text) }
  })

const notFound = (runId: string) =>
  new ToolRefusal({ message: `This server has no run ${runId} for your tenant; call analyze_coordination first and use the run_id it answers.` })

const readJson = (path: string, runId: string) =>
  Effect.tryPromise({
    try: async () => JSON.parse(await readFile(path, "utf8")) as unknown,
    catch: (error) =>
      (error as { code?: string }).code === "ENOENT"
        ? notFound(runId)
        : new ToolRefusal({ message: `The server cannot read ${path} (${(error as { code?: string }).code ?? String(error)}); check its --state-dir.` })
  })

/** The whole Result of a run this server made for the tenant. */
export const loadResult = (files: ServerFiles, tenant: string, runId: string) =>
  Effect.flatMap(readJson(files.resultPath(tenant, runId), runId), (json) =>
    Schema.decodeUnknownEffect(Result)(json).pipe(
      Effect.mapError(() => new ToolRefusal({ message: `The stored Result of ${runId} is damaged; run analyze_coordination again.` }))
    ))

/** What a run of this server read. */
export const loadRunInput = (files: ServerFiles, tenant: string, runId: string): Effect.Effect<RunInput, ToolRefusal> =>
  Effect.flatMap(readJson(inputRecordPath(files, tenant, runId), runId), (json) =>
    Schema.decodeUnknownEffect(RunInputSchema)(json).pipe(
      Effect.mapError(() => new ToolRefusal({ message: `The input record of ${runId} is damaged; run analyze_coordination again.` }))
    ))

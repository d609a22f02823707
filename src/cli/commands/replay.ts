/**
 * `dshield-coord replay MANIFEST`: re-execute a recorded analysis and verify its digest.
 * Exit 0 when the result is identical, 1 when it differs, 2 when an input changed or is
 * missing (the run cannot be replayed as recorded).
 */
import { existsSync } from "node:fs"
import { readFile, writeFile } from "node:fs/promises"
import { dirname, isAbsolute, join, resolve } from "node:path"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { type AnalysisConfig, DEFAULT_CONFIG, sha256Hex } from "../../config/AnalysisConfig.ts"
import { AnalysisError, InputError } from "../../domain/errors.ts"
import type { Result } from "../../domain/Result.ts"
import { Manifest, MANIFEST_SCHEMA_ID, resultDigest } from "../../replay/Manifest.ts"
import { ENGINE_VERSION } from "../../version.ts"
import { runAnalysis } from "../../pipeline/runAnalysis.ts"
import { type NatsFlags, redactUrl } from "../../../actors/transport/NatsConnection.ts"
import { analyzeOverNats } from "../../../actors/clients/RemoteAnalysis.ts"
import { geographySources } from "../../enrichment/Geography.ts"
import type { WorkflowExtras } from "../../pipeline/Analyzer.ts"

/**
 * Makes the directory relative inputs are found in the current one: this one when they are
 * all here, else the recorded run's, else the manifest's. When none holds them all, nothing
 * changes and the analysis reports the first missing input in its own words.
 */
const enterInputsDirectory = (paths: ReadonlyArray<string>, recordedCwd: string | undefined, manifestPath: string): Effect.Effect<void> =>
  Effect.sync(() => {
    const relative = paths.filter((p) => p !== "-" && !isAbsolute(p))
    if (relative.length === 0) return
    const holdsAll = (dir: string): boolean => relative.every((p) => existsSync(join(dir, p)))
    if (holdsAll(process.cwd())) return
    const found = [recordedCwd, dirname(resolve(manifestPath))].find((dir) => dir !== undefined && holdsAll(dir))
    if (found !== undefined) process.chdir(found)
  })

/** The manifest of a finished run (in-process transport, pool of one), with a deep analysis's exchanges. */
export const manifestFor = (result: Result, config: AnalysisConfig, paths: ReadonlyArray<string>, workflow?: WorkflowExtras): Manifest => ({
  schema: MANIFEST_SCHEMA_ID,
  engine_version: result.run.engine_version,
  run_id: result.run.id,
  inputs: result.input.files.map((f, i) => ({ path: paths.length === result.input.files.length ? paths[i]! : f.path, sha256: f.sha256, format: f.format })),
  cwd: process.cwd(),
  config: { ...config },
  seed: config.seed,
  transport: "in-process",
  pool_size: 1,
  enrichment_databases: geographySources().map((s) => ({ name: `${s.name}@${s.version}`, sha256: s.sha256 })),
  inference_exchanges: (workflow?.exchanges ?? []).map((e) => ({
    request: JSON.stringify({ endpoint: e.endpoint, gpu: e.gpu, model: e.model, digest: e.digest, options: e.options, prompt: e.prompt }),
    response: e.response
  })),
  ...(workflow?.exchanges === undefined || workflow.exchanges.length === 0 || workflow.narrative === undefined ? {} : { narrative_digest: sha256Hex(workflow.narrative) }),
  result_digest: resultDigest(result)
})

export const writeManifest = (path: string, manifest: Manifest) =>
  Effect.tryPromise({
    try: () => writeFile(path, `${JSON.stringify(manifest, null, 2)}\n`),
    catch: () => new InputError({ message: `Cannot write the manifest ${path}; choose a writable path for --manifest.`, path })
  })

export const replayCommand = Effect.fn("Cli.replay")(function*(manifestPath: string, out: string | undefined, nats: NatsFlags | undefined, timeoutMs?: number) {
  const text = yield* Effect.tryPromise({
    try: () => readFile(manifestPath, "utf8"),
    catch: () => new InputError({ message: `Cannot read the manifest ${manifestPath}; check the path.`, path: manifestPath })
  })
  const manifest = yield* Effect.try({ try: () => JSON.parse(text) as unknown, catch: () => new InputError({ message: `${manifestPath} is not JSON; pass a manifest written by analyze --manifest.` }) }).pipe(
    Effect.flatMap((json) => Schema.decodeUnknownEffect(Manifest)(json)),
    Effect.mapError((e) => (e instanceof InputError ? e : new InputError({ message: `${manifestPath} is not a ${MANIFEST_SCHEMA_ID} manifest; pass one written by analyze --manifest.` })))
  )
  const config = { ...DEFAULT_CONFIG, ...(manifest.config as Partial<AnalysisConfig>) } as AnalysisConfig
  // Replaying on another transport (the NATS worker pool) must give the same digest.
  const paths = manifest.inputs.map((i) => i.path)
  // The Result lists the inputs as they were given, so relative ones are read from where they
  // were given: this directory, else the one the run was recorded in, else the manifest's own.
  const outPath = out === undefined ? undefined : resolve(out)
  yield* enterInputsDirectory(paths, manifest.cwd, manifestPath)
  // Over NATS the recorded inputs are uploaded (claim-check): the workers need no shared disk.
  // A run that cannot be made (the pool does not answer, an input cannot be read) is no verdict
  // on the recorded run: exit 2, not 1 ("the result differs").
  const cannotReplay = (e: { readonly message: string }) => new InputError({ message: `The run could not be replayed: ${e.message.replace(/\.$/, "")}.` })
  const result = nats === undefined
    ? (yield* runAnalysis(paths, config).pipe(Effect.mapError(cannotReplay))).result
    : yield* Effect.scoped(analyzeOverNats(nats, paths, config, timeoutMs)).pipe(Effect.mapError(cannotReplay))
  for (const [i, recorded] of manifest.inputs.entries()) {
    const now = result.input.files[i]
    if (now === undefined || now.sha256 !== recorded.sha256) {
      return yield* new InputError({
        message: recorded.path === "-"
          ? `The recorded run read stdin (sha256 ${recorded.sha256.slice(0, 12)}…), and this one read ${now === undefined ? "nothing" : `other bytes (sha256 ${now.sha256.slice(0, 12)}…)`}; pipe the same input into replay (zcat log.gz | dshield-coord replay ${manifestPath}).`
          : `Input ${recorded.path} changed since the run was recorded (sha256 ${recorded.sha256.slice(0, 12)}… expected, ${now?.sha256.slice(0, 12) ?? "nothing"}… found); restore it to replay.`
      })
    }
  }
  if (outPath !== undefined) {
    yield* Effect.tryPromise({ try: () => writeFile(outPath, `${JSON.stringify(result, null, 2)}\n`), catch: () => new InputError({ message: `Cannot write ${out}.`, path: outPath }) })
  }
  const digest = resultDigest(result)
  const versionNote = manifest.engine_version === ENGINE_VERSION ? "" : ` (recorded with engine ${manifest.engine_version}, replayed with ${ENGINE_VERSION})`
  if (digest !== manifest.result_digest) {
    // Geographic evidence comes from the shipped databases: name the one that changed.
    const now = new Map<string, string>(geographySources().map((s) => [`${s.name}@${s.version}`, s.sha256]))
    const changed = manifest.enrichment_databases.filter((d) => now.get(d.name) !== d.sha256).map((d) => d.name)
    const databaseNote = changed.length === 0
      ? ""
      : ` (the enrichment database${changed.length === 1 ? "" : "s"} ${changed.join(", ")} ${changed.length === 1 ? "is" : "are"} not the one${changed.length === 1 ? "" : "s"} in use; give the recorded files with --asn-db/--geoip-db, or install the recorded version, to reproduce it)`
    return yield* new AnalysisError({
      message: `Replay differs: result digest ${digest.slice(0, 16)}… instead of ${manifest.result_digest.slice(0, 16)}…${versionNote}${databaseNote}; the run is not reproduced.`
    })
  }
  const where = nats === undefined ? "in process" : `on the NATS pool at ${redactUrl(nats.url ?? process.env.NATS_URL ?? "nats://127.0.0.1:4222")}`
  yield* Effect.sync(() => process.stdout.write(`Replayed ${manifest.run_id} ${where}: identical result (digest ${digest.slice(0, 16)}…)${versionNote}.\n`))
  if (manifest.narrative_digest !== undefined && manifest.inference_exchanges.length > 0) {
    const narrative = yield* Effect.promise(() => replayNarrative(result, manifest.inference_exchanges))
    if (sha256Hex(narrative) !== manifest.narrative_digest) {
      return yield* new AnalysisError({ message: `Replay differs: the narrative rebuilt from the ${manifest.inference_exchanges.length} recorded exchange(s) is not the recorded one; the run is not reproduced.` })
    }
    yield* Effect.sync(() => process.stdout.write(`Narrative reproduced from ${manifest.inference_exchanges.length} recorded exchange(s), no endpoint asked: identical (digest ${manifest.narrative_digest!.slice(0, 16)}…).\n`))
  }
})

/**
 * The narrative a deep analysis's recorded exchanges give: the same narrate() as the run,
 * its endpoint answered from the record (models and digests as recorded, each answer for its
 * prompt), so nothing is asked of any server.
 */
const replayNarrative = async (result: Result, recorded: Manifest["inference_exchanges"]): Promise<string> => {
  const [{ EndpointPool }, { narrate, narrativeByline }] = await Promise.all([import("../../inference/EndpointPool.ts"), import("../../inference/narrative.ts")])
  const requests = recorded.map((r) => JSON.parse(r.request) as { endpoint: string; gpu: string; model: string; digest: string; options: { seed?: number; keep_alive?: string }; prompt: string })
  const answers = recorded.map((r) => r.response)
  const first = requests[0]!
  let next = 0
  const fetcher = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = String(input instanceof Request ? input.url : input)
    if (url.endsWith("/api/tags")) return Response.json({ models: [...new Map(requests.map((r) => [r.model, r.digest])).entries()].map(([name, digest]) => ({ name, model: name, digest })) })
    const body = JSON.parse(String(init?.body ?? "{}")) as { messages?: Array<{ content: string }> }
    const prompt = body.messages?.[0]?.content
    const k = requests.findIndex((r, i) => i >= next && r.prompt === prompt)
    if (k < 0) return Response.json({ error: "no recorded exchange for this prompt" }, { status: 500 })
    next = k + 1
    return Response.json({ model: requests[k]!.model, created_at: "1970-01-01T00:00:00Z", message: { role: "assistant", content: answers[k]! }, done: true, done_reason: "stop" })
  }
  const pool = new EndpointPool(
    {
      endpoints: [{ url: first.endpoint, gpu: first.gpu, models: [], concurrency: 1, queue: 0 }],
      models: [first.model],
      keepAlive: first.options.keep_alive ?? "30m",
      seed: first.options.seed ?? 42,
      timeoutMs: 60_000
    },
    fetcher
  )
  const narrated = await narrate(result.campaigns, pool)
  return `${narrativeByline(narrated.source)}\n${narrated.text}`
}

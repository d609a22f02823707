/**
 * `dshield-coord export --stix FILE --misp DIR [--misp-url URL] RESULT.json`: a Result v1 as a
 * STIX 2.1 bundle and as MISP events (src/export/), written to files and/or pushed to a MISP
 * server; `analyze --stix/--misp` calls the same writer with the Result it just made. Both
 * exports name everything with UUIDv5 ids derived from the campaigns, so exporting again
 * replaces what was exported before instead of adding to it. `export --campaign ID` exports a
 * family from the store instead (src/store/CampaignDocuments.ts, `resultOfStoredFamily`).
 */
import { mkdir, readFile, writeFile } from "node:fs/promises"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { AnalysisError, InputError } from "../../domain/errors.ts"
import { ATTACK_VERSION } from "../../analytics/attackTechniques.ts"
import { sha256Hex } from "../../config/AnalysisConfig.ts"
import type { Campaign } from "../../domain/Campaign.ts"
import { Result, RESULT_SCHEMA_ID } from "../../domain/Result.ts"
import { ENGINE_VERSION } from "../../version.ts"
import { mispEvents, serializeMispEvent, type Tlp } from "../../export/misp.ts"
import { pushEvents } from "../../export/mispClient.ts"
import { serializeStixBundle, stixBundle } from "../../export/stix.ts"

export interface ExportTargets {
  /** The STIX 2.1 bundle's file. */
  readonly stix: string | undefined
  /** A directory: one MISP event per top-level campaign, `<uuid>.json` each. */
  readonly misp: string | undefined
  /** A MISP server to push the events to (its key in MISP_KEY). */
  readonly mispUrl: string | undefined
  readonly tlp: Tlp
}

export const hasExportTargets = (t: ExportTargets): boolean => t.stix !== undefined || t.misp !== undefined || t.mispUrl !== undefined

const writeTo = (path: string, text: string) =>
  Effect.tryPromise({
    try: () => writeFile(path, text),
    catch: (error) => new InputError({ message: `Cannot write ${path} (${(error as { code?: string }).code ?? String(error)}); choose a writable path.`, path })
  })

/** Writes and pushes the exports of one Result; one line per target on stderr unless quiet. */
export const exportResult = Effect.fn("Cli.exportResult")(function*(result: Result, targets: ExportTargets, quiet: boolean) {
  const say = (line: string) => (quiet ? Effect.void : Effect.sync(() => process.stderr.write(`${line}\n`)))
  if (targets.stix !== undefined) {
    const bundle = stixBundle(result)
    yield* writeTo(targets.stix, serializeStixBundle(bundle))
    yield* say(`STIX 2.1 bundle written to ${targets.stix} (${bundle.objects.length} objects).`)
  }
  if (targets.misp === undefined && targets.mispUrl === undefined) return
  const events = mispEvents(result, { tlp: targets.tlp })
  if (targets.misp !== undefined) {
    const dir = targets.misp
    yield* Effect.tryPromise({
      try: () => mkdir(dir, { recursive: true }),
      catch: () => new InputError({ message: `Cannot create the directory ${dir}; choose a writable path for --misp.`, path: dir })
    })
    for (const event of events) yield* writeTo(join(dir, `${event.Event.uuid}.json`), serializeMispEvent(event))
    yield* say(`${events.length} MISP event(s) written to ${dir} (one file per campaign family, named by its event uuid).`)
  }
  if (targets.mispUrl !== undefined) {
    const key = process.env.MISP_KEY?.trim() ?? ""
    if (key === "") return yield* new InputError({ message: "Set MISP_KEY to a MISP auth key to push to --misp-url (a key on the command line would show in the process list)." })
    const outcomes = yield* pushEvents(events, { url: targets.mispUrl, key }).pipe(
      Effect.mapError((e) => new AnalysisError({ message: e.pushed > 0 ? `${e.message} (${e.pushed} event(s) were pushed before it; pushing again resumes safely).` : e.message }))
    )
    const created = outcomes.filter((o) => o.action === "created").length
    yield* say(`MISP ${targets.mispUrl}: ${created} event(s) created, ${outcomes.length - created} updated.`)
  }
})

/** `export`: the exports of a Result v1 file. */
export const exportCommand = Effect.fn("Cli.export")(function*(resultPath: string, targets: ExportTargets, quiet: boolean) {
  const text = yield* Effect.tryPromise({
    try: () => readFile(resultPath, "utf8"),
    catch: (error) => new InputError({ message: `Cannot read ${resultPath} (${(error as { code?: string }).code ?? String(error)}); give a Result v1 JSON file (analyze --out).`, path: resultPath })
  })
  const parsed = yield* Effect.try({
    try: () => JSON.parse(text) as unknown,
    catch: () => new InputError({ message: `${resultPath} is not JSON; give a Result v1 file written by analyze --out.`, path: resultPath })
  })
  const result = yield* Schema.decodeUnknownEffect(Result)(parsed).pipe(
    Effect.mapError(() => new InputError({ message: `${resultPath} is not a Result v1 document; give a file written by analyze --out.`, path: resultPath }))
  )
  yield* exportResult(result, targets, quiet)
})

/**
 * A stored family as the Result its export is made from. The campaigns keep their stored ids
 * (the ids the Result of `analyze --store` gives them), so the MISP event and STIX objects are
 * the ones an export of that Result made: pushing either updates the same event. The run is
 * the store's state: named by the family, timed by the store's last change to it, with a
 * digest of its members; there are no input files.
 */
export const resultOfStoredFamily = (family: { readonly campaigns: ReadonlyArray<Campaign>; readonly updatedAt: string }): Result => {
  const top = family.campaigns[0]!
  const members = new Set(family.campaigns.flatMap((c) => c.sessions))
  return {
    schema: RESULT_SCHEMA_ID,
    run: {
      id: `store-${top.id}`,
      engine_version: ENGINE_VERSION,
      input_digest: sha256Hex([...members].sort().join("\n")),
      config_digest: sha256Hex("store"),
      seed: 0,
      started_at: family.updatedAt,
      finished_at: family.updatedAt,
      attack_version: ATTACK_VERSION
    },
    input: { files: [], events: 0, sessions: members.size, rejected: {} },
    campaigns: family.campaigns,
    unclustered_sessions: 0
  }
}

/**
 * The engine's tools for assistants (Model Context Protocol): what each is called, what it
 * takes (toolInputs.ts), who may call it, and what it does. Each answers one text block of
 * compact JSON small enough for a model's context (summaries.ts); whatever is larger stays
 * in a file of the server and the answer names it.
 *
 * - analyze_coordination: the Analyzer service (as `analyze` runs it) over files the server
 *   may read or inline sessions → a summary of the run; the whole Result goes to a file;
 * - assess_sessions: "are these sessions coordinated?" (assessSessions, as `assess`), the
 *   null population being the rest of the input they came from;
 * - list_campaigns, get_campaign: the store's campaigns, in the caller's tenant;
 * - export_campaign: a campaign family of a run as STIX 2.1 or MISP (src/export).
 */
import { rm } from "node:fs/promises"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { checkLocalPaths } from "../../actors/api/LocalPaths.ts"
import { asTenant } from "../api/ApiRepository.ts"
import type { Role } from "../api/auth/Principal.ts"
import { findTenantCampaign, listTenantCampaigns } from "../api/TenantRepository.ts"
import { type AnalysisConfig, DEFAULT_CONFIG } from "../config/AnalysisConfig.ts"
import type { AttackSession } from "../domain/AttackSession.ts"
import type { Campaign } from "../domain/Campaign.ts"
import type { Result } from "../domain/Result.ts"
import { mispEvents, serializeMispEvent, type Tlp } from "../export/misp.ts"
import { serializeStixBundle, stixBundle } from "../export/stix.ts"
import { type FormatChoice, ingest, IngestFailure } from "../ingest/ingest.ts"
import type { AnalyzerService } from "../pipeline/Analyzer.ts"
import { assessSessions } from "../pipeline/assessSessions.ts"
import { type Caller, requireRole } from "./Caller.ts"
import { loadResult, loadRunInput, type RunInput, saveRun, type ServerFiles, writeInlineSessions, writeServerFile } from "./ServerFiles.ts"
import type { StoreAccess } from "./StoreAccess.ts"
import { analysisSummary, assessmentSummary, campaignRow, storedCampaignDetail } from "./summaries.ts"
import {
  AnalyzeCoordinationArguments,
  argumentsJsonSchema,
  AssessSessionsArguments,
  decodeArguments,
  ExportCampaignArguments,
  GetCampaignArguments,
  ListCampaignsArguments
} from "./toolInputs.ts"
import { asRefusal, ToolRefusal } from "./ToolRefusal.ts"

/** What the tools work with, for the server's lifetime. */
export interface ToolContext {
  /** Where analyses run (src/pipeline/Analyzer.ts): in this process, or on its analysis threads. */
  readonly analyzer: AnalyzerService
  readonly store: StoreAccess
  readonly files: ServerFiles
  /** Real paths of the --allow-paths roots; empty: no file of the machine is read. */
  readonly roots: ReadonlyArray<string>
}

/** One call: who makes it, and where its progress goes (when the client asked for progress). */
export interface ToolCall {
  readonly caller: Caller
  readonly onProgress?: ((bytes: number, events: number) => void) | undefined
}

export interface Tool {
  readonly name: string
  readonly title: string
  readonly description: string
  /** The JSON Schema of the arguments, as tools/list shows it. */
  readonly inputSchema: { readonly type: "object"; readonly [key: string]: unknown }
  /**
   * Tools that change nothing (assess, list, get) say so to clients that ask before calling;
   * the others only add files of the server (a run's Result, an export), never destroy.
   */
  readonly readOnly: boolean
  /** Checks the caller's role, decodes the arguments, answers the text of the result. */
  readonly call: (args: unknown, call: ToolCall, context: ToolContext) => Effect.Effect<string, ToolRefusal>
}

const defineTool = <S extends Schema.Top & { readonly DecodingServices: never }>(definition: {
  readonly name: string
  readonly title: string
  readonly description: string
  readonly arguments: S
  readonly role: Role
  readonly readOnly: boolean
  readonly run: (args: S["Type"], call: ToolCall, context: ToolContext) => Effect.Effect<string, unknown>
}): Tool => ({
  name: definition.name,
  title: definition.title,
  description: definition.description,
  inputSchema: argumentsJsonSchema(definition.arguments),
  readOnly: definition.readOnly,
  call: (args, call, context) =>
    Effect.gen(function*() {
      // Who may call comes first: a key without the role learns nothing from its arguments' errors.
      yield* requireRole(call.caller, definition.role, definition.name)
      const decoded = yield* decodeArguments(definition.name, definition.arguments, args)
      return yield* definition.run(decoded, call, context)
    }).pipe(Effect.mapError(asRefusal))
})

const refuse = (message: string) => Effect.fail(new ToolRefusal({ message }))

/** The real paths of `paths`, when every one is under an allowed root (actors/api/LocalPaths.ts). */
const allowedPaths = (paths: ReadonlyArray<string>, roots: ReadonlyArray<string>) =>
  checkLocalPaths(paths, undefined, roots, "server").pipe(
    Effect.map((staged) => staged.paths),
    Effect.mapError((error) => new ToolRefusal({ message: error.message }))
  )

/** Every session of some inputs, read as `analyze` reads them. */
const readSessions = (paths: ReadonlyArray<string>, config: AnalysisConfig) =>
  Effect.tryPromise({
    try: () => ingest(paths, { format: config.format, syslogYear: config.syslogYear ?? undefined, sessionGapMs: config.sessionGapMs }),
    catch: (error) =>
      error instanceof IngestFailure
        ? new ToolRefusal({ message: error.message })
        : new ToolRefusal({ message: `Reading the input failed unexpectedly (${String(error)}); please report this.` })
  })

const configFor = (format: FormatChoice, seed: number): AnalysisConfig => ({ ...DEFAULT_CONFIG, format, seed })

const removeFile = (path: string) => Effect.promise(() => rm(path, { force: true }))

/** Families show at most this many by default, and never more than 50 (toolInputs.ts). */
const DEFAULT_TOP = 10

export const analyzeCoordination = defineTool({
  name: "analyze_coordination",
  title: "Find coordinated campaigns",
  description:
    "Groups honeypot attack sessions into coordinated campaigns (families, variants, waves) with calibrated confidence and evidence, as `dshield-coord analyze` does. " +
    "Give paths (log files or directories on the server, under its --allow-paths roots) or attack_sessions (2 to 10,000 inline). " +
    "Answers a summary: run_id, counts, and the largest families (id, name, assessment, confidence, sessions, source IPs, first/last seen, top indicators and ATT&CK techniques); " +
    "the whole Result v1 is written to result_file on the server. Needs the analyst role over HTTP.",
  arguments: AnalyzeCoordinationArguments,
  role: "analyst",
  readOnly: false,
  run: (args, call, context) =>
    Effect.gen(function*() {
      const tenant = call.caller.tenant
      if ((args.paths === undefined) === (args.attack_sessions === undefined)) {
        return yield* refuse("Give either paths (files on the server) or attack_sessions (sessions inline), exactly one of them.")
      }
      if (args.format !== undefined && args.paths === undefined) {
        return yield* refuse("format applies to paths; attack_sessions are read in their own shape, so drop format.")
      }
      const seed = args.seed ?? DEFAULT_CONFIG.seed
      const input: RunInput = args.paths !== undefined
        ? { paths: yield* allowedPaths(args.paths, context.roots), format: args.format ?? "auto", seed, owned: false }
        : { paths: [yield* writeInlineSessions(context.files, tenant, args.attack_sessions!)], format: "sessions", seed, owned: true }
      const analyzed = yield* context.analyzer.analyze({ paths: input.paths, config: configFor(input.format, seed), onProgress: call.onProgress }).pipe(
        Effect.onError(() => (input.owned ? removeFile(input.paths[0]!) : Effect.void))
      )
      const saved = yield* saveRun(context.files, tenant, analyzed.result, input)
      return JSON.stringify(analysisSummary(analyzed.result, args.top ?? DEFAULT_TOP, saved))
    })
})

/** A campaign of a run's Result, or a refusal saying where its campaigns are listed. */
const campaignOf = (result: Result, campaignId: string) => {
  const campaign = result.campaigns.find((c) => c.id === campaignId)
  return campaign === undefined
    ? refuse(`Run ${result.run.id} has no campaign ${campaignId}; analyze_coordination's answer and the run's result file list its campaigns.`)
    : Effect.succeed(campaign)
}

export const assessSessionsTool = defineTool({
  name: "assess_sessions",
  title: "Assess whether sessions are coordinated",
  description:
    "Answers whether one given set of sessions is coordinated, as `dshield-coord assess` does: assessment, confidence with its interval, and each kind of evidence in one sentence with its p-value. " +
    "Give run_id (a run of analyze_coordination) with session_ids or campaign_id — the rest of that run's input is the null population — or attack_sessions inline, optionally with reference_run_id as the null population. " +
    "Needs the analyst role over HTTP.",
  arguments: AssessSessionsArguments,
  role: "analyst",
  readOnly: true,
  run: (args, call, context) =>
    Effect.gen(function*() {
      const tenant = call.caller.tenant
      if ((args.run_id === undefined) === (args.attack_sessions === undefined)) {
        return yield* refuse("Give either run_id with session_ids or campaign_id (sessions of an analysed input), or attack_sessions inline, exactly one of them.")
      }
      /** The sessions of a run's input, read again (its files re-checked against the roots). */
      const runSessions = (runId: string) =>
        Effect.gen(function*() {
          const input = yield* loadRunInput(context.files, tenant, runId)
          const paths = input.owned ? input.paths : yield* allowedPaths(input.paths, context.roots)
          return { input, sessions: (yield* readSessions(paths, configFor(input.format, input.seed))).sessions }
        })
      let set: ReadonlyArray<AttackSession>
      let reference: ReadonlyArray<AttackSession>
      let seed = args.seed ?? DEFAULT_CONFIG.seed
      if (args.run_id !== undefined) {
        const runId = args.run_id
        if ((args.session_ids === undefined) === (args.campaign_id === undefined)) {
          return yield* refuse("With run_id give session_ids or campaign_id, exactly one of them.")
        }
        if (args.reference_run_id !== undefined) {
          return yield* refuse("reference_run_id goes with attack_sessions; with run_id the rest of that run's input is the null population, so drop it.")
        }
        const ids = args.session_ids ?? (yield* campaignOf(yield* loadResult(context.files, tenant, runId), args.campaign_id!)).sessions
        const { input, sessions } = yield* runSessions(runId)
        seed = args.seed ?? input.seed
        const wanted = new Set(ids)
        set = sessions.filter((s) => wanted.has(s.id))
        if (set.length < wanted.size) {
          const found = new Set(set.map((s) => s.id))
          const missing = [...wanted].filter((id) => !found.has(id))
          return yield* refuse(
            `${missing.length} of the ${wanted.size} session ids are not in the input of ${runId} (the first is ${JSON.stringify(missing[0]!.slice(0, 80))}); use ids from that run's campaigns or its result file.`
          )
        }
        reference = sessions.filter((s) => !wanted.has(s.id))
      } else {
        if (args.session_ids !== undefined || args.campaign_id !== undefined) {
          return yield* refuse("session_ids and campaign_id name sessions of a run: give them with run_id, not with attack_sessions.")
        }
        const path = yield* writeInlineSessions(context.files, tenant, args.attack_sessions!)
        set = (yield* readSessions([path], configFor("sessions", seed)).pipe(Effect.ensuring(removeFile(path)))).sessions
        if (set.length === 0) return yield* refuse("None of the attack_sessions could be read (check source_ip and timestamp of each); nothing was assessed.")
        reference = args.reference_run_id === undefined ? [] : (yield* runSessions(args.reference_run_id)).sessions
      }
      const assessment = yield* Effect.try({
        try: () => assessSessions(set, { config: configFor("auto", seed), reference, referenceKind: "reference" }),
        catch: (error) => new ToolRefusal({ message: `The assessment failed (${String(error)}); please report this.` })
      })
      return JSON.stringify(assessmentSummary(assessment, args.reference_run_id === undefined ? undefined : `sessions of the input of ${args.reference_run_id}`))
    })
})

/** Stored campaigns listed per call, by default. */
const DEFAULT_ROWS = 20

export const listCampaigns = defineTool({
  name: "list_campaigns",
  title: "List stored campaigns",
  description:
    "Campaigns kept across analyses in the engine's store (`dshield-coord analyze --store`, or the HTTP API with store: true), most recently active first, one compact row each " +
    "(id, level, name, state, assessment, confidence, sessions, source IPs, first/last seen). Over HTTP only the API key's tenant is seen.",
  arguments: ListCampaignsArguments,
  role: "viewer",
  readOnly: true,
  run: (args, call, context) =>
    Effect.gen(function*() {
      const page = yield* context.store.use(asTenant(call.caller.tenant, call.caller.actor, listTenantCampaigns({
        status: args.status,
        minConfidence: args.min_confidence,
        limit: args.limit ?? DEFAULT_ROWS
      })))
      return JSON.stringify({
        tenant: call.caller.tenant,
        campaigns: page.campaigns.map(campaignRow),
        more: page.next !== undefined,
        ...(page.campaigns.length === 0 ? { note: "No stored campaign matches; campaigns are kept by `dshield-coord analyze --store` (with --tenant) or the HTTP API's store: true." } : {})
      })
    })
})

export const getCampaign = defineTool({
  name: "get_campaign",
  title: "Show one stored campaign",
  description:
    "One campaign of the store by id (from list_campaigns): its row, the number of its sessions and the first 20 session ids, and its first 20 indicators. Over HTTP only the API key's tenant is seen.",
  arguments: GetCampaignArguments,
  role: "viewer",
  readOnly: true,
  run: (args, call, context) =>
    Effect.gen(function*() {
      const campaign = yield* context.store.use(asTenant(call.caller.tenant, call.caller.actor, findTenantCampaign(args.campaign_id)))
      if (campaign === undefined) return yield* refuse(`There is no stored campaign ${args.campaign_id} in your tenant; list_campaigns shows their ids.`)
      return JSON.stringify(storedCampaignDetail(campaign))
    })
})

/** Exports larger than this are written to a file and the answer names it. */
export const EXPORT_INLINE_MAX_BYTES = 48 * 1024

/** The family a campaign belongs to (itself when it is one). */
const familyOf = (campaign: Campaign, byId: ReadonlyMap<string, Campaign>): Campaign => {
  let current = campaign
  for (let hops = 0; current.parent_id !== null && hops < 8; hops++) current = byId.get(current.parent_id) ?? current
  return current
}

/** A family with its variants and waves, in the Result's order. */
const familyMembers = (family: Campaign, all: ReadonlyArray<Campaign>, byId: ReadonlyMap<string, Campaign>): Array<Campaign> =>
  all.filter((c) => familyOf(c, byId).id === family.id)

/** One family of a Result as a STIX 2.1 bundle or a MISP event: the document, its file text, and what it holds. */
const exportDocument = (familyResult: Result, format: "stix" | "misp", tlp: Tlp) => {
  if (format === "stix") {
    const bundle = stixBundle(familyResult)
    return { document: bundle as unknown, text: serializeStixBundle(bundle), count: bundle.objects.length }
  }
  const event = mispEvents(familyResult, { tlp })[0]!
  return { document: event as unknown, text: serializeMispEvent(event), count: event.Event.Attribute.length }
}

export const exportCampaign = defineTool({
  name: "export_campaign",
  title: "Export a campaign as STIX 2.1 or MISP",
  description:
    "A campaign family of a run of analyze_coordination (by run_id and the id of the family or of one of its variants or waves) as a STIX 2.1 bundle or a MISP event (core format), " +
    "with the same deterministic ids as `dshield-coord export`. Answers the JSON document itself, or — when it is larger than about 48 KB, or to_file is set — the path of a file on the server holding it.",
  arguments: ExportCampaignArguments,
  role: "viewer",
  readOnly: false,
  run: (args, call, context) =>
    Effect.gen(function*() {
      const tenant = call.caller.tenant
      const result = yield* loadResult(context.files, tenant, args.run_id)
      const campaign = yield* campaignOf(result, args.campaign_id)
      const byId = new Map(result.campaigns.map((c) => [c.id, c] as const))
      const family = familyOf(campaign, byId)
      const exported = exportDocument({ ...result, campaigns: familyMembers(family, result.campaigns, byId) }, args.format, args.tlp ?? "amber")
      const compact = JSON.stringify(exported.document)
      if (args.to_file !== true && Buffer.byteLength(compact) <= EXPORT_INLINE_MAX_BYTES) return compact
      const path = context.files.exportPath(tenant, args.run_id, family.id, args.format)
      yield* writeServerFile(path, exported.text)
      return JSON.stringify({
        format: args.format,
        run_id: args.run_id,
        campaign_id: args.campaign_id,
        family_id: family.id,
        file: path,
        bytes: Buffer.byteLength(exported.text),
        [args.format === "stix" ? "objects" : "attributes"]: exported.count,
        note: args.to_file === true ? "Written to file as asked." : `Larger than ${EXPORT_INLINE_MAX_BYTES / 1024} KB, so written to file on the server instead of answered.`
      })
    })
})

/** Every tool, in the order tools/list shows them. */
export const TOOLS: ReadonlyArray<Tool> = [analyzeCoordination, assessSessionsTool, listCampaigns, getCampaign, exportCampaign]

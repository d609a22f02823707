/**
 * Deterministic replay: every analysis can write a manifest — what went in (input paths and
 * content digests), every option that shapes the result, the engine version, and the digest
 * of the result — and `dshield-coord replay MANIFEST` re-executes it and checks the digest.
 *
 * The result digest covers the whole Result v1 except `run.id`, `started_at` and
 * `finished_at`, the only fields allowed to differ between two runs of the same input.
 * The enrichment databases (the geographic evidence's country and ASN tables) are recorded by
 * name@version and digest; a deep analysis's exchanges with a model (request and answer) and
 * the digest of its narrative are recorded too, so replay reproduces the narrative from them
 * without a GPU (the Result never depends on the model).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { sha256Hex } from "../config/AnalysisConfig.ts"
import type { Result } from "../domain/Result.ts"

export const MANIFEST_SCHEMA_ID = "dshield-coordination/manifest@1" as const

export const ManifestInput = Schema.Struct({ path: Schema.String, sha256: Schema.String, format: Schema.String })

export const Manifest = Schema.Struct({
  schema: Schema.Literal(MANIFEST_SCHEMA_ID),
  engine_version: Schema.String,
  run_id: Schema.String,
  inputs: Schema.Array(ManifestInput),
  /**
   * The directory the analysis ran in, so that inputs given as relative paths are found when
   * the manifest is replayed from elsewhere (the paths stay as given: the Result lists them).
   * Absent in manifests of engines before 2026-12-04.
   */
  cwd: Schema.optionalKey(Schema.String),
  /** Every option that shapes the result (AnalysisConfig), as given. */
  config: Schema.Record(Schema.String, Schema.Unknown),
  seed: Schema.Int,
  transport: Schema.Literals(["in-process", "nats"]),
  pool_size: Schema.Int,
  enrichment_databases: Schema.Array(Schema.Struct({ name: Schema.String, sha256: Schema.String })),
  inference_exchanges: Schema.Array(Schema.Struct({ request: Schema.String, response: Schema.String })),
  /** sha256 of a deep analysis's narrative (byline included), when a model wrote it. */
  narrative_digest: Schema.optionalKey(Schema.String),
  result_digest: Schema.String
})
export interface Manifest extends Schema.Schema.Type<typeof Manifest> {}

/** The digest of a result, blind to the fields that may differ between identical runs. */
export const resultDigest = (result: Result): string =>
  sha256Hex(JSON.stringify({ ...result, run: { ...result.run, id: "", started_at: "", finished_at: "" } }))

/**
 * What a remote caller may ask for, with bounds: the analysis config (ranges, the format
 * enum), inputs by claim-check (objects in the JetStream object store) or by worker-local
 * path (off unless the worker allows roots), and the request's deadline. Anything outside
 * these bounds is a typed 400 reply, never a crash: see `MessageSpec.invalid`.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { type AnalysisConfig, DEFAULT_CONFIG } from "../../src/config/AnalysisConfig.ts"

/** Bounds of one request (docs/nats-api.md, "Limits"). */
export const LIMITS = {
  /** Inputs (file or directory arguments) per request. */
  inputs: 256,
  /** Files per request, over all inputs (a directory counts its files). */
  files: 100_000,
  /** Bytes of one uploaded file. */
  fileBytes: 64 * 1024 ** 3,
  /** Characters of a path or a name. */
  pathChars: 4096,
  /** Inline sessions (a NATS message is 1 MiB by default anyway). */
  sessions: 20_000,
  /** Longest deadline a request may name: 24 h (the worker's own maximum may be lower). */
  timeoutMs: 24 * 60 * 60_000
} as const

const Int = (minimum: number, maximum: number) => Schema.Int.check(Schema.isBetween({ minimum, maximum }))
const Unit = Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 }))
const DAY_MS = 24 * 60 * 60_000

/** Every AnalysisConfig option, each optional and bounded; omitted options take their defaults. */
export const AnalysisConfigInput = Schema.Struct({
  format: Schema.optionalKey(Schema.Literals(["auto", "cowrie", "ecs", "firewall", "webhoneypot", "sessions"])),
  seed: Schema.optionalKey(Int(0, 2 ** 32 - 1)),
  syslogYear: Schema.optionalKey(Schema.NullOr(Int(1990, 2099))),
  sessionGapMs: Schema.optionalKey(Int(1_000, 7 * DAY_MS)),
  waveGapMs: Schema.optionalKey(Int(60_000, 365 * DAY_MS)),
  minSessions: Schema.optionalKey(Int(1, 10_000)),
  behaviourThreshold: Schema.optionalKey(Unit),
  variantThreshold: Schema.optionalKey(Unit),
  wordlistThreshold: Schema.optionalKey(Unit),
  wordlistMinCredentials: Schema.optionalKey(Int(1, 10_000)),
  sourceWindowMs: Schema.optionalKey(Int(0, 30 * DAY_MS)),
  weakWindowMs: Schema.optionalKey(Int(0, 3660 * DAY_MS)),
  permutations: Schema.optionalKey(Int(0, 10_000)),
  bootstrap: Schema.optionalKey(Int(0, 10_000))
})
export type AnalysisConfigInput = typeof AnalysisConfigInput.Type

// Every option of AnalysisConfig must be accepted here (with its bounds): adding one to the
// config without a bound here fails to compile.
const _everyOption: Record<keyof AnalysisConfig, unknown> = AnalysisConfigInput.fields
void _everyOption

export const fullConfig = (input: AnalysisConfigInput | undefined): AnalysisConfig => ({ ...DEFAULT_CONFIG, ...(input ?? {}) })

const Text = Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(LIMITS.pathChars))

/** One path segment: not empty, `.` or `..`, no separators or NUL. */
const SEGMENT = /^(?!\.\.?$)[^/\\\u0000]{1,255}$/
/** A relative name inside an input: segments joined by `/`. */
export const RelativeName = Text.check(Schema.makeFilter((s: string) => s.split("/").every((seg) => SEGMENT.test(seg)), {
  expected: "a relative name without empty, . or .. segments"
}))

const Sha256Hex = Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}$/))

/** Name of an uploaded input in the object store: its content digest. */
export const OBJECT_NAME = /^input-[0-9a-f]{64}$/
export const objectNameFor = (sha256: string): string => `input-${sha256}`

/** One uploaded file. */
export const InputObject = Schema.Struct({
  /** For a file input its base name; for a directory input its path inside the directory. */
  name: RelativeName,
  /** Object in the inputs bucket (`input-<sha256>`). */
  object: Schema.String.check(Schema.isPattern(OBJECT_NAME)),
  sha256: Sha256Hex,
  bytes: Int(0, LIMITS.fileBytes)
})
export type InputObject = typeof InputObject.Type

/** One input as the user named it (a file or a directory), uploaded by claim-check. */
export const ClaimCheckInput = Schema.Struct({
  /** The path as the user gave it: the Result names the input this way. */
  path: Text,
  kind: Schema.Literals(["file", "directory"]),
  files: Schema.Array(InputObject).check(Schema.isMaxLength(LIMITS.files))
})
export type ClaimCheckInput = typeof ClaimCheckInput.Type

export const TimeoutMs = Int(1, LIMITS.timeoutMs)

/**
 * The orchestrator's analyze message (also the body of a durable job): inputs by claim-check,
 * or worker-local paths where the worker allows them, a bounded config and a deadline.
 */
export const AnalyzeMessage = Schema.Struct({
  inputs: Schema.optionalKey(Schema.Array(ClaimCheckInput).check(Schema.isMaxLength(LIMITS.inputs))),
  /** Absolute paths on the worker; refused unless the worker runs with --allow-paths. */
  paths: Schema.optionalKey(Schema.Array(Text).check(Schema.isMaxLength(LIMITS.inputs))),
  /** The paths as the user gave them (the Result names inputs this way). */
  display_paths: Schema.optionalKey(Schema.Array(Text).check(Schema.isMaxLength(LIMITS.inputs))),
  config: Schema.optionalKey(AnalysisConfigInput),
  /** How long the caller waits, in ms (capped by the worker's maximum). */
  timeout_ms: Schema.optionalKey(TimeoutMs)
})
export type AnalyzeMessage = typeof AnalyzeMessage.Type

/** Decoding options for requests from outside: unknown keys are an error, not ignored. */
export const STRICT = { onExcessProperty: "error" } as const

/** Why a request is refused before any work, in one sentence (none when it is acceptable). */
export const inputProblem = (request: { readonly inputs?: ReadonlyArray<ClaimCheckInput>; readonly paths?: ReadonlyArray<string> }): string | undefined => {
  const hasInputs = request.inputs !== undefined && request.inputs.length > 0
  const hasPaths = request.paths !== undefined && request.paths.length > 0
  if (hasInputs && hasPaths) return "Give either inputs (uploaded objects) or paths, not both."
  if (!hasInputs && !hasPaths) return "Give the inputs to analyse: upload them to the inputs bucket and name the objects in inputs."
  if (hasInputs) {
    const files = request.inputs!.reduce((a, i) => a + i.files.length, 0)
    if (files > LIMITS.files) return `The request names ${files} files, over the limit of ${LIMITS.files}; split it into several analyses.`
    for (const input of request.inputs!) {
      if (input.kind === "file" && input.files.length !== 1) return `The file input ${input.path} must name exactly one object; give a directory input for several files.`
      if (input.kind === "file" && input.files[0]!.name.includes("/")) return `The file input ${input.path} must name its object by base name.`
    }
  }
  return undefined
}

/**
 * The request itself is refused (it does not decode, breaks a bound, or names an input the
 * worker may not read): answered 400 before any work.
 */
export class RequestRefused extends Schema.TaggedError<RequestRefused>()("RequestRefused", {
  message: Schema.String
}) {}

/** A request that does not decode, as the typed refusal (one sentence, bounded length). */
export const refusedForDecoding = (reason: string): RequestRefused =>
  new RequestRefused({ message: `The request is not valid: ${reason.replace(/\s+/g, " ").slice(0, 400)}; fix it and send it again.` })

/** The answer to an analyze request: the run, and where its Result v1 is kept. */
export const AnalyzeReply = Schema.Struct({
  run_id: Schema.String,
  result_digest: Schema.String,
  /** Name of the Result v1 document in the result store. */
  result_object: Schema.String,
  sessions: Schema.Int,
  campaigns: Schema.Int
})
export interface AnalyzeReply extends Schema.Schema.Type<typeof AnalyzeReply> {}

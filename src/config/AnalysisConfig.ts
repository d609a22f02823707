/**
 * Everything that changes an analysis result. Its canonical JSON digest is the run's
 * `config_digest`: same input + same config → same result, byte for byte.
 */
import { createHash } from "node:crypto"
import type { FormatChoice } from "../ingest/ingest.ts"

export interface AnalysisConfig {
  readonly format: FormatChoice
  readonly seed: number
  readonly syslogYear: number | null
  /** Silence that ends a firewall / web honeypot session. */
  readonly sessionGapMs: number
  /** Silence that starts a new wave inside a campaign. */
  readonly waveGapMs: number
  readonly minSessions: number
  /** Token Jaccard from which command sets link sessions into one family. */
  readonly behaviourThreshold: number
  /** Token Jaccard from which command sets belong to one variant. */
  readonly variantThreshold: number
  /** Jaccard of two sources' credential lists from which they share one wordlist. */
  readonly wordlistThreshold: number
  /** Distinct credentials a source must try before its list counts as a wordlist. */
  readonly wordlistMinCredentials: number
  /** How close in time a session without commands must be to its source's campaign session to join it. */
  readonly sourceWindowMs: number
  /** The longest silence within one source's wordlist, and between two wordlists that link. */
  readonly weakWindowMs: number
  readonly permutations: number
  readonly bootstrap: number
}

export const DEFAULT_CONFIG: AnalysisConfig = {
  format: "auto",
  seed: 42,
  syslogYear: null,
  sessionGapMs: 30 * 60 * 1000,
  waveGapMs: 24 * 60 * 60 * 1000,
  minSessions: 2,
  behaviourThreshold: 0.55,
  variantThreshold: 0.8,
  wordlistThreshold: 0.6,
  wordlistMinCredentials: 6,
  sourceWindowMs: 60 * 60 * 1000,
  weakWindowMs: 30 * 24 * 60 * 60 * 1000,
  permutations: 199,
  bootstrap: 100
}

/** JSON with object keys sorted at every depth, so equal values give equal text. */
export const canonicalJson = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v)

export const sha256Hex = (text: string): string => createHash("sha256").update(text).digest("hex")

export const configDigest = (config: AnalysisConfig): string => sha256Hex(canonicalJson(config))

/** How deep an analysis goes: triage, the full analysis, or the full one with tools and a narrative. */
export type Depth = "minimal" | "standard" | "deep"

/** The options a depth changes: triage skips most permutations and the bootstrap interval. */
export const configForDepth = (config: AnalysisConfig, depth: Depth): AnalysisConfig =>
  depth === "minimal" ? { ...config, permutations: 49, bootstrap: 0 } : config

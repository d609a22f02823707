/**
 * Per-session features the analytics read, computed once: start time, network prefix,
 * normalised commands, command tokens, and the strong artefacts that may link sessions.
 */
import type { AttackSession } from "../domain/AttackSession.ts"
import { normalizeCommand } from "./normalizeCommand.ts"

/** sha256 of zero bytes: an empty download says nothing about who sent it. */
export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/** Kinds of exact artefacts, strongest first (the order names a campaign). */
export const ARTEFACT_KINDS = ["ssh_key", "sha256", "url", "command_sequence"] as const
export type ArtefactKind = (typeof ARTEFACT_KINDS)[number]

export interface Artefact {
  readonly kind: ArtefactKind
  readonly value: string
}

export interface SessionFeatures {
  readonly startMs: Float64Array
  /** /24 for IPv4, /48 for IPv6, as small integer ids; -1 when the session has no address. */
  readonly prefixId: Int32Array
  readonly normalizedCommands: ReadonlyArray<ReadonlyArray<string>>
  /** Sorted, de-duplicated token ids of each session's normalised commands. */
  readonly tokens: ReadonlyArray<Int32Array>
  readonly artefacts: ReadonlyArray<ReadonlyArray<Artefact>>
}

/** The network prefix an address belongs to: /24 for IPv4, /48 for IPv6. */
export const networkPrefix = (ip: string): string => {
  if (ip.includes(":")) {
    const groups = ip.split("::")[0]!.split(":")
    return `${groups.slice(0, 3).join(":")}::/48`
  }
  return `${ip.slice(0, ip.lastIndexOf("."))}.0/24`
}

/**
 * A normalised command sequence links sessions only when it is specific enough that two
 * unrelated attackers are unlikely to type it: two or more commands, or one long command.
 * A lone `uname -a` is what everybody runs.
 */
const MIN_SINGLE_COMMAND_CHARS = 24

const TOKEN_SPLIT = /[\s;|&()<>"'`]+/

export const computeFeatures = (sessions: ReadonlyArray<AttackSession>): SessionFeatures => {
  const n = sessions.length
  const startMs = new Float64Array(n)
  const prefixId = new Int32Array(n)
  const prefixes = new Map<string, number>()
  const tokenIds = new Map<string, number>()
  const normalizedCommands: Array<Array<string>> = []
  const tokens: Array<Int32Array> = []
  const artefacts: Array<Array<Artefact>> = []
  for (let i = 0; i < n; i++) {
    const s = sessions[i]!
    startMs[i] = Date.parse(s.start)
    if (s.src_ip === null) prefixId[i] = -1
    else {
      const p = networkPrefix(s.src_ip)
      let id = prefixes.get(p)
      if (id === undefined) {
        id = prefixes.size
        prefixes.set(p, id)
      }
      prefixId[i] = id
    }
    const normalized = s.commands.map(normalizeCommand).filter((c) => c.length > 0)
    normalizedCommands.push(normalized)
    const ids = new Set<number>()
    for (const command of normalized) {
      for (const token of command.split(TOKEN_SPLIT)) {
        if (token.length === 0) continue
        let id = tokenIds.get(token)
        if (id === undefined) {
          id = tokenIds.size
          tokenIds.set(token, id)
        }
        ids.add(id)
      }
    }
    tokens.push(Int32Array.from([...ids].sort((a, b) => a - b)))
    const own: Array<Artefact> = []
    const push = (kind: ArtefactKind, value: string | null): void => {
      if (value === null || value.length === 0) return
      if (!own.some((a) => a.kind === kind && a.value === value)) own.push({ kind, value })
    }
    for (const key of s.ssh_keys_added) push("ssh_key", key)
    for (const t of [...s.downloads, ...s.uploads]) {
      if (t.sha256 !== null && t.sha256 !== EMPTY_SHA256) push("sha256", t.sha256)
      push("url", t.url)
    }
    if (normalized.length >= 2 || (normalized.length === 1 && normalized[0]!.length >= MIN_SINGLE_COMMAND_CHARS)) {
      push("command_sequence", normalized.join("\n"))
    }
    artefacts.push(own)
  }
  return { startMs, prefixId, normalizedCommands, tokens, artefacts }
}

/** Jaccard similarity of two sorted token-id arrays. */
export const jaccard = (a: Int32Array, b: Int32Array): number => {
  if (a.length === 0 && b.length === 0) return 0
  let i = 0
  let j = 0
  let common = 0
  while (i < a.length && j < b.length) {
    const x = a[i]!
    const y = b[j]!
    if (x === y) {
      common++
      i++
      j++
    } else if (x < y) i++
    else j++
  }
  return common / (a.length + b.length - common)
}

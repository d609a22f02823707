/**
 * What the sessions of a predicted family actually share. A family whose sessions share no
 * command, download, SSH key or rare credential, and no client fingerprint, and share only
 * credentials that are not rare (popular ones), is a false campaign "formed only by popular
 * credentials". Families that share a client fingerprint but none of the strong artefacts,
 * and families that share nothing at all, are counted apart.
 *
 * Shared = carried by two or more sessions of the family:
 *   - command: an exact raw command string (trimmed, non-empty);
 *   - download: a payload sha256 (trivial contents excluded) or a download URL;
 *   - key: a planted SSH key (type and body);
 *   - rare credential: a pair that is rare by the labeller's rule (signatureLabels.ts);
 *   - client fingerprint: the SSH client version string or hassh (not a labeller signature:
 *     libraries share them, so they are reported apart);
 *   - credential: any other user/password pair (the popular ones).
 */
import type { AttackSession } from "../domain/AttackSession.ts"
import { type LabelledSessionInput, plantedKeys, TRIVIAL_SHA256 } from "./signatureLabels.ts"
import { credentialKey } from "./popularCredentials.ts"

export interface FamilyAudit {
  /** Families of two or more sessions audited. */
  readonly families: number
  /** Families that share only popular (not rare) credentials. */
  readonly popularCredentialOnly: number
  readonly popularCredentialOnlySessions: number
  /** Families that share a client fingerprint (and maybe popular credentials), nothing stronger. */
  readonly fingerprintOnly: number
  readonly fingerprintOnlySessions: number
  /** Families whose sessions share no artefact of any kind. */
  readonly nothingShared: number
  readonly nothingSharedSessions: number
  /** Sessions of a family missing from the session list (not audited). */
  readonly unknownSessions: number
}

export type AuditedSession = LabelledSessionInput & Partial<Pick<AttackSession, "hassh" | "client_version">>

interface Artefacts {
  readonly strong: Set<string>
  readonly fingerprint: Set<string>
  readonly weak: Set<string>
}

const artefactsOf = (s: AuditedSession, rare: ReadonlySet<string>): Artefacts => {
  const strong = new Set<string>()
  const fingerprint = new Set<string>()
  const weak = new Set<string>()
  if (s.hassh !== undefined && s.hassh !== null && s.hassh.length > 0) fingerprint.add(`hassh\u0000${s.hassh}`)
  if (s.client_version !== undefined && s.client_version !== null && s.client_version.length > 0) fingerprint.add(`client\u0000${s.client_version}`)
  for (const c of s.commands) {
    const t = c.trim()
    if (t.length > 0) strong.add(`cmd\u0000${t}`)
  }
  for (const t of [...s.downloads, ...s.uploads]) {
    const h = t.sha256?.toLowerCase()
    if (h !== undefined && !TRIVIAL_SHA256.has(h)) strong.add(`sha\u0000${h}`)
    if (t.url !== null && t.url.length > 0) strong.add(`url\u0000${t.url}`)
  }
  for (const k of plantedKeys(s.commands)) strong.add(`key\u0000${k}`)
  for (const c of s.credentials) {
    const key = credentialKey(c.username, c.password)
    if (rare.has(key)) strong.add(`rcred\u0000${key}`)
    else weak.add(`cred\u0000${key}`)
  }
  return { strong, fingerprint, weak }
}

const anyShared = (sets: ReadonlyArray<ReadonlySet<string>>): boolean => {
  const seen = new Set<string>()
  for (const set of sets) {
    for (const a of set) {
      if (seen.has(a)) return true
      seen.add(a)
    }
  }
  return false
}

export const auditFamilies = (
  families: Iterable<ReadonlyArray<string>>,
  sessions: ReadonlyMap<string, AuditedSession>,
  rare: ReadonlySet<string>
): FamilyAudit => {
  let audited = 0
  let popularOnly = 0
  let popularOnlySessions = 0
  let fingerprintOnly = 0
  let fingerprintOnlySessions = 0
  let nothing = 0
  let nothingSessions = 0
  let unknown = 0
  for (const members of families) {
    if (members.length < 2) continue
    audited++
    const strong: Array<Set<string>> = []
    const fingerprint: Array<Set<string>> = []
    const weak: Array<Set<string>> = []
    for (const id of members) {
      const s = sessions.get(id)
      if (s === undefined) {
        unknown++
        continue
      }
      const a = artefactsOf(s, rare)
      strong.push(a.strong)
      fingerprint.push(a.fingerprint)
      weak.push(a.weak)
    }
    if (anyShared(strong)) continue
    if (anyShared(fingerprint)) {
      fingerprintOnly++
      fingerprintOnlySessions += members.length
    } else if (anyShared(weak)) {
      popularOnly++
      popularOnlySessions += members.length
    } else {
      nothing++
      nothingSessions += members.length
    }
  }
  return {
    families: audited,
    popularCredentialOnly: popularOnly,
    popularCredentialOnlySessions: popularOnlySessions,
    fingerprintOnly,
    fingerprintOnlySessions,
    nothingShared: nothing,
    nothingSharedSessions: nothingSessions,
    unknownSessions: unknown
  }
}

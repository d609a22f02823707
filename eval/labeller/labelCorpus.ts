/**
 * Independent labeller: reads a raw cowrie JSON-lines log (.json or .json.gz) itself, groups
 * the events by cowrie `session`, and applies the published signatures in
 * eval/labels/signatures.json by exact matching only:
 *
 *   ssh_key, command_string, marker_file: the value occurs verbatim in one raw command input
 *                                         (cowrie.command.* events with an `input` field);
 *   payload_sha256: equals the `shasum` of a file_download / file_upload event;
 *   credential:     a login attempt (failed or successful) with exactly this username and password;
 *   password:       a login attempt with exactly this password, whatever the user name.
 *
 * No regular expression, list, threshold or count is involved, and nothing is imported from
 * src/ (test/unit/eval-independence.test.ts enforces it): these labels must not agree with
 * the engine by construction.
 *
 * A session matching the signatures of one family gets that family; its variant is the one of
 * the first matching signature (file order) of that family. A session matching two or more
 * families is a conflict: reported and counted, never scored.
 *
 * CLI:
 *   bun eval/labeller/labelCorpus.ts FILE [--signatures eval/labels/signatures.json]
 *       [--out labels.tsv] [--conflicts conflicts.tsv] [--stats stats.json]
 * Writes a `session_id<TAB>family<TAB>variant` header and one such line per labelled session
 * (sorted by session id) to --out or stdout; `dshield-coord eval --labels` reads this file.
 * Never write labels into the repository: they are derived from third-party logs.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { resolve } from "node:path"
import { gunzipSync } from "node:zlib"

export type SignatureKind = "ssh_key" | "command_string" | "marker_file" | "payload_sha256" | "credential" | "password"

export const SIGNATURE_KINDS: ReadonlyArray<SignatureKind> = ["ssh_key", "command_string", "marker_file", "payload_sha256", "credential", "password"]

export interface SignatureSource {
  readonly url: string
  readonly title: string
  readonly date: string
}

export interface Signature {
  readonly id: string
  readonly family: string
  readonly variant: string
  readonly kind: SignatureKind
  readonly value: string
  readonly username?: string
  readonly password?: string
  readonly source: SignatureSource
  /** Optional: a report that ties the artefact to its family (may be http-only). */
  readonly attribution?: SignatureSource & { readonly note?: string }
  readonly note: string
}

export interface SignatureFile {
  readonly version: number
  readonly description: string
  readonly signatures: ReadonlyArray<Signature>
}

export const DEFAULT_SIGNATURES = resolve(import.meta.dir, "../labels/signatures.json")

/** Reads and checks the signature file; throws with the offending entry on any defect. */
export const loadSignatures = (path: string = DEFAULT_SIGNATURES): SignatureFile => {
  const raw = JSON.parse(readFileSync(path, "utf8")) as SignatureFile
  if (!Array.isArray(raw.signatures)) throw new Error(`${path}: no "signatures" array`)
  const ids = new Set<string>()
  for (const s of raw.signatures) {
    const where = `${path}: signature ${JSON.stringify(s.id)}`
    for (const f of ["id", "family", "variant", "kind", "value", "note"] as const) {
      if (typeof s[f] !== "string" || s[f].length === 0) throw new Error(`${where}: missing ${f}`)
    }
    if (ids.has(s.id)) throw new Error(`${where}: duplicate id`)
    ids.add(s.id)
    if (!SIGNATURE_KINDS.includes(s.kind)) throw new Error(`${where}: unknown kind ${s.kind}`)
    if (s.kind === "credential" && (typeof s.username !== "string" || typeof s.password !== "string")) {
      throw new Error(`${where}: a credential needs username and password`)
    }
    if (typeof s.source?.url !== "string" || !s.source.url.startsWith("https://") || !s.source.title || !s.source.date) {
      throw new Error(`${where}: source needs an https url, a title and a date`)
    }
  }
  return raw
}

/** What the labeller keeps of one session: exactly the fields the signatures look at. */
export interface SessionArtefacts {
  readonly commands: Array<string>
  readonly credentials: Array<readonly [string, string]>
  readonly shasums: Array<string>
}

export interface ParsedLog {
  readonly sessions: Map<string, SessionArtefacts>
  readonly lines: number
  readonly invalidLines: number
}

const asText = (v: unknown): string | null => (typeof v === "string" ? v : typeof v === "number" ? String(v) : null)

/** Parses cowrie JSON lines (gzip detected by magic bytes) and groups artefacts by session. */
export const parseCowrie = (bytes: Uint8Array): ParsedLog => {
  const data = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes
  const text = new TextDecoder().decode(data)
  const sessions = new Map<string, SessionArtefacts>()
  let lines = 0
  let invalidLines = 0
  let start = 0
  while (start < text.length) {
    let end = text.indexOf("\n", start)
    if (end < 0) end = text.length
    const line = text.slice(start, end).trim()
    start = end + 1
    if (line.length === 0) continue
    lines++
    let e: Record<string, unknown>
    try {
      const parsed: unknown = JSON.parse(line)
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
        invalidLines++
        continue
      }
      e = parsed as Record<string, unknown>
    } catch {
      invalidLines++
      continue
    }
    const id = asText(e["session"])
    const eventid = asText(e["eventid"])
    if (id === null || eventid === null) continue
    let s = sessions.get(id)
    if (s === undefined) {
      s = { commands: [], credentials: [], shasums: [] }
      sessions.set(id, s)
    }
    if (eventid.startsWith("cowrie.command.")) {
      const input = asText(e["input"])
      if (input !== null) s.commands.push(input)
    } else if (eventid === "cowrie.login.success" || eventid === "cowrie.login.failed") {
      const u = asText(e["username"])
      const p = asText(e["password"])
      if (u !== null && p !== null) s.credentials.push([u, p])
    } else if (eventid === "cowrie.session.file_download" || eventid === "cowrie.session.file_upload") {
      const sha = asText(e["shasum"])
      if (sha !== null) s.shasums.push(sha)
    }
  }
  return { sessions, lines, invalidLines }
}

/** True when signature `sig` matches the session's artefacts exactly. */
export const matches = (sig: Signature, s: SessionArtefacts): boolean => {
  switch (sig.kind) {
    case "ssh_key":
    case "command_string":
    case "marker_file":
      return s.commands.some((c) => c.includes(sig.value))
    case "payload_sha256":
      return s.shasums.includes(sig.value)
    case "credential":
      return s.credentials.some(([u, p]) => u === sig.username && p === sig.password)
    case "password":
      return s.credentials.some(([, p]) => p === sig.value)
  }
}

export interface SessionLabel {
  readonly family: string
  readonly variant: string
}

export interface LabelStats {
  readonly sessions: number
  readonly lines: number
  readonly invalidLines: number
  readonly labelledSessions: number
  readonly conflictSessions: number
  /** family → labelled sessions */
  readonly families: Record<string, number>
  /** family/variant → labelled sessions */
  readonly variants: Record<string, number>
  /** signature id → sessions it matched (conflicts included) */
  readonly signatureHits: Record<string, number>
  /** "familyA+familyB" → conflicting sessions */
  readonly conflicts: Record<string, number>
}

export interface Labelling {
  readonly labels: Map<string, SessionLabel>
  /** session → the families it matched (two or more) */
  readonly conflicts: Map<string, ReadonlyArray<string>>
  readonly stats: LabelStats
}

const sortedRecord = (m: Map<string, number>): Record<string, number> =>
  Object.fromEntries([...m].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)))

const bump = (m: Map<string, number>, k: string): void => {
  m.set(k, (m.get(k) ?? 0) + 1)
}

export const labelSessions = (log: ParsedLog, signatures: ReadonlyArray<Signature>): Labelling => {
  const labels = new Map<string, SessionLabel>()
  const conflicts = new Map<string, ReadonlyArray<string>>()
  const families = new Map<string, number>()
  const variants = new Map<string, number>()
  const hits = new Map<string, number>(signatures.map((s) => [s.id, 0]))
  const conflictCounts = new Map<string, number>()
  const ids = [...log.sessions.keys()].sort()
  for (const id of ids) {
    const s = log.sessions.get(id)!
    const firstVariant = new Map<string, string>()
    for (const sig of signatures) {
      if (!matches(sig, s)) continue
      bump(hits, sig.id)
      if (!firstVariant.has(sig.family)) firstVariant.set(sig.family, sig.variant)
    }
    if (firstVariant.size === 0) continue
    if (firstVariant.size > 1) {
      const fams = [...firstVariant.keys()].sort()
      conflicts.set(id, fams)
      bump(conflictCounts, fams.join("+"))
      continue
    }
    const [family, variant] = [...firstVariant][0]!
    labels.set(id, { family, variant })
    bump(families, family)
    bump(variants, `${family}/${variant}`)
  }
  return {
    labels,
    conflicts,
    stats: {
      sessions: log.sessions.size,
      lines: log.lines,
      invalidLines: log.invalidLines,
      labelledSessions: labels.size,
      conflictSessions: conflicts.size,
      families: sortedRecord(families),
      variants: sortedRecord(variants),
      signatureHits: Object.fromEntries(signatures.map((s) => [s.id, hits.get(s.id)!])),
      conflicts: sortedRecord(conflictCounts)
    }
  }
}

export const labelFile = (path: string, signatures: ReadonlyArray<Signature> = loadSignatures().signatures): Labelling =>
  labelSessions(parseCowrie(readFileSync(path)), signatures)

/** The header is the one `dshield-coord eval --labels` expects, so the file can be fed to it. */
export const LABELS_HEADER = "session_id\tfamily\tvariant"

export const formatLabelsTsv = (labels: ReadonlyMap<string, SessionLabel>): string =>
  `${LABELS_HEADER}\n${[...labels].map(([id, l]) => `${id}\t${l.family}\t${l.variant}\n`).join("")}`

export const formatConflictsTsv = (conflicts: ReadonlyMap<string, ReadonlyArray<string>>): string =>
  [...conflicts].map(([id, f]) => `${id}\t${f.join(",")}\n`).join("")

/** Reads a labels TSV written by this module back into a map. */
export const readLabelsTsv = (text: string): Map<string, SessionLabel> => {
  const out = new Map<string, SessionLabel>()
  for (const line of text.split("\n")) {
    if (line.length === 0 || line === LABELS_HEADER) continue
    const [id, family, variant] = line.split("\t")
    if (id === undefined || family === undefined || variant === undefined) throw new Error(`Bad label line: ${line}`)
    out.set(id, { family, variant })
  }
  return out
}

if (import.meta.main) {
  const args = process.argv.slice(2)
  const option = (name: string): string | undefined => {
    const i = args.indexOf(name)
    return i >= 0 ? args[i + 1] : undefined
  }
  const file = args.find((a, i) => !a.startsWith("--") && (i === 0 || !args[i - 1]!.startsWith("--")))
  if (file === undefined) {
    console.error("usage: bun eval/labeller/labelCorpus.ts FILE [--signatures FILE] [--out labels.tsv] [--conflicts FILE] [--stats FILE]")
    process.exit(2)
  }
  const sigs = loadSignatures(option("--signatures") ?? DEFAULT_SIGNATURES)
  const l = labelFile(file, sigs.signatures)
  const out = option("--out")
  if (out === undefined) process.stdout.write(formatLabelsTsv(l.labels))
  else writeFileSync(out, formatLabelsTsv(l.labels))
  const conflictsOut = option("--conflicts")
  if (conflictsOut !== undefined) writeFileSync(conflictsOut, formatConflictsTsv(l.conflicts))
  const statsOut = option("--stats")
  if (statsOut !== undefined) writeFileSync(statsOut, `${JSON.stringify(l.stats, null, 2)}\n`)
  console.error(`${l.stats.labelledSessions} of ${l.stats.sessions} sessions labelled, ${l.stats.conflictSessions} conflicts`)
}

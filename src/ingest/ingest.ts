/**
 * Ingest: paths in, attack sessions out. Expands directories, detects each file's format,
 * streams its lines through the format's parser into the session builder, and counts every
 * rejected line under its reason with the first few locations.
 *
 * Plain async TypeScript (the hot loop must not allocate per line beyond parsing); the Effect
 * boundary is `Ingest.ts`.
 */
import { readdir, stat } from "node:fs/promises"
import { join } from "node:path"
import type { AttackSession } from "../domain/AttackSession.ts"
import type { HoneypotEvent } from "../domain/Event.ts"
import type { InputFile, InputFormat } from "../domain/Result.ts"
import { detectFormat, SNIFF_LINES } from "./detectFormat.ts"
import { CowrieFormat } from "./formats/cowrie.ts"
import { EcsFormat, ecsEventFromDocument, searchResponseHits } from "./formats/ecs.ts"
import { makeFirewallFormat } from "./formats/firewall.ts"
import { type LineFormat, type LineOutcome, Reject } from "./formats/Format.ts"
import { isSessionsBody, parseSessionsBody } from "./formats/sessions.ts"
import { WebHoneypotFormat } from "./formats/webhoneypot.ts"
import { jsonTextTooDeep } from "./formats/JsonLine.ts"
import { BOMB_LINE_BYTES, type ContentSize, contentSha256, contentSize, lineExcerpt, MAX_LINE_CHARS, openRaw, prefixSha256, readLines } from "./readLines.ts"
import { readOrder } from "./readOrder.ts"
import { RejectLog } from "./RejectLog.ts"
import { DEFAULT_SESSION_GAP_MS, SessionBuilder } from "./SessionBuilder.ts"

export type FormatChoice = "auto" | InputFormat

export interface IngestOptions {
  readonly format: FormatChoice
  readonly syslogYear?: number | undefined
  readonly sessionGapMs?: number | undefined
  /** Cumulative raw bytes and accepted events, called as reading progresses. */
  readonly onProgress?: ((bytes: number, events: number) => void) | undefined
}

export interface SkippedFile {
  readonly path: string
  readonly reason: string
}

/** What reading the inputs found, apart from the sessions themselves. */
export interface IngestSummary {
  readonly files: Array<InputFile>
  /** Events read, file by file (those read twice included). */
  readonly events: number
  /** Events a session already held, read again from an overlapping input: counted once (seenEvents.ts). */
  readonly duplicateEvents: number
  /** Sessions built (collected, or handed to the sink while streaming). */
  readonly sessionCount: number
  readonly rejects: RejectLog
  /** Events whose eventid the engine does not know: kept, counted here by eventid. */
  readonly unknownEventIds: Record<string, number>
  readonly skippedFiles: Array<SkippedFile>
}

export interface IngestReport extends IngestSummary {
  readonly sessions: Array<AttackSession>
}

/**
 * The outcome of streaming ingest: the summary, or (when the input's order contradicted a
 * session already handed on; see SessionBuilder) the reason, and the caller reads the
 * input again with `ingest`.
 */
export type StreamOutcome =
  | { readonly streamed: true; readonly summary: IngestSummary }
  | { readonly streamed: false; readonly reason: string }

/** Thrown through the line reader to stop reading once streaming has stopped. */
class StreamStopped extends Error {}

/** A path could not be read or understood. The message is one sentence for the user. */
export class IngestFailure extends Error {
  constructor(message: string, readonly path: string) {
    super(message)
  }
}

/** Largest single JSON document (request body, `_search` response) read into memory. */
const MAX_DOCUMENT_CHARS = 512 * 1024 * 1024

const KNOWN_OTHER_IDS = new Set(["cowrie.virustotal.scanfile", "cowrie.virustotal.scanurl"])

interface Target {
  readonly path: string
  /** True when the user named it; false when found inside a directory. */
  readonly explicit: boolean
  /** Stdin or a named pipe (inputPaths.ts isStreamInput): read once, never looked at ahead. */
  readonly stream?: boolean
}

const expand = async (paths: ReadonlyArray<string>, skipped: Array<SkippedFile>): Promise<Array<Target>> => {
  const out: Array<Target> = []
  for (const path of paths) {
    if (path === "-") {
      out.push({ path, explicit: true, stream: true })
      continue
    }
    let info
    try {
      info = await stat(path)
    } catch (error) {
      const code = (error as { code?: string }).code
      throw new IngestFailure(
        code === "ENOENT"
          ? `Input ${path} does not exist; check the path.`
          : code === "EACCES"
          ? `Input ${path} is not readable (permission denied); fix its permissions or run as a user who can read it.`
          : `Input ${path} cannot be read (${code ?? String(error)}); check the path.`,
        path
      )
    }
    if (info.isDirectory()) {
      out.push(...(await walk(path, skipped)))
    } else {
      out.push({ path, explicit: true, stream: !info.isFile() })
    }
  }
  return out
}

/**
 * The files under a directory, in name order. A symbolic link to a file is read (a sensor's
 * `cowrie.json` may point at today's file); one to a directory is not followed (it could lead
 * back up, or out of the tree the user named), and a dangling one is skipped: both with a
 * warning, as nothing named by the user may vanish without a word.
 */
const walk = async (dir: string, skipped: Array<SkippedFile>): Promise<Array<Target>> => {
  let entries
  try {
    entries = await readdir(dir, { withFileTypes: true })
  } catch (error) {
    throw new IngestFailure(`Directory ${dir} cannot be listed (${(error as { code?: string }).code ?? String(error)}); check its permissions.`, dir)
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  const out: Array<Target> = []
  for (const entry of entries) {
    if (entry.name.startsWith(".")) continue
    const full = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...(await walk(full, skipped)))
    else if (entry.isFile()) out.push({ path: full, explicit: false })
    else if (entry.isSymbolicLink()) {
      const target = await stat(full).catch((error: { code?: string }) => error.code ?? "unreadable")
      if (typeof target === "string") skipped.push({ path: full, reason: `a symbolic link that leads nowhere readable (${target})` })
      else if (target.isFile()) out.push({ path: full, explicit: false })
      else if (target.isDirectory()) skipped.push({ path: full, reason: "a symbolic link to a directory, not followed inside a directory; name it to read it" })
      else skipped.push({ path: full, reason: "a symbolic link to no regular file (a pipe, device or socket); name it to read it" })
    } else skipped.push({ path: full, reason: "no regular file (a pipe, device or socket); name it to read it" })
  }
  return out
}

/** Bytes compared at the start of each plain file to find the ones that could begin another. */
const HEAD_BYTES = 64

/**
 * Each distinct file once. A path named twice (`analyze a.json a.json`, a directory and a file
 * in it), a copy of a file (the same bytes under another name) or a gzip copy of a plain log
 * (or the same log compressed twice) would count every event of it twice in its session:
 * twice the credentials, commands and events. Later ones are skipped, each with the file it
 * repeats. Files are compared only when their content sizes agree (a plain file's size, a
 * gzip file's trailer), so distinct logs cost a stat and a few bytes each. So is an older copy
 * of a log that kept growing (a plain file whose bytes all begin a longer one given with it):
 * the longer one is read. Unreadable paths are left for the reader, which reports them.
 */
const eachFileOnce = async (targets: ReadonlyArray<Target>): Promise<{ readonly once: Array<Target>; readonly skipped: Array<SkippedFile> }> => {
  const byKey = new Map<number, Array<{ readonly index: number; readonly size: ContentSize }>>()
  // One input cannot repeat another; stdin and named pipes are read once and not looked at ahead.
  for (let i = 0; i < targets.length && targets.length > 1; i++) {
    if (targets[i]!.stream === true) continue
    const size = await contentSize(targets[i]!.path, HEAD_BYTES)
    if (size === undefined) continue
    const group = byKey.get(size.key)
    if (group === undefined) byKey.set(size.key, [{ index: i, size }])
    else group.push({ index: i, size })
  }
  const repeats = new Map<number, { readonly first: string; readonly sameBytes: boolean }>()
  for (const group of byKey.values()) {
    if (group.length < 2) continue
    // A gzip file is inflated no further than the largest content it could equal: a plain
    // file's size, or its trailer's size (exact below 4 GiB, where gzip files are compared).
    const plainMax = Math.max(0, ...group.filter((g) => !g.size.gzip).map((g) => g.size.bytes))
    const firstWith = new Map<string, { readonly path: string; readonly bytes: number; readonly gzip: boolean }>()
    for (const { index, size } of group) {
      const path = targets[index]!.path
      const limit = size.gzip ? Math.max(plainMax, size.key) : size.bytes
      const digest = await contentSha256(path, size.gzip, limit)
      if (digest === undefined) continue
      const first = firstWith.get(digest)
      if (first === undefined) firstWith.set(digest, { path, bytes: size.bytes, gzip: size.gzip })
      else repeats.set(index, { first: first.path, sameBytes: first.gzip === size.gzip && first.bytes === size.bytes })
    }
  }
  // A plain file skipped as a copy still shows what its original holds (a .gz, say).
  const readAs = (index: number): string => repeats.get(index)?.first ?? targets[index]!.path
  const prefixes = await olderCopies(targets, [...byKey.values()].flat().filter((g) => !g.size.gzip), (index) => repeats.has(index), readAs)
  return {
    once: targets.filter((_, i) => !repeats.has(i) && !prefixes.has(i)),
    skipped: [
      ...[...repeats].map(([i, { first, sameBytes }]) => [i, sameBytes ? `the same bytes as ${first}, which is read once` : `the same log as ${first} (one of them compressed), which is read once`] as const),
      ...[...prefixes].map(([i, longer]) => [i, `its bytes are the start of ${longer}, which is read (an older copy of the same log)`] as const)
    ].sort(([a], [b]) => a - b).map(([i, reason]) => ({ path: targets[i]!.path, reason }))
  }
}

/**
 * Plain files not already skipped whose whole content begins a longer plain file among
 * `files`, each with the file read for it (`readAs` of the longest such file). Only files
 * that start with the same HEAD_BYTES bytes are hashed: logs of other days or sensors start
 * with other lines.
 */
const olderCopies = async (
  targets: ReadonlyArray<Target>,
  files: ReadonlyArray<{ readonly index: number; readonly size: ContentSize }>,
  skipped: (index: number) => boolean,
  readAs: (index: number) => string
): Promise<Map<number, string>> => {
  const found = new Map<number, string>()
  const byHead = new Map<string, Array<{ readonly index: number; readonly bytes: number }>>()
  if (files.length < 2) return found
  for (const { index, size } of files) {
    if (size.head.length < HEAD_BYTES) continue
    const key = Buffer.from(size.head).toString("latin1")
    const group = byHead.get(key)
    if (group === undefined) byHead.set(key, [{ index, bytes: size.bytes }])
    else group.push({ index, bytes: size.bytes })
  }
  for (const group of byHead.values()) {
    if (group.length < 2) continue
    const bySize = [...group].sort((a, b) => a.bytes - b.bytes || a.index - b.index)
    for (let k = 0; k < bySize.length - 1; k++) {
      const shorter = bySize[k]!
      if (skipped(shorter.index)) continue
      const whole = await prefixSha256(targets[shorter.index]!.path, shorter.bytes)
      if (whole === undefined) continue
      // The longest file it begins: that one is read whatever else it contains.
      for (let m = bySize.length - 1; m > k; m--) {
        const longer = bySize[m]!
        if (longer.bytes === shorter.bytes) continue
        if ((await prefixSha256(targets[longer.index]!.path, shorter.bytes)) === whole) {
          found.set(shorter.index, readAs(longer.index))
          break
        }
      }
    }
  }
  return found
}

const formatsFor = (options: IngestOptions): Array<LineFormat> => [
  CowrieFormat,
  EcsFormat,
  WebHoneypotFormat,
  makeFirewallFormat({ syslogYear: options.syslogYear })
]

/**
 * Reads every path and builds sessions, all kept and returned in (start, id) order. Throws
 * IngestFailure only for unreadable paths.
 */
export const ingest = async (paths: ReadonlyArray<string>, options: IngestOptions): Promise<IngestReport> => {
  const builder = new SessionBuilder(options.sessionGapMs ?? DEFAULT_SESSION_GAP_MS)
  const summary = await readInto(paths, options, builder)
  const sessions = builder.build()
  return { ...summary!, sessionCount: sessions.length, sessions }
}

/**
 * Reads every path and hands each session to `sink` as soon as it is finished, in the same
 * (start, id) order as `ingest`, keeping none: memory holds the sessions in progress, not
 * the input's. Stops early (`streamed: false`) when the input is not in time order enough
 * for that; the sessions handed on by then are to be discarded.
 */
export const ingestStream = async (
  paths: ReadonlyArray<string>,
  options: IngestOptions,
  sink: (session: AttackSession) => void
): Promise<StreamOutcome> => {
  const builder = new SessionBuilder(options.sessionGapMs ?? DEFAULT_SESSION_GAP_MS, sink)
  const summary = await readInto(paths, options, builder)
  if (summary === undefined || !builder.end()) return { streamed: false, reason: builder.outOfOrder ?? "streaming stopped" }
  return { streamed: true, summary: { ...summary, sessionCount: builder.streamed } }
}

/** The reading loop shared by both: undefined when a streaming builder stopped. */
const readInto = async (
  paths: ReadonlyArray<string>,
  options: IngestOptions,
  builder: SessionBuilder
): Promise<Omit<IngestSummary, "sessionCount"> | undefined> => {
  try {
    return await readAll(paths, options, builder)
  } catch (error) {
    if (error instanceof StreamStopped) return undefined
    throw error
  }
}

const readAll = async (
  paths: ReadonlyArray<string>,
  options: IngestOptions,
  builder: SessionBuilder
): Promise<Omit<IngestSummary, "sessionCount">> => {
  const unreadable: Array<SkippedFile> = []
  const { once: targets, skipped: repeated } = await eachFileOnce(await expand(paths, unreadable))
  const formats = formatsFor(options)
  const rejects = new RejectLog()
  const unknown = new Map<string, number>()
  // Files are read oldest first (readOrder.ts) and listed in the order given.
  const order = await readOrder(targets.map((t) => t.path), formatsFor(options), options.format === "auto" ? undefined : options.format)
  const filesRead: Array<[input: number, file: InputFile]> = []
  const skippedFiles: Array<SkippedFile> = [...unreadable, ...repeated]
  let events = 0
  let bytesBefore = 0

  const accept = (outcome: LineOutcome, file: string, lineNo: number, text: string): boolean => {
    if (outcome === null) return false
    if (typeof outcome === "string") {
      rejects.add(outcome, file, lineNo, text)
      return false
    }
    if (outcome.kind === "other" && !KNOWN_OTHER_IDS.has(outcome.sourceEventId)) {
      unknown.set(outcome.sourceEventId, (unknown.get(outcome.sourceEventId) ?? 0) + 1)
    }
    builder.add(outcome as HoneypotEvent)
    if (builder.outOfOrder !== undefined) throw new StreamStopped("streaming stopped")
    events++
    return true
  }

  for (const input of order) {
    const target = targets[input]!
    // One input cannot repeat itself: events are compared only when there are several.
    builder.startInput(input, targets.length > 1)
    const file = target.path === "-" ? "<stdin>" : target.path
    const forced = options.format === "auto" ? undefined : options.format
    let lineFormat: LineFormat | undefined = forced === undefined ? undefined : formats.find((f) => f.name === forced)
    let documentMode = forced === "sessions"
    let undecided = forced === undefined
    let unknownFormat = false
    // Lines read before the format is decided; `overlong` marks a line longer than
    // MAX_LINE_CHARS (its text is only the prefix), replayed as a line_too_long reject.
    const pending: Array<[text: string, lineNo: number, overlong: boolean]> = []
    const documentParts: Array<string> = []
    let documentChars = 0
    let documentTooLarge = false
    let fileEvents = 0

    const handle = (text: string, lineNo: number): void => {
      if (documentMode) {
        if (documentChars + text.length + 1 > MAX_DOCUMENT_CHARS) documentTooLarge = true
        else {
          documentParts.push(text)
          documentChars += text.length + 1
        }
        return
      }
      // Blank and whitespace-only lines carry nothing (checking the first character keeps
      // the common case free of a trim()).
      if (text.length === 0 || (text.charCodeAt(0) <= 32 && text.trim().length === 0)) return
      // Only a first line may exceed MAX_LINE_CHARS (a one-line document); in a line format
      // it is rejected like any other over-long line.
      if (text.length > MAX_LINE_CHARS) {
        rejects.add(Reject.lineTooLong, file, lineNo, text.slice(0, 120))
        return
      }
      if (accept(lineFormat!.parseLine(text), file, lineNo, text)) fileEvents++
    }

    const decide = (): void => {
      undecided = false
      const nonEmpty = pending.filter(([t, , overlong]) => !overlong && t.trim().length > 0).map(([t]) => t)
      const normal = nonEmpty.filter((t) => t.length <= MAX_LINE_CHARS)
      const byLines = detectFormat(normal, formats)
      const head = nonEmpty[0]?.trimStart() ?? ""
      // A first line longer than any log line, with no log lines after it, is a whole JSON
      // document on one line (a compact `_search` response or request body).
      const detection = byLines.mode !== "lines" && head.length > MAX_LINE_CHARS && (head.startsWith("{") || head.startsWith("["))
        ? { mode: "document" as const }
        : byLines
      if (detection.mode === "lines") lineFormat = detection.format
      else if (detection.mode === "document") documentMode = true
      else unknownFormat = true
      if (!unknownFormat) {
        for (const [t, n, overlong] of pending) {
          if (overlong) rejects.add(Reject.lineTooLong, file, n, t)
          else handle(t, n)
        }
      }
      pending.length = 0
    }

    let sniffed = 0
    const started = performance.now()
    let lastProgress = started
    let stats
    try {
      stats = await readLines(openRaw(target.path), {
        line: (text, lineNo) => {
          if (undecided) {
            // Blank lines carry nothing (in a document too, they are only whitespace): not
            // kept, so a flood of them (hostile input) cannot grow this buffer without end.
            if (text.trim().length === 0) return
            pending.push([text, lineNo, false])
            sniffed++
            if (sniffed >= SNIFF_LINES) decide()
            return
          }
          if (!unknownFormat) handle(text, lineNo)
        },
        // The fast path: a decided line format that parses bytes gets them without a string.
        bytes: (buf, start, end, lineNo) => {
          const parseBytes = lineFormat?.parseBytes
          if (undecided || documentMode || parseBytes === undefined) return false
          // Blank and whitespace-only lines go through the text path (ignored there).
          if (end === start || buf[start]! <= 32) return false
          const outcome = parseBytes(buf, start, end)
          if (typeof outcome === "string") rejects.add(outcome, file, lineNo, lineExcerpt(buf, start, end))
          else if (accept(outcome, file, lineNo, "")) fileEvents++
          return true
        },
        overlong: (lineNo, prefix) => {
          // Fix: this used to call decide() at once, so an overlong first line left nothing
          // to sniff and the whole file was skipped or failed as "unknown format". The line
          // now waits with the others and does not count as a sniffed line.
          if (undecided) pending.push([prefix, lineNo, true])
          else if (!unknownFormat) rejects.add(Reject.lineTooLong, file, lineNo, prefix)
        },
        progress: options.onProgress === undefined
          ? undefined
          : (bytes) => {
            const now = performance.now()
            if (now - lastProgress > 100) {
              lastProgress = now
              options.onProgress!(bytesBefore + bytes, events)
            }
          }
      })
    } catch (error) {
      if (error instanceof StreamStopped) throw error
      throw new IngestFailure(
        `Input ${file} could not be read (${(error as { code?: string }).code ?? (error as Error).message}); check the file.`,
        target.path
      )
    }
    bytesBefore += stats.bytes
    if (undecided) decide()
    if (stats.bomb !== undefined) {
      // A gzip bomb: the lines before it were kept, the rest of the file is not read.
      const reason = `gzip bomb: line ${stats.bomb.line} inflates past ${BOMB_LINE_BYTES >> 20} MiB at ${Math.round(stats.bomb.ratio)}:1, so the rest of the file was not read; remove the file or re-compress its real log lines`
      rejects.add(Reject.gzipBomb, file, stats.bomb.line, reason)
      if (unknownFormat) {
        skippedFiles.push({ path: file, reason })
        continue
      }
    }
    if (unknownFormat && stats.truncated) {
      // Fix: a gzip stream cut or corrupt before anything recognisable (e.g. inside its first
      // block) used to vanish without a trace: no file entry, no reject, no error. It is now
      // counted as truncated_gzip and listed as skipped, never mistaken for an unknown format.
      const reason = "gzip stream is truncated or corrupt before any recognisable line"
      rejects.add(Reject.truncatedGzip, file, stats.lines, reason)
      skippedFiles.push({ path: file, reason })
      continue
    }
    if (unknownFormat) {
      const reason = `no known format recognised in its first ${SNIFF_LINES} lines`
      if (target.explicit && stats.lines > 0) {
        throw new IngestFailure(`Cannot tell the format of ${file}: ${reason}; pass --format cowrie|ecs|firewall|webhoneypot|sessions.`, target.path)
      }
      skippedFiles.push({ path: file, reason: stats.lines > 0 ? reason : "the file is empty" })
      continue
    }
    let format: InputFormat = lineFormat?.name ?? forced ?? "cowrie"
    if (documentMode) {
      if (documentTooLarge) {
        rejects.add("document_too_large", file, 1, documentParts[0] ?? "")
      } else {
        const parsed = parseDocument(documentParts.join("\n"), formats)
        format = parsed.format ?? format
        parsed.outcomes.forEach((outcome, i) => {
          if (accept(outcome, file, i + 1, `element ${i + 1}`)) fileEvents++
        })
        if (parsed.error !== undefined) rejects.add(parsed.error, file, 1, documentParts[0]?.slice(0, 120) ?? "")
      }
    }
    if (stats.truncated) rejects.add(Reject.truncatedGzip, file, stats.lines, "gzip stream ends early; lines before it were kept")
    filesRead.push([input, { path: file, format, sha256: stats.sha256, bytes: stats.bytes, lines: stats.lines, events: fileEvents }])
    options.onProgress?.(bytesBefore, events)
  }

  const unknownEventIds: Record<string, number> = {}
  for (const key of [...unknown.keys()].sort()) unknownEventIds[key] = unknown.get(key)!
  const files = filesRead.sort((a, b) => a[0] - b[0]).map(([, f]) => f)
  return { files, events, duplicateEvents: builder.duplicateEvents, rejects, unknownEventIds, skippedFiles }
}

interface ParsedDocument {
  readonly format: InputFormat | undefined
  readonly outcomes: Array<LineOutcome>
  readonly error?: string
}

/** One JSON document: the earlier engine's body, a `_search` response, or an array of events. */
const parseDocument = (text: string, formats: ReadonlyArray<LineFormat>): ParsedDocument => {
  // JSON.stringify and the field checks below walk the document recursively: refuse nesting
  // deeper than any real document before it is parsed.
  if (jsonTextTooDeep(text)) return { format: undefined, outcomes: [], error: Reject.tooDeep }
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    return { format: undefined, outcomes: [], error: Reject.malformedJson }
  }
  if (isSessionsBody(doc)) return { format: "sessions", outcomes: parseSessionsBody(doc) }
  const hits = searchResponseHits(doc)
  if (hits !== undefined) {
    return {
      format: "ecs",
      outcomes: hits.map((hit) =>
        hit !== null && typeof hit === "object" && !Array.isArray(hit)
          ? ecsEventFromDocument(hit as Record<string, unknown>)
          : Reject.notAnObject
      )
    }
  }
  if (Array.isArray(doc)) {
    // An array of events in any line format: each element is judged as if it were a line.
    const lines = doc.map((element) => JSON.stringify(element) ?? "")
    const detection = detectFormat(lines.slice(0, SNIFF_LINES), formats)
    if (detection.mode !== "lines") return { format: undefined, outcomes: [], error: "unknown_document" }
    return { format: detection.format.name, outcomes: lines.map((l) => detection.format.parseLine(l)) }
  }
  if (doc !== null && typeof doc === "object") {
    // A single pretty-printed event.
    const line = JSON.stringify(doc)
    const detection = detectFormat([line], formats)
    if (detection.mode === "lines") return { format: detection.format.name, outcomes: [detection.format.parseLine(line)] }
  }
  return { format: undefined, outcomes: [], error: "unknown_document" }
}

/**
 * The order in which several inputs are read: by the time of their first event.
 *
 * Ingest streams sessions to the analysis as they finish, which holds only while the input
 * arrives in time order (SessionBuilder.ts); otherwise it reads everything again and keeps
 * every session. Directories are listed in name order, and cowrie's own rotation names the
 * current log `cowrie.json` and the older days `cowrie.json.2024-04-01`, … so the newest day
 * came first and a sensor's log directory was always read twice, all of it held in memory.
 * Reading the inputs oldest first keeps such a directory streaming. The Result does not
 * depend on the order: it lists the files in the order given.
 *
 * A file's first event is found in its head only (HEAD_BYTES of it, inflated when it is
 * gzip); a file whose head holds no event with a time (a one-line JSON document, an unknown
 * format, an unreadable file) is read after the others, in the order given.
 */
import { open } from "node:fs/promises"
import { constants, gunzipSync } from "node:zlib"
import type { InputFormat } from "../domain/Result.ts"
import { detectFormat } from "./detectFormat.ts"
import { isStreamInput } from "./inputPaths.ts"
import type { LineFormat } from "./formats/Format.ts"

/** Bytes of a file read to find its first event. */
const HEAD_BYTES = 64 * 1024
/** Most bytes an inflated head may reach (a gzip bomb's head stops here). */
const MAX_HEAD_INFLATED = 4 * 1024 * 1024
/** Lines of the head looked at: as many as ingest sniffs a format from. */
const HEAD_LINES = 20

const headText = async (path: string): Promise<string | undefined> => {
  const file = await open(path, "r")
  try {
    const buffer = Buffer.alloc(HEAD_BYTES)
    const { bytesRead } = await file.read(buffer, 0, HEAD_BYTES, 0)
    const head = buffer.subarray(0, bytesRead)
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
      // A head cut mid-stream: inflate what it holds (sync flush), never more than the cap.
      return gunzipSync(head, { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: MAX_HEAD_INFLATED }).toString("utf8")
    }
    return head.toString("utf8")
  } finally {
    await file.close()
  }
}

/** The time (ms) of the first event in the file's head; undefined when there is none. */
export const firstEventTime = async (path: string, formats: ReadonlyArray<LineFormat>, forced: InputFormat | undefined): Promise<number | undefined> => {
  let text: string | undefined
  try {
    text = await headText(path)
  } catch {
    // Unreadable, or a head that does not inflate: ingest reports it in its own words.
    return undefined
  }
  if (text === undefined) return undefined
  // The last line of the head may be cut: only whole lines are looked at.
  const lines = text.split("\n").slice(0, -1).map((l) => l.replace(/\r$/, "")).filter((l) => l.trim().length > 0).slice(0, HEAD_LINES)
  const format = forced === undefined
    ? (() => {
      const detection = detectFormat(lines, formats)
      return detection.mode === "lines" ? detection.format : undefined
    })()
    : formats.find((f) => f.name === forced)
  if (format === undefined) return undefined
  for (const line of lines) {
    const outcome = format.parseLine(line)
    if (outcome !== null && typeof outcome !== "string" && Number.isFinite(outcome.ts)) return outcome.ts
  }
  return undefined
}

/**
 * Indices of `paths` in reading order: by the time of each file's first event, files without
 * one last; ties and the files without one keep the order given. Stdin and named pipes cannot
 * be looked at ahead, so with one among the inputs the order given is kept.
 */
export const readOrder = async (paths: ReadonlyArray<string>, formats: ReadonlyArray<LineFormat>, forced: InputFormat | undefined): Promise<Array<number>> => {
  const given = paths.map((_, i) => i)
  if (paths.length < 2 || paths.some(isStreamInput) || forced === "sessions") return given
  // One file open at a time: a directory can hold thousands.
  const times: Array<number | undefined> = []
  for (const path of paths) times.push(await firstEventTime(path, formats, forced))
  return given.sort((a, b) => {
    const ta = times[a]
    const tb = times[b]
    if (ta === undefined || tb === undefined) return ta === tb ? a - b : ta === undefined ? 1 : -1
    return ta - tb || a - b
  })
}

/**
 * A MISP feed folder, as MISP's "Feeds" export writes it and as public feeds (CIRCL OSINT,
 * Botvrij) publish it: `manifest.json` (event uuid → summary) and one `<uuid>.json` per event
 * (`{"Event": {uuid, info, Tag, Attribute, Object: [{Attribute}]}}`). Its attributes become
 * the same records restSearch gives (src/export/mispClient.ts), so `import --misp-feed DIR`
 * merges them into the threat-intel feed like `import --misp URL`.
 *
 * Each event file is read on its own: one that cannot be read or is not an event is reported
 * with its name and reason, and the others are kept.
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { attributeOf, type MispAttribute } from "../export/mispClient.ts"

/** Larger event files are skipped (reported): a feed event is kilobytes to a few megabytes. */
export const MAX_EVENT_FILE_BYTES = 256 * 1024 * 1024

export interface FeedFolderRead {
  readonly attributes: ReadonlyArray<MispAttribute>
  readonly events: number
  /** Attributes left out by --tag or --since. */
  readonly filtered: number
  /** Attributes without a uuid, type or value. */
  readonly skipped: number
  readonly unreadable: ReadonlyArray<{ readonly file: string; readonly reason: string }>
}

export class FeedFolderError extends Error {}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value)

const tagNames = (tags: unknown): Array<string> =>
  Array.isArray(tags) ? tags.flatMap((t) => (isObject(t) && typeof t.name === "string" && t.name !== "" ? [t.name] : [])) : []

/** The event files: those the manifest names, else every `<uuid>.json` in the folder. */
const eventFiles = (dir: string): Array<string> => {
  let names: Array<string>
  try {
    names = readdirSync(dir)
  } catch (error) {
    throw new FeedFolderError(`Cannot read the MISP feed folder ${dir} (${(error as { code?: string }).code ?? String(error)}); give a folder holding manifest.json and <uuid>.json events.`)
  }
  const events = names.filter((n) => /^[0-9a-f-]{36}\.json$/i.test(n)).sort()
  if (names.includes("manifest.json")) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as unknown
      if (isObject(manifest)) {
        const listed = Object.keys(manifest).map((uuid) => `${uuid}.json`)
        // Files the manifest names that are missing are reported by the reader, not dropped.
        return [...new Set([...listed, ...events])].sort()
      }
    } catch {
      // An unreadable manifest: the folder's event files are still read.
    }
  }
  if (events.length === 0) throw new FeedFolderError(`${dir} holds no MISP feed events (manifest.json and <uuid>.json files); give a feed folder such as one MISP's feed export writes.`)
  return events
}

/**
 * The attributes of every event in the folder (those of its objects too), each carrying its
 * event's uuid and info and the event's tags with its own. With `tags`, only attributes
 * carrying one of them; with `sinceSeconds`, only those changed at or after it.
 */
export const readMispFeedFolder = (dir: string, options: { readonly tags: ReadonlyArray<string>; readonly sinceSeconds?: number | undefined }): FeedFolderRead => {
  const wanted = new Set(options.tags)
  const attributes: Array<MispAttribute> = []
  const unreadable: Array<{ file: string; reason: string }> = []
  let events = 0
  let filtered = 0
  let skipped = 0
  for (const file of eventFiles(dir)) {
    const path = join(dir, file)
    let document: unknown
    try {
      const size = statSync(path).size
      if (size > MAX_EVENT_FILE_BYTES) {
        unreadable.push({ file, reason: `${size} bytes, more than the ${MAX_EVENT_FILE_BYTES} an event file may have` })
        continue
      }
      document = JSON.parse(readFileSync(path, "utf8"))
    } catch (error) {
      const code = (error as { code?: string }).code
      unreadable.push({ file, reason: code === undefined ? "not JSON" : code === "ENOENT" ? "named in manifest.json but missing" : code })
      continue
    }
    const event = isObject(document) ? document.Event : undefined
    if (!isObject(event)) {
      unreadable.push({ file, reason: "not a MISP event (no Event object)" })
      continue
    }
    events++
    const eventTags = tagNames(event.Tag)
    const own = Array.isArray(event.Attribute) ? event.Attribute : []
    const ofObjects = Array.isArray(event.Object) ? event.Object.flatMap((o) => (isObject(o) && Array.isArray(o.Attribute) ? o.Attribute : [])) : []
    for (const raw of [...own, ...ofObjects]) {
      if (!isObject(raw)) {
        skipped++
        continue
      }
      const attribute = attributeOf({ ...raw, Event: { uuid: event.uuid, info: event.info }, Tag: [...eventTags, ...tagNames(raw.Tag)].map((name) => ({ name })) })
      if (attribute === undefined) {
        skipped++
        continue
      }
      if ((wanted.size > 0 && !attribute.tags.some((t) => wanted.has(t))) || (options.sinceSeconds !== undefined && attribute.timestamp < options.sinceSeconds)) {
        filtered++
        continue
      }
      attributes.push({ ...attribute, tags: [...new Set(attribute.tags)] })
    }
  }
  return { attributes, events, filtered, skipped, unreadable }
}

/** MISP's relative time ("30d", "12h", "90m") or unix seconds, as unix seconds before `now`. */
export const sinceSeconds = (since: string, nowMs: number): number => {
  const m = /^(\d+)([dhm])$/.exec(since)
  if (m === null) return Number(since)
  const unit = m[2] === "d" ? 86_400 : m[2] === "h" ? 3_600 : 60
  return Math.floor(nowMs / 1000) - Number(m[1]) * unit
}

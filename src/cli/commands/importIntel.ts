/**
 * `dshield-coord import --misp URL --tag TAG [--since 30d] [--feed FILE]`: pulls the
 * attributes carrying those tags from a MISP server (key in MISP_KEY) into the threat-intel
 * feed the tool coordinator reads (src/intel/threatIntelFeed.ts), merging with what the feed
 * already holds; `import --misp-feed DIR` with a MISP feed folder, `import --list FILE
 * [--tag TAG]` with plain lists.
 */
import { readFileSync } from "node:fs"
import { basename, resolve } from "node:path"
import * as Effect from "effect/Effect"
import { AnalysisError, InputError } from "../../domain/errors.ts"
import { checkMispUrl, searchAttributes } from "../../export/mispClient.ts"
import { FeedFolderError, readMispFeedFolder, sinceSeconds } from "../../intel/mispFeedFolder.ts"
import { EMPTY_FEED, feedPath, mergeAttributes, mergeList, readFeed, writeFeed } from "../../intel/threatIntelFeed.ts"
import type { Command } from "../args.ts"

/** `import --list FILE…`: plain lists into the feed, each line a sighting of its file. */
const importLists = Effect.fn("Cli.importLists")(function*(command: Extract<Command, { _tag: "Import" }>, path: string) {
  const before = readFeed(path)
  if ("error" in before) return yield* new InputError({ message: `${before.error}; move it away or give another --feed.`, path })
  let feed = "feed" in before ? before.feed : EMPTY_FEED
  const lines: Array<string> = []
  for (const list of command.lists) {
    const text = yield* Effect.try({
      try: () => readFileSync(list, "utf8"),
      catch: (error) => new InputError({ message: `Cannot read the list ${list} (${(error as { code?: string }).code ?? String(error)}); check the path.`, path: list })
    })
    const merged = mergeList(feed, text, { source: `file:${basename(list)}`, tags: command.tags })
    feed = merged.feed
    lines.push(`${list}: ${merged.kept} indicator(s)${merged.unreadable.length === 0 ? "" : `, ${merged.unreadable.length} line(s) that are none (first at line ${merged.unreadable[0]})`}`)
  }
  yield* Effect.try({
    try: () => writeFeed(path, feed),
    catch: (error) => new InputError({ message: `Cannot write the threat-intel feed ${path} (${(error as { code?: string }).code ?? String(error)}); give a writable --feed.`, path })
  })
  if (!command.quiet) yield* Effect.sync(() => process.stderr.write(`${lines.join("; ")}. The feed ${path} holds ${feed.indicators.length} indicator(s).\n`))
})

/** `import --misp-feed DIR`: a MISP feed folder's events into the feed, like a server's attributes. */
const importFeedFolder = Effect.fn("Cli.importFeedFolder")(function*(command: Extract<Command, { _tag: "Import" }>, dir: string, path: string) {
  const before = readFeed(path)
  if ("error" in before) return yield* new InputError({ message: `${before.error}; move it away or give another --feed.`, path })
  const read = yield* Effect.try({
    try: () => readMispFeedFolder(dir, { tags: command.tags, sinceSeconds: command.since === undefined ? undefined : sinceSeconds(command.since, Date.now()) }),
    catch: (error) => (error instanceof FeedFolderError ? new InputError({ message: error.message, path: dir }) : new AnalysisError({ message: String(error) }))
  })
  const source = `misp-feed:${basename(resolve(dir))}`
  const merged = mergeAttributes("feed" in before ? before.feed : EMPTY_FEED, read.attributes, { source, tags: command.tags, since: command.since ?? null })
  yield* Effect.try({
    try: () => writeFeed(path, merged.feed),
    catch: (error) => new InputError({ message: `Cannot write the threat-intel feed ${path} (${(error as { code?: string }).code ?? String(error)}); give a writable --feed.`, path })
  })
  if (command.quiet) return
  const unreadable = read.unreadable.length === 0 ? "" : `; ${read.unreadable.length} event file(s) not read (${read.unreadable.slice(0, 3).map((u) => `${u.file}: ${u.reason}`).join("; ")}${read.unreadable.length > 3 ? "; …" : ""})`
  yield* Effect.sync(() =>
    process.stderr.write(
      `MISP feed ${dir}: ${read.events} event(s), ${read.attributes.length} attribute(s)${command.tags.length === 0 ? "" : ` tagged ${command.tags.join(" or ")}`}${read.filtered === 0 ? "" : ` (${read.filtered} left out by --tag/--since)`}; ` +
        `${merged.kept} kept${read.skipped === 0 ? "" : `, ${read.skipped} without a uuid, type or value`}${unreadable}. ` +
        `The feed ${path} holds ${merged.feed.indicators.length} indicator(s).\n`
    )
  )
})

export const importCommand = Effect.fn("Cli.import")(function*(command: Extract<Command, { _tag: "Import" }>) {
  const path = feedPath(command.feed)
  if (command.mispFeed !== undefined) return yield* importFeedFolder(command, command.mispFeed, path)
  if (command.misp === undefined) return yield* importLists(command, path)
  const key = process.env.MISP_KEY?.trim() ?? ""
  if (key === "") return yield* new InputError({ message: "Set MISP_KEY to a MISP auth key to import from --misp (a key on the command line would show in the process list)." })
  const misp = command.misp
  const base = yield* checkMispUrl(misp).pipe(Effect.mapError((e) => new InputError({ message: e.message })))
  const before = readFeed(path)
  if ("error" in before) return yield* new InputError({ message: `${before.error}; move it away or give another --feed.`, path })
  const pulled = yield* searchAttributes({ url: base.href, key, tags: command.tags, since: command.since }).pipe(
    Effect.mapError((e) => new AnalysisError({ message: e.message }))
  )
  const merged = mergeAttributes("feed" in before ? before.feed : EMPTY_FEED, pulled.attributes, { source: base.href, tags: command.tags, since: command.since ?? null })
  yield* Effect.try({
    try: () => writeFeed(path, merged.feed),
    catch: (error) => new InputError({ message: `Cannot write the threat-intel feed ${path} (${(error as { code?: string }).code ?? String(error)}); give a writable --feed.`, path })
  })
  if (command.quiet) return
  const byType = new Map<string, number>()
  for (const i of merged.feed.indicators) byType.set(i.type, (byType.get(i.type) ?? 0) + 1)
  const unsupported = Object.entries(merged.unsupported).sort(([a], [b]) => (a < b ? -1 : 1)).map(([t, n]) => `${t} ${n}`)
  yield* Effect.sync(() =>
    process.stderr.write(
      `MISP ${base.href}: ${pulled.attributes.length} attribute(s) tagged ${command.tags.join(" or ")}${command.since === undefined ? "" : ` since ${command.since}`}; ` +
        `${merged.kept} kept${unsupported.length === 0 ? "" : `, ${pulled.attributes.length - merged.kept} of types no session shows (${unsupported.join(", ")})`}` +
        `${pulled.skipped === 0 ? "" : `, ${pulled.skipped} without a uuid, type or value`}. ` +
        `The feed ${path} holds ${merged.feed.indicators.length} indicator(s) (${[...byType].map(([t, n]) => `${t} ${n}`).join(", ") || "none"}).\n`
    )
  )
})

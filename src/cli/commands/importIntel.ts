/**
 * `dshield-coord import --misp URL --tag TAG [--since 30d] [--feed FILE]`: pulls the
 * attributes carrying those tags from a MISP server (key in MISP_KEY) into the threat-intel
 * feed the tool coordinator reads (src/intel/threatIntelFeed.ts), merging with what the feed
 * already holds.
 */
import { Effect } from "effect"
import { AnalysisError, InputError } from "../../domain/errors.ts"
import { checkMispUrl, searchAttributes } from "../../export/mispClient.ts"
import { EMPTY_FEED, feedPath, mergeAttributes, readFeed, writeFeed } from "../../intel/threatIntelFeed.ts"
import type { Command } from "../args.ts"

export const importCommand = Effect.fn("Cli.import")(function*(command: Extract<Command, { _tag: "Import" }>) {
  const path = feedPath(command.feed)
  const key = process.env.MISP_KEY?.trim() ?? ""
  if (key === "") return yield* new InputError({ message: "Set MISP_KEY to a MISP auth key to import from --misp (a key on the command line would show in the process list)." })
  const base = yield* checkMispUrl(command.misp).pipe(Effect.mapError((e) => new InputError({ message: e.message })))
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

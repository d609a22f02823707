/**
 * Auto-detection of a file's format from its first lines: each format sniffs each line, the
 * format that claims most of them wins. A file whose lines no format claims but which starts
 * with `{` or `[` is read as one JSON document (the earlier engine's body, an Elasticsearch
 * `_search` response, or a JSON array of events).
 */
import type { InputFormat } from "../domain/Result.ts"
import type { LineFormat } from "./formats/Format.ts"

/** How many non-empty lines the detector looks at. */
export const SNIFF_LINES = 20

export type Detection =
  | { readonly mode: "lines"; readonly format: LineFormat }
  | { readonly mode: "document" }
  | { readonly mode: "unknown" }

export const detectFormat = (lines: ReadonlyArray<string>, formats: ReadonlyArray<LineFormat>): Detection => {
  const votes = new Map<InputFormat, number>()
  for (const line of lines) {
    for (const format of formats) {
      if (format.sniff(line)) {
        votes.set(format.name, (votes.get(format.name) ?? 0) + 1)
        break
      }
    }
  }
  let best: LineFormat | undefined
  let bestVotes = 0
  for (const format of formats) {
    const v = votes.get(format.name) ?? 0
    if (v > bestVotes) {
      best = format
      bestVotes = v
    }
  }
  if (best !== undefined) return { mode: "lines", format: best }
  const firstText = lines.find((l) => l.trim().length > 0)?.trimStart() ?? ""
  if (firstText.startsWith("{") || firstText.startsWith("[")) return { mode: "document" }
  return { mode: "unknown" }
}

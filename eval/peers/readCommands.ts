/**
 * Minimal cowrie reader shared by the peers in eval/peers: every session id in the log (in
 * order of first appearance) and the commands it typed (cowrie.command.input, in log order).
 * Reads the raw .json or .json.gz itself; imports nothing from src/.
 */
import { readFileSync } from "node:fs"
import { gunzipSync } from "node:zlib"

export interface SessionCommands {
  readonly id: string
  readonly commands: Array<string>
}

export const readCommands = (path: string): Array<SessionCommands> => {
  const bytes = readFileSync(path)
  const data = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes
  const text = new TextDecoder().decode(data)
  const byId = new Map<string, SessionCommands>()
  let start = 0
  while (start < text.length) {
    let end = text.indexOf("\n", start)
    if (end < 0) end = text.length
    const line = text.slice(start, end)
    start = end + 1
    if (line.trim().length === 0) continue
    let e: { session?: unknown; eventid?: unknown; input?: unknown }
    try {
      e = JSON.parse(line)
    } catch {
      continue
    }
    if (e === null || typeof e !== "object" || typeof e.session !== "string") continue
    let s = byId.get(e.session)
    if (s === undefined) byId.set(e.session, (s = { id: e.session, commands: [] }))
    if (e.eventid === "cowrie.command.input" && typeof e.input === "string") s.commands.push(e.input)
  }
  return [...byId.values()]
}

/** The minimal Result-like output all three systems are scored from. */
export interface PeerResult {
  readonly tool: string
  readonly parameters: Record<string, number | string>
  readonly input: { readonly sessions: number; readonly sessions_with_commands: number }
  readonly campaigns: ReadonlyArray<{ readonly id: string; readonly level: "family"; readonly sessions: ReadonlyArray<string> }>
}

/** Groups session ids by cluster key (null = unclustered) into sorted, deterministic campaigns. */
export const campaignsFromKeys = (keys: ReadonlyMap<string, string | null>, prefix: string): PeerResult["campaigns"] => {
  const groups = new Map<string, Array<string>>()
  for (const [s, k] of keys) {
    if (k === null) continue
    let g = groups.get(k)
    if (g === undefined) groups.set(k, (g = []))
    g.push(s)
  }
  const lists = [...groups.values()].filter((g) => g.length >= 2).map((g) => g.sort())
  lists.sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0))
  return lists.map((sessions, i) => ({ id: `${prefix}-${i}`, level: "family" as const, sessions }))
}

/** `FILE --out result.json` argument parsing shared by the peer CLIs. */
export const peerArgs = (usage: string): { file: string; out: string | undefined } => {
  const args = process.argv.slice(2)
  const i = args.indexOf("--out")
  const out = i >= 0 ? args[i + 1] : undefined
  const file = args.find((a, k) => !a.startsWith("--") && (k === 0 || args[k - 1] !== "--out"))
  if (file === undefined) {
    console.error(usage)
    process.exit(2)
  }
  return { file, out }
}

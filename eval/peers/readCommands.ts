/**
 * Minimal cowrie reader shared by the peers in eval/peers: the commands each session typed
 * (cowrie.command.input, in log order), and how many distinct sessions the log holds.
 * Reads the raw .json or .json.gz itself, streaming (gzip detected by magic bytes), so a
 * multi-gigabyte log never has to fit in one string; imports nothing from src/.
 *
 * Only lines that contain `cowrie.command.input` are parsed as JSON (and then checked for that
 * eventid): the peers cluster sessions by their commands, and a session without commands
 * stays unclustered whatever else it did. Lines with `cowrie.session.connect` are scanned for
 * their session id only, to count sessions (the count is reported, never used to cluster);
 * other lines are skipped without being split out of the decoded text.
 */
import { createReadStream, openSync, readSync, closeSync } from "node:fs"
import { createGunzip } from "node:zlib"

export interface SessionCommands {
  readonly id: string
  readonly commands: Array<string>
}

export interface CommandLog {
  /** Sessions with at least one command, in order of their first command. */
  readonly sessions: Array<SessionCommands>
  /** Distinct session ids in the log, with or without commands. */
  readonly sessionCount: number
}

const isGzip = (path: string): boolean => {
  const fd = openSync(path, "r")
  try {
    const head = Buffer.alloc(2)
    const n = readSync(fd, head, 0, 2, 0)
    return n === 2 && head[0] === 0x1f && head[1] === 0x8b
  } finally {
    closeSync(fd)
  }
}

/** The value of the first `"session"` key in a raw JSON line, without parsing it. */
const sessionOf = (line: string): string | null => {
  const k = line.indexOf('"session"')
  if (k < 0) return null
  const colon = line.indexOf(":", k + 9)
  if (colon < 0) return null
  const open = line.indexOf('"', colon + 1)
  if (open < 0) return null
  const close = line.indexOf('"', open + 1)
  return close < 0 ? null : line.slice(open + 1, close)
}

export const readCommands = async (path: string): Promise<CommandLog> => {
  const raw = createReadStream(path, { highWaterMark: 1 << 20 })
  const stream = isGzip(path) ? raw.pipe(createGunzip({ chunkSize: 1 << 20 })) : raw
  const decoder = new TextDecoder()
  const byId = new Map<string, SessionCommands>()
  const seen = new Set<string>()
  const command = (l: string): void => {
    let e: { session?: unknown; eventid?: unknown; input?: unknown }
    try {
      e = JSON.parse(l)
    } catch {
      return
    }
    if (e === null || typeof e !== "object" || typeof e.session !== "string") return
    seen.add(e.session)
    if (e.eventid !== "cowrie.command.input" || typeof e.input !== "string") return
    let s = byId.get(e.session)
    if (s === undefined) byId.set(e.session, (s = { id: e.session, commands: [] }))
    s.commands.push(e.input)
  }
  const connect = (l: string): void => {
    const id = sessionOf(l)
    if (id !== null) seen.add(id)
  }
  /** Calls `f` on every complete line of `text` that contains `needle`, in order. */
  const linesWith = (text: string, needle: string, f: (line: string) => void): void => {
    let i = text.indexOf(needle)
    while (i >= 0) {
      const start = text.lastIndexOf("\n", i) + 1
      let end = text.indexOf("\n", i)
      if (end < 0) end = text.length
      f(text.slice(start, end))
      i = text.indexOf(needle, end)
    }
  }
  const handle = (text: string): void => {
    linesWith(text, "cowrie.command.input", command)
    linesWith(text, "cowrie.session.connect", connect)
  }
  let rest = ""
  for await (const chunk of stream as AsyncIterable<Uint8Array>) {
    const text = rest + decoder.decode(chunk, { stream: true })
    const cut = text.lastIndexOf("\n")
    if (cut < 0) {
      rest = text
      continue
    }
    handle(text.slice(0, cut))
    rest = text.slice(cut + 1)
  }
  handle(rest + decoder.decode())
  return { sessions: [...byId.values()], sessionCount: seen.size }
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

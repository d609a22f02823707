/**
 * Worker-local paths in requests: off by default. A worker started with
 * `--allow-paths ROOT[,ROOT…]` reads a path only when it is absolute, has no `..` segment,
 * and its real path (symlinks resolved) is a regular file or directory under the real path of
 * a root. Devices, FIFOs, sockets and `-` (stdin) are refused. What ingest then reads is the
 * resolved real path, so a symlink cannot be swapped in between the check and the read.
 *
 * Inside an allowed directory ingest itself follows no symlinks and reads only regular files.
 * The MCP server (`dshield-coord mcp --allow-paths`, src/mcp) checks the paths of its tool
 * calls with the same function.
 *
 * @since 0.1.0
 */
import { realpathSync } from "node:fs"
import { realpath, stat } from "node:fs/promises"
import { dirname, isAbsolute, sep } from "node:path"
import * as Effect from "effect/Effect"
import type { DisplayRoot, StagedInputs } from "../transport/ClaimCheck.ts"
import { ClaimCheckError } from "../transport/ClaimCheck.ts"

/** Real paths of the roots a worker allows (checked at start: a missing root is an error). */
export const resolveRoots = (roots: ReadonlyArray<string>): Array<string> =>
  roots.map((root) => {
    if (!isAbsolute(root)) throw new Error(`--allow-paths root ${root} is not absolute; give absolute directories.`)
    try {
      return realpathSync(root)
    } catch {
      throw new Error(`--allow-paths root ${root} does not exist; create it or drop it from --allow-paths.`)
    }
  })

const under = (path: string, root: string): boolean => path === root || path.startsWith(root.endsWith(sep) ? root : root + sep)

const refused = (message: string) => new ClaimCheckError({ kind: "refused", message })

/** Who reads the paths, as the refusals name it: a NATS worker, or the MCP server (src/mcp). */
export type PathReader = "worker" | "server"

const WORDING: Record<PathReader, { readonly none: string; readonly instead: string }> = {
  worker: {
    none: "This worker does not read worker-local paths; upload the inputs to the coord-inputs bucket and name the objects in inputs (analyze --nats does this).",
    instead: "upload the input instead"
  },
  server: {
    none: "This server reads no files (it was started without --allow-paths); send the sessions inline instead.",
    instead: "name a file under one of its roots, or send the sessions inline"
  }
}

/**
 * Checks the paths of a request against the allowed roots (real paths). Nothing is read
 * unless every path passes; the answer for a refused path does not say whether it exists.
 */
export const checkLocalPaths = (paths: ReadonlyArray<string>, display: ReadonlyArray<string> | undefined, roots: ReadonlyArray<string>, reader: PathReader = "worker") =>
  Effect.gen(function*() {
    const wording = WORDING[reader]
    if (roots.length === 0) return yield* refused(wording.none)
    const local: Array<string> = []
    const shown: Array<DisplayRoot> = []
    for (const [i, path] of paths.entries()) {
      const outside = refused(`The path ${path} is not under a directory this ${reader} allows (--allow-paths); ${wording.instead}.`)
      if (path === "-" || !isAbsolute(path) || path.includes("\u0000") || path.split(/[\\/]/).includes("..")) {
        return yield* refused(`The path ${path} must be absolute, without "..", and not "-"; name a file under a directory this ${reader} allows (--allow-paths).`)
      }
      // A missing file whose directory is under a root is said to be missing: that says nothing
      // about the world outside the roots (a missing file elsewhere stays "not under a root").
      const missing = refused(`The path ${path} does not exist; check the name (it is under a directory this ${reader} allows).`)
      const resolved = yield* Effect.promise(() => realpath(path).catch(() => undefined))
      if (resolved === undefined) {
        const parent = yield* Effect.promise(() => realpath(dirname(path)).catch(() => undefined))
        return yield* (parent !== undefined && roots.some((root) => under(parent, root)) ? missing : outside)
      }
      const real = resolved
      if (!roots.some((root) => under(real, root))) return yield* outside
      const info = yield* Effect.tryPromise({ try: () => stat(real), catch: () => outside })
      if (!info.isFile() && !info.isDirectory()) {
        return yield* refused(`The path ${path} is not a regular file or directory; devices, FIFOs and sockets are never read.`)
      }
      local.push(real)
      shown.push({ local: real, shown: display?.[i] ?? path, kind: info.isDirectory() ? "directory" : "file" })
    }
    return { paths: local, roots: shown } satisfies StagedInputs
  })

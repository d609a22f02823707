/**
 * What the input paths a command names are, before they are read: whether every one can be
 * read, checked before anything is set up for it (`analyze --store` of a missing file ends in
 * ingest's one-sentence error and must leave no store directory behind; ingest.ts still checks
 * and words the error itself), and which can be read only once (stdin, a named pipe).
 */
import { accessSync, constants, statSync } from "node:fs"

/** True when each path is standard input ("-") or a file or directory this process may read. */
export const inputsReadable = (paths: ReadonlyArray<string>): boolean =>
  paths.every((path) => {
    if (path === "-") return true
    try {
      accessSync(path, constants.R_OK)
      return true
    } catch {
      return false
    }
  })

/**
 * True for standard input ("-") and for a path that is no regular file or directory: a named
 * pipe, `/dev/stdin` on a pipe, a character device, a socket. Such an input can be read once
 * only (a pipe's writer is gone after the first reading, and opening it again waits for
 * another forever), so nothing may look at it ahead (its head, its size, a copy check) or
 * read it a second time: it is read like stdin, once, whole.
 */
export const isStreamInput = (path: string): boolean => {
  if (path === "-") return true
  try {
    const info = statSync(path)
    return !info.isFile() && !info.isDirectory()
  } catch {
    // Missing or unreadable: ingest reports it in its own words.
    return false
  }
}

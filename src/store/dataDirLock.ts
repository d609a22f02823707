/**
 * One process at a time per embedded store.
 *
 * PGlite is PostgreSQL in single-user mode inside this process: nothing stops a second
 * process from opening the same data directory, and two writers each replay their own view
 * of the files over the other's (two `analyze --store` runs at once lost one run's sessions
 * and left its Result without its analysis row). PostgreSQL's own postmaster.pid does not
 * exist in PGlite, so the store holds this lock file while it is open, and while a new store
 * is being copied into the directory.
 *
 * The file holds the owner's pid and host. A lock whose process no longer runs on this host
 * (killed, crashed) is taken over; one held by a live process, another host or another thread
 * of this process is refused with a sentence that says what to do. Within a thread the lock
 * is counted: the warm start and the store it prepares share it, and it is removed when the
 * last holder lets go or the process exits.
 */
import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs"
import { hostname } from "node:os"
import { join, resolve } from "node:path"
import { threadId } from "node:worker_threads"

export const LOCK_FILE = "dshield-coord.lock"

/** Why the lock could not be taken, in one sentence for the user. */
export class DataDirLocked extends Error {}

const held = new Map<string, number>()

const lockPath = (dataDir: string): string => join(resolve(dataDir), LOCK_FILE)

const readLock = (path: string): string | undefined => {
  try {
    return readFileSync(path, "utf8")
  } catch {
    return undefined
  }
}

/** The owner a lock file names, or undefined when it names none (then it is stale). */
const ownerIn = (text: string | undefined): { pid: number; host: string } | undefined => {
  const [pid, host] = (text ?? "").trim().split(" ")
  const n = Number(pid)
  return Number.isInteger(n) && n > 0 && host !== undefined && host.length > 0 ? { pid: n, host } : undefined
}

/**
 * Creates the lock file with its whole content at once (written aside, then linked into
 * place): another process never reads a half-written lock. False when one exists.
 */
const createLock = (path: string, content: string): boolean => {
  const aside = `${path}.${process.pid}.${threadId}.new`
  writeFileSync(aside, content)
  try {
    linkSync(aside, path)
    return true
  } catch (error) {
    if ((error as { code?: string }).code === "EEXIST") return false
    throw error
  } finally {
    unlinkSync(aside)
  }
}

/**
 * Moves a stale lock out of the way, unless it changed since it was read (another process
 * took it over first): then that process's lock is put back. True when it was moved.
 */
const moveStaleLock = (path: string, seen: string | undefined): boolean => {
  const aside = `${path}.${process.pid}.${threadId}.stale`
  try {
    renameSync(path, aside)
  } catch {
    return false
  }
  if (readLock(aside) === seen) {
    unlinkSync(aside)
    return true
  }
  try {
    linkSync(aside, path)
  } catch {
    // A third process locked it meanwhile: its lock stands.
  }
  unlinkSync(aside)
  return false
}

/**
 * True while the lock's owner may still run: the pid exists and, where the system shows a
 * process's command line (Linux), it is a Bun or Node process, not an unrelated program that
 * was given the pid of a crashed owner.
 */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    if ((error as { code?: string }).code !== "EPERM") return false
  }
  let commandLine: string
  try {
    commandLine = readFileSync(`/proc/${pid}/cmdline`, "utf8")
  } catch {
    return true
  }
  return /bun|node|dshield/i.test(commandLine)
}

/** Deletes a lock file this process holds; one already gone has nothing to release. */
const removeLockFile = (path: string): void => {
  try {
    unlinkSync(path)
  } catch {
    // Already gone.
  }
}

const removeHeld = (): void => {
  for (const path of held.keys()) removeLockFile(path)
  held.clear()
}
let exitHook = false

/**
 * Takes the lock of `dataDir` (making the directory), or adds a holder when this thread has
 * it. Returns the release. Throws DataDirLocked when another process, host or thread holds it.
 */
export const lockDataDir = (dataDir: string): (() => void) => {
  const path = lockPath(dataDir)
  let released = false
  // Each holder lets go once: a second call of its release changes nothing.
  const release = () => {
    if (released) return
    released = true
    const count = held.get(path)
    if (count === undefined) return
    if (count > 1) held.set(path, count - 1)
    else {
      held.delete(path)
      removeLockFile(path)
    }
  }
  const count = held.get(path)
  if (count !== undefined) {
    held.set(path, count + 1)
    return release
  }
  mkdirSync(resolve(dataDir), { recursive: true })
  const me = `${process.pid} ${hostname()}\n`
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      if (createLock(path, me)) {
        held.set(path, 1)
        if (!exitHook) {
          exitHook = true
          process.once("exit", removeHeld)
        }
        return release
      }
    } catch (error) {
      throw new DataDirLocked(`Cannot lock the embedded store at ${dataDir} (${(error as { code?: string }).code ?? String(error)}); check that the directory is writable.`)
    }
    const seen = readLock(path)
    const owner = ownerIn(seen)
    const stale = seen !== undefined && (owner === undefined || (owner.host === hostname() && owner.pid !== process.pid && !alive(owner.pid)))
    if (seen !== undefined && !stale) {
      const who = owner!.pid === process.pid && owner!.host === hostname() ? "another part of this process" : `dshield-coord process ${owner!.pid} on ${owner!.host}`
      throw new DataDirLocked(
        `The embedded store at ${dataDir} is in use by ${who}; wait for it to finish, use PostgreSQL (--database-url) for concurrent runs, or remove ${path} if that process is gone.`
      )
    }
    // The owner is gone (killed, crashed): its lock is taken over. (Unreadable: it was
    // released between the two reads; the next attempt creates it.)
    if (stale) moveStaleLock(path, seen)
  }
  throw new DataDirLocked(`The embedded store at ${dataDir} was locked by another process just now; try again.`)
}

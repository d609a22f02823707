/**
 * Joins two pieces of one attack session (same id) read at different times — a session that
 * straddles two log files analysed in separate runs. Pieces are disjoint event sets, so
 * their lists concatenate in time order; scalar fields come from the earlier piece when it
 * has them.
 *
 * The same events read twice are not two pieces: storing a log again, or a log that has grown
 * since it was stored, or a live message delivered twice. A piece whose time span lies within
 * the other's and whose credentials, commands, transfers and requests all occur in the other
 * (as many times or more) is a re-read: the larger piece stands, nothing is doubled.
 */
import type { AttackSession } from "./AttackSession.ts"

const union = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): Array<string> => [...new Set([...a, ...b])]

/** True when every item of `small` occurs in `large` at least as often (items compared by `key`). */
const within = <T>(small: ReadonlyArray<T>, large: ReadonlyArray<T>, key: (item: T) => string): boolean => {
  if (small.length > large.length) return false
  if (small.length === 0) return true
  const counts = new Map<string, number>()
  for (const item of large) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1)
  for (const item of small) {
    const k = key(item)
    const left = counts.get(k) ?? 0
    if (left === 0) return false
    counts.set(k, left - 1)
  }
  return true
}

const text = (s: string): string => s
const json = (item: unknown): string => JSON.stringify(item)

/** `small` holds no event `large` does not: the same session read again (see above). */
const isReread = (small: AttackSession, large: AttackSession): boolean =>
  small.start >= large.start &&
  small.end <= large.end &&
  small.event_count <= large.event_count &&
  within(small.credentials, large.credentials, (c) => `${c.username}\u0000${c.password}\u0000${c.success}`) &&
  within(small.commands, large.commands, text) &&
  within(small.downloads, large.downloads, json) &&
  within(small.uploads, large.uploads, json) &&
  within(small.http_requests, large.http_requests, text) &&
  within(small.ssh_keys_added, large.ssh_keys_added, text) &&
  within(small.tcpip_forwards, large.tcpip_forwards, text)

/** The two pieces as one session; `x` stands when both are the same read (the stored one, for callers that pass it first). */
export const mergeSessionPieces = (x: AttackSession, y: AttackSession): AttackSession => {
  if (isReread(y, x)) return x
  if (isReread(x, y)) return y
  const [a, b] = x.start <= y.start ? [x, y] : [y, x]
  return {
    id: a.id,
    sensor: a.sensor ?? b.sensor,
    protocol: a.protocol,
    src_ip: a.src_ip ?? b.src_ip,
    src_port: a.src_port ?? b.src_port,
    dst_ip: a.dst_ip ?? b.dst_ip,
    dst_port: a.dst_port ?? b.dst_port,
    start: a.start,
    end: a.end >= b.end ? a.end : b.end,
    client_version: a.client_version ?? b.client_version,
    hassh: a.hassh ?? b.hassh,
    credentials: [...a.credentials, ...b.credentials],
    commands: [...a.commands, ...b.commands],
    downloads: [...a.downloads, ...b.downloads],
    uploads: [...a.uploads, ...b.uploads],
    ssh_keys_added: union(a.ssh_keys_added, b.ssh_keys_added),
    tcpip_forwards: union(a.tcpip_forwards, b.tcpip_forwards),
    http_requests: [...a.http_requests, ...b.http_requests],
    user_agent: a.user_agent ?? b.user_agent,
    event_count: a.event_count + b.event_count
  }
}

/**
 * Joins two pieces of one attack session (same id) read at different times — a session that
 * straddles two log files analysed in separate runs. Pieces are disjoint event sets, so
 * their lists concatenate in time order; scalar fields come from the earlier piece when it
 * has them.
 */
import type { AttackSession } from "./AttackSession.ts"

const union = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): Array<string> => [...new Set([...a, ...b])]

export const mergeSessionPieces = (x: AttackSession, y: AttackSession): AttackSession => {
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

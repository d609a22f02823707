/**
 * An attack session for unit tests: every field of AttackSession with an empty or null
 * default, overridden by what the test cares about.
 */
import type { AttackSession } from "../../src/domain/AttackSession.ts"

export const attackSession = (fields: Partial<AttackSession> & Pick<AttackSession, "id" | "start">): AttackSession => ({
  sensor: null,
  protocol: "ssh",
  src_ip: "198.51.100.7",
  src_port: 40000,
  dst_ip: null,
  dst_port: 22,
  end: fields.start,
  client_version: null,
  hassh: null,
  credentials: [],
  commands: [],
  downloads: [],
  uploads: [],
  ssh_keys_added: [],
  tcpip_forwards: [],
  http_requests: [],
  user_agent: null,
  event_count: 1,
  ...fields
})

/**
 * MITRE ATT&CK techniques observed in sessions, from what the attacker actually did.
 * Command rules are evaluated once per distinct command (and cached by the caller); session
 * rules look at logins, transfers and forwards. A session's techniques are a bit mask.
 */
import type { AttackSession } from "../domain/AttackSession.ts"

/** Technique ids, in bit order. */
export const TECHNIQUES = [
  "T1110.001", "T1078", "T1059.004", "T1098.004", "T1222.002", "T1105", "T1082", "T1033", "T1057", "T1016",
  "T1053.003", "T1070.004", "T1070.003", "T1098", "T1496", "T1562.004", "T1090", "T1190", "T1046"
] as const

const bit = (technique: (typeof TECHNIQUES)[number]): number => 1 << TECHNIQUES.indexOf(technique)

/** Behaviour visible in one command. */
const COMMAND_RULES: ReadonlyArray<readonly [number, RegExp]> = [
  [bit("T1059.004"), /\S/],
  [bit("T1098.004"), /authorized_keys/],
  [bit("T1222.002"), /\bchattr\b|\bchmod\b/],
  [bit("T1105"), /\b(wget|curl|tftp|ftpget)\b/],
  [bit("T1082"), /\buname\b|\/proc\/cpuinfo|\blscpu\b|\bnproc\b|\bfree\b|\bdf\b|\/etc\/os-release/],
  [bit("T1033"), /\bwhoami\b|\bid\b|(^|[;&|]\s*)w(\s|$)/],
  [bit("T1057"), /\bps\b|\btop\b/],
  [bit("T1016"), /\bifconfig\b|\bip (a|addr|route)\b|\/ip cloud/],
  [bit("T1053.003"), /\bcrontab\b|\/etc\/cron/],
  [bit("T1070.004"), /\brm -rf\b|\bshred\b/],
  [bit("T1070.003"), /history -c|\.bash_history|HISTFILE/],
  [bit("T1098"), /\bchpasswd\b|\bpasswd\b|\buseradd\b|\busermod\b/],
  [bit("T1496"), /miner|xmrig|stratum\+tcp|\bcpuminer\b/i],
  [bit("T1562.004"), /\biptables\b.*-F|\bufw disable\b|hosts\.deny/]
]

/** Techniques one command shows. */
export const commandTechniqueMask = (command: string): number => {
  let mask = 0
  for (const [b, re] of COMMAND_RULES) if (re.test(command)) mask |= b
  return mask
}

/** Techniques shown by the session as a whole (not by any single command). */
export const sessionTechniqueMask = (s: AttackSession): number => {
  let mask = 0
  let failed = 0
  let succeeded = false
  for (const c of s.credentials) {
    if (c.success) succeeded = true
    else failed++
  }
  if (failed >= 2) mask |= bit("T1110.001")
  if (succeeded && s.commands.length > 0) mask |= bit("T1078")
  if (s.ssh_keys_added.length > 0) mask |= bit("T1098.004")
  if (s.downloads.length > 0 || s.uploads.length > 0) mask |= bit("T1105")
  if (s.tcpip_forwards.length > 0) mask |= bit("T1090")
  if (s.protocol === "http" && s.http_requests.length > 0) mask |= bit("T1190")
  if (s.protocol === "tcp" || s.protocol === "udp") mask |= bit("T1046")
  return mask
}

/** The technique ids of a mask, sorted. */
export const techniquesOf = (mask: number): Array<string> =>
  TECHNIQUES.filter((_, i) => (mask & (1 << i)) !== 0).slice().sort()

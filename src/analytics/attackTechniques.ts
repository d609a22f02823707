/**
 * MITRE ATT&CK techniques observed in sessions, from what the attacker actually did.
 * Each rule names the technique and the behaviour that shows it.
 */
import type { AttackSession } from "../domain/AttackSession.ts"

interface Rule {
  readonly technique: string
  readonly matches: (s: AttackSession, commands: string) => boolean
}

const has = (re: RegExp) => (_: AttackSession, commands: string): boolean => re.test(commands)

const RULES: ReadonlyArray<Rule> = [
  // Brute force: several failed logins in one session.
  { technique: "T1110.001", matches: (s) => s.credentials.filter((c) => !c.success).length >= 2 },
  { technique: "T1078", matches: (s) => s.credentials.some((c) => c.success) && s.commands.length > 0 },
  { technique: "T1059.004", matches: (s) => s.commands.length > 0 },
  { technique: "T1098.004", matches: (s, c) => s.ssh_keys_added.length > 0 || /authorized_keys/.test(c) },
  { technique: "T1222.002", matches: has(/\bchattr\b|\bchmod\b/) },
  { technique: "T1105", matches: (s, c) => s.downloads.length > 0 || s.uploads.length > 0 || /\b(wget|curl|tftp|ftpget)\b/.test(c) },
  { technique: "T1082", matches: has(/\buname\b|\/proc\/cpuinfo|\blscpu\b|\bnproc\b|\bfree\b|\bdf\b|\/etc\/os-release/) },
  { technique: "T1033", matches: has(/\bwhoami\b|\bid\b|(^|[;&|]\s*)w(\s|$)/) },
  { technique: "T1057", matches: has(/\bps\b|\btop\b/) },
  { technique: "T1016", matches: has(/\bifconfig\b|\bip (a|addr|route)\b|\/ip cloud/) },
  { technique: "T1053.003", matches: has(/\bcrontab\b|\/etc\/cron/) },
  { technique: "T1070.004", matches: has(/\brm -rf\b|\bshred\b/) },
  { technique: "T1070.003", matches: has(/history -c|\.bash_history|HISTFILE/) },
  { technique: "T1098", matches: has(/\bchpasswd\b|\bpasswd\b|\buseradd\b|\busermod\b/) },
  { technique: "T1496", matches: has(/miner|xmrig|stratum\+tcp|\bcpuminer\b/i) },
  { technique: "T1562.004", matches: has(/\biptables\b.*-F|\bufw disable\b|hosts\.deny/) },
  { technique: "T1090", matches: (s) => s.tcpip_forwards.length > 0 },
  { technique: "T1190", matches: (s) => s.protocol === "http" && s.http_requests.length > 0 },
  { technique: "T1046", matches: (s) => s.protocol === "tcp" || s.protocol === "udp" }
]

/** Techniques seen in any of the sessions, sorted by id. */
export const attackTechniques = (sessions: ReadonlyArray<AttackSession>): Array<string> => {
  const found = new Set<string>()
  for (const s of sessions) {
    const commands = s.commands.join("\n")
    for (const rule of RULES) if (!found.has(rule.technique) && rule.matches(s, commands)) found.add(rule.technique)
  }
  return [...found].sort()
}

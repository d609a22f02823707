/**
 * MITRE ATT&CK techniques observed in sessions, from what the attacker actually did, with
 * the rule that showed each one. The rules are data (attackRules.json: the ATT&CK version,
 * the technique names, and each rule with its technique and why it maps there); this file
 * compiles the command rules and implements the session rules named there.
 *
 * Command rules are tried once per distinct command line (the caller caches the answer);
 * session rules look at logins, transfers, forwards and the sensor's protocol. A session's
 * rules are a bit mask (one bit per rule, command rules first), so a campaign can say which
 * rules fired for how many of its sessions, and its techniques follow from its rules.
 */
import type { AttackSession } from "../domain/AttackSession.ts"
import rules from "./attackRules.json" with { type: "json" }

/** The ATT&CK release the technique names come from. */
export const ATTACK_VERSION: string = rules.attack_version

/** Technique id → its ATT&CK name. */
export const TECHNIQUE_NAMES: Readonly<Record<string, string>> = rules.techniques

/** Every technique id a rule can show, sorted. */
export const TECHNIQUES: ReadonlyArray<string> = Object.keys(TECHNIQUE_NAMES).sort()

export interface TechniqueRule {
  readonly id: string
  readonly technique: string
  readonly why: string
}

interface CommandRule extends TechniqueRule {
  readonly pattern: RegExp
}

const COMMAND_RULES: ReadonlyArray<CommandRule> = rules.command_rules.map((r) => ({
  id: r.id,
  technique: r.technique,
  why: r.why,
  pattern: new RegExp(r.pattern, (r as { flags?: string }).flags ?? "")
}))

/** Every rule, command rules first: a rule's index is its bit in a rule mask. */
export const RULES: ReadonlyArray<TechniqueRule> = [
  ...COMMAND_RULES.map(({ pattern: _, ...rule }) => rule),
  ...rules.session_rules
]

// A mask is a 32-bit integer: one more rule needs a wider mask, not a silent overflow.
if (RULES.length > 31) throw new Error(`attackRules.json has ${RULES.length} rules; rule masks hold 31.`)
for (const rule of RULES) {
  if (TECHNIQUE_NAMES[rule.technique] === undefined) throw new Error(`attackRules.json: rule ${rule.id} names ${rule.technique}, which has no name in "techniques".`)
}

const ruleBit = (id: string): number => {
  const index = RULES.findIndex((r) => r.id === id)
  if (index < 0) throw new Error(`attackRules.json has no rule ${id}.`)
  return 1 << index
}

/** The rules one command line shows, as a mask. */
export const commandRuleMask = (command: string): number => {
  let mask = 0
  for (let i = 0; i < COMMAND_RULES.length; i++) if (COMMAND_RULES[i]!.pattern.test(command)) mask |= 1 << i
  return mask
}

const SESSION = {
  passwordGuessing: ruleBit("session.password-guessing"),
  validAccount: ruleBit("session.valid-account"),
  shell: ruleBit("session.shell"),
  sshKeyAdded: ruleBit("session.ssh-key-added"),
  fileTransfer: ruleBit("session.file-transfer"),
  tcpipForward: ruleBit("session.tcpip-forward"),
  httpExploit: ruleBit("session.http-exploit"),
  portProbe: ruleBit("session.port-probe")
}
// Every session rule of the data is implemented above (and nothing else).
if (Object.keys(SESSION).length !== rules.session_rules.length) throw new Error("attackRules.json and attackTechniques.ts disagree on the session rules.")

/** The rules shown by the session as a whole (not by any single command), as a mask. */
export const sessionRuleMask = (s: AttackSession): number => {
  let mask = 0
  let failed = 0
  let succeeded = false
  for (const c of s.credentials) {
    if (c.success) succeeded = true
    else failed++
  }
  if (failed >= 2) mask |= SESSION.passwordGuessing
  if (succeeded && s.commands.length > 0) mask |= SESSION.validAccount
  if (s.commands.length > 0) mask |= SESSION.shell
  if (s.ssh_keys_added.length > 0) mask |= SESSION.sshKeyAdded
  if (s.downloads.length > 0 || s.uploads.length > 0) mask |= SESSION.fileTransfer
  if (s.tcpip_forwards.length > 0) mask |= SESSION.tcpipForward
  if (s.protocol === "http" && s.http_requests.length > 0) mask |= SESSION.httpExploit
  if (s.protocol === "tcp" || s.protocol === "udp") mask |= SESSION.portProbe
  return mask
}

/** The rules of a mask. */
export const rulesOf = (mask: number): Array<TechniqueRule> => RULES.filter((_, i) => (mask & (1 << i)) !== 0)

/** The technique ids of a rule mask, sorted. */
export const techniquesOf = (mask: number): Array<string> => [...new Set(rulesOf(mask).map((r) => r.technique))].sort()

/** What one command line shows: each technique with the rules that showed it. */
export const commandTechniques = (command: string): Array<{ readonly technique: string; readonly rule: string }> =>
  rulesOf(commandRuleMask(command)).map((r) => ({ technique: r.technique, rule: r.id }))

/**
 * A group's techniques with counts: for each technique, how many of the group's sessions
 * show it and by which rules (each rule with its own count). `masks` are the sessions'
 * rule masks.
 */
export const techniqueCounts = (masks: Iterable<number>): Array<CampaignTechnique> => {
  // Sessions repeat a few rule masks: tally each distinct mask once, then expand it (a Set
  // per session was most of the report's garbage on a million sessions).
  const perMask = new Map<number, number>()
  for (const mask of masks) if (mask !== 0) perMask.set(mask, (perMask.get(mask) ?? 0) + 1)
  const perRule = new Array<number>(RULES.length).fill(0)
  const perTechnique = new Map<string, number>()
  for (const [mask, sessions] of perMask) {
    const seen = new Set<string>()
    for (let i = 0; i < RULES.length; i++) {
      if ((mask & (1 << i)) === 0) continue
      perRule[i]! += sessions
      seen.add(RULES[i]!.technique)
    }
    for (const t of seen) perTechnique.set(t, (perTechnique.get(t) ?? 0) + sessions)
  }
  return [...perTechnique.keys()].sort().map((technique) => ({
    id: technique,
    name: TECHNIQUE_NAMES[technique]!,
    sessions: perTechnique.get(technique)!,
    rules: RULES.flatMap((r, i) => (r.technique === technique && perRule[i]! > 0 ? [{ rule: r.id, sessions: perRule[i]! }] : []))
  }))
}

export interface CampaignTechnique {
  readonly id: string
  readonly name: string
  readonly sessions: number
  readonly rules: ReadonlyArray<{ readonly rule: string; readonly sessions: number }>
}

export interface CommandTechniques {
  readonly command: string
  /** Sessions that ran this command line at least once. */
  readonly sessions: number
  readonly techniques: ReadonlyArray<{ readonly technique: string; readonly rule: string }>
}

/** Each distinct command line of the sessions, with its session count and its techniques; most used first. */
export const commandsWithTechniques = (sessions: ReadonlyArray<{ readonly commands: ReadonlyArray<string> }>): Array<CommandTechniques> => {
  const counts = new Map<string, number>()
  for (const s of sessions) for (const c of new Set(s.commands)) counts.set(c, (counts.get(c) ?? 0) + 1)
  return [...counts]
    .map(([command, n]) => ({ command, sessions: n, techniques: commandTechniques(command) }))
    .sort((a, b) => b.sessions - a.sessions || (a.command < b.command ? -1 : a.command > b.command ? 1 : 0))
}

/**
 * Command normalisation: removes the per-host randomness attack kits inject (a fresh password
 * piped into chpasswd, random file names, hex and base64 blobs, IPs, ports, numbers) so that
 * two hosts hit by the same kit produce the same text.
 *
 * Real data: one SSH-key campaign had 520 sessions and 518 distinct raw command strings,
 * only because each host got a random password.
 *
 * Random-looking tokens are replaced only when they are rare in the data set: a token that
 * recurs across sessions ("/gweerwe323f", a kit's fixed password) is part of the kit, not
 * per-host noise, and is kept. `RandomTokenCounts` measures that in bounded memory.
 */

const FIXED_RULES: ReadonlyArray<readonly [RegExp, string]> = [
  // Passwords set through chpasswd / passwd: `echo "root:Xy12..."|chpasswd`, `echo -e "p\np"|passwd`.
  [/echo\s+(-[en]+\s+)?(["'])[^"']*\2\s*\|\s*(chpasswd|passwd)/g, "echo <secret>|$3"],
  [/echo\s+(-[en]+\s+)?[^\s|"']+\s*\|\s*(chpasswd|passwd)/g, "echo <secret>|$2"],
  // SSH public keys are artefacts of their own; here they only need to compare equal.
  [/\b(ssh-rsa|ssh-dss|ssh-ed25519|ecdsa-sha2-nistp\d+)\s+AAAA[0-9A-Za-z+/]+=*(\s+[^\s"'>]+)?/g, "$1 <key>"],
  [/\b(?:\d{1,3}\.){3}\d{1,3}\b/g, "<ip>"],
  [/\b[0-9a-fA-F]{16,}\b/g, "<hex>"],
  [/[A-Za-z0-9+/]{40,}={0,2}/g, "<b64>"]
]

/**
 * Tokens that may be per-host random: six or more characters mixing at least two of lower
 * case, upper case and digits (ZN5qL4gOwW, dIDYJUbMqdg4), or four or more capitals
 * (Mirai-style busybox tags like ZIZYB).
 */
const CANDIDATE = /\b(?=[A-Za-z0-9]*[0-9])(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{6,}\b|\b(?=[A-Za-z]*[a-z])(?=[A-Za-z]*[A-Z])[A-Za-z]{8,}\b|\b[A-Z]{4,}\b/g

const NUMBER = /\b\d+\b/g
const SPACE = /\s+/g

/** FNV-1a 32-bit of a string. */
export const fnv1a = (s: string, seed = 0x811c9dc5): number => {
  let h = seed >>> 0
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/**
 * Approximate number of sessions each random-looking token appears in, in a fixed table of
 * saturating counters (collisions can only make a token look more common, which keeps it —
 * the safe direction).
 */
export class RandomTokenCounts {
  private readonly counts: Uint8Array
  private readonly mask: number

  constructor(bits = 22) {
    this.counts = new Uint8Array(1 << bits)
    this.mask = (1 << bits) - 1
  }

  /** The counter slots of one command's candidate tokens (cache them per distinct command). */
  slotsOf(command: string): Int32Array {
    const slots: Array<number> = []
    for (const m of prepare(command).matchAll(CANDIDATE)) slots.push(fnv1a(m[0]) & this.mask)
    return Int32Array.from(slots)
  }

  /** Counts each slot of one session once (a token repeated inside a session counts once). */
  addSession(slotLists: ReadonlyArray<Int32Array>): void {
    if (slotLists.length === 1 && slotLists[0]!.length <= 1) {
      const only = slotLists[0]!
      if (only.length === 1 && this.counts[only[0]!]! < 255) this.counts[only[0]!]!++
      return
    }
    const seen = new Set<number>()
    for (const slots of slotLists) {
      for (const slot of slots) {
        if (seen.has(slot)) continue
        seen.add(slot)
        if (this.counts[slot]! < 255) this.counts[slot]!++
      }
    }
  }

  sessionsWith(token: string): number {
    return this.counts[fnv1a(token) & this.mask]!
  }
}

const prepare = (command: string): string => {
  let s = command
  for (const [pattern, replacement] of FIXED_RULES) s = s.replace(pattern, replacement)
  return s
}

/**
 * The command with per-host randomness replaced by placeholders, whitespace collapsed.
 * Without counts every random-looking token is replaced; with counts only those seen in at
 * most `maxSessions` sessions.
 */
export const normalizeCommand = (command: string, counts?: RandomTokenCounts, maxSessions = 1): string => {
  let s = prepare(command)
  s = s.replace(CANDIDATE, (token) => (counts === undefined || counts.sessionsWith(token) <= maxSessions ? "<rand>" : token))
  return s.replace(NUMBER, "<n>").replace(SPACE, " ").trim()
}

/**
 * Command normalisation: removes the per-host randomness attack kits inject (a fresh password
 * piped into chpasswd, random file names, hex and base64 blobs, IPs, ports, numbers) so that
 * two hosts hit by the same kit produce the same text.
 *
 * Real data: one SSH-key campaign had 520 sessions and 518 distinct raw command strings,
 * only because each host got a random password.
 */

const RULES: ReadonlyArray<readonly [RegExp, string]> = [
  // Passwords set through chpasswd / passwd: `echo "root:Xy12..."|chpasswd`, `echo -e "p\np"|passwd`.
  [/echo\s+(-e\s+)?(["'])[^"']*\2\s*\|\s*(chpasswd|passwd)/g, "echo <secret>|$3"],
  [/echo\s+(-e\s+)?[^\s|"']+\s*\|\s*(chpasswd|passwd)/g, "echo <secret>|$2"],
  // SSH public keys are artefacts of their own; here they only need to compare equal.
  [/\b(ssh-rsa|ssh-dss|ssh-ed25519|ecdsa-sha2-nistp\d+)\s+AAAA[0-9A-Za-z+/]+=*(\s+[^\s"'>]+)?/g, "$1 <key>"],
  [/\b(?:\d{1,3}\.){3}\d{1,3}\b/g, "<ip>"],
  [/\b[0-9a-fA-F]{16,}\b/g, "<hex>"],
  [/[A-Za-z0-9+/]{40,}={0,2}/g, "<b64>"],
  // Tokens mixing at least two of lower case, upper case and digits, six or more long:
  // random file names (ZN5qL4gOwW), random passwords, session tags.
  [/\b(?=[A-Za-z0-9]*[0-9])(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{6,}\b|\b(?=[A-Za-z]*[a-z])(?=[A-Za-z]*[A-Z][a-z]*[A-Z])[A-Za-z]{8,}\b/g, "<rand>"],
  [/\b\d+\b/g, "<n>"],
  [/\s+/g, " "]
]

/** The command with per-host randomness replaced by placeholders, whitespace collapsed. */
export const normalizeCommand = (command: string): string => {
  let s = command
  for (const [pattern, replacement] of RULES) s = s.replace(pattern, replacement)
  return s.trim()
}

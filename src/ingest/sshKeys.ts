/**
 * SSH public keys planted by attackers. A key is identified by its type and base64 body; the
 * trailing comment ("mdrfckr", "user@host") is dropped because operators vary it freely.
 */

const KEY = /\b(ssh-rsa|ssh-dss|ssh-ed25519|ecdsa-sha2-nistp(?:256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com)\s+(AAAA[0-9A-Za-z+/]{20,}={0,3})/g

/**
 * The keys a command writes into an authorized_keys file, in order of appearance. Only
 * commands that mention authorized_keys (or `.ssh`) count: a key merely echoed elsewhere
 * is not a persistence artefact.
 */
export const sshKeysAddedBy = (command: string): Array<string> => {
  if (!command.includes("authorized_keys") && !command.includes(".ssh")) return []
  const keys: Array<string> = []
  for (const m of command.matchAll(KEY)) keys.push(`${m[1]} ${m[2]}`)
  return keys
}

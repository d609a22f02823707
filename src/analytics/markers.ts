/**
 * Kit markers: strings a kit writes to recognise its own work, which stay fixed across
 * every host it hits. Busybox applet tags (`/bin/busybox ECCHI`), hex-escaped echo markers
 * (`echo -e '\x47\x72\x6f\x70'` prints "Grop") and hidden marker files (`> /tmp/.nippon`).
 * Whether a marker links sessions is decided on the data: it must recur (random per-host
 * tags like Mirai's are seen once and link nothing).
 */

const BUSYBOX_TAG = /\/bin\/busybox\s+([A-Z][A-Z0-9]{3,})\b/g
const HEX_ECHO = /echo\s+-[a-z]*e[a-z]*\s+["']?((?:\\\\?x[0-9a-fA-F]{2}){3,})/g
const MARKER_FILE = /(?:>|\btouch\s+)\s*\S*\/(\.[A-Za-z0-9_-]{3,})\b/g

/** Hidden files every Linux box has; writing them marks nothing. */
const COMMON_DOTFILES = new Set([
  ".ssh", ".bashrc", ".profile", ".bash_history", ".bash_logout", ".cache", ".config", ".local",
  ".viminfo", ".wget-hsts", ".lesshst", ".selected_editor", ".sudo_as_admin_successful", ".history"
])

const decodeHex = (escaped: string): string =>
  escaped.replace(/\\\\?x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))

/** The marker strings of one command, as "busybox:TAG", "echo:<decoded>", "file:.name". */
export const markersIn = (command: string): Array<string> => {
  const out: Array<string> = []
  for (const m of command.matchAll(BUSYBOX_TAG)) out.push(`busybox:${m[1]}`)
  for (const m of command.matchAll(HEX_ECHO)) {
    const decoded = decodeHex(m[1]!)
    // "ELF" (\x45\x4c\x46) is the ELF magic every dropper checks for: not a kit marker.
    if (decoded !== "ELF") out.push(`echo:${decoded.replace(/[^\x20-\x7e]/g, "?")}`)
  }
  for (const m of command.matchAll(MARKER_FILE)) if (!COMMON_DOTFILES.has(m[1]!)) out.push(`file:${m[1]}`)
  return out
}

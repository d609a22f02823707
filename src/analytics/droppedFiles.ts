/**
 * Files a kit drops, names and runs: the base names of what a session downloads (URL path,
 * `-O`/`-o` target), writes by redirection, creates, chmods, or executes by path. A kit keeps
 * its file names across hosts (`sora.x86`, `.nippon`, `dota3.tar.gz`), so a distinctive name
 * is an artefact. Names every host has, generic loader names that unrelated kits reuse, and
 * per-host random names are not: random ones never recur, the others are listed below.
 */

/** Architecture suffixes: `sora.arm7` and `sora.x86` are one kit's one file. */
const ARCH = /\.(x86_64|x86|x64|i[3-6]86|amd64|aarch64|arm64|armv?[4-8]l?|mipsel|mips64|mips|mpsl|m68k|ppc64|ppc|powerpc|sh4|spc|sparc|arc)$/i

const SYSTEM_NAMES = new Set(`
  null zero random urandom tty console stdin stdout stderr shm pts self exe
  passwd shadow group hosts hosts.deny hosts.allow resolv.conf hostname rc.local crontab crontabs
  sshd_config ssh_config authorized_keys authorized_keys2 known_hosts id_rsa id_rsa.pub sudoers profile
  environment motd issue fstab inittab sysctl.conf ld.so.preload cpuinfo meminfo version mounts
  .ssh .bashrc .bash_history .bash_profile .bash_logout .profile .cache .config .local .viminfo .history
  .wget-hsts .lesshst .ash_history root home tmp var run mnt dev proc sys etc usr lib opt media srv boot
  bin sbin local busybox echo bash sh ash dash ls cat wget curl tftp ftpget chmod chown chattr lockr cp mv
  rm mkdir touch perl python python2 python3 nohup sudo kill pkill killall ps uname grep awk sed head tail
  dd sshd ssh scp nc netcat ncat socat telnet iptables service systemctl cron init systemd
  utmp wtmp btmp lastlog messages secure syslog auth.log kern.log maillog cron.log dmesg
`.split(/\s+/).filter((t) => t.length > 0))

/** Names unrelated kits share: they would join strangers. */
const GENERIC_NAMES = new Set(`
  bins.sh bin.sh bins bot bot.sh a.sh b.sh c.sh x.sh 1.sh 2.sh 3.sh sh.sh i.sh t.sh ok.sh go.sh
  update.sh install.sh setup.sh run.sh start.sh test test.sh tmp.sh temp file script.sh shell main
  index.html index.php robots.txt favicon.ico miner xmrig config.json payload linux update server
  client daemon agent kernel java php nginx httpd mysql redis docker backup data log logs output out
`.split(/\s+/).filter((t) => t.length > 0))

const URL_PATH = /\b(?:https?|ftp|tftp):\/\/[^\s/"']+(\/[^\s"';|&)]*)/gi
const REDIRECT = /(?:^|[^0-9&<>])>{1,2}\s*([^\s;&|<>'"`()]+)/g
const OUTPUT_FLAG = /\s-(?:O|o|-output-document|-output)\s+([^\s;&|'"]+)/g
const RUN_BY_PATH = /(?:^|[;&|]\s*|\b(?:nohup|sudo|exec|then|do)\s+)(\.\/[^\s;&|'"]+|\/(?:tmp|var\/tmp|dev\/shm|var\/run|root|mnt|home)\/[^\s;&|'"]+)/g
const FILE_VERBS = /\b(?:chmod\s+[0-7+a-z]+|touch|sh|bash|perl|python3?)\s+([^\s;&|'"$-][^\s;&|'"]*)/g

const baseName = (path: string): string => {
  const clean = path.replace(/[?#].*$/, "").replace(/\/+$/, "")
  return clean.slice(clean.lastIndexOf("/") + 1)
}

/** Per-host random: mixed case with digits, or long hex, or digits only. */
const looksRandom = (core: string): boolean =>
  /^\d+$/.test(core) || /^[0-9a-f]{12,}$/i.test(core) ||
  (core.length >= 8 && /[A-Z]/.test(core) && /[a-z]/.test(core) && (/\d/.test(core) || (core.match(/[A-Z]/g)?.length ?? 0) >= 3))

/** The artefact value of a file name, or undefined when the name says nothing about a kit. */
export const distinctiveFileName = (raw: string): string | undefined => {
  const name = baseName(raw.replace(/^["'`]+|["'`]+$/g, ""))
  const folded = name.replace(ARCH, ".<arch>")
  const lower = folded.toLowerCase()
  if (SYSTEM_NAMES.has(lower) || GENERIC_NAMES.has(lower) || GENERIC_NAMES.has(lower.replace(/\.<arch>$/, ""))) return undefined
  const core = folded.replace(/^\./, "").replace(/\.<arch>$/, "").replace(/\.[a-z0-9]{1,4}$/i, "")
  if (core.length < 3 || folded.length < 4 || !/[A-Za-z]/.test(core)) return undefined
  if (/[^A-Za-z0-9._+<>-]/.test(folded) || looksRandom(core)) return undefined
  return folded
}

/** Distinctive names of the files one command drops, writes or runs. */
export const droppedFilesIn = (command: string): Array<string> => {
  const text = command.replace(/&gt;/g, ">").replace(/&amp;/g, "&")
  const out = new Set<string>()
  const consider = (candidate: string | undefined): void => {
    if (candidate === undefined) return
    const name = distinctiveFileName(candidate)
    if (name !== undefined) out.add(name)
  }
  for (const m of text.matchAll(URL_PATH)) consider(m[1])
  for (const m of text.matchAll(REDIRECT)) consider(m[1])
  for (const m of text.matchAll(OUTPUT_FLAG)) consider(m[1])
  for (const m of text.matchAll(RUN_BY_PATH)) consider(m[1])
  for (const m of text.matchAll(FILE_VERBS)) consider(m[1])
  return [...out]
}

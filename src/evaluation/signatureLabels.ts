/**
 * Artefact-signature labels for real corpora, where no ground truth ships with the data.
 *
 * INDEPENDENT of the engine: nothing here imports src/analytics or src/workflow, and the
 * engine's derived fields are not used (`ssh_keys_added` is filled by engine code at ingest,
 * so planted keys are extracted again below from the raw commands). Only the parsed session
 * fields are read: commands, downloads, uploads, credentials, src_ip.
 *
 * Signatures (the rules are documented in docs/evaluation.md, "Signature labels"):
 *
 * 1. ssh_key — the type and base64 body of an SSH public key (comment ignored) that appears in
 *    a command, in a session whose commands mention `authorized_keys`.
 * 2. payload_sha256 — the sha256 of a downloaded or uploaded file (cowrie also records files
 *    written by redirection this way), except hashes of trivial content: the empty file
 *    (e3b0c442…b855), a lone "\n" and a lone "\r\n".
 * 3. marker_file — the base name of a file the session creates, downloads or runs (redirect
 *    target, wget/curl/tftp/ftpget output or URL base name, the URL base name of a recorded
 *    download, `chmod`/`touch`/`mkdir` target,
 *    `cp`/`mv` destination, `tar -f` archive, `sh|bash|perl|python FILE`, a command run by
 *    path such as `./x` or `/tmp/x` outside the system bin directories) when it is distinctive:
 *    at least 4 characters with a letter; not a standard system, dot-file or tool name; not a
 *    generic loader or architecture name (bins.sh, x86_64, …); not random-looking (upper and
 *    lower case and digits together in 8+ characters, 12+ hex digits, or digits only).
 *    An architecture extension is folded (`sora.x86` and `sora.arm7` are both `sora.<arch>`).
 * 4. busybox_tag — `busybox WORD` with an upper-case tag word of 3+ characters (Mirai-family
 *    kits check their shell with it), and `echo -e '\x..\x..'` marker strings whose decoded
 *    text is 4+ printable characters and is not the ELF magic.
 * 5. rare_credential — a user/password pair that is (a) not popular by the fixed lists
 *    (popularCredentials.ts: listed pairs, listed passwords, empty user, password shorter
 *    than 5 characters, password derived from the user name), (b) not tried under 5 or more
 *    distinct user names anywhere in the corpus (a dictionary password), and (c) tried from
 *    at least 2 and at most max(3, ⌈1% of all source IPs that tried any login⌉) source IPs.
 *    A label is therefore never made from popular credentials.
 *
 * A value carried by only one session is no signature (it joins nothing; per-host random
 * names and one-off payloads end here), so every label family has two or more sessions.
 *
 * Sessions sharing any signature are joined (union-find). A session's family is its
 * component id; sessions with no signature are unlabelled (`-`). Its variant is the component
 * of the same join made without rare credentials (the "payload" level: key, payload, marker,
 * tag); sessions of a family that carry only rare credentials form the family's `/cred`
 * variant. `coordinated` is 1 when the family has sessions from two or more source IPs.
 */
import { createHash } from "node:crypto"
import type { AttackSession } from "../domain/AttackSession.ts"
import { DisjointSets } from "./disjointSets.ts"
import type { SessionLabel } from "./labels.ts"
import { credentialKey, isPopularCredential } from "./popularCredentials.ts"

export const SIGNATURE_KINDS = ["ssh_key", "payload_sha256", "marker_file", "busybox_tag", "rare_credential"] as const
export type SignatureKind = (typeof SIGNATURE_KINDS)[number]

export interface Signature {
  readonly kind: SignatureKind
  readonly value: string
}

/** The session fields the labeller reads. */
export type LabelledSessionInput = Pick<AttackSession, "id" | "src_ip" | "commands" | "downloads" | "uploads" | "credentials">

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex")

/** Hashes of content that any `echo > file` or `> file` produces: never a payload signature. */
export const TRIVIAL_SHA256: ReadonlySet<string> = new Set(["", "\n", "\r\n"].map(sha256))

// ---------------------------------------------------------------------------------------
// 1. SSH keys

const KEY_PATTERN =
  /(ssh-rsa|ssh-dss|ssh-ed25519|ecdsa-sha2-nistp(?:256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com)\s+(AAAA[A-Za-z0-9+/]{36,}={0,3})/g

/** Keys (type and body, no comment) in one command. */
export const sshKeysIn = (command: string): Array<string> => {
  const out: Array<string> = []
  for (const m of command.matchAll(KEY_PATTERN)) out.push(`${m[1]} ${m[2]}`)
  return out
}

/** Keys planted by a session: keys in its commands, when its commands mention authorized_keys. */
export const plantedKeys = (commands: ReadonlyArray<string>): Array<string> => {
  if (!commands.some((c) => c.includes("authorized_keys"))) return []
  return [...new Set(commands.flatMap(sshKeysIn))]
}

// ---------------------------------------------------------------------------------------
// 3. Marker files

const ARCH = new Set([
  "x86", "x86_64", "x64", "x32", "i386", "i486", "i586", "i686", "amd64", "arm", "arm4", "arm5", "arm6", "arm7",
  "armv4", "armv4l", "armv5", "armv5l", "armv6", "armv6l", "armv7", "armv7l", "armv8", "aarch64", "arm64", "mips",
  "mipsel", "mpsl", "mips64", "m68k", "m68", "ppc", "ppc64", "ppc440", "powerpc", "sh4", "spc", "sparc", "arc",
  "dbg", "x86_32", "386", "686", "64", "32"
])

/** Standard system files, dot-files, directories and tools: present on every host, no marker. */
const STANDARD = new Set(`
  null zero random urandom tty console stdin stdout stderr shm pts
  passwd shadow group gshadow hosts hosts.deny hosts.allow resolv.conf hostname rc.local crontab crontabs
  sshd_config ssh_config authorized_keys authorized_keys2 known_hosts id_rsa id_rsa.pub sudoers profile
  environment motd issue fstab inittab sysctl.conf ld.so.preload cpuinfo meminfo version mounts self exe
  .ssh .bashrc .bash_history .bash_profile .bash_logout .profile .cache .config .local .viminfo .history
  .wget-hsts .lesshst .selected_editor .sudo_as_admin_successful .gnupg .npm .ash_history
  root home tmp var run mnt dev proc sys etc usr lib opt media srv boot bin sbin local
  busybox echo bash sh ash dash zsh ls cat wget curl tftp ftpget chmod chown chattr lockr cp mv rm mkdir
  touch perl python python2 python3 nohup sudo kill pkill killall ps uname grep awk sed head tail dd
  sshd ssh scp nc netcat ncat socat telnet iptables service systemctl crontab.bak
  cron anacron init systemd kworker ksoftirqd
  utmp wtmp btmp lastlog messages secure xferlog syslog auth.log kern.log maillog mail.log cron.log
  dmesg daemon.log debug audit.log boot.log yum.log dpkg.log history .history
`.split(/\s+/).filter((t) => t.length > 0))

/** Loader and payload names every Mirai/Gafgyt fork and many unrelated kits reuse. */
const GENERIC = new Set(`
  bins.sh bin.sh bins bot bot.sh a.sh b.sh c.sh x.sh 1.sh 2.sh 3.sh sh.sh i.sh t.sh ok.sh go.sh
  tftp1.sh tftp2.sh ftp1.sh ftp2.sh wget.sh curl.sh update.sh install.sh setup.sh run.sh start.sh
  test test.sh tmp.sh temp temp.sh file file.sh script.sh script.py shell shell.sh main main.sh
  index.html index.php robots.txt favicon.ico mirai miner miner.sh xmrig xmrig.json config.json
  sshd.sh payload payload.sh bot.x86 .x86 .arm .mips
  linux windows update server client daemon agent kernel java php nginx apache httpd mysql redis
  docker backup data log logs output out download downloads file.tar file.tgz
`.split(/\s+/).filter((t) => t.length > 0))

/** Words that run the next word as the command (or shell keywords before it). */
const PREFIX_WORDS = new Set(["sudo", "nohup", "exec", "busybox", "/bin/busybox", "timeout", "env", "then", "do", "else", "time", "!", "{", "("])

const SHELL_WORD = /^(?:\$SHELL|\$\{SHELL\}|(?:\/\S*\/)?(?:sh|bash|ash|dash|zsh))$/

const SYSTEM_BIN = /^\/(?:usr\/(?:local\/)?)?s?bin\//

const HTML_ENTITIES: ReadonlyArray<readonly [RegExp, string]> = [[/&gt;/g, ">"], [/&lt;/g, "<"], [/&amp;/g, "&"], [/&quot;/g, "\""]]

const stripQuotes = (t: string): string => t.replace(/^[\s"'`(]+|[\s"'`)]+$/g, "")

const baseName = (path: string): string => {
  const clean = path.replace(/[?#].*$/, "").replace(/\/+$/, "")
  const i = clean.lastIndexOf("/")
  return i < 0 ? clean : clean.slice(i + 1)
}

const URL_PATTERN = /^(?:https?|ftp|tftp):\/\/[^/]+(\/.*)?$/i

/** Looks generated per host: never the same on two hosts, so no marker. */
const looksRandom = (name: string): boolean => {
  const core = name.replace(/^\./, "").replace(/\.[a-z0-9]{1,4}$/i, "")
  if (/^\d+$/.test(core)) return true
  if (/^[0-9a-f]{12,}$/i.test(core)) return true
  if (core.length < 8) return false
  const upper = core.replace(/[^A-Z]/g, "").length
  const lower = core.replace(/[^a-z]/g, "").length
  const digits = core.replace(/[^0-9]/g, "").length
  // Upper and lower case with digits, or mixed case with 3+ capitals (ZN5qL4gOwW, OuRiWxbOBi),
  // or capitals with 3+ digits (O11U3E7K2V).
  return (upper > 0 && lower > 0 && digits > 0) || (upper >= 3 && lower > 0) || (upper >= 3 && digits >= 3)
}

/** The marker value of a candidate base name, or undefined when it is not distinctive. */
export const distinctiveMarker = (rawName: string): string | undefined => {
  let name = rawName.trim()
  if (name.length === 0 || name === "." || name === "..") return undefined
  const dot = name.lastIndexOf(".")
  if (dot > 0 && ARCH.has(name.slice(dot + 1).toLowerCase())) name = `${name.slice(0, dot)}.<arch>`
  const lower = name.toLowerCase()
  if (ARCH.has(lower) || STANDARD.has(lower) || GENERIC.has(lower)) return undefined
  if (name.endsWith(".<arch>")) {
    const stem = lower.slice(0, -".<arch>".length)
    if (stem.length < 3 || GENERIC.has(stem) || STANDARD.has(stem)) return undefined
    return name
  }
  if (name.length < 4 || !/[A-Za-z]/.test(name)) return undefined
  if (/[^A-Za-z0-9._+-]/.test(name)) return undefined
  if (looksRandom(name)) return undefined
  return name
}

/** Candidate file names a simple command creates, downloads or runs. */
const candidatesOf = (simple: string): Array<string> => {
  const out: Array<string> = []
  for (const m of simple.matchAll(/(?:^|[^0-9&<>])>{1,2}\s*([^\s;&|<>'"`()]+)/g)) out.push(m[1]!)
  const tokens = simple.split(/\s+/).map(stripQuotes).filter((t) => t.length > 0 && !t.startsWith(">") && !t.startsWith("<"))
  // Prefix words (`nohup`, `sudo`, `then`, …) and `sh -c "curl …"`: the command is what follows.
  for (let changed = true; changed && tokens.length > 0;) {
    changed = false
    while (tokens.length > 0 && PREFIX_WORDS.has(tokens[0]!)) {
      tokens.shift()
      if (tokens[0] !== undefined && /^\d+$/.test(tokens[0])) tokens.shift()
      changed = true
    }
    const dashC = tokens.indexOf("-c")
    if (dashC > 0 && SHELL_WORD.test(tokens[0]!)) {
      tokens.splice(0, dashC + 1)
      changed = true
    }
  }
  const verb = tokens[0]
  if (verb === undefined) return out
  const args = tokens.slice(1)
  const operands = args.filter((a) => !a.startsWith("-"))
  const verbName = baseName(verb)
  switch (verbName) {
    case "wget":
    case "curl":
    case "tftp":
    case "ftpget":
    case "ftp": {
      for (let i = 0; i < args.length; i++) {
        const a = args[i]!
        const url = URL_PATTERN.exec(a)
        if (url !== null) {
          if (url[1] !== undefined) out.push(baseName(url[1]))
        } else if (/^(?:-O|-o|--output-document|--output|-r|-l)$/.test(a) && args[i + 1] !== undefined && args[i + 1] !== "-") {
          out.push(args[i + 1]!)
          i++
        } else if (/^-[Oo]\S+/.test(a) && verbName !== "tftp") out.push(a.slice(2))
        else if (a === "get" && args[i + 1] !== undefined) {
          out.push(args[i + 1]!)
          i++
        } else if (verbName === "wget" && !a.startsWith("-") && /\/[^/]+$/.test(a) && !/^\d+\.\d+\.\d+\.\d+$/.test(a)) {
          // `wget 198.51.100.7/x86_64`: a URL without scheme.
          out.push(baseName(a))
        }
      }
      if (verbName === "ftpget") out.push(...operands.slice(-2))
      break
    }
    case "sh":
    case "bash":
    case "ash":
    case "perl":
    case "python":
    case "python2":
    case "python3":
    case "source":
    case ".":
      if (operands[0] !== undefined && !operands[0].startsWith("$")) out.push(operands[0])
      break
    case "chmod":
      // The first operand is the mode.
      out.push(...operands.slice(1))
      break
    case "touch":
    case "mkdir":
      out.push(...operands)
      break
    case "cp":
    case "mv":
      if (operands.length >= 2) out.push(operands[operands.length - 1]!)
      break
    case "tar":
      for (const a of args) if (/\.(?:tar|tgz|tar\.gz|tar\.bz2|tbz|txz|tar\.xz)$/i.test(a)) out.push(a)
      break
    default:
      // A program run by path: ./x, /tmp/x (not the system bin directories).
      if ((verb.startsWith("./") || verb.startsWith("/")) && !SYSTEM_BIN.test(verb) && verb !== "/") out.push(verb)
  }
  return out
}

/** Distinctive marker file names in one command. */
export const markerFilesIn = (command: string): Array<string> => {
  let text = command
  for (const [pattern, replacement] of HTML_ENTITIES) text = text.replace(pattern, replacement)
  const out = new Set<string>()
  for (const simple of text.split(/\|\||&&|[;&|\n\r]+/)) {
    for (const candidate of candidatesOf(simple.trim())) {
      if (candidate.startsWith("$") || candidate.includes("$(")) continue
      const marker = distinctiveMarker(baseName(stripQuotes(candidate)))
      if (marker !== undefined) out.add(marker)
    }
  }
  return [...out]
}

// ---------------------------------------------------------------------------------------
// 4. Busybox tags and echo -e markers

const BUSYBOX_TAG = /\bbusybox\s+([A-Z0-9_]*[A-Z][A-Z0-9_]*)(?=$|[\s;|&'"`)])/g
const ECHO_HEX = /\becho\s+(?:-[a-zA-Z]+\s+)*["']?((?:\\{1,2}x[0-9a-fA-F]{2})+)/g

/** `busybox TAG` words and decoded `echo -e '\x..'` strings in one command. */
export const busyboxTagsIn = (command: string): Array<string> => {
  const out = new Set<string>()
  for (const m of command.matchAll(BUSYBOX_TAG)) if (m[1]!.length >= 3) out.add(`busybox ${m[1]}`)
  for (const m of command.matchAll(ECHO_HEX)) {
    const decoded = m[1]!.split(/\\{1,2}x/).filter((h) => h.length > 0).map((h) => String.fromCharCode(parseInt(h, 16))).join("")
    if (decoded.length >= 4 && /^[\x20-\x7e]+$/.test(decoded) && /[A-Za-z0-9]/.test(decoded) && !decoded.includes("ELF")) {
      out.add(`echo ${decoded}`)
    }
  }
  return [...out]
}

// ---------------------------------------------------------------------------------------
// 5. Rare credentials

export interface RareCredentialRule {
  /** Fewest distinct source IPs that must have tried the pair. */
  readonly minIps: number
  /** Most source IPs, as a share of all IPs that tried any login … */
  readonly maxIpShare: number
  /** … but never fewer than this many. */
  readonly maxIpsFloor: number
  /** A password tried under this many distinct user names is a dictionary password. */
  readonly maxUsernamesPerPassword: number
}

export const DEFAULT_RARE_CREDENTIAL_RULE: RareCredentialRule = {
  minIps: 2,
  maxIpShare: 0.01,
  maxIpsFloor: 3,
  maxUsernamesPerPassword: 5
}

export interface RareCredentials {
  /** credentialKey(user, password) of every rare pair. */
  readonly rare: ReadonlySet<string>
  readonly loginIps: number
  readonly maxIps: number
  /** Distinct pairs tried, and how many were excluded by each rule. */
  readonly pairs: number
  readonly popularByList: number
  readonly dictionaryPassword: number
  readonly tooFewIps: number
  readonly tooManyIps: number
}

/** The rare credential pairs of a corpus (rule 5 above). */
export const rareCredentials = (
  sessions: ReadonlyArray<LabelledSessionInput>,
  rule: RareCredentialRule = DEFAULT_RARE_CREDENTIAL_RULE
): RareCredentials => {
  const ipsOf = new Map<string, Set<string>>()
  const usersOf = new Map<string, Set<string>>()
  const loginIps = new Set<string>()
  const pairs = new Map<string, readonly [string, string]>()
  for (const s of sessions) {
    if (s.credentials.length === 0) continue
    if (s.src_ip !== null) loginIps.add(s.src_ip)
    for (const c of s.credentials) {
      const key = credentialKey(c.username, c.password)
      pairs.set(key, [c.username, c.password])
      let ips = ipsOf.get(key)
      if (ips === undefined) ipsOf.set(key, (ips = new Set()))
      if (s.src_ip !== null) ips.add(s.src_ip)
      let users = usersOf.get(c.password)
      if (users === undefined) usersOf.set(c.password, (users = new Set()))
      users.add(c.username)
    }
  }
  const maxIps = Math.max(rule.maxIpsFloor, Math.ceil(rule.maxIpShare * loginIps.size))
  const rare = new Set<string>()
  let popularByList = 0
  let dictionaryPassword = 0
  let tooFewIps = 0
  let tooManyIps = 0
  for (const [key, [user, password]] of pairs) {
    if (isPopularCredential(user, password)) popularByList++
    else if (usersOf.get(password)!.size >= rule.maxUsernamesPerPassword) dictionaryPassword++
    else {
      const ips = ipsOf.get(key)!.size
      if (ips < rule.minIps) tooFewIps++
      else if (ips > maxIps) tooManyIps++
      else rare.add(key)
    }
  }
  return { rare, loginIps: loginIps.size, maxIps, pairs: pairs.size, popularByList, dictionaryPassword, tooFewIps, tooManyIps }
}

// ---------------------------------------------------------------------------------------
// Signatures of a session, and the labels

/** Every signature of one session, de-duplicated, in kind order. */
export const sessionSignatures = (session: LabelledSessionInput, rare: ReadonlySet<string>): Array<Signature> => {
  const seen = new Set<string>()
  const out: Array<Signature> = []
  const add = (kind: SignatureKind, value: string): void => {
    const key = `${kind}\u0000${value}`
    if (seen.has(key)) return
    seen.add(key)
    out.push({ kind, value })
  }
  for (const key of plantedKeys(session.commands)) add("ssh_key", key)
  for (const t of [...session.downloads, ...session.uploads]) {
    const h = t.sha256?.toLowerCase()
    if (h !== undefined && /^[0-9a-f]{64}$/.test(h) && !TRIVIAL_SHA256.has(h)) add("payload_sha256", h)
  }
  for (const command of session.commands) for (const m of markerFilesIn(command)) add("marker_file", m)
  for (const t of [...session.downloads, ...session.uploads]) {
    // A download's URL base name is a dropper file name too (the command may be missing).
    const url = t.url === null ? null : URL_PATTERN.exec(t.url)
    if (url !== null && url[1] !== undefined) {
      const m = distinctiveMarker(baseName(url[1]))
      if (m !== undefined) add("marker_file", m)
    }
  }
  for (const command of session.commands) for (const tag of busyboxTagsIn(command)) add("busybox_tag", tag)
  for (const c of session.credentials) {
    const key = credentialKey(c.username, c.password)
    if (rare.has(key)) add("rare_credential", key)
  }
  out.sort((a, b) => SIGNATURE_KINDS.indexOf(a.kind) - SIGNATURE_KINDS.indexOf(b.kind))
  return out
}

export interface KindStats {
  /** Sessions carrying at least one signature of the kind (a value shared with another session). */
  readonly sessions: number
  /** Distinct values of the kind found, shared or not. */
  readonly values: number
  /** Values carried by two or more sessions: the signatures. */
  readonly sharedValues: number
}

export interface SignatureStats {
  readonly sessions: number
  readonly labelledSessions: number
  /** Components (label families), singletons included. */
  readonly families: number
  /** Components with two or more sessions, and the sessions in them. */
  readonly familiesWithPairs: number
  readonly sessionsInPairedFamilies: number
  readonly largestFamily: number
  readonly variants: number
  readonly byKind: Readonly<Record<SignatureKind, KindStats>>
  readonly credentials: Omit<RareCredentials, "rare">
}

export interface SignatureLabelling {
  /** Session id → label, in input order (unlabelled sessions have family null). */
  readonly labels: ReadonlyMap<string, SessionLabel>
  /** Session id → its signatures, values carried by 2+ sessions (only sessions with at least one). */
  readonly signatures: ReadonlyMap<string, ReadonlyArray<Signature>>
  readonly rareCredentials: RareCredentials
  readonly stats: SignatureStats
}

const componentId = (prefix: string, ids: ReadonlyArray<string>): string =>
  `${prefix}${sha256([...ids].sort().join("\n")).slice(0, 12)}`

const joinOn = (
  n: number,
  signatures: ReadonlyArray<ReadonlyArray<Signature>>,
  include: (s: Signature) => boolean
): DisjointSets => {
  const sets = new DisjointSets(n)
  const first = new Map<string, number>()
  for (let i = 0; i < n; i++) {
    for (const sig of signatures[i]!) {
      if (!include(sig)) continue
      const key = `${sig.kind}\u0000${sig.value}`
      const f = first.get(key)
      if (f === undefined) first.set(key, i)
      else sets.union(f, i)
    }
  }
  return sets
}

/** Labels every session of a corpus by the artefact signatures it shares with others. */
export const signatureLabels = (
  sessions: ReadonlyArray<LabelledSessionInput>,
  rule: RareCredentialRule = DEFAULT_RARE_CREDENTIAL_RULE
): SignatureLabelling => {
  const rare = rareCredentials(sessions, rule)
  const n = sessions.length
  const raw = sessions.map((s) => sessionSignatures(s, rare.rare))
  // A value carried by one session joins nothing and says nothing (per-host random names,
  // one-off payloads): only values carried by two or more sessions are signatures.
  const carriers = new Map<string, number>()
  for (const list of raw) for (const s of list) carriers.set(`${s.kind}\u0000${s.value}`, (carriers.get(`${s.kind}\u0000${s.value}`) ?? 0) + 1)
  const sigs = raw.map((list) => list.filter((s) => carriers.get(`${s.kind}\u0000${s.value}`)! >= 2))
  const all = joinOn(n, sigs, () => true)
  const payload = joinOn(n, sigs, (s) => s.kind !== "rare_credential")

  const familyOf = new Array<string | null>(n).fill(null)
  const variantOf = new Array<string | null>(n).fill(null)
  const coordinatedOf = new Array<boolean | null>(n).fill(null)
  let families = 0
  let familiesWithPairs = 0
  let sessionsInPaired = 0
  let largest = 0
  for (const members of all.sets()) {
    if (sigs[members[0]!]!.length === 0) continue
    const fam = componentId("sig-", members.map((i) => sessions[i]!.id))
    families++
    if (members.length >= 2) {
      familiesWithPairs++
      sessionsInPaired += members.length
    }
    largest = Math.max(largest, members.length)
    const ips = new Set(members.flatMap((i) => (sessions[i]!.src_ip === null ? [] : [sessions[i]!.src_ip!])))
    for (const i of members) {
      familyOf[i] = fam
      coordinatedOf[i] = ips.size >= 2
    }
  }
  const variants = new Set<string>()
  for (const members of payload.sets()) {
    const first = members[0]!
    if (familyOf[first] === null) continue
    const payloadSigned = sigs[first]!.some((s) => s.kind !== "rare_credential")
    const variant = payloadSigned
      ? `${familyOf[first]}/${componentId("", members.map((i) => sessions[i]!.id)).slice(0, 8)}`
      : `${familyOf[first]}/cred`
    // Sessions with only credentials are singletons of the payload join: all go to /cred.
    for (const i of members) variantOf[i] = variant
    variants.add(variant)
  }

  const labels = new Map<string, SessionLabel>()
  const signatures = new Map<string, ReadonlyArray<Signature>>()
  for (let i = 0; i < n; i++) {
    const id = sessions[i]!.id
    labels.set(id, { family: familyOf[i]!, variant: variantOf[i]!, wave: null, coordinated: coordinatedOf[i]! })
    if (sigs[i]!.length > 0) signatures.set(id, sigs[i]!)
  }

  const byKind = {} as Record<SignatureKind, KindStats>
  for (const kind of SIGNATURE_KINDS) {
    let values = 0
    let shared = 0
    for (const [key, count] of carriers) {
      if (!key.startsWith(`${kind}\u0000`)) continue
      values++
      if (count >= 2) shared++
    }
    byKind[kind] = { sessions: sigs.filter((list) => list.some((s) => s.kind === kind)).length, values, sharedValues: shared }
  }
  const { rare: _rare, ...credentialStats } = rare
  return {
    labels,
    signatures,
    rareCredentials: rare,
    stats: {
      sessions: n,
      labelledSessions: familyOf.filter((f) => f !== null).length,
      families,
      familiesWithPairs,
      sessionsInPairedFamilies: sessionsInPaired,
      largestFamily: largest,
      variants: variants.size,
      byKind,
      credentials: credentialStats
    }
  }
}

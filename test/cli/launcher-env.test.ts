/**
 * The launchers and the environment they start Bun with. `bin/dshield-coord` (the package's
 * bin, a shell script) replaces itself with Bun; where it cannot find Bun it hands over to the
 * Node launcher `bin/dshield-coord.js`. Both give one-shot commands MIMALLOC_PURGE_DELAY=-1
 * (they keep the memory they free) and leave long-running ones and a value the user set alone
 * (bin/runtimeEnv.js, and the same list in the shell script).
 */
import { afterAll, describe, expect, test } from "bun:test"
import { spawn, spawnSync } from "node:child_process"
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, relative, resolve } from "node:path"
import { LONG_RUNNING, runtimeEnv } from "../../bin/runtimeEnv.js"
import { ENGINE_VERSION } from "../../src/version.ts"

const REPO = resolve(import.meta.dir, "../..")
const SHELL_LAUNCHER = resolve(REPO, "bin/dshield-coord")
const scratch = mkdtempSync(join(tmpdir(), "dshield-launcher-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

/** The environment of the Bun process a launcher command starts, read while it waits on stdin. */
const bunEnvironment = async (argv: ReadonlyArray<string>, env: NodeJS.ProcessEnv): Promise<Array<string>> => {
  const launched = spawn(argv[0]!, argv.slice(1), { cwd: REPO, env, stdio: ["pipe", "ignore", "ignore"] })
  let environ = ""
  for (let attempt = 0; attempt < 100 && environ === ""; attempt++) {
    await Bun.sleep(100)
    // The shell launcher has become Bun itself (exec); the Node launcher has Bun as its child.
    // Either is Bun once its command line names the CLI (a child just forked is still Node).
    const children = readFileSync(`/proc/${launched.pid}/task/${launched.pid}/children`, "utf8").trim()
    for (const pid of [launched.pid, ...(children === "" ? [] : children.split(" "))]) {
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("src/cli/main.ts")) environ = readFileSync(`/proc/${pid}/environ`, "utf8")
    }
  }
  launched.stdin!.end()
  launched.kill("SIGTERM")
  await new Promise((done) => launched.on("exit", done))
  return environ.split("\0")
}

/** The environment without the variable under test. */
const cleanEnv = (): NodeJS.ProcessEnv => {
  const env = { ...process.env }
  delete env.MIMALLOC_PURGE_DELAY
  return env
}

describe("the launcher's environment", () => {
  test("a one-shot command gets MIMALLOC_PURGE_DELAY=-1; the user's value and long-running commands are left as they are", () => {
    for (const command of ["analyze", "assess", "report", "export", "generate", undefined]) {
      expect(runtimeEnv(command, { PATH: "/bin" })).toEqual({ PATH: "/bin", MIMALLOC_PURGE_DELAY: "-1" })
    }
    expect(runtimeEnv("analyze", { MIMALLOC_PURGE_DELAY: "10" }).MIMALLOC_PURGE_DELAY).toBe("10")
    for (const command of ["worker", "serve", "mcp", "ingest", "tail"]) {
      expect(LONG_RUNNING.has(command)).toBe(true)
      expect(runtimeEnv(command, { PATH: "/bin" }).MIMALLOC_PURGE_DELAY).toBeUndefined()
    }
  })

  test("the Bun process the Node launcher starts has it in its environment", async () => {
    expect(await bunEnvironment(["node", resolve(REPO, "bin/dshield-coord.js"), "analyze", "--quiet", "--out", "/dev/null", "-"], cleanEnv())).toContain("MIMALLOC_PURGE_DELAY=-1")
  }, 30_000)

  test("the shell launcher keeps the same list of long-running commands as runtimeEnv.js", () => {
    const script = readFileSync(SHELL_LAUNCHER, "utf8")
    const listed = /case \$\{1-\} in\n\s*([a-z |]+)\)/.exec(script)?.[1]?.split("|").map((c) => c.trim()).sort()
    expect(listed).toEqual([...LONG_RUNNING].sort())
  })

  test("the shell launcher becomes Bun with MIMALLOC_PURGE_DELAY=-1 for a one-shot command, and leaves a long-running one and the user's value alone", async () => {
    expect(await bunEnvironment([SHELL_LAUNCHER, "analyze", "--quiet", "--out", "/dev/null", "-"], cleanEnv())).toContain("MIMALLOC_PURGE_DELAY=-1")
    expect(await bunEnvironment([SHELL_LAUNCHER, "analyze", "--quiet", "--out", "/dev/null", "-"], { ...cleanEnv(), MIMALLOC_PURGE_DELAY: "10" })).toContain("MIMALLOC_PURGE_DELAY=10")
    // `mcp` on stdio waits for its client on standard input.
    const mcp = await bunEnvironment([SHELL_LAUNCHER, "mcp"], cleanEnv())
    expect(mcp.some((v) => v.startsWith("PATH="))).toBe(true)
    expect(mcp.some((v) => v.startsWith("MIMALLOC_PURGE_DELAY="))).toBe(false)
  }, 60_000)

  test("through a relative link, as npm links it into node_modules/.bin: the command runs, its exit code and error come back", () => {
    const bin = join(scratch, "node_modules", ".bin")
    mkdirSync(bin, { recursive: true })
    const link = join(bin, "dshield-coord")
    symlinkSync(relative(bin, SHELL_LAUNCHER), link)
    const version = spawnSync(link, ["version"], { encoding: "utf8" })
    expect(version.status).toBe(0)
    expect(version.stdout.trim()).toBe(ENGINE_VERSION)
    const missing = spawnSync(link, ["analyze", join(scratch, "no-such-log.json")], { encoding: "utf8" })
    expect(missing.status).toBe(2)
    expect(missing.stderr.trim().split("\n")).toHaveLength(1)
    expect(missing.stderr).toContain("does not exist")
  })

  test("where it finds no Bun beside the package, it hands over to the Node launcher, which says what to do", () => {
    const lone = join(scratch, "lone", "bin")
    mkdirSync(lone, { recursive: true })
    for (const file of ["dshield-coord", "dshield-coord.js", "runtimeEnv.js"]) copyFileSync(resolve(REPO, "bin", file), join(lone, file))
    const run = spawnSync("sh", [join(lone, "dshield-coord"), "version"], { encoding: "utf8" })
    expect(run.status).toBe(2)
    expect(run.stderr.trim()).toBe("dshield-coord: the Bun runtime is missing; run `npm install` in the project first.")
  })
})

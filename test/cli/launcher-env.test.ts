/**
 * The launcher's environment for Bun (bin/runtimeEnv.js): one-shot commands keep the memory
 * they free (MIMALLOC_PURGE_DELAY=-1), long-running ones and a value the user set are left
 * alone; and the launcher really hands it to the process it starts.
 */
import { describe, expect, test } from "bun:test"
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { resolve } from "node:path"
import { LONG_RUNNING, runtimeEnv } from "../../bin/runtimeEnv.js"

const REPO = resolve(import.meta.dir, "../..")

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

  test("the Bun process the launcher starts has it in its environment", async () => {
    // A command that waits on its standard input long enough to read the child's environment.
    const env = { ...process.env }
    delete env.MIMALLOC_PURGE_DELAY
    const launcher = spawn("node", [resolve(REPO, "bin/dshield-coord.js"), "analyze", "--quiet", "--out", "/dev/null", "-"], { cwd: REPO, env, stdio: ["pipe", "ignore", "ignore"] })
    let childEnv = ""
    for (let attempt = 0; attempt < 100 && childEnv === ""; attempt++) {
      await Bun.sleep(100)
      const children = readFileSync(`/proc/${launcher.pid}/task/${launcher.pid}/children`, "utf8").trim()
      if (children !== "") childEnv = readFileSync(`/proc/${children.split(" ")[0]}/environ`, "utf8")
    }
    launcher.stdin!.end()
    await new Promise((done) => launcher.on("exit", done))
    expect(childEnv.split("\0")).toContain("MIMALLOC_PURGE_DELAY=-1")
  }, 30_000)
})

#!/usr/bin/env node
// The Node launcher: what bin/dshield-coord (the package's bin) hands over to when it finds
// no Bun beside the package, and what `node bin/dshield-coord.js` runs. The engine is
// TypeScript run by Bun, which npm installs with the project. Under Bun this file imports the
// CLI directly; under Node it resolves Bun as Node resolves packages, starts it with the same
// arguments and hands back its exit code and signals.
import { spawn } from "node:child_process"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { runtimeEnv } from "./runtimeEnv.js"

const here = dirname(fileURLToPath(import.meta.url))
const entry = join(here, "..", "src", "cli", "main.ts")

if (process.versions.bun !== undefined) {
  const { runCli } = await import(entry)
  process.exitCode = await runCli(process.argv.slice(2))
} else {
  const require = createRequire(import.meta.url)
  let bun
  try {
    bun = join(dirname(require.resolve("bun/package.json")), "bin", process.platform === "win32" ? "bun.exe" : "bun.exe")
  } catch {
    process.stderr.write("dshield-coord: the Bun runtime is missing; run `npm install` in the project first.\n")
    process.exit(2)
  }
  const child = spawn(bun, [entry, ...process.argv.slice(2)], { stdio: "inherit", env: runtimeEnv(process.argv[2], process.env) })
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(signal, () => child.kill(signal))
  }
  child.on("error", (error) => {
    process.stderr.write(`dshield-coord: could not start Bun (${error.message}); run \`npm install\` again.\n`)
    process.exit(2)
  })
  child.on("exit", (code, signal) => {
    if (signal !== null) process.kill(process.pid, signal)
    else process.exit(code ?? 1)
  })
}

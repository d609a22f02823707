/**
 * The evaluation must not agree with the engine by construction:
 *  (a) the labeller (eval/labeller/**) imports nothing from src/, directly or through another
 *      module it imports;
 *  (b) no signature value of eval/labels/signatures.json appears verbatim in the engine's
 *      sources (a credential also in its `user:password` spelling) — the engine must never special-case a labelled
 *      artefact. src/synthetic/ is exempt: it generates synthetic test traffic that imitates
 *      published kits on purpose, and the engine does not import it to decide anything;
 *  (c) every signature names a public report: a non-empty https URL, a title and a date.
 */
import { describe, expect, test } from "bun:test"
import { readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"

const ROOT = resolve(import.meta.dir, "../..")
const LABELLER = join(ROOT, "eval/labeller")
const SRC = join(ROOT, "src")
const SIGNATURES = join(ROOT, "eval/labels/signatures.json")
const EXEMPT = [join(SRC, "synthetic")]

const walk = (dir: string): Array<string> =>
  readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? walk(p) : [p]
  })

/** Every module specifier in a TS/JS file: static imports, re-exports, dynamic imports, require. */
const specifiers = (text: string): Array<string> => {
  const out: Array<string> = []
  const patterns = [
    /\bimport\s+(?:type\s+)?[^'"]*?\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*["']([^"']+)["']/g,
    /\bexport\s+(?:type\s+)?[^'"]*?\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
    /\brequire\s*\(\s*["']([^"']+)["']\s*\)/g
  ]
  for (const re of patterns) for (const m of text.matchAll(re)) out.push(m[1]!)
  return out
}

interface Signature {
  readonly id: string
  readonly kind: string
  readonly value: string
  readonly username?: string
  readonly password?: string
  readonly source?: { readonly url?: string; readonly title?: string; readonly date?: string }
}
const signatures = (JSON.parse(readFileSync(SIGNATURES, "utf8")) as { signatures: Array<Signature> }).signatures

describe("evaluation independence", () => {
  test("the specifier scanner sees every import form", () => {
    const text = [
      `import { a } from "../src/x.ts"`,
      `import type { B } from '../../src/y.ts'`,
      `import "./side-effect.ts"`,
      `export { c } from "../src/z.ts"`,
      `const m = await import("../src/dyn.ts")`,
      `const r = require("../src/req.js")`,
      `import {\n  d,\n  e\n} from "node:fs"`
    ].join("\n")
    expect(specifiers(text).sort()).toEqual(["../../src/y.ts", "../src/dyn.ts", "../src/req.js", "../src/x.ts", "../src/z.ts", "./side-effect.ts", "node:fs"].sort())
  })

  test("(a) the labeller imports nothing from src/, transitively", () => {
    const files = walk(LABELLER).filter((f) => /\.(ts|js|mjs|cjs)$/.test(f))
    expect(files.length).toBeGreaterThan(0)
    const seen = new Set<string>()
    const offending: Array<string> = []
    const visit = (file: string): void => {
      if (seen.has(file)) return
      seen.add(file)
      for (const spec of specifiers(readFileSync(file, "utf8"))) {
        if (!spec.startsWith(".") && !spec.startsWith("/")) {
          // Bare specifiers: only the runtime's own modules; no package can reach the engine.
          if (!/^(node:|bun:|bun$)/.test(spec)) offending.push(`${relative(ROOT, file)} imports package ${spec}`)
          continue
        }
        const target = resolve(dirname(file), spec)
        if (target === SRC || target.startsWith(`${SRC}/`)) {
          offending.push(`${relative(ROOT, file)} imports ${spec}`)
          continue
        }
        visit(target)
      }
    }
    for (const f of files) visit(f)
    expect(offending).toEqual([])
  })

  test("(b) no signature value appears verbatim in the engine's sources", () => {
    const needles = signatures.flatMap((s) => [s.value, ...(s.kind === "credential" ? [`${s.username}:${s.password}`] : [])])
    expect(needles.length).toBeGreaterThanOrEqual(signatures.length)
    const files = walk(SRC).filter((f) => !EXEMPT.some((e) => f === e || f.startsWith(`${e}/`)))
    expect(files.length).toBeGreaterThan(10)
    const found: Array<string> = []
    for (const f of files) {
      const text = readFileSync(f, "utf8")
      for (const n of needles) if (text.includes(n)) found.push(`${relative(ROOT, f)} contains ${JSON.stringify(n)}`)
    }
    expect(found).toEqual([])
  })

  test("(c) every signature cites a public report with an https URL, a title and a date", () => {
    expect(signatures.length).toBeGreaterThanOrEqual(10)
    for (const s of signatures) {
      expect(typeof s.source?.url, s.id).toBe("string")
      expect(s.source!.url!, s.id).toMatch(/^https:\/\/[^\s/]+\.[^\s/]+\/\S+$/)
      expect((s.source!.title ?? "").trim().length, s.id).toBeGreaterThan(0)
      expect(s.source!.date ?? "", s.id).toMatch(/^\d{4}-\d{2}-\d{2}$/)
      expect(s.value.length, s.id).toBeGreaterThan(0)
    }
  })
})

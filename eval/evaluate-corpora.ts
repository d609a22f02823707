/**
 * Honest evaluation on the public cowrie corpora in ../shared/corpora: for every corpus, runs
 *   - the labeller (eval/labeller, published signatures in eval/labels/signatures.json),
 *   - the engine as a whole process: `bun src/cli/main.ts analyze FILE --out …`,
 *   - the MinHash-LSH peer:  `bun eval/peers/minhash-lsh.ts FILE --out …`,
 *   - the TF-IDF + DBSCAN peer: `bun eval/peers/tfidf-dbscan.ts FILE --out …`,
 * scores all three the same way (eval/metrics) and writes docs/evaluation.md.
 * Labels, results and a JSON summary go to .dshield-coord/eval/ (gitignored), never into the
 * repository: they are derived from third-party data.
 *
 * Run: npm run eval   [-- --corpora DIR] [--out-dir DIR] [--doc FILE] [--no-doc]
 *                    [--engine-root DIR --engine-label TEXT]
 * --engine-root runs the engine from another checkout (its src/cli/main.ts, with DIR as the
 * working directory), e.g. a `git archive` of a commit while the working tree is mid-change;
 * --engine-label says in the document which engine that was.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { basename, join, relative, resolve } from "node:path"
import { formatConflictsTsv, formatLabelsTsv, labelFile, type Labelling, loadSignatures } from "./labeller/labelCorpus.ts"
import { type Evaluation, evaluatePrediction, RECOVERY, readPrediction } from "./metrics/metrics.ts"

const root = resolve(import.meta.dir, "..")
const args = process.argv.slice(2)
const option = (name: string, fallback: string): string => {
  const i = args.indexOf(name)
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback
}
const corporaDir = resolve(option("--corpora", resolve(root, "../shared/corpora")))
const outDir = resolve(option("--out-dir", resolve(root, ".dshield-coord/eval")))
const docPath = resolve(option("--doc", resolve(root, "docs/evaluation.md")))
const signaturesPath = resolve(root, "eval/labels/signatures.json")
const engineRoot = resolve(option("--engine-root", root))
const engineLabel = option("--engine-label", engineRoot === root ? "this working tree" : engineRoot)

if (!existsSync(corporaDir)) {
  console.error(`The corpora directory ${corporaDir} does not exist; pass --corpora DIR.`)
  process.exit(2)
}
const corpora = readdirSync(corporaDir).filter((f) => f.endsWith(".cowrie.json.gz")).sort().map((f) => join(corporaDir, f))
if (corpora.length === 0) {
  console.error(`No *.cowrie.json.gz corpus in ${corporaDir}; pass --corpora DIR.`)
  process.exit(2)
}
mkdirSync(outDir, { recursive: true })
const signatures = loadSignatures(signaturesPath)

interface SystemSpec {
  readonly name: string
  readonly label: string
  readonly argv: (file: string, out: string) => Array<string>
  readonly cwd: string
}
const SYSTEMS: ReadonlyArray<SystemSpec> = [
  { name: "engine", label: "engine (`dshield-coord analyze`)", argv: (f, o) => ["src/cli/main.ts", "analyze", f, "--out", o], cwd: engineRoot },
  { name: "minhash", label: "MinHash-LSH peer (128 perm, J 0.55)", argv: (f, o) => ["eval/peers/minhash-lsh.ts", f, "--out", o], cwd: root },
  { name: "tfidf", label: "TF-IDF + DBSCAN peer (eps 0.5, min 3)", argv: (f, o) => ["eval/peers/tfidf-dbscan.ts", f, "--out", o], cwd: root }
]

interface SystemRun {
  readonly system: SystemSpec
  readonly ok: boolean
  readonly error?: string
  readonly seconds: number
  readonly evaluation?: Evaluation
  /** Result v1 `run.engine_version`, when the output has one */
  readonly version?: string
}

interface CorpusRun {
  readonly corpus: string
  readonly labelling: Labelling
  readonly runs: ReadonlyArray<SystemRun>
}

const corpusName = (path: string): string => basename(path).replace(/\.cowrie\.json\.gz$/, "")

const runSystem = (system: SystemSpec, file: string, out: string, labelling: Labelling): SystemRun => {
  const t0 = performance.now()
  const p = Bun.spawnSync([process.execPath, ...system.argv(file, out)], { cwd: system.cwd, stdout: "pipe", stderr: "pipe" })
  const seconds = (performance.now() - t0) / 1000
  if (p.exitCode !== 0 || !existsSync(out)) {
    return { system, ok: false, seconds, error: `exit ${p.exitCode}: ${p.stderr.toString().trim().split("\n").slice(-3).join(" / ")}` }
  }
  const json = JSON.parse(readFileSync(out, "utf8")) as { run?: { engine_version?: string } }
  const prediction = readPrediction(json)
  const evaluation = evaluatePrediction(labelling.labels, new Set(labelling.conflicts.keys()), prediction, labelling.stats.sessions)
  const version = json.run?.engine_version
  return { system, ok: true, seconds, evaluation, ...(version === undefined ? {} : { version }) }
}

const started = performance.now()
const results: Array<CorpusRun> = []
for (const file of corpora) {
  const corpus = corpusName(file)
  const labelling = labelFile(file, signatures.signatures)
  writeFileSync(join(outDir, `${corpus}.labels.tsv`), formatLabelsTsv(labelling.labels))
  writeFileSync(join(outDir, `${corpus}.conflicts.tsv`), formatConflictsTsv(labelling.conflicts))
  writeFileSync(join(outDir, `${corpus}.label-stats.json`), `${JSON.stringify(labelling.stats, null, 2)}\n`)
  const runs = SYSTEMS.map((s) => runSystem(s, file, join(outDir, `${corpus}.${s.name}.json`), labelling))
  results.push({ corpus, labelling, runs })
  console.log(
    `${corpus.padEnd(22)} labelled ${String(labelling.stats.labelledSessions).padStart(5)} (conflicts ${labelling.stats.conflictSessions})  ` +
      runs
        .map((r) => `${r.system.name} ${r.ok ? `F1 ${f3(r.evaluation!.familyScores.f1)} ARI ${f3(r.evaluation!.familyScores.ari)}` : "FAILED"} (${r.seconds.toFixed(1)} s)`)
        .join("  ")
  )
}
writeFileSync(
  join(outDir, "summary.json"),
  `${JSON.stringify(
    results.map((r) => ({ corpus: r.corpus, labels: r.labelling.stats, runs: r.runs.map((x) => ({ system: x.system.name, ok: x.ok, error: x.error, seconds: x.seconds, evaluation: x.evaluation })) })),
    null,
    2
  )}\n`
)

function f3(x: number): string {
  return Number.isFinite(x) ? x.toFixed(3) : "n/a"
}
const pct = (x: number): string => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : "n/a")

const renderDoc = (): string => {
  const lines: Array<string> = []
  const push = (...l: Array<string>): void => {
    lines.push(...l)
  }
  const sigs = signatures.signatures
  const families = [...new Set(sigs.map((s) => s.family))]
  push(
    "# Evaluation against published campaign signatures",
    "",
    "Generated by `npm run eval` (`eval/evaluate-corpora.ts`); do not edit by hand. Labels, results",
    "and a JSON summary are written to `.dshield-coord/eval/` (gitignored) and never committed: the",
    "corpora are third-party data (`../shared/corpora/README.md`).",
    "",
    "## Where the labels come from",
    "",
    `Labels are data: \`${relative(root, signaturesPath)}\` holds ${sigs.length} signatures of ${families.length} families, each an exact`,
    "artefact (SSH key, command string, marker file, payload sha256, credential or password) copied",
    "from the public report it cites (URL, title, date). The labeller (`eval/labeller/labelCorpus.ts`)",
    "reads the raw cowrie log itself, groups events by cowrie session and matches the signatures",
    "exactly: a verbatim substring of one raw command input, an equal download/upload sha256, an equal",
    "username and password (or password) of any login attempt. There is no regular expression,",
    "no threshold and no list shared with the engine; `test/unit/eval-independence.test.ts` fails if",
    "the labeller imports anything from `src/`, if a signature value appears verbatim in the engine's",
    "sources, or if a signature lacks an https source. A session matching two families is a",
    "conflict: counted below and left out of every score. Sessions no signature matches are",
    "unlabelled: they are not scored, but a predicted family that mixes them with labelled sessions",
    "is reported (\"merged with unlabelled\").",
    "",
    "| family | signature kinds | variants | sources |",
    "|---|---|---|---|"
  )
  for (const family of families) {
    const fs = sigs.filter((s) => s.family === family)
    const sources = [...new Map(fs.flatMap((s) => [[s.source.url, s.source] as const, ...(s.attribution ? [[s.attribution.url, s.attribution] as const] : [])])).values()]
    push(
      `| ${family} | ${[...new Set(fs.map((s) => s.kind))].join(", ")} | ${[...new Set(fs.map((s) => s.variant))].join(", ")} | ${sources
        .map((s) => `[${s.title.replace(/\|/g, "\\|")}](${s.url}) (${s.date})`)
        .join("; ")} |`
    )
  }
  push(
    "",
    "Known gaps: kits without a public report that documents their exact artefact stay unlabelled",
    "(for instance the kareiva kit that starts with `unset HISTORY HISTFILE HISTSAVE HISTZONE …`:",
    "the string itself is a generic anti-forensics line found in many tools, and no report tying it",
    "to one operator was found). Labels therefore cover a minority of sessions, mostly the",
    "largest campaigns; read the scores with the \"labelled\" counts.",
    "",
    "Attribution choices that move scores: `dota-mdrfckr` holds both the mdrfckr key kit and the",
    "345gs5662d34 / 3245gs5662d34 check logins because NullRoute's Dota investigations attribute",
    "both to the Dota worm (their pages are http-only, so they are cited as `attribution` beside the",
    "https reports that document the exact artefacts). If that attribution is wrong, an engine that",
    "joins the check logins to the key kit is over-credited on radec73; split the family in the",
    "signature file to check. `nproc/nproc` has no such attribution and is its own family, so an",
    "engine that joins it to the key kit is penalised on istec.",
    "",
    "## Metrics",
    "",
    "- **Pairwise F1 / ARI** over labelled sessions at family level (predicted family = the",
    "  `level: \"family\"` campaign; unclustered sessions are singletons) and at variant level",
    "  (truth: family/variant; prediction: the `level: \"variant\"` campaign, else the family).",
    "  Pairwise scores are dominated by the largest family, hence:",
    `- **Per-family recovery**: for each labelled family, the share of its sessions in its main predicted family and that predicted family's purity (labelled sessions of this family / all labelled sessions in it). A family of ≥ ${RECOVERY.minSessions} sessions is *recovered* when share ≥ ${RECOVERY.minShare.toFixed(2)} and purity ≥ ${RECOVERY.minPurity.toFixed(2)}; macro averages are over all labelled families.`,
    "- **Merged with unlabelled**: the share of labelled sessions whose predicted family also holds",
    "  unlabelled sessions, and how many unlabelled sessions ride along in those families.",
    "- **Families (and campaigns of every level) per 1,000 sessions** of the log.",
    "",
    "The peers see the same files and are scored on the same labels: a GreedyBear-style MinHash-LSH",
    "(`eval/peers/minhash-lsh.ts`: per session the set of whitespace tokens of its commands, 128",
    "permutations, LSH bands for Jaccard 0.55, union-find; sessions without commands unclustered)",
    "and TF-IDF + DBSCAN (`eval/peers/tfidf-dbscan.ts`: scikit-learn defaults, cosine, eps 0.5,",
    "min_samples 3). Neither peer looks at credentials, so credential-only families are singletons",
    "for them by construction.",
    ""
  )
  // Summary
  const versions = [...new Set(results.flatMap((r) => r.runs.filter((x) => x.system.name === "engine" && x.version !== undefined).map((x) => x.version!)))]
  push(
    "## Summary",
    "",
    `Engine measured: ${engineLabel}${versions.length > 0 ? ` (engine_version ${versions.join(", ")})` : ""}. The engine's linkage is being changed; re-run \`npm run eval\` after each change.`,
    "",
    "Family-level pairwise F1 / ARI and recovered families (judged = ≥ 10 labelled sessions):",
    ""
  )
  push(`| corpus | labelled / sessions | ${SYSTEMS.map((s) => `${s.name} F1 / ARI / recovered`).join(" | ")} |`, `|---|---:|${SYSTEMS.map(() => "---|").join("")}`)
  for (const r of results) {
    push(
      `| ${r.corpus} | ${r.labelling.stats.labelledSessions} / ${r.labelling.stats.sessions} | ${r.runs
        .map((x) => (x.ok ? `${f3(x.evaluation!.familyScores.f1)} / ${f3(x.evaluation!.familyScores.ari)} / ${x.evaluation!.recoveredFamilies} of ${x.evaluation!.judgedFamilies}` : "failed"))
        .join(" | ")} |`
    )
  }
  push("")
  for (const r of results) {
    const st = r.labelling.stats
    push(
      `## ${r.corpus}`,
      "",
      `${st.sessions} sessions (${st.lines} lines, ${st.invalidLines} not JSON objects); ${st.labelledSessions} labelled in ${Object.keys(st.families).length} families, ${st.conflictSessions} conflicts${
        st.conflictSessions > 0 ? ` (${Object.entries(st.conflicts).map(([k, v]) => `${k}: ${v}`).join(", ")})` : ""
      }.`,
      "",
      "| system | family F1 | family ARI | variant F1 | variant ARI | recovered | macro share | macro purity | merged with unlabelled | unlabelled riding along | families / 1k sessions | campaigns (all levels) / 1k sessions |",
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    for (const x of r.runs) {
      if (!x.ok) {
        push(`| ${x.system.label} | failed: ${x.error?.replace(/\|/g, "\\|")} | | | | | | | | | | |`)
        continue
      }
      const e = x.evaluation!
      push(
        `| ${x.system.label} | ${f3(e.familyScores.f1)} | ${f3(e.familyScores.ari)} | ${f3(e.variantScores.f1)} | ${f3(e.variantScores.ari)} | ${e.recoveredFamilies} of ${e.judgedFamilies} | ${f3(e.macro.share)} | ${f3(e.macro.purity)} | ${pct(e.mergedWithUnlabelledShare)} | ${e.unlabelledRidingAlong} | ${e.familiesPer1000Sessions.toFixed(2)} | ${e.campaignsPer1000Sessions.toFixed(2)} |`
      )
    }
    push("", "Per-family recovery (share / purity; ✓ recovered, ✗ not, – fewer than 10 sessions):", "")
    push(`| family | sessions | ${SYSTEMS.map((s) => s.name).join(" | ")} |`, `|---|---:|${SYSTEMS.map(() => "---|").join("")}`)
    for (const family of Object.keys(st.families)) {
      const cells = r.runs.map((x) => {
        if (!x.ok) return "failed"
        const f = x.evaluation!.recovery.find((q) => q.family === family)!
        return `${f3(f.share)} / ${f3(f.purity)} ${f.judged ? (f.recovered ? "✓" : "✗") : "–"}`
      })
      push(`| ${family} | ${st.families[family]} | ${cells.join(" | ")} |`)
    }
    push("")
  }
  return `${lines.join("\n")}\n`
}

if (!args.includes("--no-doc")) {
  writeFileSync(docPath, renderDoc())
  console.log(`wrote ${relative(root, docPath)}`)
}
console.log(`labels and results in ${outDir}; ${((performance.now() - started) / 1000).toFixed(1)} s in all`)
if (results.some((r) => r.runs.some((x) => !x.ok))) process.exitCode = 1


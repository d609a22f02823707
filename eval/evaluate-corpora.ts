/**
 * Evaluates the engine and the TF-IDF + DBSCAN baseline on every public cowrie corpus in
 * ../shared/corpora against artefact-signature labels, and writes docs/evaluation.md.
 * Labels and engine results go to .dshield-coord/eval/ (gitignored), never into the repository.
 *
 * Run: npx bun eval/evaluate-corpora.ts [--corpora DIR] [--out-dir DIR] [--doc FILE] [--no-doc]
 */
import { existsSync, writeFileSync } from "node:fs"
import { resolve } from "node:path"
import { DEFAULT_CONFIG } from "../src/config/AnalysisConfig.ts"
import { fmt } from "../src/evaluation/evalCommand.ts"
import { type CorpusEvaluation, corpusName, evaluateCorpus, listCorpora, renderEvaluationMarkdown } from "../src/evaluation/corpusEvaluation.ts"

const root = resolve(import.meta.dir, "..")
const args = process.argv.slice(2)
const option = (name: string, fallback: string): string => {
  const i = args.indexOf(name)
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback
}
const corporaDir = resolve(option("--corpora", resolve(root, "../shared/corpora")))
const outDir = resolve(option("--out-dir", resolve(root, ".dshield-coord/eval")))
const docPath = resolve(option("--doc", resolve(root, "docs/evaluation.md")))

if (!existsSync(corporaDir)) {
  console.error(`The corpora directory ${corporaDir} does not exist; pass --corpora DIR.`)
  process.exit(2)
}
const corpora = listCorpora(corporaDir)
if (corpora.length === 0) {
  console.error(`No *.cowrie.json.gz corpus in ${corporaDir}; pass --corpora DIR.`)
  process.exit(2)
}

const started = performance.now()
const evals: Array<CorpusEvaluation> = []
for (const path of corpora) {
  const t0 = performance.now()
  const e = await evaluateCorpus(path, { config: DEFAULT_CONFIG, outDir })
  evals.push(e)
  const en = e.engine
  console.log(
    `${corpusName(path).padEnd(22)} labelled ${String(e.labels.stats.labelledSessions).padStart(5)}  ` +
      (en === null
        ? `engine FAILED: ${e.engineError}`
        : `engine F1 ${fmt(en.partition.family.f1)} ARI ${fmt(en.partition.family.ari)} (${(en.ms / 1000).toFixed(1)} s)`) +
      `  baseline F1 ${fmt(e.baseline.partition.family.f1)} ARI ${fmt(e.baseline.partition.family.ari)} (${(e.baseline.ms / 1000).toFixed(2)} s)` +
      `  total ${((performance.now() - t0) / 1000).toFixed(1)} s`
  )
}
if (!args.includes("--no-doc")) {
  writeFileSync(docPath, renderEvaluationMarkdown(evals, { config: DEFAULT_CONFIG }))
  console.log(`wrote ${docPath}`)
}
console.log(`labels and results in ${outDir}; ${((performance.now() - started) / 1000).toFixed(1)} s in all`)
if (evals.some((e) => e.engine === null)) process.exitCode = 1

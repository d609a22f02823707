/**
 * Writes artefact-signature labels (session_id, family, variant, wave, coordinated) for every
 * public cowrie corpus in ../shared/corpora to `<out-dir>/<corpus>.labels.tsv`, by default the
 * gitignored .dshield-coord/eval/. Never write them into the repository: they are derived
 * from third-party data.
 *
 * Run: npx bun eval/label-corpora.ts [--corpora DIR] [--out-dir DIR]
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { labelCorpus, listCorpora } from "../src/evaluation/corpusEvaluation.ts"

const root = resolve(import.meta.dir, "..")
const args = process.argv.slice(2)
const option = (name: string, fallback: string): string => {
  const i = args.indexOf(name)
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback
}
const corporaDir = resolve(option("--corpora", resolve(root, "../shared/corpora")))
const outDir = resolve(option("--out-dir", resolve(root, ".dshield-coord/eval")))
if (!existsSync(corporaDir)) {
  console.error(`The corpora directory ${corporaDir} does not exist; pass --corpora DIR.`)
  process.exit(2)
}
mkdirSync(outDir, { recursive: true })
for (const path of listCorpora(corporaDir)) {
  const l = await labelCorpus(path)
  const file = join(outDir, `${l.corpus}.labels.tsv`)
  writeFileSync(file, l.tsv)
  const s = l.stats
  console.log(
    `${l.corpus.padEnd(22)} ${String(s.labelledSessions).padStart(5)} of ${String(s.sessions).padStart(5)} sessions labelled, ` +
      `${s.familiesWithPairs} label families (largest ${s.largestFamily}), ${s.variants} variants → ${file}`
  )
}

/**
 * Peer 2, what analysts run today: TF-IDF over each session's command string + DBSCAN with
 * cosine distance (eps 0.5, min_samples 3, scikit-learn's defaults; see tfidfDbscan.ts).
 * Sessions without commands, and DBSCAN noise, stay unclustered (sessions without commands are
 * not even handed to the clustering: they could only be noise).
 *
 * Run: npx bun eval/peers/tfidf-dbscan.ts FILE --out result.json
 */
import { writeFileSync } from "node:fs"
import { campaignsFromKeys, peerArgs, type PeerResult, readCommands } from "./readCommands.ts"
import { DEFAULT_TFIDF_DBSCAN, tfidfDbscan } from "./tfidfDbscan.ts"

const { file, out } = peerArgs("usage: bun eval/peers/tfidf-dbscan.ts FILE --out result.json")
const log = await readCommands(file)
const r = tfidfDbscan(log.sessions, DEFAULT_TFIDF_DBSCAN)
const result: PeerResult = {
  tool: "tfidf-dbscan",
  parameters: { eps: DEFAULT_TFIDF_DBSCAN.eps, min_samples: DEFAULT_TFIDF_DBSCAN.minSamples, metric: "cosine" },
  input: { sessions: log.sessionCount, sessions_with_commands: r.documents },
  campaigns: campaignsFromKeys(r.keys, "tfidf")
}
const text = `${JSON.stringify(result)}\n`
if (out === undefined) process.stdout.write(text)
else writeFileSync(out, text)

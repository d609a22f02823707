const t0 = performance.now()
const m = process.argv[2] === "deep" ? await import("@zxcvbn-ts/language-common/dist/passwords.json.cjs") : await import("@zxcvbn-ts/language-common")
const t1 = performance.now()
const list = process.argv[2] === "deep" ? (m.default as string[]) : (m.dictionary as any)["passwords-common"]
const s = new Set(list.map((p: string) => p.toLowerCase()))
const t2 = performance.now()
console.log(process.argv[2], `import ${(t1 - t0).toFixed(1)} set ${(t2 - t1).toFixed(1)} n ${s.size}`)

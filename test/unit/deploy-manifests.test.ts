/**
 * The deployment files (Dockerfile, .dockerignore, deploy/compose.yaml, deploy/k8s/,
 * deploy/k8s/nats-values.yaml) checked offline, without Docker or a cluster:
 *
 * - every YAML parses; Kubernetes objects validate against the Kubernetes 1.30 OpenAPI
 *   definitions, made strict (no unknown fields), and the ScaledObject against KEDA 2.20.2's
 *   CRD schema; compose.yaml against the Compose specification's JSON schema; the NATS Helm
 *   values only set keys chart 2.14.2 has (test/fixtures/k8s-schemas/README.md: sources);
 * - what no schema knows: roles are the worker's roles, grace periods outlast --grace,
 *   probes hit serve's health endpoints and the workers' metrics listener, the image is the
 *   one the Dockerfile builds, each pool's NATS user exists in deploy/nats/nats-server.conf
 *   and may use the subjects its roles need, the Helm values carry that file's permissions,
 *   KEDA watches the job queue the code names;
 * - with tools that are there: nats-server -t on both server configurations, `kubectl
 *   kustomize` (then the rendered objects are validated too) and `docker compose config -q`;
 *   each skips visibly when its tool is missing.
 */
import { describe, expect, test } from "bun:test"
import Ajv, { type ValidateFunction } from "ajv"
import addFormats from "ajv-formats"
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { parse, parseAllDocuments } from "yaml"
import { CLAIMS_BUCKET, JOBS_CONSUMER, JOBS_STREAM, JOBS_SUBJECT } from "../../actors/transport/JobQueue.ts"
import { AGENT_ROLE_NAMES, WORKER_ROLES } from "../../src/cli/workerRoles.ts"
import { subjectMatches } from "../../src/live/tail.ts"

const REPO = resolve(import.meta.dir, "../..")
const FIXTURES = join(REPO, "test/fixtures/k8s-schemas")
const K8S = join(REPO, "deploy/k8s")
const read = (path: string): string => readFileSync(join(REPO, path), "utf8")
const PACKAGE = JSON.parse(read("package.json")) as { version: string; devDependencies: Record<string, string> }

// --------------------------------------------------------------------------------------------
// Small helpers

type Json = null | boolean | number | string | Array<Json> | { [key: string]: Json }
type Obj = Record<string, unknown>

const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v)
const obj = (v: unknown, what: string): Obj => {
  if (!isObj(v)) throw new Error(`${what} is not a map`)
  return v
}
const arr = (v: unknown): Array<unknown> => (Array.isArray(v) ? v : [])
const str = (v: unknown): string => (typeof v === "string" ? v : String(v))

/** A CLI duration as src/cli/args.ts reads it (90s, 5m, 2h) or a Compose one; in seconds. */
const seconds = (text: string): number => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim())
  if (m === null) throw new Error(`not a duration: ${text}`)
  return Number(m[1]) * ({ ms: 0.001, s: 1, m: 60, h: 3600 } as Record<string, number>)[m[2]!]!
}

/** The value after `--flag` in an argument list. */
const flag = (args: ReadonlyArray<string>, name: string): string | undefined => {
  const i = args.indexOf(name)
  return i < 0 ? undefined : args[i + 1]
}


const hasTool = (command: ReadonlyArray<string>): boolean => {
  try {
    return Bun.spawnSync([...command], { stdout: "ignore", stderr: "ignore", timeout: 20_000 }).exitCode === 0
  } catch {
    return false
  }
}
const NATS_SERVER = ["/usr/sbin/nats-server", "/usr/local/bin/nats-server", "/usr/bin/nats-server"].find((p) => existsSync(p)) ?? Bun.which("nats-server") ?? undefined
const KUBECTL = Bun.which("kubectl") !== null && hasTool(["kubectl", "version", "--client"])
const DOCKER_COMPOSE = Bun.which("docker") !== null && hasTool(["docker", "compose", "version"])
const skipNotice = (what: string, available: boolean): void => {
  if (!available) process.stderr.write(`deploy-manifests: skipping ${what}: the tool is not installed here\n`)
}
skipNotice("nats-server -t", NATS_SERVER !== undefined)
skipNotice("kubectl kustomize", KUBECTL)
skipNotice("docker compose config -q", DOCKER_COMPOSE)

// --------------------------------------------------------------------------------------------
// The NATS server configuration (deploy/nats/nats-server.conf): a reader for the syntax it
// uses — maps with `key: value`, `key = {…}` or `key {…}`, arrays, quoted and bare strings,
// `$VARIABLE` references, `include FILE`, `#` comments — enough to read its users and
// permissions, not a general NATS configuration parser.

interface Ref {
  readonly ref: string
}
type ConfValue = string | boolean | Ref | ConfMap | Array<ConfValue>
interface ConfMap {
  [key: string]: ConfValue
}

const parseNatsConf = (text: string): { readonly root: ConfMap; readonly includes: Array<string> } => {
  let i = 0
  const includes: Array<string> = []
  const skip = (): void => {
    while (i < text.length) {
      const c = text[i]!
      if (c === "#" || (c === "/" && text[i + 1] === "/")) {
        while (i < text.length && text[i] !== "\n") i++
      } else if (/[\s,;]/.test(c)) i++
      else return
    }
  }
  const spaces = (): void => {
    while (text[i] === " " || text[i] === "\t") i++
  }
  const until = (stop: RegExp): string => {
    const start = i
    while (i < text.length && !stop.test(text[i]!)) i++
    return text.slice(start, i).trim()
  }
  const quoted = (): string => {
    const q = text[i++]!
    const start = i
    while (i < text.length && text[i] !== q) i++
    return text.slice(start, i++)
  }
  const value = (): ConfValue => {
    const c = text[i]
    if (c === "{") {
      i++
      return map("}")
    }
    if (c === "[") {
      i++
      const items: Array<ConfValue> = []
      for (;;) {
        skip()
        if (i >= text.length) throw new Error("unclosed array")
        if (text[i] === "]") {
          i++
          return items
        }
        items.push(value())
      }
    }
    if (c === '"' || c === "'") return quoted()
    const token = until(/[\n,;}\]#]/)
    if (token.startsWith("$")) return { ref: token.slice(1) }
    if (token === "true" || token === "false") return token === "true"
    return token
  }
  const map = (close?: string): ConfMap => {
    const out: ConfMap = {}
    for (;;) {
      skip()
      if (i >= text.length) {
        if (close !== undefined) throw new Error(`unclosed map, "${close}" expected`)
        return out
      }
      if (close !== undefined && text[i] === close) {
        i++
        return out
      }
      const key = text[i] === '"' ? quoted() : until(/[\s:={]/)
      if (key === "include") {
        spaces()
        includes.push(until(/[\n;#]/))
        continue
      }
      spaces()
      if (text[i] === ":" || text[i] === "=") i++
      spaces()
      out[key] = value()
    }
  }
  return { root: map(), includes }
}

interface Permissions {
  readonly publish: ReadonlyArray<string>
  readonly subscribe: ReadonlyArray<string>
  readonly allow_responses: boolean
}
interface NatsUser {
  readonly passwordVariable: string
  readonly permissions: Permissions
}

const NATS_CONF = parseNatsConf(read("deploy/nats/nats-server.conf"))

const permissionsOf = (value: ConfValue, where: string): Permissions => {
  const p = obj(value, where) as ConfMap
  const allow = (side: "publish" | "subscribe"): Array<string> => arr((p[side] as ConfMap | undefined)?.allow).map(str)
  return { publish: allow("publish"), subscribe: allow("subscribe"), allow_responses: p.allow_responses === true }
}

/** The users of deploy/nats/nats-server.conf with their permissions, variables resolved. */
const NATS_USERS: ReadonlyMap<string, NatsUser> = (() => {
  const auth = obj(NATS_CONF.root.authorization, "authorization") as ConfMap
  const users = new Map<string, NatsUser>()
  for (const entry of arr(auth.users)) {
    const u = obj(entry, "a user") as ConfMap
    const permissions = u.permissions as Ref
    const password = u.password as Ref
    users.set(str(u.user), {
      passwordVariable: password.ref,
      permissions: permissionsOf(auth[permissions.ref]!, `authorization.${permissions.ref}`)
    })
  }
  return users
})()

const userOfUrl = (url: string): string => {
  const user = new URL(url).username
  if (user === "") throw new Error(`${url} names no user`)
  return decodeURIComponent(user)
}

/** What a process serving these roles (or `serve --nats`) publishes and subscribes to. */
const needs = (roles: ReadonlyArray<string>): { readonly publish: Array<string>; readonly subscribe: Array<string> } => {
  const publish: Array<string> = []
  const subscribe: Array<string> = ["_INBOX.x"]
  for (const role of roles) {
    if (role === "serve") {
      // Its analyses are coord.v1 requests; its deep ones drive the agent actors; inputs go
      // up by claim-check and Results come back from the results bucket.
      publish.push("coord.v1.analyze", "$O.coord-inputs.C.x", "$O.coord-results.M.x", ...AGENT_ROLE_NAMES.map((a) => `coord.actor.${a}.run`))
    } else if (role === "api") {
      subscribe.push("coord.v1.analyze", "coord.v1.result", "coord.v1.status")
      publish.push("$JS.API.STREAM.CREATE.OBJ_coord-inputs", "$O.coord-results.C.x", "$SRV.PING")
    } else if (role === "orchestrator" || role === "postgres") subscribe.push(`coord.actor.${role}.x`)
    else if (role === "jobs") {
      publish.push(`$JS.API.CONSUMER.MSG.NEXT.${JOBS_STREAM}.${JOBS_CONSUMER}`, `$JS.ACK.${JOBS_STREAM}.${JOBS_CONSUMER}.1.1.1.1.1`, `$KV.${CLAIMS_BUCKET}.x`, "coord.dlq.jobs")
      subscribe.push("coord.worker.jobs.status")
    } else subscribe.push(`coord.actor.${role}.x`, "coord.v1.cancel.x")
  }
  return { publish, subscribe }
}

const expectUserServes = (user: string, roles: ReadonlyArray<string>, where: string): void => {
  const u = NATS_USERS.get(user)
  expect(u, `${where}: NATS user "${user}" is not in deploy/nats/nats-server.conf`).toBeDefined()
  const { publish, subscribe } = needs(roles)
  for (const s of publish) expect(u!.permissions.publish.some((p) => subjectMatches(p, s)), `${where}: user ${user} may not publish ${s}`).toBe(true)
  for (const s of subscribe) expect(u!.permissions.subscribe.some((p) => subjectMatches(p, s)), `${where}: user ${user} may not subscribe to ${s}`).toBe(true)
}

// --------------------------------------------------------------------------------------------
// Schemas

const ajv = new Ajv({ strict: false, allErrors: true })
addFormats(ajv)
ajv.addFormat("int-or-string", true)

/** Every object schema with properties and no rule for others gets additionalProperties false. */
const strict = (node: Json): Json => {
  if (Array.isArray(node)) return node.map(strict)
  if (node === null || typeof node !== "object") return node
  const out: { [key: string]: Json } = {}
  for (const [k, v] of Object.entries(node)) {
    out[k] = k === "properties" && isObj(v) ? Object.fromEntries(Object.entries(v).map(([name, s]) => [name, strict(s as Json)])) : strict(v as Json)
  }
  if (isObj(node.properties) && node.additionalProperties === undefined && node["x-kubernetes-preserve-unknown-fields"] !== true) out.additionalProperties = false
  return out
}

interface Gvk {
  readonly group: string
  readonly version: string
  readonly kind: string
}
const K8S_DEFINITIONS = (JSON.parse(readFileSync(join(FIXTURES, "kubernetes-v1.30-definitions.json"), "utf8")) as { definitions: Record<string, Json> }).definitions
const K8S_VALIDATORS = (() => {
  const definitions: Record<string, Json> = {}
  for (const [name, d] of Object.entries(K8S_DEFINITIONS)) definitions[name] = strict(d)
  // What YAML gives for these: an IntOrString is either; a Quantity may be a bare number (cpu: 1).
  definitions["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] = { anyOf: [{ type: "string" }, { type: "integer" }] }
  definitions["io.k8s.apimachinery.pkg.api.resource.Quantity"] = { anyOf: [{ type: "string" }, { type: "number" }] }
  ajv.addSchema({ $id: "k8s", definitions })
  const byKind = new Map<string, ValidateFunction>()
  for (const [name, d] of Object.entries(K8S_DEFINITIONS)) {
    const gvks = (isObj(d) ? d["x-kubernetes-group-version-kind"] : undefined) as ReadonlyArray<Gvk> | undefined
    for (const g of gvks ?? []) byKind.set(`${g.group === "" ? g.version : `${g.group}/${g.version}`} ${g.kind}`, ajv.compile({ $ref: `k8s#/definitions/${name}` }))
  }
  // KEDA's ScaledObject: the CRD's schema, strict the same way, with Kubernetes' ObjectMeta.
  const keda = strict(JSON.parse(readFileSync(join(FIXTURES, "keda-v2.20.2-scaledobject.json"), "utf8")) as Json)
  byKind.set("keda.sh/v1alpha1 ScaledObject", ajv.compile({ allOf: [keda, { properties: { metadata: { $ref: "k8s#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" } } }] }))
  return byKind
})()

/** Schema errors of a Kubernetes object; empty when valid. */
const k8sErrors = (o: Obj): Array<string> => {
  const validate = K8S_VALIDATORS.get(`${str(o.apiVersion)} ${str(o.kind)}`)
  if (validate === undefined) return [`no schema for ${str(o.apiVersion)} ${str(o.kind)}`]
  return validate(o) ? [] : [ajv.errorsText(validate.errors, { separator: "\n  " })]
}

const COMPOSE_SCHEMA = (() => {
  const schema = JSON.parse(readFileSync(join(FIXTURES, "compose-spec.json"), "utf8")) as Record<string, unknown>
  // Its $schema names draft-07 by an address Ajv does not know; Ajv's default is draft-07.
  delete schema.$schema
  return ajv.compile(schema)
})()

// --------------------------------------------------------------------------------------------
// The Dockerfile

interface Instruction {
  readonly keyword: string
  readonly args: string
  readonly line: number
}
interface Stage {
  readonly from: string
  readonly name: string | undefined
  readonly instructions: Array<Instruction>
}

const DOCKERFILE_KEYWORDS = new Set(["FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL", "MAINTAINER"])

const parseDockerfile = (text: string): { readonly globalArgs: Map<string, string>; readonly stages: Array<Stage> } => {
  const instructions: Array<Instruction> = []
  const lines = text.split("\n")
  for (let n = 0; n < lines.length; n++) {
    const first = lines[n]!.trim()
    if (first === "" || first.startsWith("#")) continue
    const start = n
    let joined = lines[n]!
    while (/\\\s*$/.test(joined) && n + 1 < lines.length) {
      n++
      const next = lines[n]!
      if (next.trim().startsWith("#")) continue
      joined = `${joined.replace(/\\\s*$/, "")} ${next.trim()}`
    }
    const m = /^\s*([A-Za-z]+)\s+([\s\S]*)$/.exec(joined)
    if (m === null) throw new Error(`Dockerfile line ${start + 1} is not an instruction: ${first}`)
    instructions.push({ keyword: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start + 1 })
  }
  const globalArgs = new Map<string, string>()
  const stages: Array<Stage> = []
  for (const ins of instructions) {
    if (ins.keyword === "FROM") {
      const [image, as, name] = ins.args.split(/\s+/)
      stages.push({ from: image!.replace(/\$\{(\w+)\}/g, (_m, v: string) => globalArgs.get(v) ?? ""), name: as?.toUpperCase() === "AS" ? name : undefined, instructions: [] })
    } else if (stages.length === 0) {
      if (ins.keyword !== "ARG") throw new Error(`Dockerfile line ${ins.line}: only ARG may come before FROM`)
      const [k, v] = ins.args.split("=")
      globalArgs.set(k!, v ?? "")
    } else stages[stages.length - 1]!.instructions.push(ins)
  }
  return { globalArgs, stages }
}

const DOCKERFILE = parseDockerfile(read("Dockerfile"))
const FINAL = DOCKERFILE.stages[DOCKERFILE.stages.length - 1]!
const labelOf = (stage: Stage, key: string): string | undefined => {
  for (const ins of stage.instructions.filter((i) => i.keyword === "LABEL")) {
    const m = new RegExp(`${key.replace(/\./g, "\\.")}="([^"]*)"`).exec(ins.args)
    if (m !== null) return m[1]
  }
  return undefined
}
/** The image deploy/ must name: the title and version the Dockerfile labels its image with. */
const IMAGE = `${labelOf(FINAL, "org.opencontainers.image.title")}:${labelOf(FINAL, "org.opencontainers.image.version")}`

describe("Dockerfile", () => {
  test("parses into known instructions, a dependency stage and the Bun runtime stage package.json pins", () => {
    for (const stage of DOCKERFILE.stages) for (const ins of stage.instructions) expect(DOCKERFILE_KEYWORDS.has(ins.keyword), `line ${ins.line}: ${ins.keyword}`).toBe(true)
    expect(DOCKERFILE.stages.length).toBeGreaterThanOrEqual(2)
    const names = DOCKERFILE.stages.map((s) => s.name)
    expect(new Set(names).size).toBe(names.length)
    expect(DOCKERFILE.globalArgs.get("BUN_VERSION")).toBe(PACKAGE.devDependencies.bun)
    expect(FINAL.from).toBe(`oven/bun:${PACKAGE.devDependencies.bun}`)
  })

  test("the final stage has the production dependencies only, runs as a non-root user, and starts the CLI with Bun", () => {
    const deps = DOCKERFILE.stages.find((s) => s.name === "deps")
    expect(deps).toBeDefined()
    const install = deps!.instructions.filter((i) => i.keyword === "RUN").map((i) => i.args).join("\n")
    expect(install).toMatch(/npm ci\b/)
    expect(install).toContain("--omit=dev")
    // node_modules of the final image come from that stage, and nothing there installs more.
    const copies = FINAL.instructions.filter((i) => i.keyword === "COPY")
    expect(copies.some((c) => /--from=deps\s+\S*node_modules/.test(c.args))).toBe(true)
    for (const run of FINAL.instructions.filter((i) => i.keyword === "RUN")) expect(run.args).not.toMatch(/\b(npm|bun) (install|ci|add)\b/)
    const users = FINAL.instructions.filter((i) => i.keyword === "USER")
    expect(users.length).toBeGreaterThan(0)
    const user = users[users.length - 1]!.args.split(":")[0]!
    expect(["root", "0"]).not.toContain(user)
    const entrypoint = FINAL.instructions.filter((i) => i.keyword === "ENTRYPOINT").pop()
    const exec = JSON.parse(entrypoint!.args) as Array<string>
    expect(exec[0]).toBe("bun")
    const workdir = FINAL.instructions.find((i) => i.keyword === "WORKDIR")!.args
    expect(resolve(workdir, exec[1]!)).toBe("/app/src/cli/main.ts")
    expect(existsSync(join(REPO, "src/cli/main.ts"))).toBe(true)
    // The same image serves and works: no HEALTHCHECK that would be wrong for one of them.
    expect(FINAL.instructions.some((i) => i.keyword === "HEALTHCHECK")).toBe(false)
    expect(labelOf(FINAL, "org.opencontainers.image.version")).toBe(PACKAGE.version)
  })

  test("every file it copies exists and is not excluded by .dockerignore, which keeps out dependencies, git, tests and local state", () => {
    const ignored = read(".dockerignore").split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"))
    for (const must of ["node_modules", ".git", ".dshield-coord", "test"]) expect(ignored).toContain(must)
    for (const stage of DOCKERFILE.stages) {
      for (const copy of stage.instructions.filter((i) => i.keyword === "COPY" && !i.args.includes("--from="))) {
        const sources = copy.args.split(/\s+/).slice(0, -1)
        for (const source of sources) {
          expect(existsSync(join(REPO, source)), `COPY ${source}`).toBe(true)
          expect(ignored, `.dockerignore excludes ${source}`).not.toContain(source.replace(/\/$/, ""))
        }
      }
    }
  })
})

// --------------------------------------------------------------------------------------------
// deploy/compose.yaml

const COMPOSE_TEXT = read("deploy/compose.yaml")
const COMPOSE = obj(parse(COMPOSE_TEXT, { merge: true }), "compose.yaml")
const SERVICES = obj(COMPOSE.services, "services")
const COMPOSE_DIR = join(REPO, "deploy")

/** Compose interpolation with nothing set: ${VAR:-default} → default, $$ → $. */
const interpolate = (text: string): string =>
  text.replace(/\$\$|\$\{(\w+)(?::?-([^}]*))?\}/g, (m, _name: string | undefined, fallback: string | undefined) => (m === "$$" ? "$" : (fallback ?? "")))

const readEnvFile = (path: string): Map<string, string> => {
  const out = new Map<string, string>()
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim())
    if (m !== null) out.set(m[1]!, m[2]!)
  }
  return out
}

interface ComposeEngine {
  readonly name: string
  readonly argv: Array<string>
  readonly env: Map<string, string>
  readonly service: Obj
}

/** The services that run the engine image, with their command line and environment. */
const COMPOSE_ENGINE: Array<ComposeEngine> = Object.entries(SERVICES)
  .filter(([, s]) => isObj(s) && s.image === IMAGE)
  .map(([name, s]) => {
    const service = s as Obj
    const entrypoint = arr(service.entrypoint).map(str)
    // serve goes through `sh -c "exec bun /app/src/cli/main.ts serve …"` to expand NATS_URL.
    const argv = entrypoint.length > 0
      ? interpolate(entrypoint[entrypoint.length - 1]!).split(/\s+/).map((a) => a.replace(/^"|"$/g, "")).slice(3)
      : arr(service.command).map(str)
    const env = new Map<string, string>()
    for (const file of arr(service.env_file).map((f) => join(COMPOSE_DIR, interpolate(str(f))))) for (const [k, v] of readEnvFile(file)) env.set(k, v)
    for (const [k, v] of Object.entries(isObj(service.environment) ? service.environment : {})) env.set(k, str(v))
    return { name, argv, env, service }
  })

describe("deploy/compose.yaml", () => {
  test("is a valid Compose file (the Compose specification's JSON schema)", () => {
    const valid = COMPOSE_SCHEMA(COMPOSE)
    expect(valid ? "" : ajv.errorsText(COMPOSE_SCHEMA.errors, { separator: "\n  " })).toBe("")
  })

  test("runs serve and a pool per kind of role on the image the Dockerfile builds, every worker role among them", () => {
    const names = COMPOSE_ENGINE.map((e) => e.name).sort()
    expect(names).toEqual(["agents", "api", "inference", "jobs", "postgres-role", "serve"])
    for (const e of COMPOSE_ENGINE) {
      const build = obj(e.service.build, `${e.name}.build`)
      expect(resolve(COMPOSE_DIR, str(build.context), str(build.dockerfile))).toBe(join(REPO, "Dockerfile"))
    }
    const served = new Set<string>()
    for (const e of COMPOSE_ENGINE.filter((x) => x.argv[0] === "worker")) {
      const roles = flag(e.argv, "--roles")!.split(",")
      for (const role of roles) {
        expect(WORKER_ROLES, `${e.name}: role ${role}`).toContain(role)
        served.add(role)
      }
      expect(Number(e.service.deploy !== undefined ? obj(e.service.deploy, "deploy").replicas : 1)).toBeGreaterThanOrEqual(1)
    }
    expect([...served].sort()).toEqual([...WORKER_ROLES].sort())
  })

  test("stop_grace_period outlasts each worker's --grace, and health checks are true to what each process serves", () => {
    for (const e of COMPOSE_ENGINE) {
      const health = obj(e.service.healthcheck, `${e.name}.healthcheck`)
      const check = arr(health.test).map(str).join(" ")
      if (e.argv[0] === "serve") {
        expect(check).toContain(`127.0.0.1:${flag(e.argv, "--port")}/health/live`)
        continue
      }
      expect(e.argv[0]).toBe("worker")
      const grace = seconds(flag(e.argv, "--grace") ?? "60s")
      expect(seconds(str(e.service.stop_grace_period)), e.name).toBeGreaterThan(grace)
      expect(check).toContain(`127.0.0.1:${flag(e.argv, "--metrics-port")}/metrics`)
      expect(flag(e.argv, "--metrics-host")).toBe("0.0.0.0")
    }
  })

  test("depends_on waits only for services that have a health check, and every file it names exists", () => {
    for (const [name, s] of Object.entries(SERVICES)) {
      const service = obj(s, name)
      for (const [dep, how] of Object.entries(isObj(service.depends_on) ? service.depends_on : {})) {
        expect(SERVICES[dep], `${name} depends on ${dep}`).toBeDefined()
        if (isObj(how) && how.condition === "service_healthy") expect(obj(SERVICES[dep], dep).healthcheck, `${dep} has no healthcheck`).toBeDefined()
      }
      for (const file of arr(service.env_file)) expect(existsSync(join(COMPOSE_DIR, interpolate(str(file)))), `${name}: ${str(file)}`).toBe(true)
      for (const volume of arr(service.volumes).map(str).filter((v) => v.startsWith("."))) expect(existsSync(join(COMPOSE_DIR, volume.split(":")[0]!)), `${name}: ${volume}`).toBe(true)
    }
    for (const [name, secret] of Object.entries(obj(COMPOSE.secrets, "secrets"))) expect(existsSync(join(COMPOSE_DIR, interpolate(str(obj(secret, name).file)))), name).toBe(true)
    // NATS runs deploy/nats/nats-server.conf itself, with the passwords beside it.
    const nats = obj(SERVICES.nats, "nats")
    expect(arr(nats.volumes).map(str)).toContain("./nats/nats-server.conf:/etc/nats/nats-server.conf:ro")
    expect(arr(nats.secrets).some((s) => isObj(s) && s.target === "/etc/nats/passwords.conf")).toBe(true)
    // Prometheus scrapes every engine service.
    const prometheus = parse(read("deploy/compose/prometheus.yml")) as { scrape_configs: Array<{ dns_sd_configs: Array<{ names: Array<string>; port: number }> }> }
    const sd = prometheus.scrape_configs[0]!.dns_sd_configs[0]!
    expect([...sd.names].sort()).toEqual(COMPOSE_ENGINE.map((e) => e.name).sort())
    for (const e of COMPOSE_ENGINE) expect(flag(e.argv, "--metrics-port")).toBe(String(sd.port))
  })

  test("each process connects as a NATS user of deploy/nats that may use its roles' subjects; the passwords match their hashes", async () => {
    for (const e of COMPOSE_ENGINE) {
      const url = e.env.get("NATS_URL")
      expect(url, `${e.name} has no NATS_URL`).toBeDefined()
      const roles = e.argv[0] === "serve" ? ["serve"] : flag(e.argv, "--roles")!.split(",")
      if (e.argv[0] === "serve") expect(flag(e.argv, "--nats")).toBe("$NATS_URL")
      expectUserServes(userOfUrl(url!), roles, e.name)
    }
    // The development passwords.conf has a hash for every user the configuration names, and
    // each is the hash of the development password README.md gives (dev-only-USER-password).
    const secrets = interpolate(str(obj(obj(COMPOSE.secrets, "secrets")["nats-passwords"], "nats-passwords").file))
    const hashes = parseNatsConf(readFileSync(join(COMPOSE_DIR, secrets), "utf8")).root
    const checks = [...NATS_USERS].map(async ([user, u]) => {
      const hash = str(hashes[u.passwordVariable])
      expect(hash, u.passwordVariable).toMatch(/^\$2[aby]\$\d\d\$/)
      return [user, await Bun.password.verify(`dev-only-${user}-password`, hash)] as const
    })
    for (const [user, ok] of await Promise.all(checks)) expect(ok, user).toBe(true)
    // …and the env files give the services those passwords.
    for (const e of COMPOSE_ENGINE) {
      const url = new URL(e.env.get("NATS_URL")!)
      expect(decodeURIComponent(url.password), e.name).toBe(`dev-only-${userOfUrl(url.href)}-password`)
    }
  })

  test.skipIf(NATS_SERVER === undefined)("nats-server accepts deploy/nats/nats-server.conf with the development passwords", () => {
    const dir = mkdtempSync(join(tmpdir(), "deploy-nats-"))
    try {
      writeFileSync(join(dir, "nats-server.conf"), read("deploy/nats/nats-server.conf").replace(/store_dir: .*$/m, `store_dir: ${JSON.stringify(join(dir, "js"))}`))
      cpSync(join(REPO, "deploy/compose/dev-secrets/nats-passwords.conf"), join(dir, "passwords.conf"))
      const r = Bun.spawnSync([NATS_SERVER!, "-c", join(dir, "nats-server.conf"), "-t"], { stdout: "pipe", stderr: "pipe", timeout: 60_000 })
      expect(`${r.stdout.toString()}${r.stderr.toString()}`).toContain("is valid")
      expect(r.exitCode).toBe(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test.skipIf(!DOCKER_COMPOSE)("docker compose config -q accepts it", () => {
    const r = Bun.spawnSync(["docker", "compose", "-f", join(REPO, "deploy/compose.yaml"), "config", "-q"], { stdout: "pipe", stderr: "pipe", timeout: 60_000 })
    expect(r.stderr.toString()).toBe("")
    expect(r.exitCode).toBe(0)
  })
})

// --------------------------------------------------------------------------------------------
// deploy/k8s

const KUSTOMIZATION = obj(parse(readFileSync(join(K8S, "kustomization.yaml"), "utf8")), "kustomization.yaml")
const NAMESPACE = str(KUSTOMIZATION.namespace)
const SECRETS_EXAMPLE = readEnvFile(join(K8S, "secrets.env.example"))
const SECRET_NAME = str(obj(arr(KUSTOMIZATION.secretGenerator)[0], "secretGenerator").name)

const loadObjects = (text: string, where: string): Array<Obj> =>
  parseAllDocuments(text).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${where}: ${doc.errors.map((e) => e.message).join("; ")}`)
    return doc.toJSON() as unknown
  }).filter((o): o is Obj => isObj(o))

const K8S_FILES = arr(KUSTOMIZATION.resources).map(str)
const K8S_OBJECTS: Array<{ readonly file: string; readonly o: Obj }> = K8S_FILES.flatMap((file) => loadObjects(readFileSync(join(K8S, file), "utf8"), file).map((o) => ({ file, o })))
const ofKind = (kind: string): Array<Obj> => K8S_OBJECTS.filter((x) => x.o.kind === kind).map((x) => x.o)
const named = (kind: string, name: string): Obj => {
  const found = ofKind(kind).find((o) => obj(o.metadata, "metadata").name === name)
  if (found === undefined) throw new Error(`no ${kind} ${name}`)
  return found
}
const nameOf = (o: Obj): string => str(obj(o.metadata, "metadata").name)
const podSpec = (d: Obj): Obj => obj(obj(obj(d.spec, "spec").template, "template").spec, "pod spec")
const podLabels = (d: Obj): Obj => obj(obj(obj(obj(d.spec, "spec").template, "template").metadata, "template metadata").labels, "labels")
const container = (d: Obj): Obj => obj(arr(podSpec(d).containers)[0], `${nameOf(d)} container`)
const argsOf = (d: Obj): Array<string> => arr(container(d).args).map(str)
const selects = (selector: unknown, labels: Obj): boolean => Object.entries(obj(obj(selector, "selector").matchLabels, "matchLabels")).every(([k, v]) => labels[k] === v)
const envFromSecret = (d: Obj, name: string): string | undefined => {
  const e = arr(container(d).env).map((x) => obj(x, "env")).find((x) => x.name === name)
  const ref = e === undefined ? undefined : (obj(obj(e.valueFrom, "valueFrom").secretKeyRef, "secretKeyRef") as Obj)
  if (ref !== undefined) expect(ref.name, `${nameOf(d)}: ${name} comes from another Secret`).toBe(SECRET_NAME)
  return ref === undefined ? undefined : str(ref.key)
}
const portNumber = (d: Obj, name: string): number => Number(arr(container(d).ports).map((p) => obj(p, "port")).find((p) => p.name === name)?.containerPort)

const DEPLOYMENTS = ofKind("Deployment")
const WORKERS = DEPLOYMENTS.filter((d) => argsOf(d)[0] === "worker")
const SERVE = DEPLOYMENTS.find((d) => argsOf(d)[0] === "serve")!
const rolesOf = (d: Obj): Array<string> => flag(argsOf(d), "--roles")!.split(",")
const poolWith = (role: string): Obj => WORKERS.find((d) => rolesOf(d).includes(role))!

const NATS_VALUES = obj(parse(readFileSync(join(K8S, "nats-values.yaml"), "utf8")), "nats-values.yaml")

describe("deploy/k8s", () => {
  test("the kustomization lists every manifest of the directory, and each parses", () => {
    const manifests = readdirSync(K8S).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml" && f !== "nats-values.yaml")
    expect([...K8S_FILES].sort()).toEqual(manifests.sort())
    expect(K8S_OBJECTS.length).toBeGreaterThan(10)
  })

  test("every object is valid against the Kubernetes 1.30 schemas (strict) or KEDA's ScaledObject schema", () => {
    const errors = K8S_OBJECTS.flatMap(({ file, o }) => k8sErrors(o).map((e) => `${file} ${str(o.kind)}/${nameOf(o)}: ${e}`))
    expect(errors).toEqual([])
  })

  test("the validators are not vacuous: an unknown field, a wrong type and a missing field fail", () => {
    const deployment = structuredClone(SERVE)
    obj(deployment.spec, "spec").replica = 2
    expect(k8sErrors(deployment).join()).toContain("must NOT have additional properties")
    const wrongType = structuredClone(SERVE)
    container(wrongType).ports = "8080"
    expect(k8sErrors(wrongType).join()).toContain("must be array")
    const scaled = structuredClone(named("ScaledObject", "dshield-coord-jobs"))
    delete obj(scaled.spec, "spec").scaleTargetRef
    expect(k8sErrors(scaled).join()).toContain("scaleTargetRef")
  })

  test("a Deployment per pool, every worker role named is a worker role and every worker role is served", () => {
    expect(WORKERS.map(nameOf).sort()).toEqual(["dshield-coord-agents", "dshield-coord-api", "dshield-coord-inference", "dshield-coord-jobs", "dshield-coord-postgres-role"])
    const served = WORKERS.flatMap(rolesOf)
    for (const role of served) expect(WORKER_ROLES).toContain(role)
    expect([...new Set(served)].sort()).toEqual([...WORKER_ROLES].sort())
    expect(rolesOf(named("Deployment", "dshield-coord-api")).sort()).toEqual(["api", "orchestrator"])
    expect(rolesOf(named("Deployment", "dshield-coord-inference"))).toEqual(["inference"])
  })

  test("every container runs the image the Dockerfile builds, as its non-root user", () => {
    for (const d of DEPLOYMENTS) {
      expect(container(d).image, nameOf(d)).toBe(IMAGE)
      const security = obj(podSpec(d).securityContext, "securityContext")
      expect(security.runAsNonRoot).toBe(true)
      expect(String(security.runAsUser)).toBe(FINAL.instructions.filter((i) => i.keyword === "USER").pop()!.args.split(":")[0]!)
    }
    const image = obj(arr(KUSTOMIZATION.images)[0], "images")
    expect(`${str(image.name)}:${str(image.newTag)}`).toBe(IMAGE)
  })

  test("terminationGracePeriodSeconds outlasts --grace; worker probes use the metrics listener", () => {
    for (const d of WORKERS) {
      const args = argsOf(d)
      const grace = seconds(flag(args, "--grace") ?? "60s")
      expect(Number(podSpec(d).terminationGracePeriodSeconds), nameOf(d)).toBeGreaterThan(grace)
      expect(flag(args, "--metrics-host")).toBe("0.0.0.0")
      expect(portNumber(d, "metrics")).toBe(Number(flag(args, "--metrics-port")))
      for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
        const get = obj(obj(container(d)[probe], `${nameOf(d)} ${probe}`).httpGet, "httpGet")
        expect(get.path).toBe("/metrics")
        expect(get.port).toBe("metrics")
      }
      expect(obj(obj(podSpec(d), "pod").securityContext, "securityContext")).toBeDefined()
    }
  })

  test("serve: probes on /health/live and /health/ready (the endpoints src/api/Contract.ts declares), its Service, one replica", () => {
    const contract = read("src/api/Contract.ts")
    expect(contract).toContain('"/health/live"')
    expect(contract).toContain('"/health/ready"')
    const c = container(SERVE)
    const probe = (name: string): Obj => obj(obj(c[name], name).httpGet, "httpGet")
    expect(probe("startupProbe").path).toBe("/health/live")
    expect(probe("livenessProbe").path).toBe("/health/live")
    expect(probe("readinessProbe").path).toBe("/health/ready")
    for (const p of ["startupProbe", "livenessProbe", "readinessProbe"]) expect(probe(p).port).toBe("http")
    const args = argsOf(SERVE)
    expect(portNumber(SERVE, "http")).toBe(Number(flag(args, "--port")))
    expect(flag(args, "--host")).toBe("0.0.0.0")
    expect(obj(SERVE.spec, "spec").replicas).toBe(1)
    expect(obj(obj(SERVE.spec, "spec").strategy, "strategy").type).toBe("Recreate")
    const service = named("Service", "dshield-coord-serve")
    expect(selects({ matchLabels: obj(service.spec, "spec").selector }, podLabels(SERVE))).toBe(true)
    expect(arr(obj(service.spec, "spec").ports).map((p) => obj(p, "port").targetPort)).toContain("http")
  })

  test("each pool connects as a NATS user of deploy/nats that may use its roles' subjects, from the Secret", () => {
    const userOfKey = (key: string): string => userOfUrl(SECRETS_EXAMPLE.get(key)!)
    for (const d of WORKERS) {
      const key = envFromSecret(d, "NATS_URL")
      expect(key, `${nameOf(d)}: NATS_URL`).toBeDefined()
      expect(SECRETS_EXAMPLE.has(key!), `secrets.env.example has no ${key}`).toBe(true)
      expectUserServes(userOfKey(key!), rolesOf(d), nameOf(d))
    }
    const key = envFromSecret(SERVE, "NATS_URL")!
    expect(flag(argsOf(SERVE), "--nats")).toBe("$(NATS_URL)")
    expectUserServes(userOfKey(key), ["serve"], "serve")
    // Every key a pod reads exists in the example, and nothing renames the job queue.
    for (const d of DEPLOYMENTS) {
      for (const e of arr(container(d).env).map((x) => obj(x, "env"))) {
        expect(e.name).not.toBe("DSHIELD_JOBS_NAMESPACE")
        if (isObj(e.valueFrom)) expect(SECRETS_EXAMPLE.has(envFromSecret(d, str(e.name))!), `${nameOf(d)}: ${str(e.name)}`).toBe(true)
      }
      for (const from of arr(container(d).envFrom).map((x) => obj(x, "envFrom"))) named("ConfigMap", str(obj(from.configMapRef, "configMapRef").name))
    }
  })

  test("every Deployment has a PodDisruptionBudget; rolling updates of the api pool keep every pod until its successor is ready", () => {
    const budgets = ofKind("PodDisruptionBudget")
    for (const d of WORKERS) expect(budgets.filter((b) => selects(obj(b.spec, "spec").selector, podLabels(d))).length, nameOf(d)).toBe(1)
    for (const d of DEPLOYMENTS) expect(selects(obj(d.spec, "spec").selector, podLabels(d)), nameOf(d)).toBe(true)
    const api = named("Deployment", "dshield-coord-api")
    const rolling = obj(obj(obj(api.spec, "spec").strategy, "strategy").rollingUpdate, "rollingUpdate")
    expect(rolling.maxUnavailable).toBe(0)
    // The autoscaler owns its replicas.
    expect(obj(api.spec, "spec").replicas).toBeUndefined()
    const hpa = named("HorizontalPodAutoscaler", "dshield-coord-api")
    expect(obj(obj(hpa.spec, "spec").scaleTargetRef, "scaleTargetRef")).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: "dshield-coord-api" })
  })

  test("KEDA scales the jobs pool on the lag of the job queue the code names, read from the NATS Service the Helm values make", () => {
    const jobs = poolWith("jobs")
    const scaled = named("ScaledObject", "dshield-coord-jobs")
    const spec = obj(scaled.spec, "spec")
    expect(obj(spec.scaleTargetRef, "scaleTargetRef").name).toBe(nameOf(jobs))
    expect(obj(jobs.spec, "spec").replicas).toBeUndefined()
    const trigger = obj(arr(spec.triggers)[0], "trigger")
    expect(trigger.type).toBe("nats-jetstream")
    const meta = obj(trigger.metadata, "metadata")
    expect(meta.stream).toBe(JOBS_STREAM)
    expect(meta.consumer).toBe(JOBS_CONSUMER)
    expect(meta.account).toBe("$G")
    expect(meta.natsServerMonitoringEndpoint).toBe(`${str(NATS_VALUES.fullnameOverride)}.${NAMESPACE}.svc.cluster.local:8222`)
    // One pod per --pool jobs waiting or running.
    expect(meta.lagThreshold).toBe(flag(argsOf(jobs), "--pool"))
    // The submitters' subject is the one the jobs user's stream takes.
    expect(NATS_USERS.get("submitter")!.permissions.publish).toContain(JOBS_SUBJECT)
  })

  test("the inference pool takes one GPU per pod, on GPU nodes, for the pod's own Ollama the engine is pointed at", () => {
    const d = poolWith("inference")
    const containers = arr(podSpec(d).containers).map((c) => obj(c, "container"))
    const ollama = containers.find((c) => c.name === "ollama")!
    const resources = obj(ollama.resources, "resources")
    expect(obj(resources.requests, "requests")["nvidia.com/gpu"]).toBe("1")
    expect(obj(resources.limits, "limits")["nvidia.com/gpu"]).toBe("1")
    // The engine container asks for no GPU, and reaches that Ollama on the pod's loopback.
    expect(obj(obj(container(d).resources, "engine resources").requests, "engine requests")["nvidia.com/gpu"]).toBeUndefined()
    const env = new Map(arr(container(d).env).map((e) => [str(obj(e, "env").name), obj(e, "env").value] as const))
    const port = arr(ollama.ports).map((p) => obj(p, "port").containerPort)[0]
    expect(JSON.parse(str(env.get("OLLAMA_ENDPOINTS")))[0].url).toBe(`http://127.0.0.1:${port}`)
    expect(flag(argsOf(d), "--pool")).toBe("1")
    expect(Object.keys(obj(podSpec(d).nodeSelector, "nodeSelector")).length).toBeGreaterThan(0)
    expect(arr(podSpec(d).tolerations).some((t) => obj(t, "toleration").key === "nvidia.com/gpu")).toBe(true)
    for (const x of DEPLOYMENTS) {
      const r = obj(container(x).resources, `${nameOf(x)} resources`)
      expect(r.requests, nameOf(x)).toBeDefined()
      expect(r.limits, nameOf(x)).toBeDefined()
    }
  })

  test.skipIf(!KUBECTL)("kubectl kustomize renders it (with secrets.env from the example), and the rendered objects are valid too", () => {
    const dir = mkdtempSync(join(tmpdir(), "deploy-k8s-"))
    try {
      for (const f of [...K8S_FILES, "kustomization.yaml"]) cpSync(join(K8S, f), join(dir, f))
      cpSync(join(K8S, "secrets.env.example"), join(dir, "secrets.env"))
      const r = Bun.spawnSync(["kubectl", "kustomize", dir], { stdout: "pipe", stderr: "pipe", timeout: 60_000 })
      expect(r.stderr.toString()).toBe("")
      expect(r.exitCode).toBe(0)
      const rendered = loadObjects(r.stdout.toString(), "kustomize output")
      expect(rendered.flatMap((o) => k8sErrors(o).map((e) => `${str(o.kind)}/${nameOf(o)}: ${e}`))).toEqual([])
      const secrets = rendered.filter((o) => o.kind === "Secret").map(nameOf)
      expect(secrets.length).toBe(1)
      for (const o of rendered) {
        if (o.kind === "Namespace") continue
        expect(obj(o.metadata, "metadata").namespace, `${str(o.kind)}/${nameOf(o)}`).toBe(NAMESPACE)
      }
      // Every secretKeyRef points at the generated Secret (its hashed name).
      const refs = r.stdout.toString().match(/secretKeyRef:\s+key: \S+\s+name: (\S+)/g) ?? []
      expect(refs.length).toBeGreaterThan(0)
      for (const ref of refs) expect(secrets).toContain(ref.split(/\s+/).pop()!)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

// --------------------------------------------------------------------------------------------
// deploy/k8s/nats-values.yaml

describe("deploy/k8s/nats-values.yaml", () => {
  const chart = obj(parse(readFileSync(join(FIXTURES, "nats-chart-2.14.2-values.yaml"), "utf8")), "chart values")

  test("sets only keys the NATS chart has (free-form maps and lists excepted)", () => {
    const unknown: Array<string> = []
    const walk = (mine: Obj, theirs: Obj, path: string): void => {
      for (const [k, v] of Object.entries(mine)) {
        if (!(k in theirs)) {
          unknown.push(`${path}${k}`)
          continue
        }
        const t = theirs[k]
        // An empty map or a list in the chart's values is the user's to fill.
        if (isObj(v) && isObj(t) && Object.keys(t).length > 0) walk(v, t, `${path}${k}.`)
      }
    }
    walk(NATS_VALUES, chart, "")
    expect(unknown).toEqual([])
  })

  test("JetStream on, the monitoring port on the Service (for KEDA), and deploy/nats's users with the same permissions", () => {
    const config = obj(NATS_VALUES.config, "config")
    expect(obj(config.jetstream, "jetstream").enabled).toBe(true)
    expect(obj(config.monitor, "monitor").enabled).toBe(true)
    expect(obj(obj(obj(NATS_VALUES.service, "service").ports, "ports").monitor, "monitor").enabled).toBe(true)
    const merge = obj(config.merge, "merge")
    expect(merge.max_payload).toBe(`<< ${str(NATS_CONF.root.max_payload)} >>`)
    const users = arr(obj(merge.authorization, "authorization").users).map((u) => obj(u, "user"))
    expect(users.map((u) => u.user).sort()).toEqual([...NATS_USERS.keys()].sort())
    for (const u of users) {
      const conf = NATS_USERS.get(str(u.user))!
      expect(u.password).toBe(`<< $${conf.passwordVariable} >>`)
      const p = obj(u.permissions, "permissions")
      const mine: Permissions = {
        publish: arr(obj(obj(p.publish, "publish"), "publish").allow).map(str),
        subscribe: arr(obj(obj(p.subscribe, "subscribe"), "subscribe").allow).map(str),
        allow_responses: p.allow_responses === true
      }
      expect(mine, str(u.user)).toEqual(conf.permissions)
    }
  })

  test.skipIf(NATS_SERVER === undefined)("the configuration the chart makes of it (its merge rules) is accepted by nats-server, passwords file included", () => {
    const dir = mkdtempSync(join(tmpdir(), "deploy-nats-values-"))
    try {
      const config = obj(NATS_VALUES.config, "config")
      const jetstream = obj(config.jetstream, "jetstream")
      const sortKeys = (v: unknown): unknown =>
        Array.isArray(v) ? v.map(sortKeys) : isObj(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])])) : v
      const whole = sortKeys({
        port: 4222,
        jetstream: {
          store_dir: join(dir, "js"),
          max_memory_store: `<< ${str(obj(jetstream.memoryStore, "memoryStore").maxSize)} >>`,
          max_file_store: `<< ${str(obj(obj(jetstream.fileStore, "fileStore").pvc, "pvc").size)} >>`
        },
        ...obj(config.merge, "merge")
      })
      // The chart's nats.formatConfig: "…$include": "F" → include F; and "<< X >>" → X.
      const text = JSON.stringify(whole, null, 2)
        .replace(/".*\$include": "(.*)",?/g, "include $1;")
        .replace(/"<<\s+(.*?)\s+>>"/g, "$1")
      const configDir = join(dir, "etc/nats-config")
      mkdirSync(configDir, { recursive: true })
      writeFileSync(join(configDir, "nats.conf"), text)
      const include = /include (\S+);/.exec(text)![1]!
      mkdirSync(dirname(resolve(configDir, include)), { recursive: true })
      cpSync(join(REPO, "deploy/compose/dev-secrets/nats-passwords.conf"), resolve(configDir, include))
      const r = Bun.spawnSync([NATS_SERVER!, "-c", join(configDir, "nats.conf"), "-t"], { stdout: "pipe", stderr: "pipe", timeout: 60_000 })
      expect(`${r.stdout.toString()}${r.stderr.toString()}`).toContain("is valid")
      expect(r.exitCode).toBe(0)
      // The volume the values mount is where that include points.
      const mount = obj(arr(obj(NATS_VALUES.container, "container").patch).map((p) => obj(p, "patch"))[0]!.value, "mount")
      expect(resolve("/etc/nats-config", include)).toBe(join(str(mount.mountPath), "passwords.conf"))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

/**
 * How every command connects to NATS — one place. Settings come from flags first, then the
 * environment (read through Effect's Config), and are decoded with Schema:
 *
 * | flag              | environment     | meaning                                              |
 * |-------------------|-----------------|------------------------------------------------------|
 * | `--nats URL`      | `NATS_URL`      | server(s), comma-separated; `nats://user:pass@host:port` carries a user and password, `nats://TOKEN@host:port` a token; `tls://` asks for TLS |
 * | `--nats-token T`  | `NATS_TOKEN`    | token authentication                                 |
 * | `--nats-creds F`  | `NATS_CREDS`    | NKey/JWT `.creds` file (operator mode, `nsc`)        |
 * | `--nats-tls-ca F` | `NATS_TLS_CA`   | CA certificate that signed the server's certificate  |
 * | `--nats-tls-cert F` / `--nats-tls-key F` | `NATS_TLS_CERT` / `NATS_TLS_KEY` | client certificate and key (mutual TLS) |
 *
 * nats.js takes credentials as options, not from the URL: `connectionOptions` moves them out
 * of the URL, so what is printed never carries a password (`redactUrl`).
 *
 * @since 0.1.0
 */
import { readFileSync, statSync } from "node:fs"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { connect, type ConnectionOptions, credsAuthenticator, type NatsConnection } from "nats"

export const DEFAULT_NATS_URL = "nats://127.0.0.1:4222"

/** What the command line gave (every field optional: the environment fills the rest). */
export interface NatsFlags {
  readonly url?: string | undefined
  readonly token?: string | undefined
  readonly creds?: string | undefined
  readonly tlsCa?: string | undefined
  readonly tlsCert?: string | undefined
  readonly tlsKey?: string | undefined
}

const NonEmpty = Schema.String.check(Schema.isMinLength(1))

/** The decoded settings: secrets stay Redacted until the connection is made. */
export const NatsSettings = Schema.Struct({
  url: NonEmpty,
  token: Schema.optionalKey(Schema.Redacted(NonEmpty)),
  creds: Schema.optionalKey(NonEmpty),
  tlsCa: Schema.optionalKey(NonEmpty),
  tlsCert: Schema.optionalKey(NonEmpty),
  tlsKey: Schema.optionalKey(NonEmpty)
})
export interface NatsSettings extends Schema.Schema.Type<typeof NatsSettings> {}

/** NATS settings that cannot be used; `message` says what to change. */
export class NatsConfigError extends Schema.TaggedError<NatsConfigError>()("NatsConfigError", {
  message: Schema.String
}) {}

const optionalEnv = (name: string) => Config.option(Config.String(name))
const pick = (flag: string | undefined, env: Option.Option<string>): string | undefined =>
  flag !== undefined && flag.length > 0 ? flag : Option.getOrUndefined(env)

/** Flags over environment (NATS_URL, NATS_TOKEN, NATS_CREDS, NATS_TLS_CA|CERT|KEY), decoded. */
export const resolveNatsSettings = (flags: NatsFlags = {}): Effect.Effect<NatsSettings, NatsConfigError> =>
  Effect.gen(function*() {
    const env = yield* Config.all({
      url: optionalEnv("NATS_URL"),
      token: optionalEnv("NATS_TOKEN"),
      creds: optionalEnv("NATS_CREDS"),
      tlsCa: optionalEnv("NATS_TLS_CA"),
      tlsCert: optionalEnv("NATS_TLS_CERT"),
      tlsKey: optionalEnv("NATS_TLS_KEY")
    })
    const raw: Record<string, unknown> = { url: pick(flags.url, env.url) ?? DEFAULT_NATS_URL }
    const token = pick(flags.token, env.token)
    if (token !== undefined) raw.token = Redacted.make(token)
    for (const key of ["creds", "tlsCa", "tlsCert", "tlsKey"] as const) {
      const value = pick(flags[key], env[key])
      if (value !== undefined) raw[key] = value
    }
    return yield* Schema.decodeUnknownEffect(NatsSettings)(raw)
  }).pipe(
    Effect.mapError((error) =>
      error instanceof NatsConfigError ? error : new NatsConfigError({ message: `The NATS settings are not valid (${String(error)}); check --nats and the NATS_* variables.` })
    )
  )

interface ParsedServer {
  readonly server: string
  readonly user?: string
  readonly pass?: string
  readonly token?: string
  readonly tls: boolean
}

const parseServer = (entry: string): ParsedServer | NatsConfigError => {
  const text = entry.trim()
  const withScheme = /^[a-z]+:\/\//i.test(text) ? text : `nats://${text}`
  let url: URL
  try {
    url = new URL(withScheme)
  } catch {
    return new NatsConfigError({ message: `The NATS URL "${redactUrl(text)}" is not a URL; write it as nats://[user:password@]host:port.` })
  }
  const scheme = url.protocol.replace(/:$/, "")
  if (scheme !== "nats" && scheme !== "tls") {
    return new NatsConfigError({ message: `The NATS URL "${redactUrl(text)}" has scheme ${scheme}; use nats:// (or tls:// to require TLS).` })
  }
  const server = `nats://${url.host}`
  const user = url.username.length > 0 ? decodeURIComponent(url.username) : undefined
  const pass = url.password.length > 0 ? decodeURIComponent(url.password) : undefined
  // NATS convention: a user part without a password is a token.
  return user !== undefined && pass === undefined
    ? { server, token: user, tls: scheme === "tls" }
    : { server, ...(user !== undefined ? { user } : {}), ...(pass !== undefined ? { pass } : {}), tls: scheme === "tls" }
}

/** The URL(s) without secrets, for messages and logs. */
export const redactUrl = (url: string): string =>
  url.split(",").map((u) => u.trim().replace(/^([a-z]+:\/\/)?[^@/]*@/i, (_m, scheme: string | undefined) => `${scheme ?? ""}***@`)).join(",")

const readableFile = (path: string, what: string, flag: string): NatsConfigError | undefined => {
  try {
    if (!statSync(path).isFile()) return new NatsConfigError({ message: `The ${what} ${path} is not a regular file; pass the file itself with ${flag}.` })
    return undefined
  } catch (error) {
    return new NatsConfigError({ message: `Cannot read the ${what} ${path} (${(error as { code?: string }).code ?? String(error)}); check ${flag}.` })
  }
}

/**
 * The nats.js ConnectionOptions for these settings: servers without credentials, user and
 * password or token (from the URL or --nats-token), a .creds authenticator, TLS files.
 */
export const connectionOptions = (settings: NatsSettings, name = "dshield-coord"): Effect.Effect<ConnectionOptions, NatsConfigError> =>
  Effect.gen(function*() {
    const parsed: Array<ParsedServer> = []
    for (const entry of settings.url.split(",").filter((u) => u.trim().length > 0)) {
      const p = parseServer(entry)
      if (p instanceof NatsConfigError) return yield* p
      parsed.push(p)
    }
    if (parsed.length === 0) return yield* new NatsConfigError({ message: "No NATS server given; pass --nats nats://host:port or set NATS_URL." })
    const withUser = parsed.find((p) => p.user !== undefined)
    const urlToken = parsed.find((p) => p.token !== undefined)?.token
    const token = settings.token !== undefined ? Redacted.value(settings.token) : urlToken
    if (token !== undefined && withUser !== undefined) {
      return yield* new NatsConfigError({ message: "Give either a user and password or a token for NATS, not both; drop one from --nats or --nats-token." })
    }
    const options: { -readonly [K in keyof ConnectionOptions]: ConnectionOptions[K] } = {
      servers: parsed.map((p) => p.server),
      name,
      ...(withUser !== undefined ? { user: withUser.user!, ...(withUser.pass !== undefined ? { pass: withUser.pass } : {}) } : {}),
      ...(token !== undefined ? { token } : {})
    }
    if (settings.creds !== undefined) {
      const problem = readableFile(settings.creds, "NATS credentials file", "--nats-creds or NATS_CREDS")
      if (problem !== undefined) return yield* problem
      const creds = readFileSync(settings.creds)
      if (!/-----BEGIN USER NKEY SEED-----/.test(creds.toString("utf8"))) {
        return yield* new NatsConfigError({ message: `${settings.creds} is not a NATS .creds file (no user NKey seed in it); generate one with nsc and pass it with --nats-creds.` })
      }
      options.authenticator = credsAuthenticator(new Uint8Array(creds))
    }
    if ((settings.tlsCert === undefined) !== (settings.tlsKey === undefined)) {
      return yield* new NatsConfigError({ message: "A TLS client certificate needs its key and the other way round; pass both --nats-tls-cert and --nats-tls-key." })
    }
    const tlsFiles: Array<readonly [string | undefined, string, string]> = [
      [settings.tlsCa, "TLS CA certificate", "--nats-tls-ca"],
      [settings.tlsCert, "TLS client certificate", "--nats-tls-cert"],
      [settings.tlsKey, "TLS client key", "--nats-tls-key"]
    ]
    for (const [path, what, flag] of tlsFiles) {
      if (path === undefined) continue
      const problem = readableFile(path, what, flag)
      if (problem !== undefined) return yield* problem
    }
    if (settings.tlsCa !== undefined || settings.tlsCert !== undefined || parsed.some((p) => p.tls)) {
      options.tls = {
        ...(settings.tlsCa !== undefined ? { caFile: settings.tlsCa } : {}),
        ...(settings.tlsCert !== undefined ? { certFile: settings.tlsCert, keyFile: settings.tlsKey! } : {})
      }
    }
    return options as ConnectionOptions
  })

/** One sentence for a failed connection, by the reason nats.js gives. */
const connectFailure = (settings: NatsSettings, error: unknown): NatsConfigError => {
  const code = String((error as { code?: string }).code ?? "")
  const where = redactUrl(settings.url)
  if (code === "AUTHORIZATION_VIOLATION" || /authori[sz]ation/i.test(String((error as Error).message))) {
    return new NatsConfigError({ message: `NATS at ${where} refused the credentials; pass a user and password in the URL, --nats-token or --nats-creds for a user the server knows.` })
  }
  if (code === "ServerOptionNotAvailable" && /tls/i.test(String((error as Error).message))) {
    return new NatsConfigError({ message: `NATS at ${where} does not offer TLS; drop the --nats-tls-* options or enable TLS on the server.` })
  }
  return new NatsConfigError({ message: `Cannot connect to NATS at ${where} (${String((error as Error).message ?? error)}); check --nats and that nats-server is running.` })
}

/** A NATS connection for the scope, drained (in-flight replies sent) when the scope closes. */
export const openNatsConnection = (settings: NatsSettings, name = "dshield-coord") =>
  Effect.acquireRelease(
    Effect.flatMap(connectionOptions(settings, name), (options) =>
      Effect.tryPromise({ try: () => connect(options), catch: (error) => connectFailure(settings, error) })),
    (nc: NatsConnection) => Effect.promise(() => nc.drain().catch(() => undefined))
  )

/**
 * MISP's REST API: pushes MISP events (misp.ts) idempotently — a re-push updates the events
 * it created, never duplicates them — and searches attributes (`import --misp`, the
 * threat-intel feed of src/intel).
 *
 * What MISP does, read from https://github.com/MISP/MISP (bb0909a):
 * - REST mode needs `Accept: application/json` (otherwise MISP answers as to a browser and
 *   redirects to its login page); the key goes in the `Authorization` header; a wrong or
 *   missing key is HTTP 403 `{"name": "Authentication failed. Please make sure you pass the
 *   API key of an API enabled user along in the Authorization header.", "message": …,
 *   "url": …}` (app/Controller/AppController.php; CakePHP renders exceptions as
 *   {name, message, url}).
 * - `GET /events/view/<id|uuid>`: 200 `{"Event": {…}}`, or 404 `{"name": "Invalid event", …}`
 *   when no event with that uuid is visible to the key (EventsController::view).
 * - `POST /events/add`: 200 with the stored event. If the uuid exists already: 404 "Event
 *   already exists, if you would like to edit it, use the url in the location header." with
 *   `Location: /events/<id>` (EventsController::add, Event::_add). A failed save: 403
 *   `{"saved": false, "name": "Could not add Event", "errors": …}`
 *   (RestResponseComponent::saveFailResponse).
 * - `POST /events/edit/<id|uuid>`: 200 with the stored event, failures as for add. Event::_edit
 *   refuses an event whose `timestamp` is not newer than the stored one ("Event in the request
 *   not newer than the local copy."), stamps the edit itself when the request has none, and
 *   matches attributes and event reports by uuid, replacing one only when its timestamp is
 *   newer (Attribute::editAttribute, EventReport::editReport).
 *
 * - `POST /attributes/restSearch` with `{"returnFormat": "json", "tags": [...], "timestamp":
 *   "30d" | <unix seconds>, "limit": n, "page": p, "includeEventTags": true}`: 200
 *   `{"response": {"Attribute": [{id, event_id, type, category, value, to_ids, uuid,
 *   timestamp, Event: {id, uuid, info, …}, Tag: [{name, …}]}, …]}}` (AttributesController::
 *   restSearch, MispAttribute::restSearch); `tags` match attribute or event tags, pages count
 *   from 1, a page shorter than `limit` is the last.
 *
 * Hence, per event: look it up by uuid; absent → add; present → edit with the event's own
 * `timestamp` left out, so MISP stamps the edit and a re-push of the same Result is accepted.
 * Attribute and report timestamps are kept: unchanged ones are left alone, a later run's
 * replace them; their deterministic uuids (misp.ts) mean nothing is added twice. An add that
 * loses a race with another pusher (404 with Location) becomes an edit of that event. An
 * indicator that drops out of a campaign stays in MISP: an edit never removes what it does not
 * mention.
 *
 * Transport: the API key rides in a header on every request and grants the key's user full API
 * access, so the URL must be https; plain http is accepted only for a loopback host
 * (localhost, 127.0.0.0/8, ::1), whose traffic never leaves the machine (a local MISP, an SSH
 * tunnel, tests). Redirects are not followed (a redirect would carry the key to wherever it
 * points): the caller is told to give the final URL. Every request has its own timeout. Each
 * failure is one sentence naming the server, never the key.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { MispEvent } from "./misp.ts"

export const MISP_USER_AGENT = "dshield-coord-misp/1"

export const MISP_PUSH_DEFAULTS = {
  /** Per request. Adding an event with many attributes makes MISP correlate each one. */
  timeoutMs: 30_000
} as const

/** The subset of `fetch` the client uses (tests pass their own). */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>

export interface MispPushOptions {
  /** The MISP base URL, e.g. https://misp.example.org/ (a path prefix is kept). */
  readonly url: string
  /** A MISP API (auth) key. */
  readonly key: string
  readonly fetch?: FetchLike
  readonly timeoutMs?: number
}

export interface MispPushOutcome {
  readonly uuid: string
  readonly action: "created" | "updated"
  /** The event's id on that MISP instance. */
  readonly id: string
}

/** A push failed; `message` is one sentence. Events before it were pushed (`pushed` of them). */
export class MispPushError extends Schema.TaggedError<MispPushError>()("MispPushError", {
  message: Schema.String,
  /** The event being pushed when it failed. */
  uuid: Schema.optional(Schema.String),
  pushed: Schema.Number
}) {}

// ---------------------------------------------------------------------------------------------
// The URL rule
// ---------------------------------------------------------------------------------------------

const isLoopbackHost = (hostname: string): boolean =>
  hostname === "localhost" ||
  hostname.endsWith(".localhost") ||
  /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname) ||
  hostname === "[::1]"

const fail = (message: string) => Effect.fail(new MispPushError({ message, pushed: 0 }))

/** The base URL (with a final slash) if the rules in the header allow it. */
export const checkMispUrl = (raw: string): Effect.Effect<URL, MispPushError> => {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return fail(`The MISP URL ${JSON.stringify(raw)} is not an absolute URL; give one like https://misp.example.org/.`)
  }
  if (url.username !== "" || url.password !== "") {
    return fail("The MISP URL contains a user name or password; MISP authenticates by API key, so leave them out.")
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopbackHost(url.hostname))) {
    return fail(
      `The MISP URL ${url.origin} is not https; the API key would cross the network in clear text, so only https is accepted, or plain http to a loopback host.`
    )
  }
  url.search = ""
  url.hash = ""
  if (!url.pathname.endsWith("/")) url.pathname = `${url.pathname}/`
  return Effect.succeed(url)
}

// ---------------------------------------------------------------------------------------------
// One request
// ---------------------------------------------------------------------------------------------

interface Client {
  readonly base: URL
  /** How messages name the server: the base URL. */
  readonly label: string
  readonly key: string
  readonly fetch: FetchLike
  readonly timeoutMs: number
}

interface Answer {
  readonly status: number
  /** The parsed JSON body; undefined when the body is not JSON. */
  readonly json: unknown
  readonly location: string | null
}

/** The error's code ("ConnectionRefused", "ENOTFOUND"), else the first clause of its message. */
const describeNetworkError = (cause: unknown): string => {
  const code = typeof cause === "object" && cause !== null ? (cause as { code?: unknown }).code : undefined
  if (typeof code === "string" && code !== "") return code
  const message = cause instanceof Error ? cause.message : String(cause)
  return message.split(/\.\s/)[0]!.replace(/[.\s]+$/, "") || "network error"
}

const field = (json: unknown, key: string): unknown =>
  typeof json === "object" && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>)[key] : undefined

const clip = (text: string, max = 300): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`)

/** MISP's text as part of one sentence: one line, inner sentence ends as semicolons, no final period. */
const sentencePart = (text: string): string =>
  clip(text.replace(/\s+/g, " ").trim().replace(/[.\s]+$/, "").replace(/\.\s+(?=[A-Z])/g, "; "))

/** MISP's own words: `message` (or `name`), then any validation `errors`, flattened. */
const mispMessage = (json: unknown): string => {
  const message = field(json, "message") ?? field(json, "name")
  const parts: Array<string> = []
  if (typeof message === "string" && message.trim() !== "") parts.push(sentencePart(message))
  const errors = field(json, "errors")
  const flat: Array<string> = []
  const walk = (value: unknown, path: string): void => {
    if (typeof value === "string" || typeof value === "number") flat.push(path === "" ? String(value) : `${path}: ${value}`)
    else if (Array.isArray(value)) value.forEach((v) => walk(v, path))
    else if (typeof value === "object" && value !== null) {
      for (const [k, v] of Object.entries(value)) walk(v, path === "" ? k : `${path}.${k}`)
    }
  }
  walk(errors, "")
  if (flat.length > 0) parts.push(sentencePart(flat.join("; ")))
  return parts.join(": ")
}

const isAuthFailure = (answer: Answer): boolean => {
  if (answer.status === 401) return true
  if (answer.status !== 403) return false
  const message = field(answer.json, "message") ?? field(answer.json, "name")
  return typeof message === "string" && message.startsWith("Authentication failed")
}

/** One request with the key, JSON both ways, no redirects, its own timeout. */
const send = (client: Client, method: "GET" | "POST", path: string, body?: unknown): Effect.Effect<Answer, MispPushError> => {
  const what = `${method} /${path}`
  const exchange = Effect.tryPromise({
    try: async (signal) => {
      const response = await client.fetch(new URL(path, client.base).href, {
        method,
        headers: {
          Authorization: client.key,
          Accept: "application/json",
          "Content-Type": "application/json",
          "User-Agent": MISP_USER_AGENT
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        redirect: "manual",
        signal
      })
      const text = await response.text()
      let json: unknown
      try {
        json = text === "" ? undefined : JSON.parse(text)
      } catch {
        json = undefined
      }
      return { status: response.status, json, location: response.headers.get("location") } satisfies Answer
    },
    catch: (cause) =>
      new MispPushError({
        message: `Could not reach MISP at ${client.label} (${describeNetworkError(cause)}); check the URL and that the server is running.`,
        pushed: 0
      })
  }).pipe(
    Effect.timeoutOrElse({
      duration: Duration.millis(client.timeoutMs),
      orElse: () => fail(`MISP at ${client.label} did not answer ${what} within ${client.timeoutMs} ms.`)
    })
  )
  return Effect.flatMap(exchange, (answer) => {
    if (isAuthFailure(answer)) {
      return fail(`MISP at ${client.label} rejected the API key (HTTP ${answer.status}); check the key and that its user may use the API.`)
    }
    if (answer.status >= 300 && answer.status < 400) {
      return fail(
        `MISP at ${client.label} answered ${what} with a redirect${answer.location === null ? "" : ` to ${answer.location}`} (HTTP ${answer.status}); give the https URL MISP is served at.`
      )
    }
    if (answer.status >= 500) {
      const said = mispMessage(answer.json)
      return fail(`MISP at ${client.label} failed on ${what} (HTTP ${answer.status}${said === "" ? "" : `: ${said}`}).`)
    }
    return Effect.succeed(answer)
  })
}

/** A client for this URL and key, once the URL passes the rules in the header and a key is given. */
const clientFor = (options: { readonly url: string; readonly key: string; readonly fetch?: FetchLike; readonly timeoutMs?: number }) =>
  Effect.flatMap(checkMispUrl(options.url), (base): Effect.Effect<Client, MispPushError> =>
    options.key.trim() === ""
      ? fail("No MISP API key was given; create one under your MISP user's Auth keys.")
      : Effect.succeed({
        base,
        label: base.href,
        key: options.key,
        fetch: options.fetch ?? ((url, init) => fetch(url, init)),
        timeoutMs: options.timeoutMs ?? MISP_PUSH_DEFAULTS.timeoutMs
      }))

/** The refusal sentence for an answer none of the steps expected. */
const refused = (client: Client, doing: string, answer: Answer) => {
  const said = mispMessage(answer.json)
  return fail(
    said === ""
      ? `MISP at ${client.label} refused to ${doing} with HTTP ${answer.status} and no MISP JSON; is ${client.label} the MISP base URL?`
      : `MISP at ${client.label} refused to ${doing} (HTTP ${answer.status}: ${said}).`
  )
}

const eventIdOf = (json: unknown): string | undefined => {
  const id = field(field(json, "Event"), "id")
  return typeof id === "string" && /^\d+$/.test(id) ? id : typeof id === "number" && Number.isInteger(id) ? String(id) : undefined
}

// ---------------------------------------------------------------------------------------------
// The steps
// ---------------------------------------------------------------------------------------------

/** The id of the event with this uuid, or undefined when MISP has none (404 in MISP's JSON). */
const lookUp = (client: Client, uuid: string) =>
  Effect.flatMap(send(client, "GET", `events/view/${uuid}`), (answer) => {
    if (answer.status === 404 && answer.json !== undefined) return Effect.succeed<string | undefined>(undefined)
    if (answer.status === 200) {
      const id = eventIdOf(answer.json)
      if (id !== undefined) return Effect.succeed<string | undefined>(id)
      return fail(`MISP at ${client.label} answered GET /events/view/${uuid} without an event id; is ${client.label} the MISP base URL?`)
    }
    return refused(client, `look up event ${uuid}`, answer)
  })

const edit = (client: Client, id: string, event: MispEvent) => {
  // Without a timestamp MISP stamps the edit itself (see the header).
  const { timestamp: _timestamp, ...body } = event.Event
  return Effect.flatMap(send(client, "POST", `events/edit/${id}`, { Event: body }), (answer) => {
    if (answer.status === 200) {
      return Effect.succeed<MispPushOutcome>({ uuid: event.Event.uuid, action: "updated", id: eventIdOf(answer.json) ?? id })
    }
    return refused(client, `update event ${event.Event.uuid} (id ${id})`, answer)
  })
}

const add = (client: Client, event: MispEvent) =>
  Effect.flatMap(send(client, "POST", "events/add", event), (answer): Effect.Effect<MispPushOutcome, MispPushError> => {
    if (answer.status === 200) {
      const id = eventIdOf(answer.json)
      if (id !== undefined) return Effect.succeed({ uuid: event.Event.uuid, action: "created", id })
      return fail(`MISP at ${client.label} answered POST /events/add without an event id; is ${client.label} the MISP base URL?`)
    }
    // Created by someone else since the look-up: MISP names it in the Location header.
    const existing = answer.status === 404 ? /\/events\/(?:view\/)?(\d+)\/?$/.exec(answer.location ?? "")?.[1] : undefined
    if (existing !== undefined) return edit(client, existing, event)
    return refused(client, `add event ${event.Event.uuid}`, answer)
  })

/**
 * Pushes each event in order: created when MISP has no event with its uuid, updated otherwise.
 * Stops at the first failure (the error says which event and how many were pushed before it;
 * pushing again is safe).
 */
export const pushEvents = Effect.fn("Misp.pushEvents")(function*(events: ReadonlyArray<MispEvent>, options: MispPushOptions) {
  const client = yield* clientFor(options)
  const outcomes: Array<MispPushOutcome> = []
  for (const event of events) {
    const uuid = event.Event.uuid
    const outcome = yield* Effect.gen(function*() {
      const id = yield* lookUp(client, uuid)
      return id === undefined ? yield* add(client, event) : yield* edit(client, id, event)
    }).pipe(Effect.mapError((error) => new MispPushError({ message: error.message, uuid, pushed: outcomes.length })))
    outcomes.push(outcome)
  }
  return outcomes as ReadonlyArray<MispPushOutcome>
})

// ---------------------------------------------------------------------------------------------
// Searching attributes
// ---------------------------------------------------------------------------------------------

export interface MispAttributeSearch {
  readonly url: string
  readonly key: string
  /** Attributes carrying any of these tags (on the attribute or its event). */
  readonly tags: ReadonlyArray<string>
  /** Only attributes changed since: MISP's relative form ("30d", "12h") or unix seconds. */
  readonly since?: string | undefined
  /** Attributes per page (MISP's `limit`). */
  readonly pageSize?: number | undefined
  readonly fetch?: FetchLike
  readonly timeoutMs?: number
}

/** One attribute as MISP's restSearch answers it (the fields the feed keeps); a feed folder's events give the same. */
export interface MispAttribute {
  readonly uuid: string
  readonly type: string
  readonly value: string
  readonly timestamp: number
  readonly toIds: boolean
  readonly eventUuid: string
  readonly eventInfo: string
  readonly tags: ReadonlyArray<string>
}

const text = (value: unknown): string => (typeof value === "string" ? value : typeof value === "number" ? String(value) : "")

export const attributeOf = (raw: unknown): MispAttribute | undefined => {
  const uuid = text(field(raw, "uuid"))
  const type = text(field(raw, "type"))
  const value = text(field(raw, "value"))
  if (uuid === "" || type === "" || value === "") return undefined
  const event = field(raw, "Event")
  const tags = field(raw, "Tag")
  const toIds = field(raw, "to_ids")
  return {
    uuid,
    type,
    value,
    timestamp: Number(text(field(raw, "timestamp"))) || 0,
    toIds: toIds === true || toIds === "1" || toIds === 1,
    eventUuid: text(field(event, "uuid")),
    eventInfo: text(field(event, "info")),
    tags: Array.isArray(tags) ? tags.map((t) => text(field(t, "name"))).filter((t) => t !== "").sort() : []
  }
}

/**
 * Every attribute carrying one of the tags (changed since `since`), page by page. An answer
 * that is not MISP's restSearch shape is a refusal naming the server; an attribute without a
 * uuid, type or value is skipped (counted in `skipped`).
 */
export const searchAttributes = Effect.fn("Misp.searchAttributes")(function*(search: MispAttributeSearch) {
  const client = yield* clientFor(search)
  const limit = search.pageSize ?? 1000
  const attributes: Array<MispAttribute> = []
  let skipped = 0
  for (let page = 1; ; page++) {
    const body = {
      returnFormat: "json",
      tags: [...search.tags],
      ...(search.since === undefined ? {} : { timestamp: search.since }),
      includeEventTags: true,
      limit,
      page
    }
    const answer = yield* send(client, "POST", "attributes/restSearch", body)
    if (answer.status !== 200) return yield* refused(client, "search attributes", answer)
    const list = field(field(answer.json, "response"), "Attribute")
    if (!Array.isArray(list)) {
      return yield* fail(`MISP at ${client.label} answered POST /attributes/restSearch without response.Attribute; is ${client.label} the MISP base URL?`)
    }
    for (const raw of list) {
      const attribute = attributeOf(raw)
      if (attribute === undefined) skipped++
      else attributes.push(attribute)
    }
    if (list.length < limit) break
  }
  return { attributes: attributes as ReadonlyArray<MispAttribute>, skipped }
})

/**
 * A local fake MISP for tests, on `Bun.serve({ port: 0 })`, answering the REST calls the
 * exporter makes the way MISP does (https://github.com/MISP/MISP bb0909a:
 * app/Controller/AppController.php, app/Controller/EventsController.php add/edit/view,
 * app/Model/Event.php _add/_edit, app/Model/MispAttribute.php editAttribute,
 * app/Model/EventReport.php editReport, app/Controller/Component/RestResponseComponent.php):
 *
 * - no `Accept: application/json` → 302 to /users/login (MISP treats the caller as a browser);
 * - `Authorization` other than the key → 403 `{"name": "Authentication failed. …", "message", "url"}`;
 * - `GET /events/view/<id|uuid>` → 200 `{"Event"}` or 404 `{"name": "Invalid event", …}`;
 * - `POST /events/add` → 200 with the stored event and a new integer id; a uuid that exists →
 *   404 "Event already exists, if you would like to edit it, use the url in the location
 *   header." with `Location: /events/<id>`; a rejected event → 403 `{"saved": false, "name":
 *   "Could not add Event", "errors"}`;
 * - `POST /events/edit/<id|uuid>` → as MISP's _edit: an event timestamp not newer than the
 *   stored one is refused ("Event could not be saved: Event in the request not newer than the
 *   local copy."), a missing one is stamped now; attributes and reports are matched by uuid and
 *   replaced only when their timestamp is newer, new ones appended; an attribute uuid that
 *   belongs to another event is skipped (MISP logs and drops it); tags are attached by name;
 * - `POST /events/restSearch` `{"uuid"}` → `{"response": [{"Event"}]}`, matching the event
 *   uuid or the uuid of one of its attributes (Event::set_filter_uuid);
 * - `POST /attributes/restSearch` `{"tags", "timestamp", "limit", "page", "includeEventTags"}` →
 *   `{"response": {"Attribute": [...]}}` (AttributesController::restSearch): attributes not
 *   deleted whose own or event's tags include any of `tags` (case-insensitive), whose
 *   timestamp is at or after `timestamp` (unix seconds, or "30d"/"12h"/"90m" before now),
 *   each with its `Event` {id, uuid, info, org_id, orgc_id, distribution} and its `Tag`s
 *   (the event's too with includeEventTags), in id order, `limit` per page, pages from 1;
 * - a non-JSON body → 405 "No valid event data received." / "Invalid JSON input. …".
 *
 * Stricter than MISP, on purpose (it is here to catch a malformed export): every posted event
 * goes through `validateMispEvent`, and any violation is a 403 save failure, where MISP would
 * often save the event and drop or fix the offending attribute. The checks follow the MISP core
 * format (https://github.com/MISP/misp-rfc misp-core-format/raw.md, b10f23a): the `Event`
 * wrapper, required fields and their JSON types, code values (threat_level_id 1–4, analysis
 * 0–2, distribution 0–4, attributes and reports 0–5), uuids, the category/type pairs of
 * CATEGORIES_BY_TYPE, value formats from AttributeValidationTool.php for those types,
 * first_seen ≤ last_seen, no repeated uuid or (type, category, value) in one event, tags with
 * names, `info` and report names one line of at most 256 characters (an RFC SHOULD). Not
 * checked: attribute types outside the table (refused as unknown), sharing groups, objects,
 * galaxies, sightings, proposals, publishing, correlation, organisation and permission rules,
 * the RFC's other SHOULDs.
 */
import { isIP } from "node:net"

/**
 * The valid categories of each attribute type the export may use: the category/type matrix of
 * the MISP core format (misp-rfc raw.md, "type"), the same as categoryDefinitions in
 * MISP's app/Model/MispAttribute.php.
 */
export const CATEGORIES_BY_TYPE: Readonly<Record<string, ReadonlyArray<string>>> = {
  "ip-src": ["External analysis", "Network activity", "Payload delivery"],
  "ip-dst": ["External analysis", "Network activity", "Payload delivery"],
  "url": ["External analysis", "Network activity", "Payload delivery"],
  "domain": ["External analysis", "Network activity", "Payload delivery"],
  "hassh-md5": ["External analysis", "Network activity", "Payload delivery"],
  "user-agent": ["External analysis", "Network activity", "Payload delivery"],
  "sha256": ["Artifacts dropped", "External analysis", "Payload delivery", "Payload installation"],
  "ssh-fingerprint": ["Network activity"],
  "AS": ["Network activity", "External analysis"],
  "campaign-id": ["Attribution"],
  "campaign-name": ["Attribution"],
  "text": [
    "Antivirus detection", "Artifacts dropped", "Attribution", "External analysis", "Financial fraud", "Internal reference",
    "Network activity", "Other", "Payload delivery", "Payload installation", "Payload type", "Persistence mechanism",
    "Person", "Social network", "Support Tool"
  ],
  "comment": [
    "Antivirus detection", "Artifacts dropped", "Attribution", "External analysis", "Financial fraud", "Internal reference",
    "Network activity", "Other", "Payload delivery", "Payload installation", "Payload type", "Persistence mechanism",
    "Person", "Social network", "Support Tool", "Targeting data"
  ]
}

export const AUTH_FAILED =
  "Authentication failed. Please make sure you pass the API key of an API enabled user along in the Authorization header."
export const EVENT_EXISTS = "Event already exists, if you would like to edit it, use the url in the location header."
export const NOT_NEWER = "Event could not be saved: Event in the request not newer than the local copy."

// ---------------------------------------------------------------------------------------------
// The validator
// ---------------------------------------------------------------------------------------------

type Json = Record<string, unknown>

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const DIGITS = /^\d+$/
const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value)
const hex = (length: number) => (value: string) => value.length === length && /^[0-9a-f]+$/i.test(value)
const singleLine = (value: string) => !/[\r\n]/.test(value)

const isIpOrCidr = (value: string): boolean => {
  const [address, prefix, ...rest] = value.split("/")
  if (rest.length > 0 || address === undefined) return false
  const family = isIP(address)
  if (family === 0) return false
  return prefix === undefined || (DIGITS.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128))
}

/** AttributeValidationTool::isSshFingerprint: MD5 hex (colons and an MD5: prefix allowed) or SHA256:<base64 of 32 bytes>. */
const isSshFingerprint = (value: string): boolean => {
  if (value.startsWith("SHA256:")) {
    const body = value.slice(7)
    return /^[A-Za-z0-9+/]+={0,2}$/.test(body) && Buffer.from(body, "base64").length === 32
  }
  return hex(32)(value.replace(/^MD5:/, "").replace(/:/g, ""))
}

/** Value rules of AttributeValidationTool::validate for the types of the table. */
const VALUE_RULES: Readonly<Record<string, (value: string) => boolean>> = {
  "ip-src": isIpOrCidr,
  "ip-dst": isIpOrCidr,
  "sha256": hex(64),
  "hassh-md5": hex(32),
  "ssh-fingerprint": isSshFingerprint,
  // AttributeValidationTool: "AS number have to be integer between 1 and 4294967295".
  "AS": (value) => DIGITS.test(value) && Number(value) >= 1 && Number(value) <= 4294967295,
  "domain": (value) => /^[A-Z0-9.\-_]+\.[A-Z0-9-]{2,}$/i.test(value),
  "url": singleLine,
  "user-agent": singleLine,
  "campaign-id": singleLine,
  "campaign-name": singleLine
}

const isDate = (value: string): boolean =>
  /^\d{4}-\d{2}-\d{2}$/.test(value) && new Date(`${value}T00:00:00Z`).toISOString().slice(0, 10) === value

/**
 * Violations of the MISP core format in one event document (`{"Event": {...}}`); empty when it
 * passes. See the header for what is and is not checked.
 */
export const validateMispEvent = (document: unknown): Array<string> => {
  const problems: Array<string> = []
  if (!isObject(document) || !isObject(document.Event)) return ["the document is not an object with an Event object"]
  const event = document.Event
  const requireString = (where: string, object: Json, key: string, rule?: (v: string) => boolean, ruleText?: string): void => {
    const value = object[key]
    if (typeof value !== "string") problems.push(`${where}.${key} must be a JSON string`)
    else if (rule !== undefined && !rule(value)) problems.push(`${where}.${key} ${ruleText ?? "is invalid"}: ${JSON.stringify(value).slice(0, 80)}`)
  }
  const optionalString = (where: string, object: Json, key: string): void => {
    if (object[key] !== undefined && typeof object[key] !== "string") problems.push(`${where}.${key} must be a JSON string`)
  }
  const requireBoolean = (where: string, object: Json, key: string): void => {
    if (typeof object[key] !== "boolean") problems.push(`${where}.${key} must be a JSON boolean`)
  }
  const oneOf = (codes: ReadonlyArray<string>) => (value: string) => codes.includes(value)

  requireString("Event", event, "uuid", (v) => UUID.test(v), "is not a UUID")
  requireString("Event", event, "info", (v) => v.trim() !== "" && v.length <= 256 && singleLine(v), "must be one non-empty line of at most 256 characters")
  requireString("Event", event, "date", isDate, "is not a YYYY-MM-DD date")
  requireString("Event", event, "threat_level_id", oneOf(["1", "2", "3", "4"]), "is not 1–4")
  requireString("Event", event, "analysis", oneOf(["0", "1", "2"]), "is not 0–2")
  requireString("Event", event, "distribution", oneOf(["0", "1", "2", "3", "4"]), "is not 0–4")
  requireString("Event", event, "timestamp", (v) => DIGITS.test(v), "is not Unix seconds")
  requireString("Event", event, "publish_timestamp", (v) => DIGITS.test(v), "is not Unix seconds")
  requireBoolean("Event", event, "published")
  for (const key of ["id", "orgc_id", "org_id", "sharing_group_id", "attribute_count", "extends_uuid"]) optionalString("Event", event, key)
  if (event.distribution === "4" && (event.sharing_group_id === undefined || event.sharing_group_id === "0")) {
    problems.push("Event.distribution is 4 (sharing group) but no sharing_group_id is given")
  }
  if (event.Orgc !== undefined && (!isObject(event.Orgc) || (typeof event.Orgc.name !== "string" && typeof event.Orgc.uuid !== "string"))) {
    problems.push("Event.Orgc must be an object with a name or a uuid")
  }

  const uuids = new Set<string>()
  const uniqueUuid = (where: string, value: unknown): void => {
    if (typeof value !== "string") return
    if (uuids.has(value.toLowerCase())) problems.push(`${where}.uuid ${value} is repeated in the event`)
    uuids.add(value.toLowerCase())
  }
  if (typeof event.uuid === "string") uuids.add(event.uuid.toLowerCase())

  const attributes = event.Attribute ?? []
  if (!Array.isArray(attributes)) problems.push("Event.Attribute must be an array")
  else {
    const triples = new Set<string>()
    attributes.forEach((attribute: unknown, i) => {
      const where = `Attribute[${i}]`
      if (!isObject(attribute)) return void problems.push(`${where} must be an object`)
      requireString(where, attribute, "uuid", (v) => UUID.test(v), "is not a UUID")
      uniqueUuid(where, attribute.uuid)
      requireString(where, attribute, "type")
      requireString(where, attribute, "category")
      requireString(where, attribute, "value", (v) => v !== "", "is empty")
      requireBoolean(where, attribute, "to_ids")
      requireBoolean(where, attribute, "deleted")
      requireString(where, attribute, "distribution", oneOf(["0", "1", "2", "3", "4", "5"]), "is not 0–5")
      requireString(where, attribute, "timestamp", (v) => DIGITS.test(v), "is not Unix seconds")
      for (const key of ["comment", "sharing_group_id", "event_id", "object_id", "object_relation"]) optionalString(where, attribute, key)
      if (attribute.disable_correlation !== undefined && typeof attribute.disable_correlation !== "boolean") {
        problems.push(`${where}.disable_correlation must be a JSON boolean`)
      }
      const { type, category, value } = attribute
      if (typeof type === "string" && typeof category === "string") {
        const categories = CATEGORIES_BY_TYPE[type]
        if (categories === undefined) problems.push(`${where}.type ${JSON.stringify(type)} is not a type the fake knows (see CATEGORIES_BY_TYPE)`)
        else if (!categories.includes(category)) problems.push(`${where}: category ${JSON.stringify(category)} is not valid for type ${type}`)
        const rule = VALUE_RULES[type]
        if (rule !== undefined && typeof value === "string" && !rule(value)) {
          problems.push(`${where}.value ${JSON.stringify(value).slice(0, 80)} is not a valid ${type}`)
        }
        const triple = `${type}|${category}|${String(value)}`
        if (triples.has(triple)) problems.push(`${where} repeats ${type}/${category} value ${JSON.stringify(value).slice(0, 80)}`)
        triples.add(triple)
      }
      const seen: Array<number> = []
      for (const key of ["first_seen", "last_seen"] as const) {
        const v = attribute[key]
        if (v === undefined || v === null) continue
        if (typeof v !== "string" || Number.isNaN(Date.parse(v))) problems.push(`${where}.${key} is not an ISO 8601 date-time`)
        else seen.push(Date.parse(v))
      }
      if (seen.length === 2 && seen[0]! > seen[1]!) problems.push(`${where}.first_seen is after its last_seen`)
    })
  }

  const tags = event.Tag ?? []
  if (!Array.isArray(tags)) problems.push("Event.Tag must be an array")
  else {
    const names = new Set<string>()
    tags.forEach((tag: unknown, i) => {
      if (!isObject(tag) || typeof tag.name !== "string" || tag.name.trim() === "") return void problems.push(`Tag[${i}] must be an object with a name`)
      if (tag.exportable !== undefined && typeof tag.exportable !== "boolean") problems.push(`Tag[${i}].exportable must be a JSON boolean`)
      if (names.has(tag.name.toLowerCase())) problems.push(`Tag[${i}] ${tag.name} is repeated`)
      names.add(tag.name.toLowerCase())
    })
  }

  const reports = event.EventReport ?? []
  if (!Array.isArray(reports)) problems.push("Event.EventReport must be an array")
  else {
    reports.forEach((report: unknown, i) => {
      const where = `EventReport[${i}]`
      if (!isObject(report)) return void problems.push(`${where} must be an object`)
      requireString(where, report, "uuid", (v) => UUID.test(v), "is not a UUID")
      uniqueUuid(where, report.uuid)
      requireString(where, report, "name", (v) => v.trim() !== "" && v.length <= 256 && singleLine(v), "must be one non-empty line of at most 256 characters")
      requireString(where, report, "content")
      requireString(where, report, "distribution", oneOf(["0", "1", "2", "3", "4", "5"]), "is not 0–5")
      requireString(where, report, "sharing_group_id")
      requireString(where, report, "timestamp", (v) => DIGITS.test(v), "is not Unix seconds")
      requireBoolean(where, report, "deleted")
    })
  }
  return problems
}

// ---------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------

/** An event as the fake stores and returns it (MISP adds ids, org fields and counts). */
export interface StoredEvent extends Json {
  id: string
  uuid: string
  timestamp: string
  Attribute: Array<Json>
  Tag: Array<Json>
  EventReport: Array<Json>
}

export interface FakeRequest {
  readonly method: string
  readonly path: string
  readonly status: number
}

export interface MispFake {
  /** Base URL, e.g. http://127.0.0.1:43121/ */
  readonly url: string
  readonly key: string
  /** Stored events in id order (copies). */
  readonly events: () => Array<StoredEvent>
  readonly eventByUuid: (uuid: string) => StoredEvent | undefined
  /** Every request answered, in order. */
  readonly requests: Array<FakeRequest>
  /** What MISP would have logged (attributes dropped for a uuid of another event). */
  readonly log: Array<string>
  readonly stop: () => Promise<void>
}

const FAKE_ORG = { id: "1", name: "FAKE-ORG", uuid: "5f7b2a1e-0000-4000-8000-000000000001" } as const

const cakeError = (status: number, message: string, url: string, headers: Record<string, string> = {}): Response =>
  Response.json({ name: message, message, url }, { status, headers })

const saveFail = (action: "add" | "edit", id: string | undefined, errors: unknown): Response => {
  const message = `Could not ${action} Event`
  return Response.json(
    { saved: false, name: message, message, url: `/events/${action}${id === undefined ? "" : `/${id}`}`, errors, ...(id === undefined ? {} : { id }) },
    { status: 403 }
  )
}

const copy = <T>(value: T): T => structuredClone(value)
const nowSeconds = (): string => String(Math.floor(Date.now() / 1000))

/** Starts the fake on a free loopback port; `key` is the only API key it accepts. */
export const startMispFake = (key: string): MispFake => {
  const events = new Map<string, StoredEvent>() // by id
  const tagIds = new Map<string, string>() // lower-case name → id
  const requests: Array<FakeRequest> = []
  const log: Array<string> = []
  let nextEventId = 1
  let nextAttributeId = 1
  let nextReportId = 1

  const find = (ref: string): StoredEvent | undefined => {
    if (DIGITS.test(ref)) return events.get(ref)
    if (UUID.test(ref)) return [...events.values()].find((e) => e.uuid.toLowerCase() === ref.toLowerCase())
    return undefined
  }
  const attributeOwner = (uuid: string): StoredEvent | undefined =>
    [...events.values()].find((e) => e.Attribute.some((a) => String(a.uuid).toLowerCase() === uuid.toLowerCase()))
  const reportOwner = (uuid: string): StoredEvent | undefined =>
    [...events.values()].find((e) => e.EventReport.some((r) => String(r.uuid).toLowerCase() === uuid.toLowerCase()))

  const storeTag = (tag: Json): Json => {
    const name = String(tag.name)
    let id = tagIds.get(name.toLowerCase())
    if (id === undefined) {
      id = String(tagIds.size + 1)
      tagIds.set(name.toLowerCase(), id)
    }
    return { id, name, colour: "#0088cc", exportable: tag.exportable ?? true, local: false }
  }
  const storeAttribute = (attribute: Json, event: StoredEvent): Json => ({
    ...copy(attribute),
    id: String(nextAttributeId++),
    event_id: event.id,
    object_id: "0",
    uuid: typeof attribute.uuid === "string" ? attribute.uuid : crypto.randomUUID(),
    timestamp: typeof attribute.timestamp === "string" ? attribute.timestamp : nowSeconds()
  })
  const storeReport = (report: Json, event: StoredEvent): Json => ({ ...copy(report), id: String(nextReportId++), event_id: event.id })
  const countAttributes = (event: StoredEvent): void => {
    event.attribute_count = String(event.Attribute.filter((a) => a.deleted !== true).length)
  }

  /** The body as MISP reads it: JSON, unwrapped from `response`/`request` like EventsController. */
  const readBody = async (request: Request, path: string): Promise<Json | Response> => {
    if (!(request.headers.get("content-type") ?? "").includes("application/json")) {
      return cakeError(405, "No valid event data received.", path)
    }
    let data: unknown
    try {
      data = JSON.parse(await request.text())
    } catch {
      return cakeError(405, "Invalid JSON input. Make sure that the JSON input is a correctly formatted JSON string. This request has been blocked to avoid an unfiltered request.", path)
    }
    if (!isObject(data)) return cakeError(405, "No valid event data received.", path)
    if (isObject(data.response)) data = data.response
    if (isObject(data) && isObject(data.request)) data = data.request
    return data as Json
  }

  const add = async (request: Request, path: string): Promise<Response> => {
    const body = await readBody(request, path)
    if (body instanceof Response) return body
    const problems = validateMispEvent(body)
    if (problems.length > 0) return saveFail("add", undefined, { Event: problems })
    const posted = body.Event as Json
    const existing = find(String(posted.uuid))
    if (existing !== undefined) return cakeError(404, EVENT_EXISTS, path, { Location: `/events/${existing.id}` })
    for (const attribute of posted.Attribute as Array<Json>) {
      const owner = attributeOwner(String(attribute.uuid))
      if (owner !== undefined) return saveFail("add", undefined, { Attribute: [`uuid ${String(attribute.uuid)} already belongs to event ${owner.id}`] })
    }
    for (const report of (posted.EventReport ?? []) as Array<Json>) {
      const owner = reportOwner(String(report.uuid))
      if (owner !== undefined) return saveFail("add", undefined, { EventReport: [`uuid ${String(report.uuid)} already belongs to event ${owner.id}`] })
    }
    const id = String(nextEventId++)
    const { Attribute, Tag, EventReport, Orgc: _orgc, id: _id, ...fields } = copy(posted)
    const event: StoredEvent = {
      ...fields,
      id,
      uuid: String(posted.uuid),
      timestamp: typeof posted.timestamp === "string" ? posted.timestamp : nowSeconds(),
      // The key's user is not a sync user: the event belongs to the key's organisation.
      org_id: FAKE_ORG.id,
      orgc_id: FAKE_ORG.id,
      Org: { ...FAKE_ORG },
      Orgc: { ...FAKE_ORG },
      Attribute: [],
      Tag: [],
      EventReport: []
    }
    event.Attribute = ((Attribute ?? []) as Array<Json>).map((a) => storeAttribute(a, event))
    event.Tag = ((Tag ?? []) as Array<Json>).map(storeTag)
    event.EventReport = ((EventReport ?? []) as Array<Json>).map((r) => storeReport(r, event))
    countAttributes(event)
    events.set(id, event)
    return Response.json({ Event: copy(event) })
  }

  const edit = async (request: Request, path: string, ref: string): Promise<Response> => {
    const stored = find(ref)
    if (stored === undefined) return cakeError(404, "Invalid event", path)
    const body = await readBody(request, path)
    if (body instanceof Response) return body
    const posted = isObject(body.Event) ? body.Event : undefined
    if (posted === undefined) return saveFail("edit", stored.id, { Event: ["the document is not an object with an Event object"] })
    // An edit may leave out what MISP then keeps (Event::_edit's recoverFields), the uuid, the
    // timestamp and published; check the rest after filling those in.
    const filled: { Event: Json } = { Event: { ...posted, timestamp: posted.timestamp ?? "0", published: posted.published ?? false } }
    for (const key of ["uuid", "info", "date", "threat_level_id", "analysis", "distribution", "publish_timestamp"] as const) {
      if (filled.Event[key] === undefined) filled.Event[key] = stored[key]
    }
    const editProblems = validateMispEvent(filled)
    if (editProblems.length > 0) return saveFail("edit", stored.id, { Event: editProblems })
    if (posted.uuid !== undefined && String(posted.uuid).toLowerCase() !== stored.uuid.toLowerCase()) {
      return saveFail("edit", stored.id, "Event could not be saved: Could not find the local event.")
    }
    if (typeof posted.timestamp === "string" && Number(posted.timestamp) <= Number(stored.timestamp)) {
      return saveFail("edit", stored.id, NOT_NEWER)
    }
    for (const key of ["date", "threat_level_id", "analysis", "info", "distribution", "sharing_group_id", "extends_uuid"]) {
      if (posted[key] !== undefined) stored[key] = posted[key]
    }
    stored.published = posted.published === true
    stored.timestamp = typeof posted.timestamp === "string" ? posted.timestamp : nowSeconds()

    for (const attribute of (posted.Attribute ?? []) as Array<Json>) {
      const uuid = String(attribute.uuid)
      const owner = attributeOwner(uuid)
      if (owner !== undefined && owner.id !== stored.id) {
        log.push(`An attribute was blocked from being saved due to a duplicate UUID. The uuid in question is: ${uuid}.`)
        continue
      }
      const index = stored.Attribute.findIndex((a) => String(a.uuid).toLowerCase() === uuid.toLowerCase())
      if (index < 0) {
        stored.Attribute.push(storeAttribute(attribute, stored))
        continue
      }
      const existing = stored.Attribute[index]!
      if (typeof attribute.timestamp === "string" && Number(attribute.timestamp) <= Number(existing.timestamp)) continue
      stored.Attribute[index] = { ...existing, ...copy(attribute), id: existing.id, event_id: stored.id, timestamp: attribute.timestamp ?? nowSeconds() }
    }
    for (const tag of (posted.Tag ?? []) as Array<Json>) {
      if (!stored.Tag.some((t) => String(t.name).toLowerCase() === String(tag.name).toLowerCase())) stored.Tag.push(storeTag(tag))
    }
    for (const report of (posted.EventReport ?? []) as Array<Json>) {
      const uuid = String(report.uuid)
      const owner = reportOwner(uuid)
      if (owner !== undefined && owner.id !== stored.id) {
        log.push(`An event report was blocked from being saved due to a duplicate UUID: ${uuid}.`)
        continue
      }
      const index = stored.EventReport.findIndex((r) => String(r.uuid).toLowerCase() === uuid.toLowerCase())
      if (index < 0) stored.EventReport.push(storeReport(report, stored))
      else if (Number(report.timestamp) > Number(stored.EventReport[index]!.timestamp)) {
        stored.EventReport[index] = { ...stored.EventReport[index]!, ...copy(report), id: stored.EventReport[index]!.id, event_id: stored.id }
      }
    }
    countAttributes(stored)
    return Response.json({ Event: copy(stored) })
  }

  const restSearch = async (request: Request, path: string): Promise<Response> => {
    const body = await readBody(request, path)
    if (body instanceof Response) return body
    const wanted = (Array.isArray(body.uuid) ? body.uuid : body.uuid === undefined ? [] : [body.uuid]).map((u) => String(u).toLowerCase())
    const matches = [...events.values()].filter((e) =>
      wanted.length === 0 ||
      wanted.includes(e.uuid.toLowerCase()) ||
      e.Attribute.some((a) => wanted.includes(String(a.uuid).toLowerCase()))
    )
    return Response.json({ response: matches.map((e) => ({ Event: copy(e) })) })
  }

  const attributeSearch = async (request: Request, path: string): Promise<Response> => {
    const body = await readBody(request, path)
    if (body instanceof Response) return body
    const wanted = (Array.isArray(body.tags) ? body.tags : body.tags === undefined ? [] : [body.tags]).map((t) => String(t).toLowerCase())
    const since = (() => {
      const t = body.timestamp
      if (t === undefined || t === null || t === "") return 0
      const relative = /^(\d+)([dhm])$/.exec(String(t))
      if (relative !== null) return Math.floor(Date.now() / 1000) - Number(relative[1]) * { d: 86_400, h: 3_600, m: 60 }[relative[2] as "d" | "h" | "m"]
      return Number(t) || 0
    })()
    const withEventTags = body.includeEventTags === true || body.includeEventTags === 1 || body.includeEventTags === "1"
    const found: Array<Json> = []
    for (const event of [...events.values()].sort((a, b) => Number(a.id) - Number(b.id))) {
      for (const attribute of event.Attribute) {
        if (attribute.deleted === true || Number(attribute.timestamp) < since) continue
        const own = Array.isArray(attribute.Tag) ? (attribute.Tag as Array<Json>) : []
        const names = [...own, ...event.Tag].map((t) => String(t.name).toLowerCase())
        if (wanted.length > 0 && !names.some((n) => wanted.includes(n))) continue
        found.push({
          ...copy(attribute),
          Event: { id: event.id, uuid: event.uuid, info: event.info, org_id: FAKE_ORG.id, orgc_id: FAKE_ORG.id, distribution: event.distribution ?? "0" },
          Tag: copy(withEventTags ? [...own, ...event.Tag] : own)
        })
      }
    }
    found.sort((a, b) => Number(a.id) - Number(b.id))
    const limit = Number(body.limit) > 0 ? Number(body.limit) : found.length
    const page = Number(body.page) > 0 ? Number(body.page) : 1
    return Response.json({ response: { Attribute: found.slice((page - 1) * limit, page * limit) } })
  }

  const route = async (request: Request): Promise<Response> => {
    const path = new URL(request.url).pathname
    if (!(request.headers.get("accept") ?? "").includes("application/json")) {
      return new Response(null, { status: 302, headers: { Location: "/users/login" } })
    }
    if (request.headers.get("authorization") !== key) return cakeError(403, AUTH_FAILED, path)
    const view = /^\/events\/view\/([^/]+)\/?$/.exec(path)
    if (view !== null && request.method === "GET") {
      const event = find(decodeURIComponent(view[1]!))
      return event === undefined ? cakeError(404, "Invalid event", path) : Response.json({ Event: copy(event) })
    }
    const editRef = /^\/events\/edit\/([^/]+)\/?$/.exec(path)
    if (editRef !== null && (request.method === "POST" || request.method === "PUT")) return edit(request, path, decodeURIComponent(editRef[1]!))
    if (/^\/events\/add\/?$/.test(path) && request.method === "POST") return add(request, path)
    if (/^\/events\/restSearch\/?$/.test(path) && request.method === "POST") return restSearch(request, path)
    if (/^\/attributes\/restSearch\/?$/.test(path) && request.method === "POST") return attributeSearch(request, path)
    return cakeError(404, "Not Found", path)
  }

  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: async (request) => {
      const response = await route(request)
      requests.push({ method: request.method, path: new URL(request.url).pathname, status: response.status })
      return response
    }
  })

  return {
    url: `http://127.0.0.1:${server.port}/`,
    key,
    events: () => [...events.values()].sort((a, b) => Number(a.id) - Number(b.id)).map(copy),
    eventByUuid: (uuid) => {
      const event = find(uuid)
      return event === undefined ? undefined : copy(event)
    },
    requests,
    log,
    stop: () => server.stop(true)
  }
}

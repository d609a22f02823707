/**
 * What the server's edge (Server.ts) learned about a request before the API handled it: its
 * request id and the client's address. The edge sets them as headers it always overwrites,
 * so a client cannot choose its own address or reuse another request's id.
 */
import * as Effect from "effect/Effect"
import { HttpServerRequest } from "effect/http"

export const REQUEST_ID_HEADER = "x-request-id"
export const CLIENT_IP_HEADER = "x-dshield-client-ip"

export interface RequestInfo {
  readonly requestId: string
  readonly clientIp: string | null
  readonly path: string
}

export const requestInfo: Effect.Effect<RequestInfo, never, HttpServerRequest.HttpServerRequest> = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  return {
    requestId: request.headers[REQUEST_ID_HEADER] ?? "",
    clientIp: request.headers[CLIENT_IP_HEADER] ?? null,
    path: new URL(request.url, "http://server").pathname
  }
})

/**
 * Webhooks of finished API analyses: the callback URL is checked when the analysis is
 * submitted (a refused target is a 400 then, not a silent loss later) and again, with every
 * redirect hop, when the summary is delivered (webhooks/Delivery.ts). Each attempt is
 * recorded in webhook_deliveries, in the analysis's tenant.
 *
 * Signing secrets are per tenant: each is derived from the server's secret and the tenant's
 * name, so a receiver of one tenant (which must know its secret to verify) cannot sign
 * deliveries another tenant's receiver would accept. A tenant reads its secret at
 * GET /webhooks/secret, an operator with `dshield-coord keys webhook-secret --tenant T`.
 * The server's secret: DSHIELD_WEBHOOK_SECRET, else one made once and kept beside the
 * embedded store (`webhook-secret`, mode 0600); changing it rotates every tenant's.
 */
import { createHmac, randomBytes } from "node:crypto"
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname } from "node:path"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type { SqlStore } from "../store/SqlStore.ts"
import type { Finished } from "./AnalysisRunner.ts"
import { asTenant } from "./ApiRepository.ts"
import { recordWebhookAttempt } from "./TenantRepository.ts"
import { deliverWebhook } from "./webhooks/Delivery.ts"
import { checkWebhookTarget, type TargetGuardConfig } from "./webhooks/TargetGuard.ts"

export interface WebhookSettings {
  readonly secret: string
  readonly guard: TargetGuardConfig
  readonly maxAttempts?: number | undefined
  readonly baseDelayMs?: number | undefined
}

/** The signing secret from the environment, or the one kept at `path` (made when missing). */
export const loadWebhookSecret = (env: string | undefined, path: string): string => {
  if (env !== undefined && env.trim() !== "") return env.trim()
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, `${randomBytes(32).toString("base64url")}\n`, { mode: 0o600, flag: "wx" })
  }
  return readFileSync(path, "utf8").trim()
}

/** A tenant's signing secret, derived from the server's (HMAC-SHA256 over a labelled tenant name). */
export const tenantWebhookSecret = (serverSecret: string, tenant: string): string =>
  `whsec_${createHmac("sha256", serverSecret).update(`dshield-coord webhook v1\u0000${tenant}`).digest("base64url")}`

/** Undefined when the URL may be called; else one sentence saying why not. */
export const refusedCallback = (url: string, settings: WebhookSettings): Effect.Effect<string | undefined> =>
  checkWebhookTarget(url, settings.guard).pipe(
    Effect.as(undefined),
    Effect.catchTag("WebhookTargetRefused", (e) => Effect.succeed(e.message)),
    // A name that does not resolve now may later: delivery retries it.
    Effect.catchTag("WebhookTargetUnresolved", () => Effect.succeed(undefined))
  )

export const deliverCompletion = (f: Finished, settings: WebhookSettings, store: Context.Context<SqlStore>): Effect.Effect<void> =>
  deliverWebhook(f.callbackUrl, { event: "analysis.finished", ...f.summary }, {
    secret: tenantWebhookSecret(settings.secret, f.tenant),
    deliveryId: `${f.id}-finished`,
    guard: settings.guard,
    ...(settings.maxAttempts === undefined ? {} : { maxAttempts: settings.maxAttempts }),
    ...(settings.baseDelayMs === undefined ? {} : { baseDelayMs: settings.baseDelayMs }),
    onAttempt: (a) =>
      asTenant(f.tenant, "webhook", recordWebhookAttempt({
        analysisId: f.id,
        tenant: f.tenant,
        url: a.url,
        attempt: a.attempt,
        statusCode: a.status ?? null,
        error: a.error ?? null,
        delivered: a.error === undefined,
        durationMs: a.durationMs
      })).pipe(Effect.provideContext(store), Effect.ignore)
  }).pipe(Effect.asVoid)

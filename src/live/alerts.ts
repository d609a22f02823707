/**
 * Live mode's alerts: after each commit, one message per campaign family the commit created
 * (`campaign.new`) or brought back from dormant or concluded (`campaign.reactivated`),
 * published on a NATS subject and POSTed to a webhook — signed and guarded exactly like the
 * HTTP API's webhooks (src/api/webhooks: HMAC signature with the tenant's secret, the SSRF
 * guard on every attempt and redirect, retries with backoff). Deliveries run beside the
 * consumer, never holding it up; a delivery that fails is reported on stderr, not retried
 * forever.
 */
import * as Effect from "effect/Effect"
import type { NatsConnection } from "nats"
import { tenantWebhookSecret } from "../api/webhookDispatch.ts"
import { deliverWebhook } from "../api/webhooks/Delivery.ts"
import type { TargetGuardConfig } from "../api/webhooks/TargetGuard.ts"
import type { LiveCommitReport } from "./LiveStore.ts"

export const DEFAULT_ALERT_SUBJECT = "coord.alerts.campaign"

export interface CampaignAlert {
  readonly event: "campaign.new" | "campaign.reactivated"
  readonly campaign: {
    readonly id: string
    readonly name: string
    readonly level: string
    /** How many sessions and distinct source addresses it has now. */
    readonly sessions: number
    readonly source_ips: number
    readonly first_seen: string
    readonly last_seen: string
    readonly confidence: number
    readonly assessment: string
  }
  readonly analysis_id: string
  readonly tenant: string
}

/** The alerts of one commit: families created or re-activated by it, largest first. */
export const campaignAlerts = (report: Pick<LiveCommitReport, "result" | "analysisId" | "created" | "reactivated">, tenant: string): Array<CampaignAlert> => {
  const created = new Set(report.created)
  const reactivated = new Set(report.reactivated)
  const out: Array<CampaignAlert> = []
  const families = report.result.campaigns
    .filter((c) => c.level === "family" && (created.has(c.id) || reactivated.has(c.id)))
    .sort((a, b) => b.sessions.length - a.sessions.length || (a.id < b.id ? -1 : 1))
  for (const c of families) {
    out.push({
      event: created.has(c.id) ? "campaign.new" : "campaign.reactivated",
      campaign: {
        id: c.id,
        name: c.name,
        level: c.level,
        sessions: c.sessions.length,
        source_ips: c.source_ips.length,
        first_seen: c.first_seen,
        last_seen: c.last_seen,
        confidence: c.confidence,
        assessment: c.assessment
      },
      analysis_id: report.analysisId,
      tenant
    })
  }
  return out
}

export interface AlertWebhook {
  readonly url: string
  /** The server secret (DSHIELD_WEBHOOK_SECRET); deliveries are signed with the tenant's secret derived from it. */
  readonly serverSecret: string
  readonly guard: TargetGuardConfig
  readonly maxAttempts?: number
  readonly baseDelayMs?: number
}

export interface AlertSink {
  readonly send: (alerts: ReadonlyArray<CampaignAlert>) => void
  /** Waits for deliveries in flight, at most `timeoutMs`. */
  readonly close: (timeoutMs: number) => Promise<void>
}

const encoder = new TextEncoder()

export const alertSink = (nc: NatsConnection, subject: string | undefined, webhook: AlertWebhook | undefined, tenant: string, log: (line: string) => void): AlertSink => {
  const inFlight = new Set<Promise<void>>()
  return {
    send: (alerts) => {
      for (const alert of alerts) {
        if (subject !== undefined) nc.publish(subject, encoder.encode(JSON.stringify(alert)))
        if (webhook === undefined) continue
        const delivery = Effect.runPromise(deliverWebhook(webhook.url, alert, {
          secret: tenantWebhookSecret(webhook.serverSecret, tenant),
          // The receiver's idempotency key: one per campaign and event of one commit.
          deliveryId: `${alert.analysis_id}-${alert.campaign.id}-${alert.event === "campaign.new" ? "new" : "reactivated"}`,
          guard: webhook.guard,
          ...(webhook.maxAttempts === undefined ? {} : { maxAttempts: webhook.maxAttempts }),
          ...(webhook.baseDelayMs === undefined ? {} : { baseDelayMs: webhook.baseDelayMs })
        })).then(
          (record) => {
            if (!record.delivered) log(`live: the ${alert.event} alert of campaign ${alert.campaign.id} was not delivered to the webhook: ${record.finalReason}`)
          },
          (error) => log(`live: the ${alert.event} alert of campaign ${alert.campaign.id} could not be delivered: ${String(error)}`)
        )
        inFlight.add(delivery)
        void delivery.finally(() => inFlight.delete(delivery))
      }
    },
    close: async (timeoutMs) => {
      if (inFlight.size === 0) return
      let timer: ReturnType<typeof setTimeout> | undefined
      await Promise.race([
        Promise.all(inFlight),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))
      ])
      if (timer !== undefined) clearTimeout(timer)
      if (inFlight.size > 0) log(`live: ${inFlight.size} webhook deliver${inFlight.size === 1 ? "y was" : "ies were"} still in progress at exit and stopped.`)
    }
  }
}

// The way back from PagerDuty: a v3 webhook saying an incident was acknowledged, resolved or
// unacknowledged there, checked against its signature, as the action Yixing takes on the
// group whose dedup key (pagerDutyDedupKey) the incident carries as its incident_key.
// Signatures: https://developer.pagerduty.com/docs/webhooks/webhook-signatures/
// Payload: https://developer.pagerduty.com/docs/webhooks/v3-overview/
import { createHmac, timingSafeEqual } from 'node:crypto';
import { YxError } from '@yixing/common';

/** No signature on the request matches a configured secret: not from PagerDuty (or a rotated secret). */
export class WebhookSignatureError extends YxError {
  readonly code = 'WEBHOOK_SIGNATURE_INVALID';
  readonly retryable = false;
  override readonly httpStatus = 401;
}

/** The body is not a PagerDuty v3 webhook event. */
export class WebhookPayloadError extends YxError {
  readonly code = 'WEBHOOK_PAYLOAD_INVALID';
  readonly retryable = false;
  override readonly httpStatus = 400;
}

export type PagerDutyIncidentAction = 'acknowledge' | 'resolve' | 'unacknowledge';

export type PagerDutyWebhookResult =
  | {
      kind: 'action';
      action: PagerDutyIncidentAction;
      /** The incident's incident_key: the dedup key Yixing sent (pagerDutyDedupKey). */
      dedupKey: string;
      incidentId: string;
      /** Who did it in PagerDuty (the agent's summary, usually a name), for the audit. */
      actor: string;
      /** When PagerDuty says it happened (epoch ms); the receipt time when it does not say. */
      at: number;
    }
  /** A genuine event Yixing has nothing to do with (incident.triggered, pagey.ping, …): answer 2xx and drop it. */
  | { kind: 'ignored'; eventType: string };

const ACTIONS: Readonly<Record<string, PagerDutyIncidentAction>> = {
  'incident.acknowledged': 'acknowledge',
  'incident.resolved': 'resolve',
  'incident.unacknowledged': 'unacknowledge',
};

export type RequestHeaders = Readonly<Record<string, string | string[] | undefined>>;

function header(headers: RequestHeaders, name: string): string | undefined {
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === name) return Array.isArray(v) ? v.join(',') : v;
  }
  return undefined;
}

/**
 * True when one of the `v1=<hex>` signatures in X-PagerDuty-Signature (comma-separated: one
 * per active secret during a rotation) is the HMAC-SHA256 of the raw body under one of `secrets`.
 */
export function verifyPagerDutySignature(rawBody: string, signatureHeader: string | undefined, secrets: readonly string[]): boolean {
  const given = (signatureHeader ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('v1='))
    .map((s) => Buffer.from(s.slice(3), 'hex'));
  let ok = false;
  for (const secret of secrets) {
    const expected = createHmac('sha256', secret).update(rawBody, 'utf8').digest();
    // Every pair compared, in constant time each, so timing tells nothing about which matched.
    for (const g of given) if (g.byteLength === expected.byteLength && timingSafeEqual(g, expected)) ok = true;
  }
  return ok;
}

/**
 * Checks and reads one PagerDuty v3 webhook delivery. Throws WebhookSignatureError (401)
 * when no signature matches, WebhookPayloadError (400) when the body is not an event.
 */
export function parsePagerDutyWebhook(
  rawBody: string,
  headers: RequestHeaders,
  secrets: readonly string[],
  now: number,
): PagerDutyWebhookResult {
  if (secrets.length === 0) throw new WebhookSignatureError('PagerDuty webhook: no secret is configured to check signatures with');
  if (!verifyPagerDutySignature(rawBody, header(headers, 'x-pagerduty-signature'), secrets)) {
    throw new WebhookSignatureError('PagerDuty webhook: X-PagerDuty-Signature is missing or matches no configured secret');
  }
  let body: unknown;
  try {
    body = JSON.parse(rawBody);
  } catch (err) {
    throw new WebhookPayloadError('PagerDuty webhook: the body is not JSON', { cause: err });
  }
  const event = (body as { event?: unknown } | null)?.event as Record<string, unknown> | undefined;
  const eventType = event?.event_type;
  if (typeof eventType !== 'string') throw new WebhookPayloadError('PagerDuty webhook: event.event_type is missing');
  const action = ACTIONS[eventType];
  if (!action) return { kind: 'ignored', eventType };
  const data = event?.data as Record<string, unknown> | undefined;
  const dedupKey = data?.incident_key;
  const incidentId = data?.id;
  if (typeof incidentId !== 'string') throw new WebhookPayloadError(`PagerDuty webhook: ${eventType} without event.data.id`);
  // An incident opened by hand in PagerDuty has no key of ours: nothing in Yixing to act on.
  if (typeof dedupKey !== 'string' || dedupKey === '') return { kind: 'ignored', eventType };
  const agent = event?.agent as Record<string, unknown> | null | undefined;
  const actor = typeof agent?.summary === 'string' ? agent.summary : typeof agent?.id === 'string' ? agent.id : 'PagerDuty';
  const occurred = typeof event?.occurred_at === 'string' ? Date.parse(event.occurred_at) : Number.NaN;
  return { kind: 'action', action, dedupKey, incidentId, actor, at: Number.isNaN(occurred) ? now : occurred };
}

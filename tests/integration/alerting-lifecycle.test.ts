// An alert's life as on-call sees it: it repeats until acknowledged, and acknowledging
// stops the repeats (PagerDuty hears "acknowledge"); it resolves and the receivers hear it;
// a silence keeps it quiet and its expiry tells again what still fires; a plan whose error
// budget is exhausted holds back its hosts' alerts until it resumes. Real NATS, FerretDB,
// the service as a process and real HTTP receivers.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type CapturedRequest, type CaptureServer, startCaptureServer } from '@yixing/alerting/internal';
import { type AlertingProcess, alertingApi, type EventSource, eventSource, startAlerting } from '../fixtures/alerting.ts';
import { type Stack, startStack } from '../fixtures/stack.ts';
import { waitUntil } from '../fixtures/wait.ts';

const GROUP_INTERVAL_MS = 2_000;
const REPEAT_MS = 4_000;
const PAGERDUTY_SECRET = 'pd-webhook-secret';

let stack: Stack;
let alerting: AlertingProcess;
let events: EventSource;
let webhook: CaptureServer;
let pagerduty: CaptureServer;

before(async () => {
  stack = await startStack('alerting-lifecycle');
  webhook = await startCaptureServer({ status: 200, body: '' });
  pagerduty = await startCaptureServer({ status: 202, body: { status: 'success' } });
  alerting = await startAlerting(
    stack,
    {
      route: {
        receiver: 'oncall',
        group_by: ['plan', 'alertname'],
        group_wait: '1s',
        group_interval: `${GROUP_INTERVAL_MS}ms`,
        repeat_interval: `${REPEAT_MS}ms`,
      },
      receivers: [
        {
          name: 'oncall',
          webhook_configs: [{ url: `${webhook.base}/hook` }],
          pagerduty_configs: [{ routing_key: 'R0123456789abcdef0123456789abcdef', url: `${pagerduty.base}/v2/enqueue` }],
        },
      ],
      inhibit_rules: [
        {
          source_matchers: ['alertname="ErrorBudgetExhausted"'],
          target_matchers: ['alertname=~"StepFailed|HostStuck|AgentLost"'],
          equal: ['plan'],
        },
      ],
    },
    'alerting',
    { YX_PAGERDUTY_WEBHOOK_SECRETS: PAGERDUTY_SECRET },
  );
  events = await eventSource(stack);
});

after(async () => {
  await events?.close();
  await alerting?.proc.kill('SIGTERM');
  await Promise.all([webhook?.close(), pagerduty?.close()]);
  await stack?.stop();
});

interface WebhookBody {
  status: 'firing' | 'resolved';
  groupLabels: Record<string, string>;
  alerts: { status: string; labels: Record<string, string> }[];
}

/** The webhook notifications of one plan's group of `alertname`, oldest first. */
const notes = (plan: string, alertname = 'StepFailed'): (WebhookBody & { at: number })[] =>
  webhook.requests
    .map((r: CapturedRequest) => ({ ...(JSON.parse(r.body) as WebhookBody), at: r.at }))
    .filter((b) => b.groupLabels.plan === plan && b.groupLabels.alertname === alertname);
/** The PagerDuty events of one plan's incident: its triggers name the plan; acknowledge and resolve only carry the dedup key. */
const pages = (plan: string): { event_action: string; dedup_key: string }[] => {
  const all = pagerduty.requests.map((r) => ({ ...(JSON.parse(r.body) as { event_action: string; dedup_key: string }), raw: r.body }));
  const key = all.find((p) => p.raw.includes(`"${plan}"`))?.dedup_key;
  return all.filter((p) => key !== undefined && p.dedup_key === key);
};
const hosts = (b: WebhookBody, status = 'firing'): string[] =>
  b.alerts
    .filter((a) => a.status === status)
    .map((a) => a.labels.host ?? '')
    .sort();

async function waitForNotes(plan: string, n: number, alertname = 'StepFailed'): Promise<void> {
  await waitUntil(async () => ({ done: notes(plan, alertname).length >= n, value: null, state: String(notes(plan, alertname).length) }), {
    what: `${n} notifications of ${plan}/${alertname}`,
  });
}

async function firing(plan: string): Promise<{ fingerprint: string; labels: Record<string, string> }[]> {
  const page = await alertingApi<{ items: { fingerprint: string; labels: Record<string, string> }[] }>(
    alerting.api,
    'GET',
    `/v1/alerts?state=firing&plan=${plan}`,
  );
  return page.items;
}

describe('alerting: acknowledge, resolve, silence, inhibit', () => {
  it('repeats until acknowledged, then stops; resolving sends a resolved notification', async () => {
    await events.stepFailed('ack', 'ack-h1');
    await events.stepFailed('ack', 'ack-h2');
    // Both hosts are in the group's first notification, or (one stored after group_wait on a
    // loaded machine) in the next; from then on the group repeats until it is acknowledged.
    const both = () => notes('ack').findIndex((n) => hosts(n).join() === 'ack-h1,ack-h2');
    await waitUntil(
      async () => ({ done: both() >= 0 && notes('ack').length > both() + 1, value: null, state: String(notes('ack').length) }),
      {
        what: 'the group notified with both hosts, then repeated',
      },
    );
    const [first, repeat] = notes('ack').slice(both());
    assert.ok(both() <= 1, 'both hosts by the second notification');
    assert.ok((repeat?.at ?? 0) - (first?.at ?? 0) >= REPEAT_MS - 250, 'an unacknowledged group repeats after repeat_interval');
    assert.ok(
      pages('ack').every((p) => p.event_action === 'trigger'),
      'PagerDuty: triggers only, before the acknowledgement',
    );

    for (const a of await firing('ack')) await alertingApi(alerting.api, 'POST', `/v1/alerts/${a.fingerprint}/ack`);
    await waitUntil(
      async () => ({ done: pages('ack').at(-1)?.event_action === 'acknowledge', value: null, state: String(pages('ack').length) }),
      { what: 'the acknowledgement' },
    );
    const afterAck = pages('ack').length;
    const acknowledgedAt = notes('ack').length;
    await sleep(2 * REPEAT_MS + 1_000);
    assert.equal(notes('ack').length, acknowledgedAt, 'no repeat once every alert is acknowledged');
    assert.equal(pages('ack').length, afterAck, 'nothing more to PagerDuty once acknowledged');

    await events.runSucceeded('ack', 'ack-h1');
    await events.runSucceeded('ack', 'ack-h2');
    await waitUntil(
      async () => {
        const last = notes('ack').at(-1);
        return { done: last?.status === 'resolved', value: null, state: `${notes('ack').length}:${last?.status}` };
      },
      { what: 'the resolved notification' },
    );
    // Both resolutions are notified: together, or (a flush between the two events on a
    // loaded machine) h1's with h2 still firing, then h2's; as in Alertmanager, an alert
    // notified resolved once leaves the group.
    const resolvedHosts = notes('ack')
      .slice(acknowledgedAt)
      .flatMap((n) => hosts(n, 'resolved'));
    assert.deepEqual([...new Set(resolvedHosts)].sort(), ['ack-h1', 'ack-h2']);
    assert.deepEqual(hosts(notes('ack').at(-1) as WebhookBody, 'firing'), [], 'the last notification fires nothing');
    await waitUntil(
      async () => ({ done: pages('ack').at(-1)?.event_action === 'resolve', value: null, state: String(pages('ack').length) }),
      {
        what: 'PagerDuty resolve',
      },
    );
  });

  it('a silence keeps an alert out of notifications; when it expires, what still fires is notified again', async () => {
    await alertingApi(alerting.api, 'POST', '/v1/silences', {
      matchers: '{plan="sil", host="sil-h1"}',
      duration: '6s',
      comment: 'known, being fixed',
    });
    await events.stepFailed('sil', 'sil-h1');
    await events.stepFailed('sil', 'sil-h2');
    await waitForNotes('sil', 1);
    assert.deepEqual(hosts(notes('sil')[0] as WebhookBody), ['sil-h2'], 'the silenced host is left out');
    // Alertmanager would wait for repeat_interval here (1 h in its default); we tell at the next flush.
    await waitUntil(
      async () => {
        const withH1 = notes('sil').find((n) => hosts(n).includes('sil-h1'));
        return { done: withH1 !== undefined, value: null, state: String(notes('sil').length) };
      },
      { what: 'the silenced host notified after the silence expired' },
    );
    const renotified = notes('sil').find((n) => hosts(n).includes('sil-h1')) as WebhookBody & { at: number };
    assert.deepEqual(hosts(renotified), ['sil-h1', 'sil-h2']);
  });

  it('a plan whose error budget is exhausted holds back its hosts’ alerts until it resumes', async () => {
    await events.planState('inh', 'budget-exhausted', 'budget-exhausted', { failures: 3, seq: 1 });
    await waitForNotes('inh', 1, 'ErrorBudgetExhausted');
    await events.stepFailed('inh', 'inh-h1');
    await events.stepFailed('other', 'other-h1');
    await waitUntil(async () => ({ done: (await firing('inh')).length === 2, value: null, state: String((await firing('inh')).length) }), {
      what: 'the plan alert and the host alert firing',
    });
    // Another plan's failure goes out; this plan's host waits behind its plan's alert.
    await waitForNotes('other', 1);
    await sleep(2 * GROUP_INTERVAL_MS + 1_000);
    assert.equal(notes('inh').length, 0, 'the inhibited host alert is not notified');

    await events.planState('inh', 'resumed', 'running', { seq: 2 });
    await waitForNotes('inh', 1);
    assert.deepEqual(hosts(notes('inh')[0] as WebhookBody), ['inh-h1']);
    await waitUntil(
      async () => ({
        done: notes('inh', 'ErrorBudgetExhausted').at(-1)?.status === 'resolved',
        value: null,
        state: String(notes('inh', 'ErrorBudgetExhausted').length),
      }),
      { what: 'the plan alert resolved' },
    );
  });

  it('an acknowledgement made in PagerDuty comes back: the alerts are acknowledged and stop repeating', async () => {
    await events.stepFailed('pd', 'pd-h1');
    await waitUntil(async () => ({ done: pages('pd').length >= 1, value: null, state: String(pages('pd').length) }), {
      what: 'the PagerDuty trigger',
    });
    const dedupKey = pages('pd')[0]?.dedup_key ?? '';
    // PagerDuty's v3 webhook, signed as PagerDuty signs it: v1=hex(HMAC-SHA256(secret, body)).
    const body = JSON.stringify({
      event: {
        id: 'E1',
        event_type: 'incident.acknowledged',
        occurred_at: new Date().toISOString(),
        agent: { id: 'P1', type: 'user_reference', summary: 'Wang Fang' },
        data: { id: 'Q1', type: 'incident', incident_key: dedupKey, status: 'acknowledged' },
      },
    });
    const res = await fetch(new URL('/v1/webhooks/pagerduty', alerting.api), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-pagerduty-signature': `v1=${createHmac('sha256', PAGERDUTY_SECRET).update(body).digest('hex')}`,
      },
      body,
    });
    assert.ok(res.ok, `the webhook answered ${res.status}`);
    const [alert] = await firing('pd');
    const view = await alertingApi<{ acknowledged: boolean; ackedBy: string }>(alerting.api, 'GET', `/v1/alerts/${alert?.fingerprint}`);
    assert.equal(view.acknowledged, true);
    assert.equal(view.ackedBy, 'pagerduty:Wang Fang');
    await waitUntil(
      async () => ({ done: pages('pd').at(-1)?.event_action === 'acknowledge', value: null, state: String(pages('pd').length) }),
      {
        what: 'the group notified as acknowledged',
      },
    );
    const [pagesAfter, notesAfter] = [pages('pd').length, notes('pd').length];
    await sleep(2 * REPEAT_MS + 1_000);
    assert.equal(notes('pd').length, notesAfter, 'no repeat');
    assert.equal(pages('pd').length, pagesAfter);
  });
});

// The alerting service SIGKILLed in the middle of its deliveries, then started again:
// every group is notified, none gets a second notification within its repeat interval,
// and at most the one request in flight at the kill is sent again (with the same
// idempotency key, so a receiver can drop it). Two replicas running at once: every
// notification is sent exactly once. Real NATS, FerretDB, processes and HTTP receivers.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type AlertingProcess, type EventSource, eventSource, startAlerting } from '../fixtures/alerting.ts';
import { type Stack, startStack } from '../fixtures/stack.ts';
import { waitUntil } from '../fixtures/wait.ts';

const GROUPS = 30;
const LEASE_MS = 3_000; // YX_ALERTING_LEASE_MS in the fixture

interface Received {
  at: number;
  key: string;
  group: string;
}

/** A webhook receiver that answers each request after `delayMs`, recording it on arrival. */
async function slowReceiver(delayMs: number): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { groupKey: string };
      received.push({ at: Date.now(), key: String(req.headers['idempotency-key']), group: body.groupKey });
      setTimeout(() => res.end(), delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const config = (url: string) => ({
  route: { receiver: 'oncall', group_by: ['plan'], group_wait: '500ms', group_interval: '1s', repeat_interval: '1h' },
  receivers: [{ name: 'oncall', webhook_configs: [{ url }] }],
});

const byGroup = (received: readonly Received[]): Map<string, Set<string>> => {
  const m = new Map<string, Set<string>>();
  for (const r of received) m.set(r.group, (m.get(r.group) ?? new Set()).add(r.key));
  return m;
};

async function failGroups(events: EventSource, prefix: string): Promise<void> {
  for (let i = 0; i < GROUPS; i++) await events.stepFailed(`${prefix}${i}`, `${prefix}h${i}`);
}

describe('alerting under faults', () => {
  let stack: Stack;
  let events: EventSource;
  before(async () => {
    stack = await startStack('alerting-kill');
    events = await eventSource(stack);
  });
  after(async () => {
    await events?.close();
    await stack?.stop();
  });

  it('SIGKILLed mid-delivery: nothing lost, no group notified twice, only the request in flight re-sent', async () => {
    const receiver = await slowReceiver(150);
    const first: AlertingProcess = await startAlerting(stack, config(receiver.url), 'alerting-killed');
    let second: AlertingProcess | undefined;
    try {
      await failGroups(events, 'k');
      await waitUntil(async () => ({ done: receiver.received.length >= 5, value: null, state: String(receiver.received.length) }), {
        what: 'deliveries under way',
      });
      await first.proc.kill('SIGKILL');
      const atKill = receiver.received.length;
      assert.ok(atKill < GROUPS, `the kill came before the last delivery (${atKill} of ${GROUPS})`);
      second = await startAlerting(stack, config(receiver.url), 'alerting-restarted');
      await waitUntil(
        async () => ({ done: byGroup(receiver.received).size === GROUPS, value: null, state: String(byGroup(receiver.received).size) }),
        { what: 'every group notified after the restart' },
      );
      // Anything else that would come (a second claim, a late take-over) comes within a lease and a group interval.
      await sleep(LEASE_MS + 2_000);
      const groups = byGroup(receiver.received);
      assert.equal(groups.size, GROUPS, 'every group notified');
      for (const [group, ids] of groups) assert.equal(ids.size, 1, `${group}: one notification, not ${[...ids].join(', ')}`);
      const resent = receiver.received.length - GROUPS;
      assert.ok(resent <= 1, `${resent} requests re-sent: only the one in flight at the kill may be`);
    } finally {
      await second?.proc.kill('SIGTERM');
      await receiver.close();
    }
  });

  it('two replicas at once: every notification is sent once', async () => {
    const receiver = await slowReceiver(20);
    const [a, b] = await Promise.all([
      startAlerting(stack, config(receiver.url), 'alerting-a'),
      startAlerting(stack, config(receiver.url), 'alerting-b'),
    ]);
    try {
      await failGroups(events, 'r');
      const mine = () => receiver.received.filter((r) => r.group.includes('plan="r'));
      await waitUntil(async () => ({ done: byGroup(mine()).size === GROUPS, value: null, state: String(byGroup(mine()).size) }), {
        what: 'every group notified by one of the replicas',
      });
      await sleep(LEASE_MS + 2_000);
      assert.equal(mine().length, GROUPS, `${mine().length} requests for ${GROUPS} groups`);
      for (const [group, ids] of byGroup(mine())) assert.equal(ids.size, 1, `${group}: one notification`);
    } finally {
      await Promise.all([a.proc.kill('SIGTERM'), b.proc.kill('SIGTERM')]);
      await receiver.close();
    }
  });
});

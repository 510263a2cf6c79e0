// The control plane's own alerts: SchedulerDown while no scheduler pulls step events (its
// durable consumer missing, or no pull waiting on it), EventsBacklog while more step events
// than the limit wait for it; each fires after its `for` period and resolves when the
// condition ends. The scheduler's side is played by a consumer of the scheduler's durable,
// on the scheduler's credential; the step events come from an agent's.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { type CaptureServer, startCaptureServer } from '@yixing/alerting/internal';
import {
  Bus,
  catalog,
  connectBus,
  createRegistry,
  durableNames,
  ensureDurable,
  Step,
  StepPhase,
  serviceInboxPrefix,
  silentLogger,
} from '@yixing/common';
import { type AlertingProcess, startAlerting } from '../fixtures/alerting.ts';
import { type Stack, startStack } from '../fixtures/stack.ts';
import { waitUntil } from '../fixtures/wait.ts';

let stack: Stack;
let alerting: AlertingProcess;
let webhook: CaptureServer;
let scheduler: NatsConnection;
let agent: NatsConnection;

before(async () => {
  stack = await startStack('alerting-control');
  webhook = await startCaptureServer({ status: 200, body: '' });
  alerting = await startAlerting(stack, {
    route: { receiver: 'oncall', group_by: ['alertname'], group_wait: '0s', group_interval: '500ms', repeat_interval: '1h' },
    receivers: [{ name: 'oncall', webhook_configs: [{ url: `${webhook.base}/hook` }] }],
    rules: { scheduler_absent_for: '2s', events_backlog_max: 5, events_backlog_for: '1s' },
  });
  scheduler = await connectBus({
    servers: stack.nats.url,
    name: 'test-scheduler',
    ...(stack.nats.auth ? { creds: await stack.nats.auth.creds('scheduler') } : {}),
    inboxPrefix: serviceInboxPrefix('scheduler'),
  });
  agent = await connectBus(await stack.agentConnect('h1'));
});

after(async () => {
  await agent?.drain();
  await scheduler?.drain();
  await alerting?.proc.kill('SIGTERM');
  await webhook?.close();
  await stack?.stop();
});

/** The latest status webhook notifications gave each alert name. */
const statusOf = (alertname: string): string | undefined =>
  webhook.requests
    .map((r) => JSON.parse(r.body) as { status: string; groupLabels: { alertname?: string } })
    .filter((b) => b.groupLabels.alertname === alertname)
    .at(-1)?.status;

async function waitStatus(alertname: string, status: string): Promise<void> {
  await waitUntil(async () => ({ done: statusOf(alertname) === status, value: null, state: String(statusOf(alertname)) }), {
    what: `${alertname} ${status}`,
  });
}

describe('alerting: the control plane', () => {
  it('SchedulerDown while nobody pulls step events; EventsBacklog while they pile up; both resolve', async () => {
    // No scheduler has ever run: its consumer does not exist.
    await waitStatus('SchedulerDown', 'firing');

    // A scheduler comes: its durable consumer, with a pull waiting (acks held back for now).
    const consumer = await ensureDurable(scheduler, catalog.stepEvent.stream, {
      name: durableNames.schedulerSteps,
      filterSubjects: [catalog.stepEvent.filter],
    });
    const held: JsMsg[] = [];
    const messages: ConsumerMessages = await consumer.consume({ max_messages: 100, expires: 1_000 });
    const pulling = (async () => {
      for await (const m of messages) held.push(m);
    })();
    await waitStatus('SchedulerDown', 'resolved');

    // Step events it does not get through: the backlog (pending and unacknowledged) passes the limit.
    const bus = new Bus({ nc: agent, log: silentLogger(), registry: createRegistry('test-agent', { processMetrics: false }) });
    for (let i = 0; i < 10; i++) {
      const eventId = `r1.0.upgrade.1.started.${i}`;
      await bus.publishDurable(
        'stepEvent',
        {
          eventId,
          hostId: 'h1',
          runId: 'r1',
          commandId: 'r1.0.upgrade.1',
          step: Step.UPGRADE,
          phase: StepPhase.RUNNING,
          kindToken: 'started',
          atMs: Date.now(),
        },
        eventId,
      );
    }
    await waitStatus('EventsBacklog', 'firing');
    const firing = webhook.requests.map((r) => JSON.parse(r.body)).find((b) => b.groupLabels.alertname === 'EventsBacklog');
    assert.match(firing.alerts[0].annotations.summary, /step events wait for the scheduler/);

    // It catches up.
    await waitUntil(async () => ({ done: held.length >= 10, value: null, state: String(held.length) }), { what: 'the events delivered' });
    for (const m of held) m.ack();
    await waitStatus('EventsBacklog', 'resolved');
    await messages.close();
    await pulling;
  });
});

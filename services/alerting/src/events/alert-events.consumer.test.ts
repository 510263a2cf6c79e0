// An alert raised from a host-run event is evaluated in a span under the event's receipt,
// in the run's trace, and the alert keeps that span for its deliveries' links.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { JsMsg } from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { Bus, encode, FailureKind, Step, silentLogger, startSpan } from '@yixing/common';
import { type RecordedSpans, recordSpans } from '@yixing/common/internal';
import { Registry } from 'prom-client';
import { alertingMetrics } from '../metrics.ts';
import { DEFAULT_RULES } from '../rules/alert-rules.ts';
import type { AlertStore, FireInput } from '../store/alert.store.ts';
import { AlertEventsConsumer } from './alert-events.consumer.ts';

let rec: RecordedSpans;
before(() => {
  rec = recordSpans();
});
after(() => rec.stop());

/** A stored event as JetStream hands it over, with the trace headers its publisher set. */
function stored(traceparent: string): JsMsg & { acked: boolean } {
  const { subject, data } = encode('hostRunEvent', {
    eventId: 'hostrun.p1.h1.3',
    hostId: 'h1',
    planId: 'p1',
    runId: 'r1',
    state: 'active',
    rollback: 'none',
    waveIndex: 1,
    waveName: 'wave-1',
    atMs: 1_000,
    kind: 'step-failed',
    step: Step.UPGRADE,
    attempt: 1,
    error: { code: 'DNF_FAILED', message: 'transaction check error', kind: FailureKind.EXECUTION },
  });
  const h = headers();
  h.set('traceparent', traceparent);
  const msg = {
    subject,
    data,
    headers: h,
    acked: false,
    ack: () => {
      msg.acked = true;
    },
    nak: () => undefined,
    term: () => undefined,
  };
  return msg as unknown as JsMsg & { acked: boolean };
}

test("a host-run event's alert is evaluated under the event's receive span, and fired with that span", async () => {
  const fired: FireInput[] = [];
  const alerts = { fire: async (i: FireInput) => void fired.push(i), resolveWhere: async () => 0 } as unknown as AlertStore;
  const bus = new Bus({ nc: { options: {} } as unknown as NatsConnection, log: silentLogger(), registry: new Registry() });
  const consumer = new AlertEventsConsumer({
    nc: {} as NatsConnection,
    // The step's log cannot be read here: the alert goes out without it.
    js: {} as never,
    bus,
    alerts,
    rules: DEFAULT_RULES,
    logTailLines: 10,
    log: silentLogger(),
    metrics: alertingMetrics(new Registry()),
  });
  const run = startSpan('host-run', { parent: '' });
  run.end();
  const msg = stored(run.traceparent);
  await consumer.handle(msg);
  assert.ok(msg.acked);

  const [received] = rec.named('hostRunEvent receive');
  const [evaluated] = rec.named('alert evaluate');
  assert.ok(received && evaluated);
  assert.equal(received.parentSpanContext?.spanId, run.traceparent.split('-')[2], "the receipt continues the event's trace");
  assert.equal(evaluated.parentSpanContext?.spanId, received.spanContext().spanId, 'evaluated under the receipt');
  assert.equal(evaluated.spanContext().traceId, run.traceparent.split('-')[1]);
  assert.equal(evaluated.attributes['yx.run'], 'r1');
  assert.equal(evaluated.attributes['yx.alerts.fired'], 1);
  assert.deepEqual(evaluated.attributes['yx.alertnames'], ['StepFailed']);
  assert.equal(fired.length, 1);
  assert.equal(fired[0]?.traceparent?.split('-')[2], evaluated.spanContext().spanId, 'the alert keeps the span that fired it');
});

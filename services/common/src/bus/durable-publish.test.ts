import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JetStreamApiError, type JetStreamClient, type PubAck } from '@nats-io/jetstream';
import { jserrors } from '@nats-io/jetstream/internal';
import { ClosedConnectionError, NoRespondersError, RequestError, TimeoutError } from '@nats-io/transport-node';
import { subjectPattern } from './codec.ts';
import { isRetryablePublishError, PublishUnavailableError, publishWithRetry, retryDelay } from './durable-publish.ts';

const apiError = (code: number, err_code: number) => new JetStreamApiError({ code, err_code, description: 'whatever the server says' });

test('election failures and a full ingest queue are retryable; refusals and a closed connection are not', () => {
  for (const err of [
    new jserrors.JetStreamNotEnabled('jetstream is not enabled', { cause: new RequestError('', { cause: new NoRespondersError('x') }) }),
    new TimeoutError(),
    new RequestError('', { cause: new NoRespondersError(subjectPattern('planEvent', { planId: 'p' })) }),
    apiError(503, 10008),
    apiError(503, 99999),
    apiError(429, 10167),
  ]) {
    assert.equal(isRetryablePublishError(err), true, `${err.name} is retryable`);
  }
  for (const err of [
    apiError(400, 10071),
    apiError(500, 10059),
    new ClosedConnectionError(),
    new RequestError('connection closed'),
    new Error('no responders'),
    'a string',
  ]) {
    assert.equal(isRetryablePublishError(err), false, `${String((err as Error).name ?? err)} is not retryable`);
  }
});

test('the pause doubles up to its cap, with jitter between half and all of it', () => {
  const o = { firstDelayMs: 100, maxDelayMs: 2_000 };
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 40].map((n) => retryDelay(n, o, () => 1)),
    [100, 200, 400, 800, 1600, 2000, 2000],
  );
  assert.equal(
    retryDelay(3, o, () => 0),
    400,
  );
});

const ack = (duplicate: boolean): PubAck => ({ stream: 'S', seq: 1, duplicate }) as PubAck;

function fakeJs(outcomes: (Error | PubAck)[]): { js: JetStreamClient; calls: { msgID: string | undefined }[] } {
  const calls: { msgID: string | undefined }[] = [];
  const js = {
    async publish(_subject: string, _data: unknown, opts: { msgID?: string }) {
      calls.push({ msgID: opts.msgID });
      const next = outcomes.shift();
      if (!next || next instanceof Error) throw next ?? new Error('no more outcomes');
      return next;
    },
  } as unknown as JetStreamClient;
  return { js, calls };
}

test('retryable failures are retried with the same message id until acknowledged', async () => {
  const { js, calls } = fakeJs([new TimeoutError(), new jserrors.JetStreamNotEnabled('x'), apiError(503, 10008), ack(true)]);
  const retried: number[] = [];
  const pa = await publishWithRetry(js, 's', 'd', 'm-1', { firstDelayMs: 1, maxDelayMs: 2 }, { onRetry: (_e, n) => retried.push(n) });
  assert.equal(pa.duplicate, true);
  assert.deepEqual(
    calls.map((c) => c.msgID),
    ['m-1', 'm-1', 'm-1', 'm-1'],
  );
  assert.deepEqual(retried, [0, 1, 2]);
});

test('a refusal is thrown at once; a deadline passed is a retryable PublishUnavailableError', async () => {
  const refused = apiError(400, 10071);
  const { js, calls } = fakeJs([refused]);
  await assert.rejects(publishWithRetry(js, 's', 'd', 'm-2'), (err) => err === refused);
  assert.equal(calls.length, 1);

  let now = 0;
  const down = fakeJs(Array.from({ length: 100 }, () => new TimeoutError()));
  const clock = () => now;
  await assert.rejects(
    publishWithRetry(
      down.js,
      's',
      'd',
      'm-3',
      { deadlineMs: 1_000, firstDelayMs: 1, maxDelayMs: 1 },
      { clock, onRetry: () => (now += 300) },
    ),
    (err) => err instanceof PublishUnavailableError && err.retryable && err.cause instanceof TimeoutError,
  );
  assert.ok(down.calls.length >= 3 && down.calls.length <= 5, `${down.calls.length} attempts before the deadline`);
});

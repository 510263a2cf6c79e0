import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConsoleApiError } from '../api/api-error.ts';
import { startPolling } from './polling.ts';
import { keepTail, type LogLine } from './use-step-log.ts';

test('polling asks again as each answer says, and stops when one says not to', async () => {
  const answers: number[] = [];
  await new Promise<void>((resolve) => {
    let n = 0;
    startPolling(
      async () => ++n,
      (v) => {
        answers.push(v);
        if (v < 3) return 1;
        resolve();
        return null;
      },
      () => assert.fail('no error expected'),
    );
  });
  assert.deepEqual(answers, [1, 2, 3]);
});

test('a failure that is not retryable is the answer: reported once, not asked again', async () => {
  let asked = 0;
  const errors: string[] = [];
  const stop = startPolling(
    async () => {
      asked++;
      throw new ConsoleApiError(404, { code: 'NOT_FOUND', message: 'no host x', retryable: false });
    },
    () => 1,
    (e) => errors.push(e.code),
  );
  await new Promise((r) => setTimeout(r, 20));
  stop();
  assert.equal(asked, 1);
  assert.deepEqual(errors, ['NOT_FOUND']);
});

test('stopping aborts the request in flight and nothing is reported after', async () => {
  let seen: AbortSignal | undefined;
  let reported = false;
  const stop = startPolling(
    (signal) => {
      seen = signal;
      return new Promise<number>(() => {});
    },
    () => {
      reported = true;
      return null;
    },
    () => {
      reported = true;
    },
  );
  stop();
  assert.equal(seen?.aborted, true);
  assert.equal(reported, false);
});

test("a step's log keeps its last lines", () => {
  const line = (seq: number): LogLine => ({ seq, at: null, step: 'upgrade', source: 'stdout', text: `l${seq}` });
  const kept = keepTail([line(1), line(2)], [line(3), line(4)], 3);
  assert.deepEqual(
    kept.map((l) => l.seq),
    [2, 3, 4],
  );
});

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { afterAttempt, callbackProblem, callbackSignature } from './operation-callbacks.ts';

const cfg = { allowedPrefixes: ['https://ops.example.com/hooks/'], secret: 'sixteen-chars-at-least' };

test('a callback goes only under a registered URL, and only when callbacks are signed', () => {
  assert.equal(callbackProblem('https://ops.example.com/hooks/yixing', cfg), undefined);
  assert.match(callbackProblem('https://ops.example.com/other', cfg) ?? '', /under no registered callback URL/);
  assert.match(callbackProblem('http://169.254.169.254/latest/meta-data', cfg) ?? '', /under no registered/);
  assert.match(callbackProblem('not a url', cfg) ?? '', /is not a URL/);
  assert.match(callbackProblem('https://u:p@ops.example.com/hooks/x', cfg) ?? '', /no credentials/);
  assert.match(callbackProblem('ftp://ops.example.com/hooks/x', { ...cfg, allowedPrefixes: ['ftp://'] }) ?? '', /not http/);
  assert.match(callbackProblem('https://ops.example.com/hooks/x', { ...cfg, secret: '' }) ?? '', /not configured/);
});

test('the signature is an HMAC of the time and the body a receiver can recompute', () => {
  const sig = callbackSignature('k', 1_700_000_000, '{"a":1}');
  const mac = createHmac('sha256', 'k').update('1700000000.{"a":1}').digest('hex');
  assert.equal(sig, `t=1700000000,v1=${mac}`);
  assert.notEqual(callbackSignature('k', 1_700_000_000, '{"a":2}'), sig, 'another body, another signature');
});

test('transient answers are retried with growing backoff until the attempts run out; refusals are not', () => {
  const policy = { backoffMs: { first: 1000, max: 8000 }, maxAttempts: 5 };
  assert.deepEqual(afterAttempt(204, 1, policy), { kind: 'done' });
  assert.deepEqual(afterAttempt(503, 1, policy), { kind: 'retry', delayMs: 1000 });
  assert.deepEqual(afterAttempt('error', 3, policy), { kind: 'retry', delayMs: 4000 });
  assert.deepEqual(afterAttempt(500, 4, policy), { kind: 'retry', delayMs: 8000 }, 'capped');
  assert.deepEqual(afterAttempt(429, 1, policy, 5000), { kind: 'retry', delayMs: 5000 }, 'Retry-After honoured');
  assert.equal(afterAttempt(503, 5, policy).kind, 'give-up');
  assert.deepEqual(afterAttempt(404, 1, policy), { kind: 'give-up', reason: 'the receiver answered 404' });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifySmtpError } from './email.receiver.ts';

const smtp = (responseCode: number, code = 'EENVELOPE') => Object.assign(new Error('whatever the server said'), { responseCode, code });
const UNAVAILABLE = { code: 'RECEIVER_UNAVAILABLE', retryable: true };
const REFUSED = { code: 'RECEIVER_REFUSED', retryable: false };
const TIMEOUT = { code: 'RECEIVER_TIMEOUT', retryable: true };
const socket = (code: string) => Object.assign(new Error('whatever'), { code });

test('SMTP replies: 4xx and 503 are tried again, other 5xx are not', () => {
  assert.deepEqual(classifySmtpError(smtp(451)), UNAVAILABLE);
  assert.deepEqual(classifySmtpError(smtp(421, 'ECONNECTION')), UNAVAILABLE);
  assert.deepEqual(classifySmtpError(smtp(454, 'EAUTH')), UNAVAILABLE);
  assert.deepEqual(classifySmtpError(smtp(503)), UNAVAILABLE);
  assert.deepEqual(classifySmtpError(smtp(550)), REFUSED);
  assert.deepEqual(classifySmtpError(smtp(535, 'EAUTH')), REFUSED);
  assert.deepEqual(classifySmtpError(smtp(502, 'ETLS')), REFUSED, 'no STARTTLS where require_tls');
  assert.deepEqual(classifySmtpError(smtp(454, 'ETLS')), UNAVAILABLE, 'TLS not available for now');
  assert.deepEqual(classifySmtpError(smtp(552, 'EMESSAGE')), REFUSED);
  // nodemailer's own verdict on the reply class wins when it gives one.
  assert.deepEqual(classifySmtpError(Object.assign(smtp(554), { permanent: false })), UNAVAILABLE);
});

test('without a reply: connection faults are tried again, configuration faults are not', () => {
  for (const code of ['ECONNECTION', 'ESOCKET', 'ETIMEDOUT', 'EDNS', 'EPROTOCOL', 'ECONNREFUSED', undefined]) {
    assert.deepEqual(classifySmtpError(code ? socket(code) : new Error('no code')), UNAVAILABLE, String(code));
  }
  assert.deepEqual(classifySmtpError(socket('EABORT')), TIMEOUT);
  assert.deepEqual(classifySmtpError(socket('ETLS')), REFUSED);
  assert.deepEqual(classifySmtpError(socket('ENOAUTH')), REFUSED);
  assert.deepEqual(classifySmtpError(socket('EENVELOPE')), REFUSED);
  assert.deepEqual(classifySmtpError('a string'), UNAVAILABLE);
});

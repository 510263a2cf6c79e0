import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifySmtpError } from './email.receiver.ts';

const smtp = (responseCode: number, code = 'EENVELOPE') => Object.assign(new Error('whatever the server said'), { responseCode, code });
const socket = (code: string) => Object.assign(new Error('whatever'), { code });

test('SMTP replies: 4xx and 503 are tried again, other 5xx are not', () => {
  assert.deepEqual(classifySmtpError(smtp(451)), { code: 'email_deferred', retryable: true });
  assert.deepEqual(classifySmtpError(smtp(421, 'ECONNECTION')), { code: 'email_deferred', retryable: true });
  assert.deepEqual(classifySmtpError(smtp(454, 'EAUTH')), { code: 'email_deferred', retryable: true });
  assert.deepEqual(classifySmtpError(smtp(503)), { code: 'email_deferred', retryable: true });
  assert.deepEqual(classifySmtpError(smtp(550)), { code: 'email_rejected', retryable: false });
  assert.deepEqual(classifySmtpError(smtp(535, 'EAUTH')), { code: 'email_auth', retryable: false });
  assert.deepEqual(classifySmtpError(smtp(502, 'ETLS')), { code: 'email_tls', retryable: false }, 'no STARTTLS where require_tls');
  assert.deepEqual(classifySmtpError(smtp(454, 'ETLS')), { code: 'email_deferred', retryable: true }, 'TLS not available for now');
  assert.deepEqual(classifySmtpError(smtp(552, 'EMESSAGE')), { code: 'email_rejected', retryable: false });
  // nodemailer's own verdict on the reply class wins when it gives one.
  assert.deepEqual(classifySmtpError(Object.assign(smtp(554), { permanent: false })), { code: 'email_deferred', retryable: true });
});

test('without a reply: connection faults are tried again, configuration faults are not', () => {
  for (const code of ['ECONNECTION', 'ESOCKET', 'ETIMEDOUT', 'EDNS', 'EPROTOCOL', 'ECONNREFUSED', undefined]) {
    assert.deepEqual(
      classifySmtpError(code ? socket(code) : new Error('no code')),
      { code: 'email_unreachable', retryable: true },
      String(code),
    );
  }
  assert.deepEqual(classifySmtpError(socket('EABORT')), { code: 'email_aborted', retryable: true });
  assert.deepEqual(classifySmtpError(socket('ETLS')), { code: 'email_tls', retryable: false });
  assert.deepEqual(classifySmtpError(socket('ENOAUTH')), { code: 'email_auth', retryable: false });
  assert.deepEqual(classifySmtpError(socket('EENVELOPE')), { code: 'email_rejected', retryable: false });
  assert.deepEqual(classifySmtpError('a string'), { code: 'email_unreachable', retryable: true });
});

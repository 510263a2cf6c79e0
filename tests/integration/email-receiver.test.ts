// The email receiver against a real SMTP server (Mailpit, tests/fixtures/smtp-server.ts):
// what arrives is read back from the server, and faults are the server killed or answering
// with an SMTP error code.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, test } from 'node:test';
import {
  checkEmailConfig,
  DeliveryError,
  DeliveryQueues,
  EmailReceiver,
  emailThreading,
  failedStep,
  notification,
} from '@yixing/alerting/internal';
import { startSmtpServer } from '../fixtures/smtp-server.ts';
import { makeTestCerts } from '../fixtures/tls-certs.ts';
import { waitUntil } from '../fixtures/wait.ts';

function receiver(raw: Record<string, unknown>, name = 'oncall-mail'): EmailReceiver {
  const { config, problems } = checkEmailConfig({ from: 'Yixing <alerts@yixing.example>', to: 'oncall@example.com', ...raw }, 'email');
  assert.deepEqual(problems, []);
  return new EmailReceiver(name, config!);
}

const never = new AbortController().signal;

async function deliveryError(p: Promise<void>): Promise<DeliveryError> {
  const err = await p.then(
    () => assert.fail('the send succeeded'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof DeliveryError, `a DeliveryError, not ${String(err)}`);
  return err;
}

test('a grouped notification arrives with its subject, recipients, log tail and link, threaded by group', async () => {
  const server = await startSmtpServer();
  after(() => server.stop());
  const mail = receiver({
    to: ['oncall@example.com', '值班二组 <team2@example.com>'],
    smarthost: `127.0.0.1:${server.smtpPort}`,
    require_tls: false,
    hello: 'alerting.yixing.example',
    headers: { 'X-Priority': '1' },
    locale: 'en',
  });
  const first = notification([failedStep(1), failedStep(2), failedStep(3)], { groupLabels: { plan: 'p1', wave: '2' } });
  await mail.send(first, never);
  await mail.send({ ...first, id: 'ops|{}/{severity="critical"}:{plan="p1"}|4', alerts: [failedStep(4)] }, never);

  const [m, next, ...rest] = await server.messages();
  assert.ok(m && next, 'two messages');
  assert.equal(rest.length, 0);
  assert.equal(m.subject, '[FIRING:3] StepFailed plan=p1 wave=2');
  assert.equal(m.from?.address, 'alerts@yixing.example');
  assert.deepEqual(
    m.to.map((a) => a.address),
    ['oncall@example.com', 'team2@example.com'],
  );
  assert.equal(m.to[1]?.name, '值班二组');
  for (const body of [m.text, m.html]) {
    assert.ok(body.includes('[29] dnf: error: 依赖冲突 package-29'), 'the last line of the log');
    assert.ok(body.includes('https://console.example/plans/p1/hosts/host-003/steps/upgrade'), 'the link to the step');
    assert.ok(body.includes('RPM_TRANSACTION_FAILED'));
  }
  assert.match(m.html, /<pre[^>]*>\[\d+\] dnf: error/);
  assert.deepEqual(m.headers['X-Priority'], ['1']);
  assert.deepEqual(m.headers['Auto-Submitted'], ['auto-generated']);
  assert.match(m.headers.Received?.[0] ?? '', /alerting\.yixing\.example/, 'EHLO with the configured name');

  const threading = emailThreading(first, 'alerts@yixing.example');
  assert.equal(`<${m.messageId}>`, threading.messageId);
  assert.deepEqual(m.headers.References, [threading.references]);
  assert.deepEqual(next.headers.References, [threading.references], 'the next notification of the group in the same thread');
  assert.notEqual(next.messageId, m.messageId);
});

test('STARTTLS with the configured CA and SMTP AUTH; require_tls refuses a server without STARTTLS', async () => {
  const certs = await makeTestCerts();
  const server = await startSmtpServer({
    tls: { cert: certs.serverCert, key: certs.serverKey },
    requireStartTls: true,
    acceptAnyAuth: true,
  });
  const plain = await startSmtpServer();
  after(() => Promise.all([server.stop(), plain.stop()]));
  const tlsConfig = { ca_file: certs.ca };
  const secured = receiver({ smarthost: `127.0.0.1:${server.smtpPort}`, tls_config: tlsConfig, auth_username: 'yx', auth_password: 'pw' });
  await secured.send(notification([failedStep(1)]), never);
  const [m] = await server.messages();
  assert.equal(m?.subject, '【告警】StepFailed plan=p1（1 条）');
  assert.equal(m?.username, 'yx');

  const err = await deliveryError(receiver({ smarthost: `127.0.0.1:${plain.smtpPort}` }).send(notification([failedStep(1)]), never));
  assert.deepEqual([err.code, err.retryable, err.details.nodemailerCode], ['RECEIVER_REFUSED', false, 'ETLS']);
  assert.deepEqual(await plain.messages(), []);

  const noCa = receiver({ smarthost: `127.0.0.1:${server.smtpPort}`, tls_config: { ca_file: `${certs.dir}/missing.pem` } });
  const unreadable = await deliveryError(noCa.send(notification([failedStep(1)]), never));
  assert.deepEqual([unreadable.code, unreadable.retryable], ['CONFIG_INVALID', false]);
});

test('a killed server is worth another attempt; 4xx replies are retryable, 5xx are not', async () => {
  const server = await startSmtpServer();
  after(() => server.stop());
  const mail = receiver({ smarthost: `127.0.0.1:${server.smtpPort}`, require_tls: false });
  const n = notification([failedStep(1)]);

  await server.chaos('recipient', 451);
  const deferred = await deliveryError(mail.send(n, never));
  assert.deepEqual([deferred.code, deferred.retryable, deferred.details.responseCode], ['RECEIVER_UNAVAILABLE', true, 451]);
  await server.chaos('sender', 550);
  const rejected = await deliveryError(mail.send(n, never));
  assert.deepEqual([rejected.code, rejected.retryable, rejected.details.responseCode], ['RECEIVER_REFUSED', false, 550]);
  await server.chaos('sender', 0);
  await mail.send(n, never);
  assert.equal((await server.messages()).length, 1);

  await server.stop();
  const down = await deliveryError(mail.send(n, never));
  assert.deepEqual([down.code, down.retryable, down.details.nodemailerCode], ['RECEIVER_UNAVAILABLE', true, 'ESOCKET']);
});

test('an attempt aborted by its signal ends at once, retryable, on a server that never answers', async () => {
  // Accepts the connection and never greets: a mail server that hangs.
  const sockets: net.Socket[] = [];
  const silent = net.createServer((s) => sockets.push(s));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  after(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => silent.close(() => resolve()));
  });
  const mail = receiver({ smarthost: `127.0.0.1:${(silent.address() as net.AddressInfo).port}`, require_tls: false });
  const attempt = new AbortController();
  const sending = mail.send(notification([failedStep(1)]), attempt.signal);
  while (sockets.length === 0) await new Promise((r) => setTimeout(r, 10));
  attempt.abort(new Error('attempt timeout'));
  const err = await deliveryError(sending);
  assert.deepEqual([err.code, err.retryable], ['RECEIVER_TIMEOUT', true]);
});

test('through the delivery queues: a mail server down is retried until it is back, and holds up no other', async () => {
  const [downServer, upServer] = [await startSmtpServer(), await startSmtpServer()];
  after(() => Promise.all([downServer.stop(), upServer.stop()]));
  const down = receiver({ smarthost: `127.0.0.1:${downServer.smtpPort}`, require_tls: false }, 'down');
  const up = receiver({ smarthost: `127.0.0.1:${upServer.smtpPort}`, require_tls: false }, 'up');
  const delivered: string[] = [];
  const failures: string[] = [];
  const queues = new DeliveryQueues([down, up], () => ({
    retry: { baseMs: 50, maxMs: 200, maxAttempts: Number.POSITIVE_INFINITY, maxRetryAfterMs: 1000 },
    attemptTimeoutMs: 10_000,
    callbacks: {
      delivered: (id, attempts) => delivered.push(`${id} after ${attempts}`),
      failed: (id, err, willRetry) => failures.push(`${id} ${(err as DeliveryError).code} ${willRetry}`),
    },
  }));
  after(() => queues.stop());

  await downServer.kill();
  const n = (receiverName: string) => ({ ...notification([failedStep(1)]), id: `${receiverName}|g|1`, receiver: receiverName });
  queues.enqueue(n('down'));
  queues.enqueue(n('up'));
  await waitUntil(
    async () => ({
      done: delivered.includes('up|g|1 after 1') && failures.length >= 3,
      value: undefined,
      state: `${delivered.join()} ${failures.length}`,
    }),
    { what: 'the up receiver served while the down one is retried' },
  );
  assert.ok(
    failures.every((f) => f === 'down|g|1 RECEIVER_UNAVAILABLE true'),
    failures.join('\n'),
  );
  assert.equal((await upServer.messages()).length, 1);

  await downServer.restart();
  await waitUntil(async () => ({ done: delivered.some((d) => d.startsWith('down|g|1')), value: undefined, state: `${failures.length}` }), {
    what: 'the down receiver served once its server is back',
  });
  const [m, ...more] = await downServer.messages();
  assert.equal(more.length, 0, 'delivered once');
  assert.equal(`<${m?.messageId}>`, emailThreading(n('down'), 'alerts@yixing.example').messageId);
});

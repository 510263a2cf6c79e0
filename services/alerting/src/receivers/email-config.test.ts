import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkEmailConfig } from './email-config.ts';

const P = 'receivers[1].email_configs[0]';

test("Alertmanager's email_config reads into the receiver's configuration", () => {
  const r = checkEmailConfig(
    {
      to: 'oncall@example.com, "值班 二组" <team2@example.com>',
      from: 'Yixing <alerts@example.com>',
      smarthost: 'smtp.example.com:587',
      hello: 'yixing.example.com',
      auth_username: 'alerts',
      auth_password: 's3cret',
      tls_config: { ca_file: '/etc/ssl/ca.pem', server_name: 'smtp.example.com' },
      headers: { 'X-Priority': '1' },
      locale: 'en',
    },
    P,
  );
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.config, {
    to: ['oncall@example.com', '值班 二组 <team2@example.com>'],
    from: 'Yixing <alerts@example.com>',
    smarthost: { host: 'smtp.example.com', port: 587 },
    hello: 'yixing.example.com',
    auth: { username: 'alerts', password: 's3cret' },
    requireTls: true,
    tls: { caFile: '/etc/ssl/ca.pem', serverName: 'smtp.example.com', insecureSkipVerify: false },
    headers: { 'X-Priority': '1' },
    locale: 'en',
    sendResolved: false,
  });
});

test('defaults: STARTTLS required, Chinese, no auth; a list of recipients and an IPv6 smarthost', () => {
  const r = checkEmailConfig({ to: ['a@example.com', 'b@example.com'], from: 'x@example.com', smarthost: '[::1]:25' }, P);
  assert.deepEqual(r.problems, []);
  assert.equal(r.config?.requireTls, true);
  assert.equal(r.config?.locale, 'zh-CN');
  assert.equal(r.config?.auth, undefined);
  assert.deepEqual(r.config?.smarthost, { host: '::1', port: 25 });
  assert.deepEqual(r.config?.to, ['a@example.com', 'b@example.com']);
});

test('every problem at once, each naming its key, and no configuration', () => {
  const r = checkEmailConfig(
    {
      to: ['ok@example.com', 'not an address', 7],
      smarthost: 'smtp.example.com',
      auth_username: 'alerts',
      require_tls: 'yes',
      tls_config: { ca: 'x' },
      headers: { Subject: 'mine', 'X-Bad': 'a\r\nBcc: evil@example.com' },
      locale: 'fr',
      smtp_port: 25,
    },
    P,
  );
  assert.equal(r.config, undefined);
  assert.deepEqual(r.problems.toSorted(), [
    `${P}.auth_password: is required with the other of auth_username and auth_password`,
    `${P}.from: is required`,
    `${P}.headers.Subject: is set by the email receiver itself`,
    `${P}.headers.X-Bad: must be a one-line string`,
    `${P}.locale: must be one of zh-CN, en`,
    `${P}.require_tls: must be true or false`,
    `${P}.smarthost: "smtp.example.com" is not host:port (e.g. smtp.example.com:587)`,
    `${P}.smtp_port: unknown key (known: to, from, smarthost, hello, auth_username, auth_password, require_tls, tls_config, headers, locale, send_resolved)`,
    `${P}.tls_config.ca: unknown key (known: ca_file, server_name, insecure_skip_verify)`,
    `${P}.to: must be an address, a comma-separated list of addresses or a list of them`,
  ]);
});

test('bad addresses are named one by one', () => {
  const r = checkEmailConfig({ to: ['ok@example.com', 'nobody'], from: 'a@b.c, d@e.f', smarthost: 'h:99999' }, P);
  assert.deepEqual(r.problems, [
    `${P}.to[1]: "nobody" is not an address like ops@example.com`,
    `${P}.from: "a@b.c, d@e.f" is more than one address`,
    `${P}.smarthost: "h:99999" is not host:port (e.g. smtp.example.com:587)`,
  ]);
  assert.deepEqual(checkEmailConfig('smtp://x', P).problems, [`${P}: must be an object with to, from and smarthost`]);
  assert.deepEqual(checkEmailConfig({ from: 'a@b.c', smarthost: 'h:25' }, P).problems, [`${P}.to: is required`]);
});

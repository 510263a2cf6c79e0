import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apiEnv, logEnv, mongoEnv, natsEnv, readEnv } from './env.ts';

const spec = { ...natsEnv, ...mongoEnv, ...apiEnv(8081), ...logEnv };

test('the shared specs give every service the same defaults', () => {
  assert.deepEqual(readEnv(spec, {}), {
    YX_NATS_URL: ['nats://127.0.0.1:4222'],
    YX_NATS_CREDS: '',
    YX_NATS_TLS_CA: '',
    YX_NATS_TLS_CERT: '',
    YX_NATS_TLS_KEY: '',
    YX_MONGO_URI: 'mongodb://127.0.0.1:27017/yixing',
    YX_MONGO_POOL: 10,
    YX_API_HOST: '127.0.0.1',
    YX_API_PORT: 8081,
    YX_LOG_LEVEL: 'info',
  });
});

test('NATS URLs are a list; bad values are all named at once', () => {
  assert.deepEqual(readEnv(natsEnv, { YX_NATS_URL: 'nats://a:4222, nats://b:4222,' }).YX_NATS_URL, ['nats://a:4222', 'nats://b:4222']);
  assert.throws(
    () => readEnv(spec, { YX_MONGO_URI: 'postgres://x', YX_LOG_LEVEL: 'loud', YX_API_PORT: '70000' }),
    (err: Error) => /YX_MONGO_URI/.test(err.message) && /YX_LOG_LEVEL/.test(err.message) && /YX_API_PORT/.test(err.message),
  );
});

test('credential and TLS files must be readable, and a client certificate needs its key; all named at once', async () => {
  const { busSecurityFromEnv } = await import('../bus/bus-credentials.ts');
  assert.throws(
    () => readEnv(natsEnv, { YX_NATS_CREDS: '/nonexistent/a.creds', YX_NATS_TLS_CA: '/nonexistent/ca.pem' }),
    (err: Error) => /YX_NATS_CREDS.*cannot be read/.test(err.message) && /YX_NATS_TLS_CA.*cannot be read/.test(err.message),
  );
  const cfg = readEnv(natsEnv, { YX_NATS_TLS_CERT: import.meta.filename });
  assert.throws(() => busSecurityFromEnv(cfg), /YX_NATS_TLS_CERT and YX_NATS_TLS_KEY go together/);
  const bad = readEnv(natsEnv, { YX_NATS_CREDS: import.meta.filename });
  assert.throws(() => busSecurityFromEnv(bad), /is not a NATS credentials file/);
  assert.deepEqual(busSecurityFromEnv(readEnv(natsEnv, {})), {});
});

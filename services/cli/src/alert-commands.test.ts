// yx alerts and yx silences: the alerting API is found from --alerting-api, YX_ALERTING_API
// or the config file's alertingApi, in that order; a wrong command line is one sentence on
// stderr and exit 2, with nothing sent. (What the commands do against the real API:
// tests/integration/alerting-api.test.ts.)
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, test } from 'node:test';
import { alertState, silenceBody } from './alert-commands.ts';
import { type Io, run } from './app.ts';
import { configFile } from './credentials.ts';

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

async function yx(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = new Capture();
  const err = new Capture();
  const io: Io = { stdout: out as unknown as NodeJS.WriteStream, stderr: err as unknown as NodeJS.WriteStream, env };
  const code = await run(args, io);
  return { code, stdout: out.text, stderr: err.text };
}

/** An HTTP server answering every request with an empty page, keeping the paths it was asked. */
async function apiServer(): Promise<{ url: string; paths: string[]; server: Server }> {
  const paths: string[] = [];
  const server = createServer((req, res) => {
    paths.push(`${req.method} ${req.url}`);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ items: [], nextCursor: null }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(() => server.close());
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, paths, server };
}

async function homeWithConfig(text: string): Promise<Record<string, string>> {
  const home = await mkdtemp(path.join(tmpdir(), 'yx-alerts-'));
  const env = { HOME: home, XDG_CONFIG_HOME: '' };
  const file = configFile(env);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text);
  await chmod(file, 0o600);
  return env;
}

test('the alerting API comes from --alerting-api, else YX_ALERTING_API, else the config file', async () => {
  const [flag, fromEnv, fromFile] = await Promise.all([apiServer(), apiServer(), apiServer()]);
  const env = await homeWithConfig(`alertingApi: ${fromFile.url}\n`);
  assert.equal((await yx(['alerts', 'list'], env)).code, 0);
  assert.equal((await yx(['silences', 'list', '--state', 'active'], { ...env, YX_ALERTING_API: fromEnv.url })).code, 0);
  const res = await yx(['alerts', 'list', '--state', 'all', '--plan', 'p1', '--alerting-api', flag.url], {
    ...env,
    YX_ALERTING_API: fromEnv.url,
  });
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(fromFile.paths, ['GET /v1/alerts']);
  assert.deepEqual(fromEnv.paths, ['GET /v1/silences?state=active']);
  assert.deepEqual(flag.paths, ['GET /v1/alerts?state=all&plan=p1']);
  assert.match(res.stdout, /^FINGERPRINT\s+STATE\s+SEVERITY/m);
});

test('a wrong command line is one sentence and exit 2, and nothing is sent', async () => {
  const server = await apiServer();
  const env = { ...(await homeWithConfig('')), YX_ALERTING_API: server.url };
  const cases: [string[], RegExp][] = [
    [['alerts', 'list', '--state', 'open'], /--state open: give one of firing, resolved, all/],
    [['silences', 'list', '--state', 'firing'], /--state firing: give one of active, pending, expired, all/],
    [['alerts', 'ack'], /missing FINGERPRINT/],
    [['alerts', 'resolve', 'a', 'b'], /one FINGERPRINT at a time/],
    [['silences', 'add', 'plan=p1', '--comment', 'why'], /--duration 2h, or --ends/],
    [['silences', 'add', 'plan=p1', '--duration', '1h', '--ends', '2026-12-06T18:00:00Z', '--comment', 'x'], /not both/],
    [['silences', 'add', 'plan=p1', '--duration', '1h'], /--comment saying why/],
    [['silences', 'add', '--duration', '1h', '--comment', 'x'], /missing MATCHERS/],
    [['silences', 'expire'], /missing SILENCE/],
    [['alerts', 'mute', 'x'], /unknown command "alerts mute x"/],
    [['alerts', 'list', '--alerting-api', 'not a url'], /--alerting-api "not a url" is not a URL/],
  ];
  for (const [args, message] of cases) {
    const res = await yx(args, env);
    assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
    assert.match(res.stderr, message, args.join(' '));
    assert.equal(res.stdout, '');
  }
  assert.deepEqual(server.paths, []);
});

test('an unreachable alerting API is named as such', async () => {
  const server = await apiServer();
  await new Promise<void>((resolve) => server.server.close(() => resolve()));
  const res = await yx(['alerts', 'list'], { ...(await homeWithConfig('')), YX_ALERTING_API: server.url });
  assert.equal(res.code, 1);
  assert.match(res.stderr, new RegExp(`cannot reach the alerting service at ${server.url}`));
});

test('a silence body joins several matcher arguments; an alert reads firing, acked or resolved', () => {
  assert.deepEqual(silenceBody(['plan=p1', 'step=~"upgrade|reboot"'], { duration: '2h', comment: 'rack 7' }), {
    matchers: 'plan=p1, step=~"upgrade|reboot"',
    duration: '2h',
    comment: 'rack 7',
  });
  assert.equal(alertState({ status: 'firing', acknowledged: false }), 'firing');
  assert.equal(alertState({ status: 'firing', acknowledged: true }), 'acked');
  assert.equal(alertState({ status: 'resolved', acknowledged: true }), 'resolved');
});

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildConsoleApp } from './app.ts';

let dist: string;
let upstream: http.Server;
let upstreamUrl: string;
let app: FastifyInstance;
/** Lets the fake scheduler send its second event when the test says. */
let releaseSecond: () => void = () => {};

const INDEX = '<!doctype html><div id="root"></div>';

before(async () => {
  dist = await mkdtemp(path.join(os.tmpdir(), 'yx-console-'));
  await mkdir(path.join(dist, 'assets'));
  await writeFile(path.join(dist, 'index.html'), INDEX);
  await writeFile(path.join(dist, 'assets', 'main-ABC123.js'), 'console.log(1)');
  // A fake API: echoes what it was sent, streams two events with a pause between.
  upstream = http.createServer((req, res) => {
    if (req.url?.endsWith('/events')) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('event: plan\ndata: {"n":1}\n\n');
      releaseSecond = () => res.end('event: plan\ndata: {"n":2}\n\n');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(req.headers.authorization ? 200 : 401, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(
          req.headers.authorization
            ? { method: req.method, url: req.url, authorization: req.headers.authorization, body: Buffer.concat(chunks).toString() }
            : { error: { code: 'UNAUTHENTICATED', message: 'no bearer token', retryable: false } },
        ),
      );
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  app = await buildConsoleApp({
    config: { schedulerApi: upstreamUrl, alertingApi: 'http://127.0.0.1:1', backupApi: 'http://127.0.0.1:1', distDir: dist },
  });
});

after(async () => {
  await app.close();
  upstream.closeAllConnections();
  await new Promise((r) => upstream.close(r));
  await rm(dist, { recursive: true, force: true });
});

test('any app path is index.html, a deep link too, with a strict CSP and no framing', async () => {
  for (const url of ['/', '/plans/p1/hosts/h-001/steps/upgrade', '/login?next=x']) {
    const res = await app.inject({ url });
    assert.equal(res.statusCode, 200, url);
    assert.equal(res.body, INDEX);
    assert.match(res.headers['content-type'] as string, /^text\/html/);
    assert.equal(res.headers['cache-control'], 'no-cache');
  }
  const res = await app.inject({ url: '/plans/p1' });
  const csp = res.headers['content-security-policy'] as string;
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.equal(res.headers['x-content-type-options'], 'nosniff');
  assert.equal(res.headers['x-frame-options'], 'DENY');
});

test('assets are served as files, cached for good; a missing one is a 404 in the error shape, not the app', async () => {
  const js = await app.inject({ url: '/assets/main-ABC123.js' });
  assert.equal(js.statusCode, 200);
  assert.equal(js.body, 'console.log(1)');
  assert.match(js.headers['cache-control'] as string, /immutable/);
  const missing = await app.inject({ url: '/assets/main-GONE.js' });
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.json().error.code, 'NOT_FOUND');
});

test("the scheduler API is proxied with the caller's Authorization, method, query and body; none is added", async () => {
  const res = await app.inject({
    method: 'POST',
    url: '/api/scheduler/v1/plans?dryRun=1',
    headers: { authorization: 'Bearer yx_abc', 'content-type': 'application/json' },
    payload: { name: 'p' },
  });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), { method: 'POST', url: '/v1/plans?dryRun=1', authorization: 'Bearer yx_abc', body: '{"name":"p"}' });
  const anonymous = await app.inject({ url: '/api/scheduler/v1/plans' });
  assert.equal(anonymous.statusCode, 401);
  assert.equal(anonymous.json().error.code, 'UNAUTHENTICATED');
  // The API's own answers carry the console's headers too.
  assert.equal(anonymous.headers['x-content-type-options'], 'nosniff');
});

test('an API that does not answer is a 503 naming it, in the error shape', async () => {
  const res = await app.inject({ url: '/api/alerting/v1/alerts', headers: { authorization: 'Bearer yx_abc' } });
  assert.equal(res.statusCode, 503);
  const body = res.json();
  assert.equal(body.error.code, 'DEPENDENCY_UNAVAILABLE');
  assert.match(body.error.message, /^the alerting API at http:\/\/127\.0\.0\.1:1 did not answer/);
  assert.equal(body.error.retryable, true);
  // The backup API has its own proxy, named in its own error.
  const backup = await app.inject({ url: '/api/backup/v1/backups/b-1', headers: { authorization: 'Bearer yx_abc' } });
  assert.equal(backup.statusCode, 503);
  assert.match(backup.json().error.message, /^the backup API at http:\/\/127\.0\.0\.1:1 did not answer/);
});

test('server-sent events stream through as the API writes them', async () => {
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const res = await fetch(`${address}/api/scheduler/v1/plans/p1/events`, { headers: { authorization: 'Bearer yx_abc' } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let seen = '';
  // The first event arrives while the API still holds the stream open.
  while (!seen.includes('{"n":1}')) seen += decoder.decode((await reader.read()).value, { stream: true });
  assert.doesNotMatch(seen, /"n":2/);
  releaseSecond();
  for (let r = await reader.read(); !r.done; r = await reader.read()) seen += decoder.decode(r.value, { stream: true });
  assert.equal(seen, 'event: plan\ndata: {"n":1}\n\nevent: plan\ndata: {"n":2}\n\n');
});

test('no index.html: the server refuses to start, saying to build', async () => {
  const empty = await mkdtemp(path.join(os.tmpdir(), 'yx-console-empty-'));
  await assert.rejects(
    buildConsoleApp({ config: { schedulerApi: upstreamUrl, alertingApi: upstreamUrl, backupApi: upstreamUrl, distDir: empty } }),
    /index\.html: not built; run npm run build:console/,
  );
  await rm(empty, { recursive: true, force: true });
});

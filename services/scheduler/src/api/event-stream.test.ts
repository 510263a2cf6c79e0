// The event stream's bounds, against a real socket and an in-memory plan: a capped number
// of streams (the next one is told to come back), and a client that does not read costs
// the server a bounded buffer, however many events the plan emits.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import { after, test } from 'node:test';
import { fixedApiAccess, newApiToken } from '@yixing/common/http';
import type { FastifyInstance } from 'fastify';
import type { HostRunDoc, PlanDoc } from '../db/models.ts';
import { PlanRuntime } from '../reconcile/plan-runtime.ts';
import { buildApi } from './server.ts';

const plan = {
  _id: 'p-sse',
  name: 'sse',
  spec: { profile: 'debian-11-to-12' },
  state: 'running',
  stateReason: '',
  abortMode: null,
  phases: [{ index: 0, name: 'all', size: 1, budget: 1 }],
  openPhase: 0,
  gate: null,
  budget: 1,
  domainLimits: [],
  hostCount: 0,
  createdAt: new Date(0),
  updatedAt: new Date(0),
  finishedAt: null,
  createdBy: 'test',
  version: 1,
} as unknown as PlanDoc;

const events = new EventEmitter();
const rt = new PlanRuntime(plan, []);
const apps: FastifyInstance[] = [];

const viewer = newApiToken();

async function serve(extra: Record<string, unknown>): Promise<{ app: FastifyInstance; url: string; raws: http.ServerResponse[] }> {
  const app = await buildApi({
    registry: { contentType: 'text/plain', metrics: async () => '' },
    access: fixedApiAccess([{ token: viewer, name: 'watcher', role: 'viewer' }]),
    engine: { runtime: (id: string) => (id === plan._id ? rt : undefined), events },
    ...extra,
  } as unknown as Parameters<typeof buildApi>[0]);
  const raws: http.ServerResponse[] = [];
  app.addHook('onRequest', async (_req, reply) => {
    raws.push(reply.raw);
  });
  apps.push(app);
  return { app, url: await app.listen({ host: '127.0.0.1', port: 0 }), raws };
}

after(async () => {
  for (const a of apps) await a.close();
});

/** Opens a stream; resolves with the response once its headers arrive. */
function open(url: string): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    http.get(`${url}/v1/plans/${plan._id}/events`, { headers: { authorization: `Bearer ${viewer}` } }, resolve).on('error', reject);
  });
}

test('beyond the configured number of event streams, the next one is a 429 with Retry-After', async () => {
  const { url } = await serve({ maxEventStreams: 2 });
  const a = await open(url);
  const b = await open(url);
  assert.equal(a.statusCode, 200);
  assert.equal(b.statusCode, 200);
  const refused = await open(url);
  assert.equal(refused.statusCode, 429);
  assert.ok(Number(refused.headers['retry-after']) > 0, 'Retry-After says when to come back');
  let body = '';
  for await (const chunk of refused) body += chunk;
  assert.equal(JSON.parse(body).error.code, 'TOO_MANY_EVENT_STREAMS');
  // A closed stream gives its slot back.
  a.destroy();
  let again: http.IncomingMessage | undefined;
  for (let i = 0; i < 100 && again?.statusCode !== 200; i++) {
    again?.destroy();
    await new Promise((r) => setTimeout(r, 20));
    again = await open(url);
  }
  assert.equal(again?.statusCode, 200);
  again?.destroy();
  b.destroy();
});

test('a client that does not read does not grow the server buffer', async () => {
  const { url, raws } = await serve({ maxEventStreams: 10 });
  const slow = await open(url);
  slow.pause();
  const res = raws.find((r) => r.req.url?.endsWith('/events'));
  assert.ok(res, 'the stream response is seen');
  const run = { hostId: 'h-1', state: 'active', step: 'upgrade', failure: { message: 'x'.repeat(20_000) } } as unknown as HostRunDoc;
  // About 100 MB of events, far more than the socket takes.
  for (let i = 0; i < 5000; i++) events.emit('run', plan._id, run);
  assert.ok(res.writableLength < 2 * 1024 * 1024, `the server buffers ${res.writableLength} bytes for a client that does not read`);
  slow.destroy();
});

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import Fastify, { type FastifyInstance } from 'fastify';
import { NotFoundError } from '../errors.ts';
import { type RecordedSpans, recordSpans } from '../telemetry/record-spans.ts';
import { activeTraceIds } from '../telemetry/trace-context.ts';
import { inSpan } from '../telemetry/tracing.ts';
import { installApiErrors } from './api-errors.ts';
import { apiServerOptions } from './api-server.ts';
import { requestSpanName, tracesRoute } from './request-spans.ts';

const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

function build(): FastifyInstance {
  const app = Fastify(apiServerOptions({})) as unknown as FastifyInstance;
  installApiErrors(app, { service: 'test service' });
  app.get('/things/:id', async (req) => {
    throw new NotFoundError(`no thing ${(req.params as { id: string }).id}`);
  });
  app.post(
    '/things',
    { schema: { body: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } } },
    async (req) => {
      // Work the handler does (a database command, a bus message) is in the request's trace.
      const inner = await inSpan('inner work', {}, async () => activeTraceIds());
      return { seen: activeTraceIds(), inner, name: (req.body as { name: string }).name.length };
    },
  );
  app.get('/broken', async () => {
    throw new Error('a bug');
  });
  app.get('/metrics', async () => 'yx_up 1\n');
  return app;
}

let spans: RecordedSpans;
let app: FastifyInstance;
before(async () => {
  spans = recordSpans();
  app = build();
  await app.ready();
});
after(async () => {
  await app.close();
  await spans.stop();
});

const serverSpan = (name: string) => {
  const found = spans.named(name).at(-1);
  assert.ok(found, `a span named ${name}: ${spans.finished().map((s) => s.name)}`);
  return found;
};

test('a request continues its caller trace and its error body names that trace', async () => {
  const res = await app.inject({ method: 'GET', url: '/things/t-1?x=1', headers: { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` } });
  assert.equal(res.statusCode, 404);
  assert.equal(res.json().error.traceId, CALLER_TRACE);
  const span = serverSpan('GET /things/:id');
  assert.equal(span.kind, SpanKind.SERVER);
  assert.equal(span.spanContext().traceId, CALLER_TRACE);
  assert.equal(span.parentSpanContext?.spanId, CALLER_SPAN);
  assert.equal(span.attributes['http.route'], '/things/:id');
  assert.equal(span.attributes['url.path'], '/things/t-1');
  assert.equal(span.attributes['http.response.status_code'], 404);
  // A 4xx is answered correctly: the server span did not fail.
  assert.equal(span.status.code, SpanStatusCode.UNSET);
});

test('a request with a body runs its handler and its validation in the request span', async () => {
  // Over a real socket, a body of many chunks: they arrive on the socket's callbacks.
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const ok = await fetch(`${base}/things`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'a'.repeat(600_000) }),
  });
  assert.equal(ok.status, 200);
  const span = serverSpan('POST /things');
  assert.equal(span.parentSpanContext, undefined, 'without a traceparent the request starts a trace');
  const { seen, inner } = (await ok.json()) as { seen: { traceId: string; spanId: string }; inner: { traceId: string } };
  assert.deepEqual(seen, { traceId: span.spanContext().traceId, spanId: span.spanContext().spanId });
  assert.equal(inner.traceId, span.spanContext().traceId);
  assert.equal(
    spans
      .childrenOf(span)
      .map((s) => s.name)
      .join(),
    'inner work',
  );

  const bad = await app.inject({ method: 'POST', url: '/things', payload: { name: 7 } });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().error.code, 'VALIDATION_FAILED');
  assert.equal(bad.json().error.traceId, serverSpan('POST /things').spanContext().traceId);
});

test('a 500 marks the request span failed; scrapes get no span', async () => {
  const before = spans.finished().length;
  const res = await app.inject({ method: 'GET', url: '/broken' });
  assert.equal(res.statusCode, 500);
  const span = serverSpan('GET /broken');
  assert.equal(span.status.code, SpanStatusCode.ERROR);
  assert.equal(res.json().error.traceId, span.spanContext().traceId);

  assert.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 200);
  assert.equal(spans.finished().length, before + 1, 'only the /broken request made a span');
});

test('span names are the route pattern; only scrape and probe routes go untraced', () => {
  assert.equal(requestSpanName('GET', '/v1/plans/:id'), 'GET /v1/plans/:id');
  assert.equal(requestSpanName('GET', undefined), 'GET');
  assert.equal(tracesRoute('/metrics'), false);
  assert.equal(tracesRoute('/healthz'), false);
  assert.equal(tracesRoute('/v1/plans'), true);
  assert.equal(tracesRoute(undefined), true);
});

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import { traceHttpClients, untraceHttpClients } from './http-client-spans.ts';
import { type RecordedSpans, recordSpans } from './record-spans.ts';
import { inSpan } from './tracing.ts';

let server: Server;
let url: string;
const received: (string | undefined)[] = [];
let spans: RecordedSpans;

before(async () => {
  server = createServer((req, res) => {
    received.push(req.headers.traceparent as string | undefined);
    res.writeHead(req.url === '/fail' ? 502 : 204).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  spans = recordSpans();
  await traceHttpClients();
});
after(async () => {
  untraceHttpClients();
  await spans.stop();
  await new Promise((resolve) => server.close(resolve));
});

test('a fetch inside traced work is its client span, and the receiver gets the trace', async () => {
  await inSpan('deliver', {}, async () => {
    assert.equal((await fetch(`${url}/hook`, { method: 'POST', body: '{}' })).status, 204);
  });
  const [work] = spans.named('deliver');
  assert.ok(work);
  const [client] = spans.childrenOf(work);
  assert.ok(
    client,
    spans
      .finished()
      .map((s) => s.name)
      .join(),
  );
  assert.equal(client.kind, SpanKind.CLIENT);
  assert.equal(client.attributes['http.request.method'], 'POST');
  assert.equal(client.attributes['http.response.status_code'], 204);
  assert.equal(received.at(-1), `00-${client.spanContext().traceId}-${client.spanContext().spanId}-01`);
});

test('a fetch outside any trace makes no span and sends no traceparent', async () => {
  const before = spans.finished().length;
  assert.equal((await fetch(`${url}/probe`)).status, 204);
  assert.equal(spans.finished().length, before);
  assert.equal(received.at(-1), undefined);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { contextOfHeaders, withTraceHeaders } from '../bus/trace-headers.ts';
import { recordSpans } from './record-spans.ts';
import { activeTraceIds, currentTraceparent, inTraceOf } from './trace-context.ts';
import { batchOptionsOf, samplerOf, startSpan, tracingConfigured } from './tracing.ts';

test('traces are on only with an OTLP endpoint, and off when the SDK is disabled', () => {
  assert.equal(tracingConfigured({}), false);
  assert.equal(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }), true);
  assert.equal(tracingConfigured({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' }), true);
  assert.equal(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x', OTEL_SDK_DISABLED: 'true' }), false);
});

test('bad OTEL_BSP_* and OTEL_TRACES_SAMPLER values are refused with the variable named', () => {
  assert.deepEqual(batchOptionsOf({ OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_BSP_MAX_QUEUE_SIZE: '' }), { scheduledDelayMillis: 100 });
  assert.throws(() => batchOptionsOf({ OTEL_BSP_SCHEDULE_DELAY: 'soon' }), /OTEL_BSP_SCHEDULE_DELAY: "soon" is not a whole number/);
  assert.match(samplerOf({}).toString(), /ParentBased/);
  assert.match(samplerOf({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }).toString(), /0\.25/);
  assert.throws(() => samplerOf({ OTEL_TRACES_SAMPLER: 'sometimes' }), /OTEL_TRACES_SAMPLER: "sometimes" is not one of/);
  assert.throws(() => samplerOf({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' }), /OTEL_TRACES_SAMPLER_ARG/);
});

test('with tracing off, spans are no-ops and no message gets trace headers', () => {
  const span = startSpan('host-run', { parent: '' });
  assert.equal(span.traceparent, '');
  span.run(() => {
    assert.equal(withTraceHeaders(), undefined);
    assert.equal(activeTraceIds(), undefined);
    assert.equal(currentTraceparent(), '');
  });
  span.end();
});

test('a stored traceparent and NATS headers carry one trace from span to span', async () => {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  try {
    const root = startSpan('host-run', { parent: '' });
    root.end();
    assert.match(root.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const [, traceId, rootId] = root.traceparent.split('-');

    // As a restarted process would: only the stored string links the dispatch to the run.
    const dispatch = startSpan('dispatch upgrade', { parent: root.traceparent, kind: 'producer' });
    const headers = await dispatch.run(async () => {
      await Promise.resolve();
      assert.equal(activeTraceIds()?.traceId, traceId);
      return withTraceHeaders();
    });
    dispatch.end();
    assert.ok(headers?.has('traceparent'), 'the message carries the trace');

    // The receiving side: the message's context is the parent of the step's span.
    const step = context.with(contextOfHeaders(headers), () => startSpan('step upgrade'));
    step.end();
    const finished = new Map(exporter.getFinishedSpans().map((s) => [s.name, s]));
    assert.equal(finished.get('host-run')?.parentSpanContext, undefined);
    assert.equal(finished.get('dispatch upgrade')?.parentSpanContext?.spanId, rootId);
    assert.equal(finished.get('step upgrade')?.parentSpanContext?.spanId, finished.get('dispatch upgrade')?.spanContext().spanId);
    for (const s of finished.values()) assert.equal(s.spanContext().traceId, traceId);
    assert.equal(contextOfHeaders(undefined), context.active(), 'a message without a trace starts none');
  } finally {
    await provider.shutdown();
    trace.disable();
    propagation.disable();
    context.disable();
  }
});

test('a span links the stored traceparents it names, takes attributes while it runs, and inTraceOf joins a trace', async () => {
  const rec = recordSpans();
  try {
    const a = startSpan('host-run', { parent: '' });
    const b = startSpan('host-run', { parent: '' });
    a.end();
    b.end();
    const note = startSpan('deliver', { parent: '', links: [a.traceparent, '', 'not-a-traceparent', b.traceparent] });
    note.set({ 'yx.attempts': 2 });
    note.end('receiver down');
    const [delivered] = rec.named('deliver');
    assert.deepEqual(
      delivered?.links.map((l) => l.context.spanId),
      [a, b].map((s) => s.traceparent.split('-')[2]),
    );
    assert.equal(delivered?.attributes['yx.attempts'], 2);
    assert.equal(delivered?.status.message, 'receiver down');

    // Outside any span: the stored trace becomes the parent; inside one of that trace, the active span stays.
    const traceId = a.traceparent.split('-')[1];
    assert.equal(
      inTraceOf(a.traceparent, () => currentTraceparent()),
      a.traceparent,
    );
    const step = startSpan('step', { parent: a.traceparent });
    assert.equal(
      step.run(() => inTraceOf(a.traceparent, () => currentTraceparent())),
      step.traceparent,
    );
    step.end();
    assert.equal(
      inTraceOf('', () => activeTraceIds()),
      undefined,
    );
    assert.equal(rec.childrenOf(rec.named('host-run')[0] as never).length, 1);
    assert.equal(rec.named('step')[0]?.spanContext().traceId, traceId);
  } finally {
    await rec.stop();
  }
});

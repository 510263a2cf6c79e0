// A server span for every API request, the child of the caller's `traceparent` when it
// sends one, active while fastify runs the route (so database commands, bus messages and
// the error body's traceId belong to it). Written here rather than with @fastify/otel:
// 0.21 needs @opentelemetry/core 2 and instrumentation 0.222 (we run 3.1 and 0.301, so
// a second SDK core in the tree) and makes a span per hook; one span per request, with
// the HTTP semantic-convention attributes, is all an operator follows.
import { type Context, context, propagation, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { tracer } from '../telemetry/trace-context.ts';

/** Routes scraped or probed every few seconds: a trace each would bury the ones that matter. */
const UNTRACED_ROUTES = new Set(['/metrics', '/healthz']);

/** The span's name: the method and the route's pattern (never the concrete URL, whose ids are unbounded). */
export function requestSpanName(method: string, route: string | undefined): string {
  return route ? `${method} ${route}` : method;
}

/** Whether a request to `route` gets a span. */
export const tracesRoute = (route: string | undefined): boolean => route === undefined || !UNTRACED_ROUTES.has(route);

const active = new WeakMap<FastifyRequest, Context>();

export function traceRequests(app: FastifyInstance): void {
  app.addHook('onRequest', (req, _reply, done) => {
    const route = req.routeOptions.url;
    if (!tracesRoute(route)) return done();
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const span = tracer().startSpan(
      requestSpanName(req.method, route),
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': req.method,
          'url.path': req.url.split('?')[0] ?? req.url,
          'url.scheme': req.protocol,
          ...(route ? { 'http.route': route } : {}),
          ...(req.headers['user-agent'] ? { 'user_agent.original': req.headers['user-agent'] } : {}),
          ...(req.ip ? { 'client.address': req.ip } : {}),
        },
      },
      parent,
    );
    // Tracing off: the API's no-op span, and nothing to carry.
    if (!span.isRecording()) return done();
    const ctx = trace.setSpan(parent, span);
    active.set(req, ctx);
    // The rest of the request (body, validation, handler, error handler) runs on from
    // `done`, so in this context: a test sends a 600 KB body over a socket to show it.
    context.with(ctx, done);
  });
  app.addHook('onResponse', (req, reply, done) => {
    endSpan(req, reply.statusCode);
    done();
  });
  app.addHook('onRequestAbort', (req, done) => {
    endSpan(req, undefined);
    done();
  });
}

function endSpan(req: FastifyRequest, status: number | undefined): void {
  const ctx = active.get(req);
  if (!ctx) return;
  active.delete(req);
  const span = trace.getSpan(ctx) as Span;
  if (status === undefined) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'the client went away before the answer' });
  } else {
    span.setAttribute('http.response.status_code', status);
    // A server span fails on a 5xx only: a 4xx is the caller's mistake, answered correctly.
    if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}

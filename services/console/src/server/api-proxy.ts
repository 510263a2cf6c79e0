// Same-origin proxies to the APIs: /api/scheduler/* → the scheduler API, /api/alerting/* →
// the alerting API. The caller's Authorization header goes through as sent and the console
// adds no credential of its own: each API decides who may do what. Responses stream
// (server-sent events arrive as the API writes them). An API that does not answer is a
// 503 in the one error shape, naming which.
import httpProxy from '@fastify/http-proxy';
import { UnavailableError } from '@yixing/common';
import type { FastifyInstance } from 'fastify';

export interface ProxiedApi {
  /** Path prefix on the console, e.g. /api/scheduler. */
  prefix: string;
  /** Base URL of the API, e.g. http://127.0.0.1:8080. */
  upstream: string;
  /** Names it in errors: "the scheduler API". */
  name: string;
}

export async function installApiProxy(app: FastifyInstance, api: ProxiedApi): Promise<void> {
  await app.register(httpProxy, {
    upstream: api.upstream,
    prefix: api.prefix,
    rewritePrefix: '',
    // Event streams stay open for as long as the plan runs; the API sends keep-alives.
    http: { requestOptions: { timeout: 0 } },
    undici: { bodyTimeout: 0, headersTimeout: 30_000 },
    replyOptions: {
      onError: (reply, { error }) => {
        reply.send(
          new UnavailableError(`${api.name} at ${api.upstream} did not answer: ${error.message}`, {
            details: { api: api.name },
          }),
        );
      },
    },
  });
}

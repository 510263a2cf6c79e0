// A real HTTP server on 127.0.0.1 for the receivers' tests: it records every request and
// answers each with what the test scripted (status, headers, body), or hangs, or resets.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CapturedRequest {
  method: string;
  /** Path and query, as sent. */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** Epoch ms the request's body had arrived. */
  at: number;
}

export type Answer = { status: number; headers?: Record<string, string>; body?: string | object } | { hang: true } | { reset: true };

export interface CaptureServer {
  /** http://127.0.0.1:<port> */
  base: string;
  requests: CapturedRequest[];
  /** Answers for the next requests, in order; when empty, `fallback` answers. */
  answers: Answer[];
  fallback: Answer;
  /** Resolves once `n` requests in all have arrived. */
  received(n: number): Promise<void>;
  close(): Promise<void>;
}

export async function startCaptureServer(fallback: Answer = { status: 200, body: '' }): Promise<CaptureServer> {
  const requests: CapturedRequest[] = [];
  const answers: Answer[] = [];
  const state = { fallback };
  const waiters: { n: number; resolve: () => void }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      });
      for (const w of waiters.filter((w) => requests.length >= w.n)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
      const answer = answers.shift() ?? state.fallback;
      if ('hang' in answer) return;
      if ('reset' in answer) {
        req.socket.resetAndDestroy();
        return;
      }
      const body = typeof answer.body === 'object' ? JSON.stringify(answer.body) : (answer.body ?? '');
      res.writeHead(answer.status, answer.headers ?? (typeof answer.body === 'object' ? { 'content-type': 'application/json' } : {}));
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    requests,
    answers,
    get fallback() {
      return state.fallback;
    },
    set fallback(a: Answer) {
      state.fallback = a;
    },
    received: (n) => (requests.length >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve }))),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port nothing listens on (bound, then closed). */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

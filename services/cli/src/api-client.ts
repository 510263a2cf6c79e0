// A small client of a Yixing API (the scheduler's, the backup's, the alerting's): JSON requests, the API's error shape turned into
// ApiError with its one-line message, and server-sent events as an async iterator.
import { YxError } from '@yixing/common/errors';

/** An API call that failed: the API's code and status (0: the service was not reached). */
export class ApiError extends YxError {
  readonly code: string;
  readonly retryable: boolean;
  readonly status: number;
  override readonly httpStatus: number;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.httpStatus = status;
    this.code = code;
    this.retryable = status === 0 || status === 429 || status >= 500;
  }
}

export interface ApiClientOptions {
  baseUrl: string;
  /** Who answers there, for messages: "the scheduler" (the default), "the alerting service". */
  service?: string;
  /** The bearer token sent with every request; the API knows the caller by it. */
  token?: string;
  fetch?: typeof fetch;
}

export class ApiClient {
  readonly #opts: ApiClientOptions;

  constructor(opts: ApiClientOptions) {
    this.#opts = opts;
  }

  #auth(): Record<string, string> {
    return this.#opts.token ? { authorization: `Bearer ${this.#opts.token}` } : {};
  }

  async #send(
    method: string,
    path: string,
    body: unknown,
    accept: string,
    headers: Record<string, string> = {},
  ): Promise<{ res: Response; text: string }> {
    const f = this.#opts.fetch ?? fetch;
    let res: Response;
    try {
      res = await f(new URL(path, this.#opts.baseUrl), {
        method,
        headers: { accept, ...this.#auth(), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (err) {
      throw new ApiError(
        0,
        'UNREACHABLE',
        `cannot reach ${this.#opts.service ?? 'the scheduler'} at ${this.#opts.baseUrl}: ${((err as Error).cause as Error | undefined)?.message ?? (err as Error).message}`,
      );
    }
    return { res, text: await res.text() };
  }

  #json(res: Response, text: string): unknown {
    try {
      return text ? JSON.parse(text) : {};
    } catch {
      throw new ApiError(
        res.status,
        'BAD_RESPONSE',
        `${this.#opts.service ?? 'the scheduler'} answered ${res.status} with a body that is not JSON`,
      );
    }
  }

  #failure(res: Response, json: unknown): ApiError {
    const e = (json as { error?: { code?: string; message?: string } }).error;
    return new ApiError(res.status, e?.code ?? 'HTTP_ERROR', e?.message ?? `HTTP ${res.status}`);
  }

  async request<T>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
    const { res, text } = await this.#send(method, path, body, 'application/json', headers);
    const json = this.#json(res, text);
    if (!res.ok) throw this.#failure(res, json);
    return json as T;
  }

  /** A GET answered with text (a CSV export); an error is still the API's JSON error. */
  async getText(path: string): Promise<string> {
    const { res, text } = await this.#send('GET', path, undefined, 'text/csv, application/json');
    if (!res.ok) throw this.#failure(res, this.#json(res, text));
    return text;
  }

  /**
   * The items of a paged list (`{items, nextCursor}`; `key` names another items field),
   * following nextCursor from `cursor` until the last page or `max` items. nextCursor is
   * where to go on from, null at the end; `first` is the first page (for fields such as a
   * total). A page asks for what is still wanted: the API serves at most its page size.
   */
  async list<T>(
    path: string,
    query: URLSearchParams,
    opts: { max?: number; cursor?: string; key?: string } = {},
  ): Promise<{ items: T[]; nextCursor: string | null; first: Record<string, unknown> }> {
    const key = opts.key ?? 'items';
    const items: T[] = [];
    let cursor = opts.cursor ?? null;
    let first: Record<string, unknown> | undefined;
    do {
      const q = new URLSearchParams(query);
      if (cursor) q.set('cursor', cursor);
      if (opts.max !== undefined) q.set('limit', String(opts.max - items.length));
      const page = await this.get<Record<string, unknown> & { nextCursor: string | null }>(`${path}${q.size ? `?${q}` : ''}`);
      first ??= page;
      const got = (page[key] ?? []) as T[];
      items.push(...got);
      cursor = page.nextCursor ?? null;
      if (got.length === 0) break;
    } while (cursor && (opts.max === undefined || items.length < opts.max));
    return { items, nextCursor: cursor, first: first ?? {} };
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  /** Server-sent events of a path, until the server ends the stream or `signal` aborts. */
  async *events(path: string, signal?: AbortSignal): AsyncGenerator<{ event: string; data: unknown }> {
    const f = this.#opts.fetch ?? fetch;
    const res = await f(new URL(path, this.#opts.baseUrl), {
      headers: { accept: 'text/event-stream', ...this.#auth() },
      ...(signal ? { signal } : {}),
    });
    if (!res.ok || !res.body) {
      const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
      throw new ApiError(res.status, body.error?.code ?? 'HTTP_ERROR', body.error?.message ?? `HTTP ${res.status}`);
    }
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf('\n\n');
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data.push(line.slice(6));
        }
        if (data.length > 0) yield { event, data: JSON.parse(data.join('\n')) };
      }
    }
  }
}

// The browser's API client: JSON over fetch to the console's same-origin proxies, the token
// as a bearer, failures as ConsoleApiError (worded by describeApiError), event streams read
// with readEventStream. A 401 signs the user out.
import { type Caller, session } from '../session/session.ts';
import { apiErrorOf, type ConsoleApiError, networkError } from './api-error.ts';
import { readEventStream, type StreamEvent } from './event-stream.ts';

/** The APIs under the console's origin. */
export const API = { scheduler: '/api/scheduler', alerting: '/api/alerting', backup: '/api/backup' } as const;

const headers = (extra: Record<string, string> = {}): Record<string, string> => {
  const token = session.token();
  return { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...extra };
};

async function failure(res: Response): Promise<ConsoleApiError> {
  const body: unknown = await res.json().catch(() => null);
  const err = apiErrorOf(res.status, body);
  if (res.status === 401) session.signOut('expired');
  return err;
}

async function send(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    if (init.signal?.aborted) throw err;
    throw networkError(err);
  }
}

export async function getJson<T>(url: string, signal?: AbortSignal): Promise<T> {
  const res = await send(url, { headers: headers(), ...(signal ? { signal } : {}) });
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

/**
 * POSTs a JSON body; answers the API's JSON. An idempotency key (sent as Idempotency-Key, on
 * the routes that take one) makes a retried request create at most once.
 */
export async function postJson<T>(url: string, body: unknown, opts: { signal?: AbortSignal; idempotencyKey?: string } = {}): Promise<T> {
  const extra: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.idempotencyKey) extra['idempotency-key'] = opts.idempotencyKey;
  const res = await send(url, {
    method: 'POST',
    headers: headers(extra),
    body: JSON.stringify(body ?? {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

/** A fresh Idempotency-Key (1 to 255 visible ASCII characters, as the API requires). */
export const newIdempotencyKey = (): string => crypto.randomUUID();

/** DELETEs a resource (a silence: expired); answers the API's JSON. */
export async function deleteJson<T>(url: string, signal?: AbortSignal): Promise<T> {
  const res = await send(url, { method: 'DELETE', headers: headers(), ...(signal ? { signal } : {}) });
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

/** A file the API answers (a CSV report): its body and the Content-Disposition header. */
export async function getFile(url: string, signal?: AbortSignal): Promise<{ blob: Blob; disposition: string | null }> {
  const res = await send(url, { headers: headers({ accept: '*/*' }), ...(signal ? { signal } : {}) });
  if (!res.ok) throw await failure(res);
  return { blob: await res.blob(), disposition: res.headers.get('content-disposition') };
}

/** Follows an event stream until it ends (resolves) or fails (rejects); abort to stop. */
export async function followEvents(url: string, onEvent: (e: StreamEvent) => void, signal: AbortSignal): Promise<void> {
  const res = await send(url, { headers: headers({ accept: 'text/event-stream' }), signal });
  if (!res.ok || !res.body) throw await failure(res);
  await readEventStream(res.body, onEvent, signal);
}

/** Who the signed-in token belongs to (a 401 signs out). */
export const whoami = (signal?: AbortSignal): Promise<Caller> => getJson<Caller>(`${API.scheduler}/v1/whoami`, signal);

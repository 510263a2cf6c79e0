// One JSON POST to a receiver, and what its outcome means for the dispatcher: accepted, try
// again (when), or refused for good. Node's fetch (undici) is the client: it is built in and
// takes an AbortSignal; the classification is ours, since it is the receivers' contract.
import { DeliveryError } from '../errors.ts';

export interface PostJsonRequest {
  url: string;
  body: unknown;
  headers?: Readonly<Record<string, string>>;
  /** Per-attempt limit; the caller's signal may end the attempt sooner. */
  timeoutMs: number;
  signal: AbortSignal;
  /** Names the destination in errors (the receiver's name); the URL's path and query may hold tokens and are never shown. */
  label: string;
}

export interface PostJsonResponse {
  status: number;
  /** The response body as text (at most MAX_RESPONSE_BYTES of it). */
  body: string;
}

/** Robots answer a few hundred bytes; more than this is not an answer worth reading. */
export const MAX_RESPONSE_BYTES = 64 * 1024;
/** How much of a refusing response body an error message quotes. */
export const BODY_EXCERPT_CHARS = 500;

/**
 * Parses a Retry-After value (RFC 9110 §10.2.3: delay-seconds or an HTTP-date) into ms from
 * `now`; undefined when absent or unreadable. A date in the past means "now": 0.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  const v = value?.trim();
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // HTTP-dates always name a weekday and GMT; Date.parse alone would take "1 2 3" too.
  if (!/^[A-Za-z]{3,9},? .*\d{2}:\d{2}:\d{2}/.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/**
 * What an HTTP answer means: undefined for a 2xx; otherwise a DeliveryError, retryable for
 * 408, 429 and 5xx (with Retry-After when given), not retryable for any other status.
 */
export function classifyHttpStatus(
  label: string,
  origin: string,
  status: number,
  body: string,
  retryAfter: string | null,
  now: number,
): DeliveryError | undefined {
  if (status >= 200 && status < 300) return undefined;
  const excerpt = body.slice(0, BODY_EXCERPT_CHARS);
  const message = `${label}: HTTP ${status} from ${origin}${excerpt ? `: ${excerpt}` : ''}`;
  const details = { receiver: label, status };
  const retryAfterMs = parseRetryAfter(retryAfter, now);
  if (status === 429) return new DeliveryError(message, { code: 'RECEIVER_RATE_LIMITED', retryable: true, retryAfterMs }, { details });
  if (status === 408) return new DeliveryError(message, { code: 'RECEIVER_TIMEOUT', retryable: true, retryAfterMs }, { details });
  if (status >= 500) return new DeliveryError(message, { code: 'RECEIVER_UNAVAILABLE', retryable: true, retryAfterMs }, { details });
  // 3xx lands here too: fetch is told not to follow, since a redirected POST may become a GET.
  return new DeliveryError(message, { code: 'RECEIVER_REFUSED', retryable: false }, { details });
}

/** The destination shown in messages: scheme, host and port, never the path or query (tokens). */
export function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}

/**
 * POSTs `body` as JSON. Resolves with the 2xx answer; rejects with a DeliveryError:
 * RECEIVER_TIMEOUT (the attempt was aborted, by the timeout or the caller), RECEIVER_UNAVAILABLE
 * (connection refused or reset, name not resolved, 5xx), RECEIVER_RATE_LIMITED (429),
 * RECEIVER_REFUSED (other statuses).
 */
export async function postJson(req: PostJsonRequest, now: () => number = Date.now): Promise<PostJsonResponse> {
  const origin = originOf(req.url);
  const timeout = AbortSignal.timeout(req.timeoutMs);
  const signal = AbortSignal.any([req.signal, timeout]);
  let status: number;
  let body: string;
  let retryAfter: string | null;
  try {
    const res = await fetch(req.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'Yixing-Alerting/1', ...req.headers },
      body: JSON.stringify(req.body),
      signal,
      redirect: 'manual',
    });
    status = res.status;
    retryAfter = res.headers.get('retry-after');
    body = await readLimited(res);
  } catch (err) {
    throw transportError(req.label, origin, err, signal.aborted, req.timeoutMs);
  }
  const refused = classifyHttpStatus(req.label, origin, status, body, retryAfter, now());
  if (refused) throw refused;
  return { status, body };
}

function transportError(label: string, origin: string, err: unknown, aborted: boolean, timeoutMs: number): DeliveryError {
  if (aborted) {
    return new DeliveryError(
      `${label}: no answer from ${origin} within the attempt's time (timeout ${timeoutMs} ms)`,
      { code: 'RECEIVER_TIMEOUT', retryable: true },
      { cause: err, details: { receiver: label } },
    );
  }
  // undici reports network failures as TypeError('fetch failed') with the system error as cause.
  const cause = (err as { cause?: { code?: unknown } } | undefined)?.cause;
  const sysCode = typeof cause?.code === 'string' ? cause.code : 'unknown';
  return new DeliveryError(
    `${label}: cannot reach ${origin} (${sysCode})`,
    { code: 'RECEIVER_UNAVAILABLE', retryable: true },
    { cause: err, details: { receiver: label, errno: sysCode } },
  );
}

async function readLimited(res: Response): Promise<string> {
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    const room = MAX_RESPONSE_BYTES - size;
    chunks.push(chunk.byteLength > room ? chunk.subarray(0, room) : chunk);
    size += Math.min(chunk.byteLength, room);
    if (size >= MAX_RESPONSE_BYTES) break;
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

/** What every HTTP receiver holds: its name, its validated configuration, one POST per attempt. */
export abstract class HttpReceiver<C extends { timeoutMs: number }> {
  readonly name: string;
  protected readonly config: C;
  /** The clock robots sign their requests with; tests fix it. */
  protected readonly now: () => number;
  get timeoutMs(): number {
    return this.config.timeoutMs;
  }

  constructor(name: string, config: C, now: () => number = Date.now) {
    this.name = name;
    this.config = config;
    this.now = now;
  }

  protected post(url: string, body: unknown, signal: AbortSignal, headers?: Record<string, string>): Promise<PostJsonResponse> {
    return postJson({ url, body, headers, timeoutMs: this.config.timeoutMs, signal, label: this.name });
  }

  /** POSTs to a chat robot and checks its JSON answer (classifyRobotAnswer). */
  protected async postToRobot(
    url: string,
    body: unknown,
    signal: AbortSignal,
    rateLimitCodes: readonly number[],
    retryAfterMs?: number,
  ): Promise<void> {
    const res = await this.post(url, body, signal);
    const refused = classifyRobotAnswer(this.name, originOf(url), res.body, rateLimitCodes, retryAfterMs);
    if (refused) throw refused;
  }
}

/**
 * The chat robots answer HTTP 200 with a JSON code (`errcode`, `code` or `StatusCode`); 0 is
 * accepted. Undefined when accepted; else a DeliveryError, RECEIVER_RATE_LIMITED and retryable
 * for the robot's frequency-limit codes, RECEIVER_REFUSED for any other code and for an
 * answer that is not the robot's JSON (trying again could post the message twice).
 */
export function classifyRobotAnswer(
  label: string,
  origin: string,
  body: string,
  rateLimitCodes: readonly number[],
  retryAfterMs?: number,
): DeliveryError | undefined {
  let answer: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed !== null && typeof parsed === 'object') answer = parsed as Record<string, unknown>;
  } catch {
    answer = undefined;
  }
  const code = answer?.errcode ?? answer?.code ?? answer?.StatusCode;
  if (code === 0) return undefined;
  const msg = answer?.errmsg ?? answer?.msg ?? answer?.StatusMessage;
  const details = { receiver: label, robotCode: code };
  if (typeof code !== 'number') {
    const excerpt = body.slice(0, BODY_EXCERPT_CHARS);
    return new DeliveryError(
      `${label}: unexpected answer from ${origin}: ${excerpt}`,
      { code: 'RECEIVER_REFUSED', retryable: false },
      { details },
    );
  }
  const message = `${label}: ${origin} answered code ${code}${typeof msg === 'string' ? ` (${msg.slice(0, BODY_EXCERPT_CHARS)})` : ''}`;
  if (rateLimitCodes.includes(code))
    return new DeliveryError(message, { code: 'RECEIVER_RATE_LIMITED', retryable: true, retryAfterMs }, { details });
  return new DeliveryError(message, { code: 'RECEIVER_REFUSED', retryable: false }, { details });
}

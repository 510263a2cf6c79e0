// An email receiver's configuration, in Alertmanager's email_config terms (snake_case keys,
// `smarthost: host:port`, `require_tls` true by default), checked all at once: every
// problem is reported, each naming the key under `path`, and nothing is built from bad input.
import addressparser from 'nodemailer/lib/addressparser';
import { DEFAULT_LOCALE, LOCALES, type Locale } from './receiver-text.ts';

export interface EmailConfig {
  /** Recipients (addresses, each possibly with a display name). */
  to: string[];
  from: string;
  smarthost: { host: string; port: number };
  /** The name sent with EHLO; nodemailer's default (this machine's host name) when unset. */
  hello?: string;
  auth?: { username: string; password: string };
  /**
   * STARTTLS before anything else, failing when the server does not offer it (Alertmanager's
   * default). False: no STARTTLS at all. Port 465 uses TLS from the start whatever this says.
   */
  requireTls: boolean;
  tls: { caFile?: string; serverName?: string; insecureSkipVerify: boolean };
  /** Extra headers, e.g. `X-Priority`; the ones the receiver sets itself are refused. */
  headers: Record<string, string>;
  locale: Locale;
  /** Whether resolved notifications are sent (Alertmanager's email default: false). */
  sendResolved: boolean;
}

export interface EmailConfigCheck {
  config?: EmailConfig;
  problems: string[];
}

const KEYS = [
  'to',
  'from',
  'smarthost',
  'hello',
  'auth_username',
  'auth_password',
  'require_tls',
  'tls_config',
  'headers',
  'locale',
  'send_resolved',
];
const TLS_KEYS = ['ca_file', 'server_name', 'insecure_skip_verify'];
/** Headers the receiver writes: configuring them would break threading or the MIME structure. */
const RESERVED_HEADERS = new Set([
  'from',
  'to',
  'cc',
  'bcc',
  'subject',
  'message-id',
  'references',
  'in-reply-to',
  'date',
  'content-type',
  'content-transfer-encoding',
  'mime-version',
]);
// RFC 5322 field names: printable ASCII except the colon.
const HEADER_NAME = /^[\x21-\x39\x3b-\x7e]+$/;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The one mailbox in `text`, or why it is not one. */
function mailbox(text: string): { address?: string; problem?: string } {
  const parsed = addressparser(text, { flatten: true });
  if (parsed.length !== 1) return { problem: `${JSON.stringify(text)} is ${parsed.length === 0 ? 'no' : 'more than one'} address` };
  const address = parsed[0]!.address;
  if (!/^[^\s@]+@[^\s@]+$/.test(address)) return { problem: `${JSON.stringify(text)} is not an address like ops@example.com` };
  return { address };
}

function parseSmarthost(v: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(v);
  const port = Number(m?.[3]);
  if (!m || port < 1 || port > 65535) return undefined;
  return { host: m[1] ?? m[2]!, port };
}

export function checkEmailConfig(raw: unknown, path: string): EmailConfigCheck {
  const problems: string[] = [];
  const at = (key: string, what: string) => problems.push(`${path}.${key}: ${what}`);
  if (!isRecord(raw)) return { problems: [`${path}: must be an object with to, from and smarthost`] };
  for (const key of Object.keys(raw)) if (!KEYS.includes(key)) at(key, `unknown key (known: ${KEYS.join(', ')})`);

  const str = (key: string, required: boolean): string | undefined => {
    const v = raw[key];
    if (v === undefined) {
      if (required) at(key, 'is required');
      return undefined;
    }
    if (typeof v !== 'string' || v.trim() === '') {
      at(key, 'must be a non-empty string');
      return undefined;
    }
    return v.trim();
  };
  const bool = (obj: Record<string, unknown>, key: string, fallback: boolean, where = key): boolean => {
    const v = obj[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') at(where, 'must be true or false');
    return v === true;
  };

  // Alertmanager's `to` is one comma-separated string; a YAML list reads better.
  const to: string[] = [];
  const rawTo = raw.to;
  const toItems =
    typeof rawTo === 'string'
      ? addressparser(rawTo, { flatten: true }).map((a) => (a.name ? `${a.name} <${a.address}>` : a.address))
      : rawTo;
  if (rawTo === undefined) at('to', 'is required');
  else if (!Array.isArray(toItems) || toItems.length === 0 || !toItems.every((x) => typeof x === 'string'))
    at('to', 'must be an address, a comma-separated list of addresses or a list of them');
  else
    toItems.forEach((item: string, i: number) => {
      const m = mailbox(item);
      if (m.problem) at(typeof rawTo === 'string' ? 'to' : `to[${i}]`, m.problem);
      else to.push(item.trim());
    });

  const from = str('from', true);
  if (from !== undefined) {
    const m = mailbox(from);
    if (m.problem) at('from', m.problem);
  }

  const hostPort = str('smarthost', true);
  const smarthost = hostPort === undefined ? undefined : parseSmarthost(hostPort);
  if (hostPort !== undefined && !smarthost) at('smarthost', `${JSON.stringify(hostPort)} is not host:port (e.g. smtp.example.com:587)`);

  const hello = str('hello', false);
  if (hello !== undefined && /[\s\r\n]/.test(hello)) at('hello', 'must be one host name, without spaces');
  const username = str('auth_username', false);
  const password = str('auth_password', false);
  if ((raw.auth_username === undefined) !== (raw.auth_password === undefined))
    at(
      raw.auth_username === undefined ? 'auth_username' : 'auth_password',
      'is required with the other of auth_username and auth_password',
    );

  const requireTls = bool(raw, 'require_tls', true);
  const sendResolved = bool(raw, 'send_resolved', false);

  const tls: EmailConfig['tls'] = { insecureSkipVerify: false };
  if (raw.tls_config !== undefined) {
    const t = raw.tls_config;
    if (!isRecord(t)) at('tls_config', 'must be an object (ca_file, server_name, insecure_skip_verify)');
    else {
      for (const key of Object.keys(t)) if (!TLS_KEYS.includes(key)) at(`tls_config.${key}`, `unknown key (known: ${TLS_KEYS.join(', ')})`);
      for (const key of ['ca_file', 'server_name'] as const) {
        const v = t[key];
        if (v !== undefined && (typeof v !== 'string' || v === '')) at(`tls_config.${key}`, 'must be a non-empty string');
      }
      if (typeof t.ca_file === 'string' && t.ca_file) tls.caFile = t.ca_file;
      if (typeof t.server_name === 'string' && t.server_name) tls.serverName = t.server_name;
      tls.insecureSkipVerify = bool(t, 'insecure_skip_verify', false, 'tls_config.insecure_skip_verify');
    }
  }

  const headers: Record<string, string> = {};
  if (raw.headers !== undefined) {
    if (!isRecord(raw.headers)) at('headers', 'must be a map of header names to values');
    else
      for (const [name, value] of Object.entries(raw.headers)) {
        if (!HEADER_NAME.test(name)) at(`headers.${name}`, 'is not a header name');
        else if (RESERVED_HEADERS.has(name.toLowerCase())) at(`headers.${name}`, 'is set by the email receiver itself');
        else if (typeof value !== 'string' || /[\r\n]/.test(value)) at(`headers.${name}`, 'must be a one-line string');
        else headers[name] = value;
      }
  }

  let locale: Locale = DEFAULT_LOCALE;
  if (raw.locale !== undefined) {
    if (LOCALES.includes(raw.locale as Locale)) locale = raw.locale as Locale;
    else at('locale', `must be one of ${LOCALES.join(', ')}`);
  }

  if (problems.length > 0 || from === undefined || !smarthost) return { problems };
  const config: EmailConfig = { to, from, smarthost, requireTls, tls, headers, locale, sendResolved };
  if (hello !== undefined) config.hello = hello;
  if (username !== undefined && password !== undefined) config.auth = { username, password };
  return { config, problems };
}

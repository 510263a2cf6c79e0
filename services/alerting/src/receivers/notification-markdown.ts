// A notification as Markdown for people (the robots, PagerDuty's summary): per alert the
// host, plan, wave, step, failure code, the last lines of the step's log and the link to the
// step, within a receiver's byte limit: whole alerts while they fit, then "…and N more".
import type { AlertStatus, Notification, NotifiedAlert, Severity } from '../model/alert.ts';
import { type Locale, RECEIVER_TEXT, type ReceiverText } from './receiver-text.ts';

export interface MarkdownOptions {
  locale: Locale;
  /** The most UTF-8 bytes the text may take (the destination's limit, less its envelope). */
  maxBytes: number;
  /** The most bytes of one alert's log tail; default LOG_TAIL_MAX_BYTES. */
  logTailMaxBytes?: number;
  /** How the log tail is set off: a fenced code block (default), or quoted lines for Markdown without code blocks (WeCom's). */
  logStyle?: LogStyle;
}

export type LogStyle = 'fence' | 'quote';

export interface RenderedMarkdown {
  title: string;
  text: string;
  /** Alerts listed in the text, and alerts left out (those cut here plus notification.truncatedAlerts). */
  listed: number;
  omitted: number;
}

/** About twenty lines of a step's log: enough to see the error, short enough for a phone. */
export const LOG_TAIL_MAX_BYTES = 1500;
/** A log tail shorter than this is not worth its frame. */
const MIN_LOG_BYTES = 64;

const encoder = new TextEncoder();
export const utf8Bytes = (s: string): number => encoder.encode(s).byteLength;

/** The longest prefix of `text` within `maxBytes` UTF-8 bytes, never splitting a character. */
export function cutUtf8(text: string, maxBytes: number): string {
  const bytes = encoder.encode(text);
  if (bytes.byteLength <= maxBytes) return text;
  let end = Math.max(0, maxBytes);
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--; // a continuation byte: back to the character's start
  return new TextDecoder().decode(bytes.subarray(0, end));
}

/** The longest suffix of `text` within `maxBytes` UTF-8 bytes, never splitting a character. */
export function cutUtf8Start(text: string, maxBytes: number): string {
  const bytes = encoder.encode(text);
  if (bytes.byteLength <= maxBytes) return text;
  let start = bytes.byteLength - Math.max(0, maxBytes);
  while (start < bytes.byteLength && (bytes[start]! & 0xc0) === 0x80) start++;
  return new TextDecoder().decode(bytes.subarray(start));
}

/** The last whole lines of a log within `maxBytes`; a single longer last line keeps its end, after "…". */
export function logTail(log: string, maxBytes: number): string {
  const lines = log.replace(/\s+$/, '').split('\n');
  const kept: string[] = [];
  let size = 0;
  for (let i = lines.length - 1; i >= 0; i--) {
    const add = utf8Bytes(lines[i]!) + (kept.length > 0 ? 1 : 0);
    if (size + add > maxBytes) break;
    kept.unshift(lines[i]!);
    size += add;
  }
  if (kept.length === 0 && lines.length > 0) return `…${cutUtf8Start(lines.at(-1)!, maxBytes - utf8Bytes('…'))}`;
  return kept.join('\n');
}

/** firing, acknowledged (every firing alert acknowledged) or resolved, in the locale's words. */
export function statusWord(n: Pick<Notification, 'status' | 'acknowledged'>, t: ReceiverText): string {
  if (n.status === 'resolved') return t.resolved;
  return n.acknowledged ? t.acknowledged : t.firing;
}

const RANK: Record<Severity, number> = { critical: 3, warning: 2, info: 1 };

/** The worst severity among the firing alerts (all alerts when none fires); undefined when none is labelled. */
export function worstSeverity(alerts: readonly NotifiedAlert[]): Severity | undefined {
  const firing = alerts.filter((a) => a.status === 'firing');
  let worst: Severity | undefined;
  for (const a of firing.length > 0 ? firing : alerts) {
    const s = a.labels.severity as Severity | undefined;
    if (s && RANK[s] !== undefined && (worst === undefined || RANK[s] > RANK[worst])) worst = s;
  }
  return worst;
}

/** What the group is about: its alert name and group labels, e.g. `StepFailed plan=p1`. */
export function groupSubject(n: Pick<Notification, 'commonLabels' | 'groupLabels' | 'alerts'>): string {
  const name = n.commonLabels.alertname ?? n.alerts[0]?.labels.alertname ?? 'alerts';
  const labels = Object.entries(n.groupLabels)
    .filter(([k]) => k !== 'alertname')
    .map(([k, v]) => `${k}=${v}`);
  return [name, ...labels].join(' ');
}

export function formatTime(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');
}

function alertSection(a: NotifiedAlert, t: ReceiverText, status: AlertStatus, logBytes: number, logStyle: LogStyle): string {
  const l = a.labels;
  const sev = l.severity ? `${t.severity[l.severity] ?? l.severity} · ` : '';
  const done = status === 'resolved' ? ` (${t.resolved})` : '';
  const where = [l.plan && `${t.plan}: ${l.plan}`, l.wave && `${t.wave}: ${l.wave}`, l.step && `${t.step}: ${l.step}`].filter(Boolean);
  const lines = [
    `**${sev}${a.annotations.summary ?? l.alertname ?? a.fingerprint}**${done}`,
    l.host && `- ${t.host}: ${l.host}`,
    where.length > 0 && `- ${where.join(' · ')}`,
    l.failure_code && `- ${t.failureCode}: ${l.failure_code}`,
    `- ${t.startsAt}: ${formatTime(a.startsAt)}`,
    a.endsAt !== null && `- ${t.endsAt}: ${formatTime(a.endsAt)}`,
    a.link && `- [${t.openStep}](${a.link})`,
  ].filter((x): x is string => typeof x === 'string' && x !== '');
  const log = a.annotations.log_tail;
  if (log && logBytes >= MIN_LOG_BYTES && logStyle === 'fence') {
    // A fence inside the log would end the code block early.
    lines.push('', `${t.logTail}:`, '```', logTail(log.replaceAll('```', "'''"), logBytes), '```');
  } else if (log && logBytes >= MIN_LOG_BYTES) {
    const tail = logTail(log, logBytes).split('\n');
    lines.push('', `${t.logTail}:`, ...tail.map((l) => `> ${l}`));
  }
  return `${lines.join('\n')}\n`;
}

/** The notification as a title and a Markdown text of at most `maxBytes` bytes. */
export function renderNotificationMarkdown(n: Notification, opts: MarkdownOptions): RenderedMarkdown {
  const t = RECEIVER_TEXT[opts.locale];
  const title = t.title(statusWord(n, t), n.alerts.length + n.truncatedAlerts, groupSubject(n));
  const header = `### ${title}\n\n`;
  const note = (omitted: number) => (omitted > 0 ? `\n${t.more(omitted)}\n` : '');
  const reserve = utf8Bytes(note(n.alerts.length + n.truncatedAlerts));
  const logMax = opts.logTailMaxBytes ?? LOG_TAIL_MAX_BYTES;
  const style = opts.logStyle ?? 'fence';
  const sections: string[] = [];
  let used = utf8Bytes(header);
  for (const [i, a] of n.alerts.entries()) {
    let section = alertSection(a, t, a.status, logMax, style);
    // The last alert, with nothing cut before, needs no room for the note.
    const noteRoom = i === n.alerts.length - 1 && n.truncatedAlerts === 0 ? 0 : reserve;
    const room = opts.maxBytes - used - noteRoom - (sections.length > 0 ? 1 : 0);
    if (utf8Bytes(section) > room) {
      if (sections.length > 0) break;
      // The first alert is listed whatever it takes: with less of its log, or cut.
      const bare = utf8Bytes(alertSection(a, t, a.status, 0, style));
      const frame = utf8Bytes(`\n${t.logTail}:\n\`\`\`\n\n\`\`\``) + 1;
      section = alertSection(a, t, a.status, room - bare - frame, style);
      if (utf8Bytes(section) > room) section = cutUtf8(section, room);
    }
    sections.push(section);
    used += utf8Bytes(section) + (sections.length > 1 ? 1 : 0);
  }
  const omitted = n.alerts.length - sections.length + n.truncatedAlerts;
  const text = cutUtf8(header + sections.join('\n') + note(omitted), opts.maxBytes);
  return { title, text, listed: sections.length, omitted };
}

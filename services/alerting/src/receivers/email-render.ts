// A notification as an email: Alertmanager's subject (`[FIRING:3] StepFailed plan=p1 wave=2`),
// a plain-text and an HTML body with, per alert, where it failed, the last lines of the
// step's log and the link to the step, and the Message-ID / References that make mail
// clients thread every notification of one group together.
import { createHash } from 'node:crypto';
import type { Notification, NotifiedAlert } from '../model/alert.ts';
import { formatTime, groupSubject, logTail, statusWord } from './notification-markdown.ts';
import { type Locale, RECEIVER_TEXT, type ReceiverText } from './receiver-text.ts';

/** Mail has room for more of a step's log than a chat robot: about fifty lines. */
export const EMAIL_LOG_TAIL_MAX_BYTES = 4096;

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

export interface EmailThreading {
  /** This notification's own Message-ID, stable per notification id (a retry re-sends the same one). */
  messageId: string;
  /** The group's thread root, which every notification of the group refers to. */
  references: string;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);

/** Only http(s) links become anchors: a `javascript:` link in an alert must not be clickable. */
const safeHref = (link: string): string | undefined => (/^https?:\/\//i.test(link) ? link : undefined);

interface AlertFacts {
  title: string;
  rows: [string, string][];
  log: string;
  link: string;
}

function alertFacts(a: NotifiedAlert, t: ReceiverText): AlertFacts {
  const l = a.labels;
  const sev = l.severity ? `${t.severity[l.severity] ?? l.severity} · ` : '';
  const done = a.status === 'resolved' ? ` (${t.resolved})` : '';
  const rows: [string, string | undefined][] = [
    [t.host, l.host],
    [t.plan, l.plan],
    [t.wave, l.wave],
    [t.step, l.step],
    [t.failureCode, l.failure_code],
    [t.startsAt, formatTime(a.startsAt)],
    [t.endsAt, a.endsAt === null ? undefined : formatTime(a.endsAt)],
  ];
  return {
    title: `${sev}${a.annotations.summary ?? l.alertname ?? a.fingerprint}${done}`,
    rows: rows.filter((r): r is [string, string] => r[1] !== undefined && r[1] !== ''),
    log: a.annotations.log_tail ? logTail(a.annotations.log_tail, EMAIL_LOG_TAIL_MAX_BYTES) : '',
    link: a.link,
  };
}

function alertText(f: AlertFacts, t: ReceiverText): string {
  const lines = [f.title, ...f.rows.map(([k, v]) => `  ${k}: ${v}`)];
  if (f.link) lines.push(`  ${t.openStep}: ${f.link}`);
  if (f.log) lines.push('', `  ${t.logTail}:`, ...f.log.split('\n').map((line) => `    ${line}`));
  return lines.join('\n');
}

const PRE_STYLE = 'background:#f6f8fa;padding:8px;white-space:pre-wrap;font-family:monospace;font-size:12px';

function alertHtml(f: AlertFacts, t: ReceiverText): string {
  const rows = f.rows.map(([k, v]) => `<tr><th align="left">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('');
  const href = safeHref(f.link);
  const link = href
    ? `<p><a href="${escapeHtml(href)}">${escapeHtml(t.openStep)}</a></p>`
    : f.link
      ? `<p>${escapeHtml(t.openStep)}: ${escapeHtml(f.link)}</p>`
      : '';
  const log = f.log ? `<p>${escapeHtml(t.logTail)}:</p><pre style="${PRE_STYLE}">${escapeHtml(f.log)}</pre>` : '';
  return `<div><h3>${escapeHtml(f.title)}</h3><table>${rows}</table>${link}${log}</div>`;
}

/** The notification as a subject, a plain-text body and an HTML body with the same content. */
export function renderEmail(n: Notification, locale: Locale = 'zh-CN'): RenderedEmail {
  const t = RECEIVER_TEXT[locale];
  const subject = t.title(statusWord(n, t), n.alerts.length + n.truncatedAlerts, groupSubject(n));
  const facts = n.alerts.map((a) => alertFacts(a, t));
  const more = n.truncatedAlerts > 0 ? t.more(n.truncatedAlerts) : '';
  const consoleUrl = safeHref(n.externalUrl);
  const text = [
    subject,
    '',
    facts.map((f) => alertText(f, t)).join('\n\n'),
    more && `\n${more}`,
    n.externalUrl && `\n${t.console}: ${n.externalUrl}`,
  ]
    .filter(Boolean)
    .join('\n');
  const html = [
    '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>',
    `<h2>${escapeHtml(subject)}</h2>`,
    facts.map((f) => alertHtml(f, t)).join('<hr>'),
    more && `<p>${escapeHtml(more)}</p>`,
    consoleUrl && `<p><a href="${escapeHtml(consoleUrl)}">${escapeHtml(t.console)}</a></p>`,
    '</body></html>',
  ]
    .filter(Boolean)
    .join('\n');
  return { subject, text, html };
}

const digest = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 32);

/**
 * Message-ID and References for a notification sent from `fromAddress`. The thread root is
 * derived from the receiver and the group key, never sent itself: clients that thread by
 * References (Thunderbird, Apple Mail, Outlook) put every notification of the group under it.
 */
export function emailThreading(n: Pick<Notification, 'id' | 'receiver' | 'groupKey'>, fromAddress: string): EmailThreading {
  const domain = fromAddress.includes('@') ? fromAddress.slice(fromAddress.lastIndexOf('@') + 1) : 'yixing.alerting';
  return {
    messageId: `<yx-alert.${digest(n.id)}@${domain}>`,
    references: `<yx-group.${digest(`${n.receiver}\n${n.groupKey}`)}@${domain}>`,
  };
}

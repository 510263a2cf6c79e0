// Email over SMTP through a smarthost, one nodemailer connection per attempt (alerts are
// few; a pooled connection would outlive the attempt's AbortSignal). Errors are classified
// by the SMTP reply code and nodemailer's error code, never by their text.
import { readFile } from 'node:fs/promises';
import nodemailer, { type NodemailerError, type SMTPTransportOptions, type Transporter } from 'nodemailer';
import addressparser from 'nodemailer/lib/addressparser';
import { DeliveryError } from '../errors.ts';
import type { Notification } from '../model/alert.ts';
import type { EmailConfig } from './email-config.ts';
import { emailThreading, renderEmail } from './email-render.ts';
import type { Receiver } from './receiver.ts';

export interface SmtpFailure {
  /** The receivers' shared DeliveryError codes (http-post.ts): RECEIVER_TIMEOUT, RECEIVER_UNAVAILABLE, RECEIVER_REFUSED. */
  code: 'RECEIVER_TIMEOUT' | 'RECEIVER_UNAVAILABLE' | 'RECEIVER_REFUSED';
  retryable: boolean;
}

/** nodemailer error codes that no retry fixes until someone changes the configuration or the message. */
const REFUSED_CODES = new Set(['ETLS', 'EREQUIRETLS', 'EAUTH', 'ENOAUTH', 'ECONFIG', 'EENVELOPE', 'EMAXRECIPIENTS']);

/**
 * What an SMTP failure means for the dispatcher. A reply code decides when there is one
 * (RFC 5321: 4yz transient, 5yz permanent, except 503 bad sequence, which a new connection
 * fixes); otherwise nodemailer's code: configuration faults (STARTTLS missing, no
 * credentials) are permanent, and connection faults (refused, reset, timed out, DNS) and
 * anything unknown are worth another attempt.
 */
export function classifySmtpError(err: unknown): SmtpFailure {
  const e = (typeof err === 'object' && err !== null ? err : {}) as NodemailerError;
  if (e.code === 'EABORT') return { code: 'RECEIVER_TIMEOUT', retryable: true };
  if (typeof e.responseCode === 'number' && e.responseCode >= 400 && e.responseCode < 600) {
    const permanent = e.permanent ?? (e.responseCode >= 500 && e.responseCode !== 503);
    return permanent ? { code: 'RECEIVER_REFUSED', retryable: false } : { code: 'RECEIVER_UNAVAILABLE', retryable: true };
  }
  if (e.code !== undefined && REFUSED_CODES.has(e.code)) return { code: 'RECEIVER_REFUSED', retryable: false };
  return { code: 'RECEIVER_UNAVAILABLE', retryable: true };
}

export class EmailReceiver implements Receiver {
  readonly kind = 'email' as const;
  readonly name: string;
  readonly config: EmailConfig;
  readonly #fromAddress: string;
  #transport: Promise<Transporter> | undefined;

  /** Alertmanager's email default: no mail when the alerts resolve, unless send_resolved. */
  get sendResolved(): boolean {
    return this.config.sendResolved;
  }

  constructor(name: string, config: EmailConfig) {
    this.name = name;
    this.config = config;
    this.#fromAddress = addressparser(config.from, { flatten: true })[0]?.address ?? config.from;
  }

  // The CA file is read at the first attempt, so a receiver is built without I/O.
  async #makeTransport(): Promise<Transporter> {
    const c = this.config;
    const implicitTls = c.smarthost.port === 465;
    const opts: SMTPTransportOptions = {
      host: c.smarthost.host,
      port: c.smarthost.port,
      secure: implicitTls,
      requireTLS: c.requireTls && !implicitTls,
      ignoreTLS: !c.requireTls,
      tls: {
        rejectUnauthorized: !c.tls.insecureSkipVerify,
        ...(c.tls.caFile ? { ca: await readFile(c.tls.caFile, 'utf8') } : {}),
        ...(c.tls.serverName ? { servername: c.tls.serverName } : {}),
      },
    };
    if (c.hello) opts.name = c.hello;
    if (c.auth) opts.auth = { user: c.auth.username, pass: c.auth.password };
    return nodemailer.createTransport(opts);
  }

  async send(n: Notification, signal: AbortSignal): Promise<void> {
    this.#transport ??= this.#makeTransport();
    let transport: Transporter;
    try {
      transport = await this.#transport;
    } catch (err) {
      this.#transport = undefined;
      throw new DeliveryError(
        `email receiver ${this.name}: cannot read tls_config.ca_file ${this.config.tls.caFile}`,
        {
          code: 'CONFIG_INVALID',
          retryable: false,
        },
        { cause: err },
      );
    }
    const { subject, text, html } = renderEmail(n, this.config.locale);
    const { messageId, references } = emailThreading(n, this.#fromAddress);
    try {
      await transport.sendMail({
        from: this.config.from,
        to: this.config.to,
        subject,
        text,
        html,
        messageId,
        references: [references],
        inReplyTo: references,
        headers: {
          ...this.config.headers,
          // RFC 3834: no vacation auto-replies to an alert.
          'Auto-Submitted': 'auto-generated',
          'X-Yixing-Notification': n.id,
        },
        signal,
      });
    } catch (err) {
      const e = err as NodemailerError;
      const { code, retryable } = classifySmtpError(e);
      const reply = e.responseCode ? ` (SMTP ${e.responseCode} to ${e.command ?? 'the message'})` : e.code ? ` (${e.code})` : '';
      throw new DeliveryError(
        `email receiver ${this.name}: ${smarthostOf(this.config)} did not take notification ${n.id}${reply}`,
        { code, retryable },
        { cause: err, details: { responseCode: e.responseCode, smtpCommand: e.command, nodemailerCode: e.code } },
      );
    }
  }
}

const smarthostOf = (config: EmailConfig): string => `${config.smarthost.host}:${config.smarthost.port}`;

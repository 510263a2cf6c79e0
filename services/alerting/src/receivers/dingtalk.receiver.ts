// DingTalk group robot (钉钉自定义机器人): a markdown message POSTed to the robot's webhook
// URL, signed when the robot has a secret (加签: timestamp in ms and
// urlencode(base64(HMAC-SHA256(secret, timestamp + "\n" + secret)))), mentioning people by
// mobile number. HTTP 200 with errcode ≠ 0 is a failure; 130101 is "sending too fast".
// Format: https://open.dingtalk.com/document/orgapp/custom-robots-send-group-messages
// Signing: https://open.dingtalk.com/document/orgapp/customize-robot-security-settings
import { createHmac } from 'node:crypto';
import type { Notification } from '../model/alert.ts';
import { HttpReceiver } from './http-post.ts';
import { renderNotificationMarkdown, utf8Bytes } from './notification-markdown.ts';
import type { Receiver } from './receiver.ts';
import type { Locale } from './receiver-text.ts';

/** The markdown text's documented limit. */
export const DINGTALK_TEXT_MAX_BYTES = 20_000;
/** 130101: more than 20 messages a minute to the group. */
export const DINGTALK_RATE_LIMIT_CODES: readonly number[] = [130101];
/** DingTalk then refuses the robot for 10 minutes: trying sooner only fails again. */
export const DINGTALK_RATE_LIMIT_PAUSE_MS = 10 * 60_000;

export interface DingTalkMessage {
  msgtype: 'markdown';
  markdown: { title: string; text: string };
  at?: { atMobiles: string[]; isAtAll: boolean };
}

/** base64(HMAC-SHA256(key = secret, message = timestamp + "\n" + secret)), before URL encoding. */
export function dingTalkSign(secret: string, timestampMs: number): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`, 'utf8').digest('base64');
}

/** The robot URL with `timestamp` and `sign` added (URL-encoded) when there is a secret. */
export function dingTalkSignedUrl(url: string, secret: string | undefined, timestampMs: number): string {
  if (!secret) return url;
  const u = new URL(url);
  u.searchParams.set('timestamp', String(timestampMs));
  u.searchParams.set('sign', dingTalkSign(secret, timestampMs));
  return u.toString();
}

export interface DingTalkMessageOptions {
  locale: Locale;
  atMobiles: readonly string[];
  atAll: boolean;
}

export function buildDingTalkMessage(n: Notification, opts: DingTalkMessageOptions): DingTalkMessage {
  // DingTalk only notifies a mentioned member whose @mobile also appears in the text.
  const mentions = opts.atMobiles.length > 0 ? `\n\n${opts.atMobiles.map((m) => `@${m}`).join(' ')}` : '';
  const r = renderNotificationMarkdown(n, { locale: opts.locale, maxBytes: DINGTALK_TEXT_MAX_BYTES - utf8Bytes(mentions) });
  const message: DingTalkMessage = { msgtype: 'markdown', markdown: { title: r.title, text: r.text.trimEnd() + mentions } };
  if (opts.atMobiles.length > 0 || opts.atAll) message.at = { atMobiles: [...opts.atMobiles], isAtAll: opts.atAll };
  return message;
}

export interface DingTalkReceiverConfig extends DingTalkMessageOptions {
  /** https://oapi.dingtalk.com/robot/send?access_token=… */
  url: string;
  secret?: string;
  timeoutMs: number;
}

export class DingTalkReceiver extends HttpReceiver<DingTalkReceiverConfig> implements Receiver {
  readonly kind = 'dingtalk' as const;

  async send(notification: Notification, signal: AbortSignal): Promise<void> {
    const url = dingTalkSignedUrl(this.config.url, this.config.secret, this.now());
    await this.postToRobot(
      url,
      buildDingTalkMessage(notification, this.config),
      signal,
      DINGTALK_RATE_LIMIT_CODES,
      DINGTALK_RATE_LIMIT_PAUSE_MS,
    );
  }
}

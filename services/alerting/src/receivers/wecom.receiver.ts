// WeCom group robot (企业微信群机器人): POST to …/cgi-bin/webhook/send?key=…, a markdown
// message of at most 4096 bytes. That Markdown has no code blocks (headings, bold, links,
// inline code, quotes, font colours only), so the log tail is quoted line by line. Its markdown cannot mention people by mobile number; only
// the text type can (mentioned_mobile_list, 2048 bytes), so a receiver configured with
// mobiles sends text: paging the on-call matters more than the formatting.
// HTTP 200 with errcode ≠ 0 is a failure; 45009 is the frequency limit (20 a minute).
// Format: https://developer.work.weixin.qq.com/document/path/91770
import type { Notification } from '../model/alert.ts';
import { HttpReceiver } from './http-post.ts';
import { renderNotificationMarkdown } from './notification-markdown.ts';
import type { Receiver } from './receiver.ts';
import type { Locale } from './receiver-text.ts';

export const WECOM_MARKDOWN_MAX_BYTES = 4096;
export const WECOM_TEXT_MAX_BYTES = 2048;
/** 45009: api freq out of limit. */
export const WECOM_RATE_LIMIT_CODES: readonly number[] = [45009];
/** The limit is 20 messages a minute: a minute on, the window has room again. */
export const WECOM_RATE_LIMIT_PAUSE_MS = 60_000;

export type WeComMessage =
  | { msgtype: 'markdown'; markdown: { content: string } }
  | { msgtype: 'text'; text: { content: string; mentioned_mobile_list: string[] } };

export interface WeComMessageOptions {
  locale: Locale;
  mentionedMobiles: readonly string[];
}

export function buildWeComMessage(n: Notification, opts: WeComMessageOptions): WeComMessage {
  if (opts.mentionedMobiles.length === 0) {
    const r = renderNotificationMarkdown(n, { locale: opts.locale, maxBytes: WECOM_MARKDOWN_MAX_BYTES, logStyle: 'quote' });
    return { msgtype: 'markdown', markdown: { content: r.text } };
  }
  const r = renderNotificationMarkdown(n, { locale: opts.locale, maxBytes: WECOM_TEXT_MAX_BYTES, logTailMaxBytes: 600, logStyle: 'quote' });
  return { msgtype: 'text', text: { content: r.text, mentioned_mobile_list: [...opts.mentionedMobiles] } };
}

export interface WeComReceiverConfig extends WeComMessageOptions {
  /** https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=… */
  url: string;
  timeoutMs: number;
}

export class WeComReceiver extends HttpReceiver<WeComReceiverConfig> implements Receiver {
  readonly kind = 'wecom' as const;

  async send(notification: Notification, signal: AbortSignal): Promise<void> {
    await this.postToRobot(
      this.config.url,
      buildWeComMessage(notification, this.config),
      signal,
      WECOM_RATE_LIMIT_CODES,
      WECOM_RATE_LIMIT_PAUSE_MS,
    );
  }
}

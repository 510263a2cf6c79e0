// Feishu / Lark custom bot (飞书自定义机器人): POST to …/open-apis/bot/v2/hook/…, an
// interactive card (JSON 2.0: header coloured by status and severity, a markdown body, which
// renders code blocks), signed when the bot has a secret: timestamp in seconds and
// base64(HMAC-SHA256(key = timestamp + "\n" + secret, message = "")). The request body may
// not exceed 20 KB. HTTP 200 with code ≠ 0 is a failure: 9499 and 11232 are frequency
// limits (100 a minute, 5 a second), 19021 a bad signature.
// Format and signing: https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot
// Card: https://open.feishu.cn/document/uAjLw4CM/ukzMukzMukzM/feishu-cards/card-json-v2-structure
import { createHmac } from 'node:crypto';
import type { Notification } from '../model/alert.ts';
import { HttpReceiver } from './http-post.ts';
import { renderNotificationMarkdown, utf8Bytes, worstSeverity } from './notification-markdown.ts';
import type { Receiver } from './receiver.ts';
import type { Locale } from './receiver-text.ts';

/** The documented limit of a request body ("20 KB", read as the smaller 20000 bytes). */
export const FEISHU_BODY_MAX_BYTES = 20_000;
/** The markdown's first budget: the body less room for the card's frame, title and signature. */
export const FEISHU_MARKDOWN_MAX_BYTES = 18_000;
export const FEISHU_RATE_LIMIT_CODES: readonly number[] = [9499, 11232];

export type FeishuColour = 'red' | 'orange' | 'blue' | 'green';

export interface FeishuMessage {
  timestamp?: string;
  sign?: string;
  msg_type: 'interactive';
  card: {
    schema: '2.0';
    header: { title: { tag: 'plain_text'; content: string }; template: FeishuColour };
    body: { elements: { tag: 'markdown'; content: string }[] };
  };
}

/** base64(HMAC-SHA256(key = timestamp + "\n" + secret, message = empty)): Feishu keys the HMAC with the string to sign. */
export function feishuSign(secret: string, timestampSeconds: number): string {
  return createHmac('sha256', `${timestampSeconds}\n${secret}`).update('').digest('base64');
}

/** Red for critical, orange for warning, blue for info while firing; green once resolved. */
export function feishuColour(n: Notification): FeishuColour {
  if (n.status === 'resolved') return 'green';
  const s = worstSeverity(n.alerts);
  return s === 'critical' ? 'red' : s === 'warning' ? 'orange' : 'blue';
}

function cardMessage(
  n: Notification,
  locale: Locale,
  signature: Pick<FeishuMessage, 'timestamp' | 'sign'>,
  maxBytes: number,
): FeishuMessage {
  const r = renderNotificationMarkdown(n, { locale, maxBytes });
  // The card's header shows the title; the markdown starts at the first alert.
  const body = r.text.replace(/^### .*\n\n/, '');
  return {
    ...signature,
    msg_type: 'interactive',
    card: {
      schema: '2.0',
      header: { title: { tag: 'plain_text', content: r.title }, template: feishuColour(n) },
      body: { elements: [{ tag: 'markdown', content: body }] },
    },
  };
}

/** The signed card, its JSON within FEISHU_BODY_MAX_BYTES. */
export function buildFeishuMessage(n: Notification, locale: Locale, secret: string | undefined, nowMs: number): FeishuMessage {
  const ts = Math.floor(nowMs / 1000);
  const signature = secret ? { timestamp: String(ts), sign: feishuSign(secret, ts) } : {};
  let maxBytes = FEISHU_MARKDOWN_MAX_BYTES;
  let message = cardMessage(n, locale, signature, maxBytes);
  // JSON escapes (quotes, backslashes, line breaks in logs) grow the text: shrink it until the body fits.
  for (
    let size = utf8Bytes(JSON.stringify(message));
    size > FEISHU_BODY_MAX_BYTES && maxBytes > 0;
    size = utf8Bytes(JSON.stringify(message))
  ) {
    maxBytes = Math.floor((maxBytes * FEISHU_BODY_MAX_BYTES) / size) - 64;
    message = cardMessage(n, locale, signature, maxBytes);
  }
  return message;
}

export interface FeishuReceiverConfig {
  /** https://open.feishu.cn/open-apis/bot/v2/hook/… (or Lark's open.larksuite.com). */
  url: string;
  secret?: string;
  locale: Locale;
  timeoutMs: number;
}

export class FeishuReceiver extends HttpReceiver<FeishuReceiverConfig> implements Receiver {
  readonly kind = 'feishu' as const;

  async send(notification: Notification, signal: AbortSignal): Promise<void> {
    const body = buildFeishuMessage(notification, this.config.locale, this.config.secret, this.now());
    await this.postToRobot(this.config.url, body, signal, FEISHU_RATE_LIMIT_CODES);
  }
}

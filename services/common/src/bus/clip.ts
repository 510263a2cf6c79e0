// Text cut to the (rule).max_len proto/ declares for its field, read from the generated
// catalog: a sender clips instead of having a long message refused by the codec.
import { limits } from '../gen/catalog.ts';

export type Limits = typeof limits;
export type LimitedMessage = keyof Limits;

/** The field's declared maximum length in UTF-16 code units (what the codec checks). */
export function maxLen<M extends LimitedMessage>(message: M, field: keyof Limits[M]): number {
  return limits[message][field] as number;
}

/** `text` cut to the field's limit, never inside a surrogate pair. */
export function clip<M extends LimitedMessage>(message: M, field: keyof Limits[M], text: string): string {
  const max = maxLen(message, field);
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  // A high surrogate at the cut would leave half a character: cut before it.
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

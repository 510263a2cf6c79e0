// Alertmanager's matchers: `name="value"`, `name!="value"`, `name=~"regex"`, `name!~"regex"`,
// alone or as a list `{a="b", c=~"d"}` (braces optional). Regexes are anchored at both ends,
// as Alertmanager does (`^(?:re)$`); a label that is absent matches like an empty value.
// Written here rather than taken from npm: no package parses Alertmanager's grammar, and its
// errors must name the exact problem and where it is.
import { YxError } from '@yixing/common';
import type { LabelSet } from '../model/alert.ts';

export type MatchType = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  readonly name: string;
  readonly type: MatchType;
  readonly value: string;
}

/** Text that is not a matcher or a list of them; the message says what is wrong and where. */
export class MatcherSyntaxError extends YxError {
  readonly code = 'MATCHER_INVALID';
  readonly retryable = false;
  override readonly httpStatus = 400;
}

const TYPE_ORDER: readonly MatchType[] = ['=', '!=', '=~', '!~'];
const NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const NAME_CHAR = /[a-zA-Z0-9_]/;
/** Characters that end an unquoted value (as in Alertmanager's classic parser, commas and braces delimit). */
const UNQUOTED_END = /[\s,{}"]/;
// Go's strconv.Unquote escapes, so that what Alertmanager (and goQuote) prints reads back.
const ESCAPES: Readonly<Record<string, string>> = { '\\': '\\', '"': '"', n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v' };
const HEX_ESCAPES: Readonly<Record<string, number>> = { x: 2, u: 4, U: 8 };

const compiled = new Map<string, RegExp>();

/** The anchored regular expression of a `=~` / `!~` matcher's value; throws MatcherSyntaxError if invalid. */
export function regexOf(value: string, name = '?'): RegExp {
  const known = compiled.get(value);
  if (known) return known;
  let re: RegExp;
  const source = fromRe2(value);
  try {
    re = new RegExp(`^(?:${source})$`, 'u');
  } catch {
    // Go's RE2 accepts identity escapes such as `\-` that JavaScript's unicode mode refuses.
    try {
      re = new RegExp(`^(?:${source})$`);
    } catch (err) {
      throw new MatcherSyntaxError(
        `${JSON.stringify(value)} is not a valid regular expression for ${JSON.stringify(name)}: ${(err as Error).message}`,
      );
    }
  }
  if (compiled.size > 10_000) compiled.clear();
  compiled.set(value, re);
  return re;
}

/**
 * RE2 syntax JavaScript spells differently: a leading `(?i)` (flags for the rest of the
 * pattern, common in Alertmanager configurations) becomes a modifier group `(?i:...)`,
 * and `(?P<name>` a named group `(?<name>`.
 */
function fromRe2(value: string): string {
  const named = value.replace(/\(\?P</g, '(?<');
  const flags = /^\(\?([a-zA-Z]+)\)/.exec(named);
  if (!flags) return named;
  if (!/^[ims]+$/.test(flags[1]!)) throw new MatcherSyntaxError(`${JSON.stringify(value)}: only the flags i, m and s are supported`);
  return `(?${flags[1]}:${named.slice(flags[0].length)})`;
}

/** Builds a matcher, checking its name and (for regexes) its value. */
export function matcher(name: string, type: MatchType, value: string): Matcher {
  if (name === '') throw new MatcherSyntaxError('a matcher needs a label name');
  if (type === '=~' || type === '!~') regexOf(value, name);
  return { name, type, value };
}

/** Whether one matcher holds for `labels` (an absent label is the empty string). */
export function matchesOne(m: Matcher, labels: LabelSet): boolean {
  const v = labels[m.name] ?? '';
  switch (m.type) {
    case '=':
      return v === m.value;
    case '!=':
      return v !== m.value;
    case '=~':
      return regexOf(m.value, m.name).test(v);
    case '!~':
      return !regexOf(m.value, m.name).test(v);
  }
}

/** Whether every matcher holds for `labels`; no matchers match everything. */
export function matches(matchers: readonly Matcher[], labels: LabelSet): boolean {
  return matchers.every((m) => matchesOne(m, labels));
}

/** Whether the matcher matches a label that is absent or empty. */
export function matchesEmpty(m: Matcher): boolean {
  return matchesOne(m, {});
}

/** Parses exactly one matcher, e.g. `severity=~"critical|warning"`. */
export function parseMatcher(text: string): Matcher {
  const list = parseMatchers(text);
  if (list.length !== 1) throw new MatcherSyntaxError(`${JSON.stringify(text)}: expected one matcher, found ${list.length}`);
  return list[0]!;
}

/** Parses `{a="b", c=~"d"}` or `a="b", c=~"d"` (braces optional, a trailing comma allowed); `{}` is no matchers. */
export function parseMatchers(text: string): Matcher[] {
  return new Parser(text).list();
}

class Parser {
  private pos = 0;
  private readonly text: string;
  constructor(text: string) {
    this.text = text;
  }

  list(): Matcher[] {
    this.skipSpace();
    const braced = this.peek() === '{';
    if (braced) this.pos++;
    const out: Matcher[] = [];
    for (;;) {
      this.skipSpace();
      if (this.atEnd()) {
        if (braced) this.fail(`missing closing '}'`);
        break;
      }
      if (braced && this.peek() === '}') {
        this.pos++;
        this.skipSpace();
        if (!this.atEnd()) this.fail(`unexpected ${JSON.stringify(this.peek())} after '}'`);
        break;
      }
      out.push(this.one());
      this.skipSpace();
      if (this.peek() === ',') this.pos++;
      else if (!this.atEnd() && !(braced && this.peek() === '}'))
        this.fail(`expected ',' between matchers, found ${JSON.stringify(this.peek())}`);
    }
    if (!braced && out.length === 0) this.fail('no matcher');
    return out;
  }

  private one(): Matcher {
    const name = this.name();
    this.skipSpace();
    const type = this.operator(name);
    this.skipSpace();
    const value = this.value();
    try {
      return matcher(name, type, value);
    } catch (err) {
      throw new MatcherSyntaxError(`${JSON.stringify(this.text)}: ${(err as Error).message}`);
    }
  }

  private name(): string {
    if (this.peek() === '"') {
      const name = this.quoted();
      if (name === '') this.fail('a label name cannot be empty');
      return name;
    }
    const start = this.pos;
    while (!this.atEnd() && NAME_CHAR.test(this.peek())) this.pos++;
    const name = this.text.slice(start, this.pos);
    if (name === '') this.fail(`expected a label name, found ${JSON.stringify(this.peek() || 'the end')}`);
    if (!NAME.test(name)) this.fail(`${JSON.stringify(name)} is not a label name (it must not start with a digit)`, start);
    return name;
  }

  private operator(name: string): MatchType {
    const two = this.text.slice(this.pos, this.pos + 2);
    for (const op of ['=~', '!~', '!=', '='] as const) {
      if (two.startsWith(op)) {
        const start = this.pos;
        this.pos += op.length;
        // `=>`, `==`, `=!`, `<`: an operator that is not one; an unquoted value cannot start so.
        if (/[=~!<>]/.test(this.peek()))
          this.fail(`unknown operator ${JSON.stringify(op + this.peek())} after ${JSON.stringify(name)} (use =, !=, =~ or !~)`, start);
        return op;
      }
    }
    return this.fail(
      `expected an operator (=, !=, =~, !~) after ${JSON.stringify(name)}, found ${JSON.stringify(this.peek() || 'the end')}`,
    );
  }

  private value(): string {
    if (this.peek() === '"') return this.quoted();
    const start = this.pos;
    while (!this.atEnd() && !UNQUOTED_END.test(this.peek())) this.pos++;
    return this.text.slice(start, this.pos);
  }

  private quoted(): string {
    const start = this.pos;
    this.pos++;
    let out = '';
    for (;;) {
      if (this.atEnd()) this.fail('unterminated quoted string', start);
      const c = this.text[this.pos++]!;
      if (c === '"') return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      out += this.escape();
    }
  }

  /** After a backslash: one of Go's escapes (\\n, \\", \\xNN, \\uNNNN, ...). */
  private escape(): string {
    const at = this.pos - 1;
    const e = this.text[this.pos++] ?? '';
    const simple = ESCAPES[e];
    if (simple !== undefined) return simple;
    const digits = HEX_ESCAPES[e];
    const hex = digits === undefined ? '' : this.text.slice(this.pos, this.pos + digits);
    if (digits === undefined || !/^[0-9a-fA-F]+$/.test(hex) || hex.length !== digits) {
      this.fail(`unknown escape ${JSON.stringify(`\\${e}`)} in a quoted string (use \\\\, \\", \\n, \\t, \\r, \\xNN or \\uNNNN)`, at);
    }
    this.pos += digits;
    const code = Number.parseInt(hex, 16);
    if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) this.fail(`escape ${JSON.stringify(`\\${e}${hex}`)} is not a character`, at);
    return String.fromCodePoint(code);
  }

  private skipSpace(): void {
    while (!this.atEnd() && /\s/.test(this.peek())) this.pos++;
  }
  private peek(): string {
    return this.text[this.pos] ?? '';
  }
  private atEnd(): boolean {
    return this.pos >= this.text.length;
  }
  private fail(reason: string, at = this.pos): never {
    throw new MatcherSyntaxError(`${JSON.stringify(this.text)}: ${reason} at position ${at}`, {
      details: { text: this.text, position: at, reason },
    });
  }
}

/** Go's strconv.Quote (what `%q` prints): JSON's escapes, with \xNN for other control characters. */
export function goQuote(s: string): string {
  return JSON.stringify(s).replace(/\\u00([01][0-9a-f])/g, (_, hex: string) => `\\x${hex}`);
}

/** OpenMetrics' escaping of a matcher value: only backslash, newline and double quote. */
function openMetricsQuote(s: string): string {
  return `"${s.replace(/[\\\n"]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`;
}

/**
 * Alertmanager's text of a matcher: `name="value"`. The name is quoted (Go's quoting)
 * when it is not a plain identifier; Alertmanager quotes only names with reserved
 * characters, the same for every name an identifier-only parser can read back.
 */
export function matcherString(m: Matcher): string {
  return `${NAME.test(m.name) ? m.name : goQuote(m.name)}${m.type}${openMetricsQuote(m.value)}`;
}

/** Sorted as Alertmanager sorts: by name, then value, then operator (=, !=, =~, !~). */
export function sortMatchers(matchers: readonly Matcher[]): Matcher[] {
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...matchers].sort(
    (a, b) => cmp(a.name, b.name) || cmp(a.value, b.value) || TYPE_ORDER.indexOf(a.type) - TYPE_ORDER.indexOf(b.type),
  );
}

/** Alertmanager's text of a list, `{a="b",c=~"d"}` (no spaces), in the order given: sort first for the canonical text. */
export function matchersString(matchers: readonly Matcher[]): string {
  return `{${matchers.map(matcherString).join(',')}}`;
}

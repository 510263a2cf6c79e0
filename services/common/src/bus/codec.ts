// Encode and decode bus messages through the generated catalog, enforcing the field rules
// declared in proto/ (`(yixing.v1.rule)`), so bad input is refused at the edge.
import {
  create,
  type DescField,
  type DescMessage,
  fromBinary,
  getOption,
  hasOption,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from '@bufbuild/protobuf';
import { type ReflectMessage, reflect } from '@bufbuild/protobuf/reflect';
import { DecodeError, ValidationError } from '../errors.ts';
import { catalog } from '../gen/catalog.ts';
import { rule as ruleExtension } from '../gen/yixing/v1/options_pb.js';

export type Catalog = typeof catalog;
export type RouteName = keyof Catalog;
export type Route<N extends RouteName = RouteName> = Catalog[N];
export type MessageOf<N extends RouteName> = MessageShape<Catalog[N]['schema']>;
export type InitOf<N extends RouteName> = MessageInitShape<Catalog[N]['schema']>;
type ReplySchemaOf<N extends RouteName> = Exclude<Catalog[N]['reply'], undefined>;
export type ReplyOf<N extends RouteName> = MessageShape<ReplySchemaOf<N>>;
export type ReplyInitOf<N extends RouteName> = MessageInitShape<ReplySchemaOf<N>>;

/** Largest message accepted on decode; NATS' default max_payload. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

interface CompiledRule {
  field: DescField;
  required: boolean;
  pattern: RegExp | undefined;
  maxLen: number;
  maxItems: number;
  min: number;
  max: number;
}

const compiled = new WeakMap<DescMessage, CompiledRule[]>();

function rulesOf(desc: DescMessage): CompiledRule[] {
  let rules = compiled.get(desc);
  if (rules) return rules;
  rules = desc.fields.map((field) => {
    const r = hasOption(field, ruleExtension) ? getOption(field, ruleExtension) : undefined;
    return {
      field,
      required: r?.required ?? false,
      pattern: r?.pattern ? new RegExp(r.pattern, 'u') : undefined,
      maxLen: r?.maxLen ?? 0,
      maxItems: r?.maxItems ?? 0,
      min: r?.min ?? 0,
      max: r?.max ?? 0,
    };
  });
  compiled.set(desc, rules);
  return rules;
}

function isEmpty(msg: ReflectMessage, field: DescField): boolean {
  if (!msg.isSet(field)) return true;
  const v = msg.get(field) as unknown;
  if (field.fieldKind === 'list' || field.fieldKind === 'map') return (v as { size: number }).size === 0;
  return false;
}

function checkString(r: CompiledRule, name: string, value: string): void {
  if (r.maxLen > 0 && value.length > r.maxLen) {
    throw new ValidationError(name, `is ${value.length} characters long, at most ${r.maxLen} allowed`);
  }
  if (r.pattern && !r.pattern.test(value)) {
    throw new ValidationError(name, `${JSON.stringify(value.slice(0, 80))} does not match ${r.pattern.source}`);
  }
}

function validateReflect(msg: ReflectMessage, path: string): void {
  for (const r of rulesOf(msg.desc)) {
    const name = path ? `${path}.${r.field.name}` : r.field.name;
    if (isEmpty(msg, r.field)) {
      if (r.required) throw new ValidationError(name, 'is required');
      if (r.min > 0 && r.field.fieldKind === 'scalar') throw new ValidationError(name, `must be at least ${r.min}`);
      continue;
    }
    const value = msg.get(r.field) as unknown;
    if (r.field.fieldKind === 'list') {
      const size = (value as { size: number }).size;
      if (r.maxItems > 0 && size > r.maxItems) throw new ValidationError(name, `has ${size} items, at most ${r.maxItems} allowed`);
      if (r.field.listKind === 'scalar') {
        let i = 0;
        for (const item of value as Iterable<unknown>) if (typeof item === 'string') checkString(r, `${name}[${i++}]`, item);
      }
    }
    if (typeof value === 'string') {
      checkString(r, name, value);
    } else if (value instanceof Uint8Array) {
      if (r.maxLen > 0 && value.length > r.maxLen) throw new ValidationError(name, `is ${value.length} bytes, at most ${r.maxLen} allowed`);
    } else if (typeof value === 'number' || typeof value === 'bigint') {
      const n = Number(value);
      if (r.min !== 0 && n < r.min) throw new ValidationError(name, `is ${n}, must be at least ${r.min}`);
      if (r.max !== 0 && n > r.max) throw new ValidationError(name, `is ${n}, must be at most ${r.max}`);
    }
    if (r.field.fieldKind === 'message') {
      validateReflect(value as ReflectMessage, name);
    } else if (r.field.fieldKind === 'list' && r.field.listKind === 'message') {
      let i = 0;
      for (const item of value as Iterable<ReflectMessage>) validateReflect(item, `${name}[${i++}]`);
    }
  }
}

/** Checks a message against the field rules of its schema; throws ValidationError. */
export function validate<D extends DescMessage>(schema: D, msg: MessageShape<D>): void {
  validateReflect(reflect(schema, msg), '');
}

/** A subject token must be a single NATS token: no dots, wildcards or white space. */
const TOKEN = /^[^.*>\s]+$/u;

function fillSubject(route: Route, msg: Record<string, unknown>): string {
  let i = 0;
  return route.subject.replace(/\{[a-z0-9_]+\}/g, () => {
    const key = route.tokens[i++] as string;
    const value = msg[key];
    if (typeof value !== 'string' || !TOKEN.test(value)) {
      throw new ValidationError(key, `${JSON.stringify(value)} cannot be a subject token`);
    }
    return value;
  });
}

/** The concrete subject a message travels on, filled from the message's own fields. */
export function subjectOf<N extends RouteName>(name: N, msg: MessageOf<N> | InitOf<N>): string {
  return fillSubject(catalog[name], msg as Record<string, unknown>);
}

/** A subscription subject: given tokens filled in, the others `*`. */
export function subjectPattern<N extends RouteName>(name: N, tokens: Partial<Record<Route<N>['tokens'][number], string>> = {}): string {
  const route = catalog[name];
  let i = 0;
  return route.subject.replace(/\{[a-z0-9_]+\}/g, () => {
    const key = route.tokens[i++] as string;
    const value = (tokens as Record<string, string | undefined>)[key];
    if (value === undefined) return '*';
    if (!TOKEN.test(value)) throw new ValidationError(key, `${JSON.stringify(value)} cannot be a subject token`);
    return value;
  });
}

/** Builds, validates and serializes a message of the route. */
export function encode<N extends RouteName>(
  name: N,
  init: InitOf<N> | MessageOf<N>,
): { subject: string; data: Uint8Array; message: MessageOf<N> } {
  const schema = catalog[name].schema as DescMessage;
  const message = create(schema, init as MessageInitShape<DescMessage>) as MessageOf<N>;
  validate(schema, message as MessageShape<DescMessage>);
  return { subject: subjectOf(name, message), data: toBinary(schema, message as MessageShape<DescMessage>), message };
}

function decodeWith<D extends DescMessage>(schema: D, typeName: string, data: Uint8Array): MessageShape<D> {
  if (data.length > MAX_MESSAGE_BYTES) {
    throw new DecodeError(`${typeName}: ${data.length} bytes exceeds the ${MAX_MESSAGE_BYTES}-byte limit`);
  }
  let message: MessageShape<D>;
  try {
    message = fromBinary(schema, data);
  } catch (err) {
    throw new DecodeError(`${typeName}: not a valid protobuf message (${(err as Error).message})`, { cause: err });
  }
  try {
    validate(schema, message);
  } catch (err) {
    if (err instanceof ValidationError) {
      throw new ValidationError(`${typeName}.${err.field}`, err.details.reason as string);
    }
    throw err;
  }
  return message;
}

/**
 * Decodes and validates a message of the route. With `subject`, also checks that the
 * subject's tokens agree with the message (an agent cannot speak for another host).
 */
export function decode<N extends RouteName>(name: N, data: Uint8Array, subject?: string): MessageOf<N> {
  const route = catalog[name];
  const message = decodeWith(route.schema as DescMessage, route.typeName, data) as MessageOf<N>;
  if (subject !== undefined) {
    const expected = subjectOf(name, message);
    if (expected !== subject) {
      throw new ValidationError(`${route.typeName} subject`, `message belongs on ${expected}, arrived on ${subject}`);
    }
  }
  return message;
}

export function encodeReply<N extends RouteName>(name: N, init: ReplyInitOf<N> | ReplyOf<N>): Uint8Array {
  const schema = catalog[name].reply as DescMessage | undefined;
  if (!schema) throw new Error(`route ${String(name)} has no reply type`);
  const message = create(schema, init as MessageInitShape<DescMessage>);
  validate(schema, message);
  return toBinary(schema, message);
}

export function decodeReply<N extends RouteName>(name: N, data: Uint8Array): ReplyOf<N> {
  const schema = catalog[name].reply as DescMessage | undefined;
  if (!schema) throw new Error(`route ${String(name)} has no reply type`);
  return decodeWith(schema, schema.typeName, data) as ReplyOf<N>;
}

export { catalog };

// The silence form, pure: its matchers prefilled from an alert's labels (Alertmanager's
// syntax, values quoted as Go quotes them, which the API reads back), the request it sends
// (POST /v1/silences: matchers, duration, comment), the fields left empty named before
// sending, and the API's problems put beside the field each names. The API is the one
// validator of syntax (matchers, duration): the form does not guess at its rules.

import type { FieldProblem } from '../api/api-error.ts';
import { labelsInOrder } from './alert-list.ts';

export interface SilenceForm {
  matchers: string;
  /** A Prometheus duration from now: 30m, 2h, 1d. */
  duration: string;
  comment: string;
}

export type SilenceField = keyof SilenceForm;
export const SILENCE_FIELDS: readonly SilenceField[] = ['matchers', 'duration', 'comment'];

export interface SilenceRequest {
  matchers: string;
  duration: string;
  comment: string;
}

/** Durations offered beside the field (any other can be typed). */
export const DURATION_PRESETS = ['30m', '2h', '8h', '1d', '7d'] as const;
export const DEFAULT_DURATION = '2h';

const ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

const escapeChar = (c: string): string => {
  const code = c.charCodeAt(0);
  return ESCAPES[c] ?? (code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, '0')}` : c);
};

/** A label value as a quoted string Alertmanager (and the API's parser) reads back as the same value. */
export const quoteValue = (v: string): string => `"${Array.from(v, escapeChar).join('')}"`;

/** Matchers that select exactly the alert's label set: `{alertname="StepFailed", plan="p1", …}`. */
export const matchersOf = (labels: Readonly<Record<string, string>>): string =>
  `{${labelsInOrder(labels)
    .map(([k, v]) => `${k}=${quoteValue(v)}`)
    .join(', ')}}`;

/** The form as it opens for an alert (or blank, for a silence of one's own). */
export const prefilledForm = (labels: Readonly<Record<string, string>> | null): SilenceForm => ({
  matchers: labels ? matchersOf(labels) : '',
  duration: DEFAULT_DURATION,
  comment: '',
});

/** A field's problem: a catalog key (the form's own check) or the API's words. */
export type FormProblem = { field: SilenceField | 'form'; key: string } | { field: SilenceField | 'form'; reason: string };

/** The request the form stands for, or the fields it leaves empty (each required by the API). */
export function silenceRequestOf(form: SilenceForm): { request: SilenceRequest } | { problems: FormProblem[] } {
  const trimmed = { matchers: form.matchers.trim(), duration: form.duration.trim(), comment: form.comment.trim() };
  const problems: FormProblem[] = SILENCE_FIELDS.filter((f) => trimmed[f] === '').map((field) => ({
    field,
    key: `alerts.silenceForm.required.${field}`,
  }));
  return problems.length > 0 ? { problems } : { request: trimmed };
}

/**
 * The API's problems (`body.matchers`, `body.matchers[0].value`, `body.endsAt`) beside the
 * form's fields: the end is what the duration makes, so its problems are the duration's;
 * one the form has no field for is the form's.
 */
export function formProblemsOf(problems: readonly FieldProblem[]): FormProblem[] {
  return problems.map(({ field, reason }) => {
    const name = field.replace(/^body\./, '').replace(/[[.].*$/, '');
    const at: SilenceField | 'form' =
      name === 'matchers' || name === 'comment' || name === 'duration'
        ? name
        : name === 'endsAt' || name === 'startsAt'
          ? 'duration'
          : 'form';
    return { field: at, reason };
  });
}

// A silence as the API takes it (matchers as text, a start, an end or a duration, why),
// checked whole: every problem is reported at once, each naming its field, and nothing is
// stored unless there is none. The rules are validateSilence's; this adds the request's own.
import { parseDuration } from '../config/routing-config.ts';
import { type Matcher, MatcherSyntaxError, parseMatchers } from '../engine/matchers.ts';
import type { Problem } from '../engine/problem.ts';
import { validateSilence } from '../engine/silences.ts';
import { SilenceInvalidError } from './api-errors.ts';

export interface SilenceRequest {
  /** Alertmanager matchers, e.g. `{plan="p1", step=~"upgrade|reboot"}`. */
  matchers?: string;
  /** ISO 8601; now when absent. */
  startsAt?: string;
  /** ISO 8601; or `duration` from startsAt. */
  endsAt?: string;
  /** A Prometheus duration: `2h`, `90m`, `1h30m`, `1d`. */
  duration?: string;
  comment?: string;
}

export interface NewSilence {
  matchers: string;
  startsAt: Date;
  endsAt: Date;
  createdBy: string;
  comment: string;
}

// RFC 3339 with a zone: a time that means the same on every machine.
export const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/;

function time(text: string | undefined, path: string, problems: Problem[]): number | undefined {
  if (text === undefined) return undefined;
  const ms = ISO_TIME.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(ms))
    problems.push({ path, reason: `${JSON.stringify(text)} is not an ISO 8601 time with a zone (like 2026-12-06T15:00:00Z)` });
  return ms;
}

/** The silence `req` asks for, by `createdBy` at `now`; throws SilenceInvalidError naming every problem. */
export function silenceFromRequest(req: SilenceRequest, createdBy: string, now: number): NewSilence {
  const problems: Problem[] = [];
  let matchers: Matcher[] | undefined;
  if (req.matchers === undefined || req.matchers.trim() === '')
    problems.push({ path: 'body.matchers', reason: 'is required (like plan="p1")' });
  else {
    try {
      matchers = parseMatchers(req.matchers);
    } catch (err) {
      if (!(err instanceof MatcherSyntaxError)) throw err;
      problems.push({ path: 'body.matchers', reason: err.message });
    }
  }
  const startsAt = time(req.startsAt, 'body.startsAt', problems) ?? now;
  let endsAt = time(req.endsAt, 'body.endsAt', problems);
  if (req.duration !== undefined) {
    const ms = parseDuration(req.duration);
    if (req.endsAt !== undefined) problems.push({ path: 'body.duration', reason: 'give endsAt or duration, not both' });
    else if (ms === null || ms === 0)
      problems.push({ path: 'body.duration', reason: `${JSON.stringify(req.duration)} is not a duration (like 30m, 2h, 1h30m, 1d)` });
    else endsAt = startsAt + ms;
  } else if (req.endsAt === undefined) problems.push({ path: 'body.endsAt', reason: 'give endsAt or duration' });
  if (req.comment === undefined) problems.push({ path: 'body.comment', reason: 'is required: say why' });
  const said = new Set(problems.map((p) => p.path.replace(/^body\./, '')));
  const rules = validateSilence(
    { matchers: matchers ?? [], startsAt, endsAt: endsAt ?? Number.NaN, createdBy, comment: req.comment ?? '' },
    now,
  ).filter((p) => !said.has(p.path.replace(/\[.*$/, '')) && !(p.path === 'endsAt' && said.has('duration')));
  problems.push(...rules.map((p) => ({ path: `body.${p.path}`, reason: p.reason })));
  if (problems.length > 0 || !matchers || endsAt === undefined || req.matchers === undefined || req.comment === undefined)
    throw new SilenceInvalidError(problems);
  return { matchers: req.matchers.trim(), startsAt: new Date(startsAt), endsAt: new Date(endsAt), createdBy, comment: req.comment.trim() };
}

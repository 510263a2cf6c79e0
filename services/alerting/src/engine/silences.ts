// Alertmanager's silences: matchers that mute every alert they match from startsAt until
// endsAt. A silence is pending before it starts, active while it runs, expired after.
import type { LabelSet } from '../model/alert.ts';
import { type Matcher, matches, matchesEmpty, regexOf } from './matchers.ts';
import type { Problem } from './problem.ts';

export interface Silence {
  readonly id: string;
  readonly matchers: readonly Matcher[];
  /** Epoch ms. */
  readonly startsAt: number;
  /** Epoch ms; expiring a silence sets it to now. */
  readonly endsAt: number;
  readonly createdBy: string;
  readonly comment: string;
}

export type SilenceState = 'pending' | 'active' | 'expired';

/** pending before startsAt, active in [startsAt, endsAt), expired from endsAt on. */
export function silenceState(s: Pick<Silence, 'startsAt' | 'endsAt'>, now: number): SilenceState {
  if (now >= s.endsAt) return 'expired';
  return now < s.startsAt ? 'pending' : 'active';
}

/** The ids of the active silences that match `labels`, sorted. */
export function silencedBy(labels: LabelSet, silences: readonly Silence[], now: number): string[] {
  return silences
    .filter((s) => silenceState(s, now) === 'active' && matches(s.matchers, labels))
    .map((s) => s.id)
    .sort();
}

/**
 * When the last silence that muted `labels` ended (the latest endsAt of the expired
 * silences that match and did run), or null. It lets flush tell an alert whose silence
 * expired since the last notification, which must be notified again.
 */
export function lastSilenceEnd(labels: LabelSet, silences: readonly Silence[], now: number): number | null {
  let last: number | null = null;
  for (const s of silences) {
    if (silenceState(s, now) !== 'expired' || s.endsAt <= s.startsAt || !matches(s.matchers, labels)) continue;
    if (last === null || s.endsAt > last) last = s.endsAt;
  }
  return last;
}

/** Every problem with a new silence at `now` (empty: it may be created), each with its field. */
export function validateSilence(s: Omit<Silence, 'id'>, now: number): Problem[] {
  const problems: Problem[] = [];
  if (s.matchers.length === 0) problems.push({ path: 'matchers', reason: 'a silence needs at least one matcher' });
  let allEmpty = s.matchers.length > 0;
  s.matchers.forEach((m, i) => {
    if (m.name === '') problems.push({ path: `matchers[${i}].name`, reason: 'a label name cannot be empty' });
    try {
      if (m.type === '=~' || m.type === '!~') regexOf(m.value, m.name);
      if (!matchesEmpty(m)) allEmpty = false;
    } catch (err) {
      allEmpty = false;
      problems.push({ path: `matchers[${i}].value`, reason: (err as Error).message });
    }
  });
  if (allEmpty)
    problems.push({
      path: 'matchers',
      reason: 'at least one matcher must not match the empty string (this silence would mute every alert)',
    });
  if (!Number.isFinite(s.startsAt)) problems.push({ path: 'startsAt', reason: 'not a time' });
  if (!Number.isFinite(s.endsAt)) problems.push({ path: 'endsAt', reason: 'not a time' });
  else {
    if (s.endsAt <= s.startsAt) problems.push({ path: 'endsAt', reason: 'must be after startsAt' });
    if (s.endsAt <= now) problems.push({ path: 'endsAt', reason: 'must be in the future' });
  }
  if (s.createdBy.trim() === '') problems.push({ path: 'createdBy', reason: 'who creates the silence must be given' });
  if (s.comment.trim() === '') problems.push({ path: 'comment', reason: 'a comment saying why must be given' });
  return problems;
}

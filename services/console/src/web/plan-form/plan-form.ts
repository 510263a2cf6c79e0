// The new-plan form's values and the request body they stand for, both ways (a YAML tab
// and the form show the same plan). The form only shapes what the user typed into the
// body: a number that is not one is sent as typed, so the API's validator (checkPlan)
// names the field; no rule is decided here. Settings the form has no input for (steps,
// clusterCheck, mode, ...) are kept as they came from the YAML. Pure.
import type { PlanInput } from '@yixing/scheduler';

export const AMOUNT_UNITS = ['count', 'percent'] as const;
export type AmountUnit = (typeof AMOUNT_UNITS)[number];
export interface AmountField {
  value: string;
  unit: AmountUnit;
}

export const SELECTOR_KEYS = ['pool', 'cluster', 'zone', 'rack', 'role', 'hosts'] as const;
export type SelectorKey = (typeof SELECTOR_KEYS)[number];

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface PlanFormValues {
  name: string;
  /** Comma-separated values; more than one matches any of them. */
  selector: Record<SelectorKey, string>;
  profile: string;
  canary: AmountField;
  /** Comma-separated: `25%` a percent, `5` a count of hosts. */
  waves: string;
  promotion: 'manual' | 'auto';
  soakSeconds: string;
  maxInFlight: string;
  perCluster: AmountField;
  perZone: AmountField;
  perRack: AmountField;
  budgetPlan: AmountField;
  budgetWave: AmountField;
  onFailure: 'rollback' | 'hold';
  /** One weekly maintenance window (none when no day is ticked and no time given). */
  window: { days: Weekday[]; from: string; to: string; timezone: string };
  startPaused: boolean;
  dryRun: boolean;
  /** What the form has no input for, as the YAML had it. */
  extra: Record<string, unknown>;
}

const amount = (value = '', unit: AmountUnit = 'count'): AmountField => ({ value, unit });

export const emptyPlanForm = (): PlanFormValues => ({
  name: '',
  selector: { pool: '', cluster: '', zone: '', rack: '', role: '', hosts: '' },
  profile: '',
  canary: amount('1'),
  waves: '',
  promotion: 'manual',
  soakSeconds: '',
  maxInFlight: '10',
  perCluster: amount(),
  perZone: amount(),
  perRack: amount(),
  budgetPlan: amount('5', 'percent'),
  budgetWave: amount(),
  onFailure: 'rollback',
  window: { days: [], from: '', to: '', timezone: '' },
  startPaused: false,
  dryRun: false,
  extra: {},
});

/** A number as typed, or the text itself when it is not one (the validator says what is wrong). */
export const numberOrText = (s: string): number | string => (/^-?\d+(\.\d+)?$/.test(s.trim()) ? Number(s.trim()) : s.trim());

const list = (s: string): string[] =>
  s
    .split(/[,\s]+/)
    .map((v) => v.trim())
    .filter(Boolean);

const amountOf = (a: AmountField): Record<string, number | string> | undefined =>
  a.value.trim() === '' ? undefined : { [a.unit]: numberOrText(a.value) };

/** `25%` → {percent: 25}; `5` → {count: 5}. */
const waveOf = (w: string): Record<string, number | string> =>
  w.endsWith('%') ? { percent: numberOrText(w.slice(0, -1)) } : { count: numberOrText(w) };

const defined = (o: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

/** The request body the form stands for (not yet validated). */
export function formToPlanInput(f: PlanFormValues): Record<string, unknown> {
  const selector: Record<string, unknown> = { ...(f.extra.selector as Record<string, unknown> | undefined) };
  for (const k of SELECTOR_KEYS) {
    const values = list(f.selector[k]);
    if (values.length > 0) selector[k] = k === 'hosts' || values.length > 1 ? values : values[0];
  }
  const w = f.window;
  const window =
    w.days.length > 0 || w.from.trim() || w.to.trim()
      ? defined({ days: w.days, from: w.from.trim(), to: w.to.trim(), timezone: w.timezone.trim() || undefined })
      : undefined;
  const limits = defined({
    maxInFlight: f.maxInFlight.trim() === '' ? undefined : numberOrText(f.maxInFlight),
    perCluster: amountOf(f.perCluster),
    perZone: amountOf(f.perZone),
    perRack: amountOf(f.perRack),
  });
  const budget = defined({ plan: amountOf(f.budgetPlan), wave: amountOf(f.budgetWave) });
  return defined({
    ...f.extra,
    name: f.name.trim(),
    selector,
    profile: f.profile.trim(),
    canary: amountOf(f.canary),
    promotion:
      f.promotion === 'auto'
        ? defined({ mode: 'auto', soakSeconds: f.soakSeconds.trim() === '' ? undefined : numberOrText(f.soakSeconds) })
        : { mode: 'manual' },
    waves: f.waves.trim() === '' ? undefined : list(f.waves).map(waveOf),
    limits: Object.keys(limits).length > 0 ? limits : undefined,
    errorBudget: Object.keys(budget).length > 0 ? budget : undefined,
    windows: window ? [window] : f.extra.windows,
    onFailure: f.onFailure,
    startPaused: f.startPaused || undefined,
    dryRun: f.dryRun || undefined,
  });
}

const FORM_KEYS = new Set([
  'name',
  'selector',
  'profile',
  'canary',
  'promotion',
  'waves',
  'limits',
  'errorBudget',
  'windows',
  'onFailure',
  'startPaused',
  'dryRun',
]);

const text = (v: unknown): string => (v === undefined || v === null ? '' : Array.isArray(v) ? v.map(text).join(', ') : String(v));

const amountField = (v: unknown, fallback: AmountField): AmountField => {
  if (v === undefined) return fallback;
  const o = (v ?? {}) as Record<string, unknown>;
  return 'percent' in o ? amount(text(o.percent), 'percent') : amount(text(o.count), 'count');
};

/**
 * The form for a parsed body; what the form cannot show (a second window, an unknown field)
 * stays in `extra` and goes back unchanged.
 */
export function planInputToForm(input: Record<string, unknown>): PlanFormValues {
  const f = emptyPlanForm();
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) if (!FORM_KEYS.has(k)) extra[k] = v;
  const sel = (input.selector ?? {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(sel)) {
    if ((SELECTOR_KEYS as readonly string[]).includes(k)) f.selector[k as SelectorKey] = text(v);
    else extra.selector = { ...(extra.selector as object | undefined), [k]: v };
  }
  const promotion = (input.promotion ?? {}) as Record<string, unknown>;
  const limits = (input.limits ?? {}) as Record<string, unknown>;
  const budget = (input.errorBudget ?? {}) as Record<string, unknown>;
  const windows = Array.isArray(input.windows) ? (input.windows as Record<string, unknown>[]) : [];
  const weekly = windows.length === 1 && windows[0] && 'days' in windows[0] ? windows[0] : undefined;
  if (windows.length > 0 && !weekly) extra.windows = windows;
  return {
    ...f,
    name: text(input.name),
    profile: text(input.profile),
    canary: amountField(input.canary, amount()),
    waves: Array.isArray(input.waves)
      ? input.waves.map((w: Record<string, unknown>) => ('percent' in (w ?? {}) ? `${text(w.percent)}%` : text(w?.count))).join(', ')
      : '',
    promotion: promotion.mode === 'auto' ? 'auto' : 'manual',
    soakSeconds: text(promotion.soakSeconds),
    maxInFlight: text(limits.maxInFlight),
    perCluster: amountField(limits.perCluster, amount()),
    perZone: amountField(limits.perZone, amount()),
    perRack: amountField(limits.perRack, amount()),
    budgetPlan: amountField(budget.plan, amount()),
    budgetWave: amountField(budget.wave, amount()),
    onFailure: input.onFailure === 'hold' ? 'hold' : 'rollback',
    window: weekly
      ? {
          days: (Array.isArray(weekly.days) ? weekly.days : []).filter((d): d is Weekday => (WEEKDAYS as readonly unknown[]).includes(d)),
          from: text(weekly.from),
          to: text(weekly.to),
          timezone: text(weekly.timezone),
        }
      : f.window,
    startPaused: input.startPaused === true,
    dryRun: input.dryRun === true,
    extra,
  };
}

/** Which of the form's inputs a field the validator names belongs to (the longest path that is a prefix of it). */
export function inputOfField(field: string, inputs: readonly string[]): string | undefined {
  const norm = field.replace(/^body\.?/, '');
  return inputs.filter((i) => norm === i || norm.startsWith(`${i}.`) || norm.startsWith(`${i}[`)).sort((a, b) => b.length - a.length)[0];
}

export type { PlanInput };

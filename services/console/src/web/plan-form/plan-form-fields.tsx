// The new-plan form's inputs. Each is labelled, and one the API's validator refused is
// marked (aria-invalid) and described by the problem's words.
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { AMOUNT_UNITS, type AmountField, type PlanFormValues, SELECTOR_KEYS, WEEKDAYS } from './plan-form.ts';

/** The form's inputs by the body path they fill (what inputOfField maps a problem's field to). */
export const FORM_INPUTS = [
  'name',
  'selector',
  ...SELECTOR_KEYS.map((k) => `selector.${k}`),
  'profile',
  'canary',
  'waves',
  'promotion',
  'promotion.soakSeconds',
  'limits.maxInFlight',
  'limits.perCluster',
  'limits.perZone',
  'limits.perRack',
  'errorBudget.plan',
  'errorBudget.wave',
  'onFailure',
  'windows',
] as const;

export interface PlanFormFieldsProps {
  values: PlanFormValues;
  onChange: (values: PlanFormValues) => void;
  /** The input the current problem belongs to, and the id of the problem's text. */
  invalid: { input: string; messageId: string } | null;
}

/** An id for the input that fills a body path. */
export const inputId = (path: string): string => `plan-${path.replace(/\./g, '-')}`;

export function PlanFormFields({ values: v, onChange, invalid }: PlanFormFieldsProps) {
  const { t } = useTranslation();
  const set = <K extends keyof PlanFormValues>(k: K, value: PlanFormValues[K]): void => onChange({ ...v, [k]: value });
  const mark = (path: string) => (invalid?.input === path ? { 'aria-invalid': true as const, 'aria-describedby': invalid.messageId } : {});
  const text = (path: string, label: string, value: string, change: (s: string) => void, hint?: string): ReactNode => (
    <div className="field">
      <label htmlFor={inputId(path)}>{label}</label>
      <input id={inputId(path)} value={value} onChange={(e) => change(e.target.value)} {...mark(path)} />
      {hint && <span className="hint">{hint}</span>}
    </div>
  );
  const amountInput = (path: string, label: string, a: AmountField, change: (a: AmountField) => void): ReactNode => (
    <div className="field amount">
      <label htmlFor={inputId(path)}>{label}</label>
      <span className="amount-inputs">
        <input
          id={inputId(path)}
          inputMode="decimal"
          value={a.value}
          onChange={(e) => change({ ...a, value: e.target.value })}
          {...mark(path)}
        />
        <select
          aria-label={t('planForm.unitOf', { field: label })}
          value={a.unit}
          onChange={(e) => change({ ...a, unit: e.target.value as AmountField['unit'] })}
        >
          {AMOUNT_UNITS.map((u) => (
            <option key={u} value={u}>
              {t(`planForm.unit.${u}`)}
            </option>
          ))}
        </select>
      </span>
    </div>
  );

  return (
    <div className="plan-form-fields">
      <fieldset>
        <legend>{t('planForm.section.what')}</legend>
        {text('name', t('planForm.field.name'), v.name, (s) => set('name', s))}
        {text('profile', t('planForm.field.profile'), v.profile, (s) => set('profile', s), t('planForm.hint.profile'))}
      </fieldset>
      <fieldset {...mark('selector')}>
        <legend>{t('planForm.section.selector')}</legend>
        <p className="hint">{t('planForm.hint.selector')}</p>
        {SELECTOR_KEYS.map((k) => (
          <div key={k}>
            {text(`selector.${k}`, t(`planForm.selector.${k}`), v.selector[k], (s) => set('selector', { ...v.selector, [k]: s }))}
          </div>
        ))}
      </fieldset>
      <fieldset>
        <legend>{t('planForm.section.rollout')}</legend>
        {amountInput('canary', t('planForm.field.canary'), v.canary, (a) => set('canary', a))}
        {text('waves', t('planForm.field.waves'), v.waves, (s) => set('waves', s), t('planForm.hint.waves'))}
        <div className="field">
          <label htmlFor={inputId('promotion')}>{t('planForm.field.promotion')}</label>
          <select
            id={inputId('promotion')}
            value={v.promotion}
            onChange={(e) => set('promotion', e.target.value as PlanFormValues['promotion'])}
            {...mark('promotion')}
          >
            <option value="manual">{t('planForm.promotion.manual')}</option>
            <option value="auto">{t('planForm.promotion.auto')}</option>
          </select>
        </div>
        {v.promotion === 'auto' &&
          text('promotion.soakSeconds', t('planForm.field.soakSeconds'), v.soakSeconds, (s) => set('soakSeconds', s))}
      </fieldset>
      <fieldset>
        <legend>{t('planForm.section.limits')}</legend>
        {text('limits.maxInFlight', t('planForm.field.maxInFlight'), v.maxInFlight, (s) => set('maxInFlight', s))}
        {amountInput('limits.perCluster', t('planForm.field.perCluster'), v.perCluster, (a) => set('perCluster', a))}
        {amountInput('limits.perZone', t('planForm.field.perZone'), v.perZone, (a) => set('perZone', a))}
        {amountInput('limits.perRack', t('planForm.field.perRack'), v.perRack, (a) => set('perRack', a))}
        {amountInput('errorBudget.plan', t('planForm.field.budgetPlan'), v.budgetPlan, (a) => set('budgetPlan', a))}
        {amountInput('errorBudget.wave', t('planForm.field.budgetWave'), v.budgetWave, (a) => set('budgetWave', a))}
        <div className="field">
          <label htmlFor={inputId('onFailure')}>{t('planForm.field.onFailure')}</label>
          <select
            id={inputId('onFailure')}
            value={v.onFailure}
            onChange={(e) => set('onFailure', e.target.value as PlanFormValues['onFailure'])}
            {...mark('onFailure')}
          >
            <option value="rollback">{t('planForm.onFailure.rollback')}</option>
            <option value="hold">{t('planForm.onFailure.hold')}</option>
          </select>
        </div>
      </fieldset>
      <fieldset {...mark('windows')}>
        <legend>{t('planForm.section.window')}</legend>
        <p className="hint">{t('planForm.hint.window')}</p>
        <div className="weekdays">
          {WEEKDAYS.map((d) => (
            <label key={d} className="check">
              <input
                type="checkbox"
                checked={v.window.days.includes(d)}
                onChange={(e) =>
                  set('window', {
                    ...v.window,
                    days: e.target.checked
                      ? WEEKDAYS.filter((x) => x === d || v.window.days.includes(x))
                      : v.window.days.filter((x) => x !== d),
                  })
                }
              />
              {t(`planForm.weekday.${d}`)}
            </label>
          ))}
        </div>
        {text('windows.from', t('planForm.field.windowFrom'), v.window.from, (s) => set('window', { ...v.window, from: s }), 'HH:MM')}
        {text('windows.to', t('planForm.field.windowTo'), v.window.to, (s) => set('window', { ...v.window, to: s }), 'HH:MM')}
        {text(
          'windows.timezone',
          t('planForm.field.timezone'),
          v.window.timezone,
          (s) => set('window', { ...v.window, timezone: s }),
          'Asia/Shanghai',
        )}
      </fieldset>
      <fieldset>
        <legend>{t('planForm.section.start')}</legend>
        <label className="check">
          <input type="checkbox" checked={v.startPaused} onChange={(e) => set('startPaused', e.target.checked)} />
          {t('planForm.field.startPaused')}
        </label>
        <label className="check">
          <input type="checkbox" checked={v.dryRun} onChange={(e) => set('dryRun', e.target.checked)} />
          {t('planForm.field.dryRun')}
        </label>
      </fieldset>
    </div>
  );
}

// /plans/new: a plan from a form or from YAML (two tabs showing the same plan), checked as
// the API checks it before it is sent (the scheduler's own validator, the problem naming
// its field), then created (with an Idempotency-Key, so a retried click creates it once)
// and opened at /plans/<id>. The API stays the judge: what only it can check (a selector
// that matches no host) comes back as its error.
import type { PlanView } from '@yixing/scheduler';
import { useId, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useLocation } from 'wouter';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { createPlanOffer } from '../actions/action-rules.ts';
import { ConsoleApiError } from '../api/api-error.ts';
import { API, newIdempotencyKey, postJson } from '../api/client.ts';
import { checkPlan, type PlanProblem } from '../plan-form/plan-check.ts';
import { emptyPlanForm, formToPlanInput, inputOfField, type PlanFormValues, planInputToForm } from '../plan-form/plan-form.ts';
import { FORM_INPUTS, inputId, PlanFormFields } from '../plan-form/plan-form-fields.tsx';
import { useCaller } from '../session/caller-context.tsx';
import { ErrorBanner } from './error-banner.tsx';
import '../actions/actions.css';
import './plan-new-view.css';

type Tab = 'form' | 'yaml';
type Problem = { kind: 'field'; problem: PlanProblem } | { kind: 'yaml'; line: number | null; message: string };

/** The YAML's body, or where it does not parse. */
function readYaml(text: string): { body: unknown } | { problem: Problem } {
  try {
    return { body: parseYaml(text) ?? {} };
  } catch (err) {
    const pos = (err as { linePos?: { line: number }[] }).linePos?.[0];
    return { problem: { kind: 'yaml', line: pos?.line ?? null, message: (err as Error).message.split('\n')[0] ?? '' } };
  }
}

export function PlanNewView() {
  const { t } = useTranslation();
  const [, navigate] = useLocation();
  const caller = useCaller();
  const offer = createPlanOffer(caller?.role ?? null);
  const ids = useId();
  const [tab, setTab] = useState<Tab>('form');
  const [form, setForm] = useState<PlanFormValues>(emptyPlanForm);
  const [yamlText, setYamlText] = useState('');
  const [problem, setProblem] = useState<Problem | null>(null);
  const [apiError, setApiError] = useState<ConsoleApiError | null>(null);
  const [busy, setBusy] = useState(false);
  // One key per body: a second click on the same plan is the same request.
  const sent = useRef<{ body: string; key: string } | null>(null);

  const body = (): { body: unknown } | { problem: Problem } => (tab === 'yaml' ? readYaml(yamlText) : { body: formToPlanInput(form) });
  const check = (): unknown => {
    const b = body();
    if ('problem' in b) return setProblem(b.problem);
    const p = checkPlan(b.body);
    setProblem(p ? { kind: 'field', problem: p } : null);
    return p ? undefined : b.body;
  };
  const switchTo = (next: Tab): void => {
    if (next === tab) return;
    if (next === 'yaml') setYamlText(toYaml(formToPlanInput(form)));
    else {
      const b = readYaml(yamlText);
      if ('problem' in b) {
        setProblem(b.problem);
        return;
      }
      setForm(planInputToForm(typeof b.body === 'object' && b.body !== null ? (b.body as Record<string, unknown>) : {}));
    }
    setProblem(null);
    setTab(next);
  };
  const submit = (): void => {
    if (!offer.allowed || busy) return;
    setApiError(null);
    const input = check();
    if (input === undefined) {
      // The problem's input takes focus (in the form); in YAML the text area does.
      requestAnimationFrame(() => document.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus());
      return;
    }
    const json = JSON.stringify(input);
    if (sent.current?.body !== json) sent.current = { body: json, key: newIdempotencyKey() };
    setBusy(true);
    postJson<PlanView>(`${API.scheduler}/v1/plans`, input, { idempotencyKey: sent.current.key }).then(
      (plan) => navigate(`/plans/${encodeURIComponent(plan.id)}`),
      (err: unknown) => {
        setBusy(false);
        setApiError(
          err instanceof ConsoleApiError ? err : new ConsoleApiError(0, { code: 'CLIENT', message: String(err), retryable: false }),
        );
      },
    );
  };

  const messageId = `${ids}-problem`;
  const fieldProblem = problem?.kind === 'field' ? problem.problem : null;
  const field = fieldProblem?.field.replace(/^body\.?/, '') ?? '';
  const invalidInput = fieldProblem ? inputOfField(fieldProblem.field, FORM_INPUTS) : undefined;
  const reason = fieldProblem
    ? t(`planForm.rule.${fieldProblem.keyword}`, { ...ruleValues(fieldProblem.params, t), defaultValue: fieldProblem.reason })
    : '';

  return (
    <section aria-labelledby="new-plan-title" className="plan-new">
      <div className="view-header">
        <h1 id="new-plan-title">{t('planForm.title')}</h1>
      </div>
      <p className="hint">{t('planForm.intro')}</p>
      {!offer.allowed && <p className="hint read-only">{t(`actions.why.${offer.why}`)}</p>}
      <div role="tablist" aria-label={t('planForm.tabs')} className="tabs">
        {(['form', 'yaml'] as const).map((k) => (
          <button
            key={k}
            type="button"
            role="tab"
            id={`${ids}-tab-${k}`}
            aria-selected={tab === k}
            aria-controls={`${ids}-panel`}
            onClick={() => switchTo(k)}
          >
            {t(`planForm.tab.${k}`)}
          </button>
        ))}
      </div>
      <form
        id={`${ids}-panel`}
        role="tabpanel"
        aria-labelledby={`${ids}-tab-${tab}`}
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        {problem && (
          <p id={messageId} className="error-banner plan-problem" role="alert">
            {problem.kind === 'field'
              ? t('planForm.problem', { field: field || t('planForm.wholePlan'), reason })
              : problem.line !== null
                ? t('planForm.yamlProblemAt', { line: problem.line, message: problem.message })
                : t('planForm.yamlProblem', { message: problem.message })}
          </p>
        )}
        {tab === 'form' ? (
          <PlanFormFields values={form} onChange={setForm} invalid={invalidInput ? { input: invalidInput, messageId } : null} />
        ) : (
          <div className="field yaml-field">
            <label htmlFor={inputId('yaml')}>{t('planForm.yamlLabel')}</label>
            <textarea
              id={inputId('yaml')}
              value={yamlText}
              onChange={(e) => setYamlText(e.target.value)}
              rows={22}
              spellCheck={false}
              {...(problem ? { 'aria-invalid': true, 'aria-describedby': messageId } : {})}
            />
          </div>
        )}
        {apiError && <ErrorBanner error={apiError} />}
        <div className="form-buttons">
          <button type="button" onClick={check}>
            {t('planForm.check')}
          </button>
          <button
            type="submit"
            className="primary"
            aria-disabled={offer.allowed ? undefined : true}
            aria-describedby={offer.allowed ? undefined : `${ids}-why`}
            title={offer.allowed ? undefined : t(`actions.why.${offer.why}`)}
          >
            {busy ? t('planForm.creating') : t('planForm.create')}
          </button>
          {!offer.allowed && (
            <span id={`${ids}-why`} className="visually-hidden">
              {t(`actions.why.${offer.why}`)}
            </span>
          )}
          {problem === null && !apiError && !busy && sent.current === null && <span className="hint">{t('planForm.checkHint')}</span>}
        </div>
      </form>
    </section>
  );
}

/** ajv's parameters as words can use them (a list of allowed values joined). */
const ruleValues = (params: Record<string, unknown>, t: (key: string, o: { defaultValue: string }) => string): Record<string, string> =>
  Object.fromEntries(
    Object.entries(params).map(([k, v]) => [
      k,
      Array.isArray(v)
        ? v.map((x) => JSON.stringify(x)).join(', ')
        : k === 'type'
          ? t(`planForm.type.${String(v)}`, { defaultValue: String(v) })
          : String(v),
    ]),
  );

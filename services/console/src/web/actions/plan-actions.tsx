// A plan's actions: pause, resume, approve the gate, retry failed hosts, abort. Each is
// offered as planActionsFor says (the plan's state and the caller's role) and confirmed
// first; abort, which cannot be undone, asks for the plan's name and what hosts in flight
// do: finish their migration (the API's default) or roll back.
import type { PlanView } from '@yixing/scheduler';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { API, postJson } from '../api/client.ts';
import { useCaller } from '../session/caller-context.tsx';
import { ActionButton } from './action-button.tsx';
import { DESTRUCTIVE, PLAN_ACTIONS, type PlanAction, planActionsFor } from './action-rules.ts';

export interface PlanActionsProps {
  plan: PlanView;
  /** Called with the plan as the API answered after an action. */
  onChanged?: (plan: PlanView) => void;
}

export function PlanActions({ plan, onChanged }: PlanActionsProps) {
  const { t } = useTranslation();
  const caller = useCaller();
  const offers = planActionsFor(plan.state, plan.gate, caller?.role ?? null, plan.counters.failed);
  const [inFlight, setInFlight] = useState<'finish' | 'rollback'>('finish');
  const run = (action: PlanAction) => async (): Promise<void> => {
    const body = action === 'abort' ? { inFlight } : {};
    const answer = await postJson<{ plan: PlanView }>(`${API.scheduler}/v1/plans/${encodeURIComponent(plan.id)}/${action}`, body);
    onChanged?.(answer.plan);
  };
  const values = { name: plan.name, failed: plan.counters.failed };
  return (
    <fieldset className="actions plan-actions">
      <legend className="visually-hidden">{t('actions.plan.group', { name: plan.name })}</legend>
      {PLAN_ACTIONS.map((a) => (
        <ActionButton
          key={a}
          label={t(`actions.plan.${a}.label`)}
          offer={offers[a]}
          confirm={{
            title: t(`actions.plan.${a}.title`, values),
            body: t(`actions.plan.${a}.body`, values),
            confirmLabel: t(`actions.plan.${a}.confirm`),
            typeToConfirm: DESTRUCTIVE.has(a) ? plan.name : undefined,
          }}
          run={run(a)}
        >
          {a === 'abort' && (
            <fieldset className="in-flight">
              <legend>{t('actions.plan.abort.inFlight')}</legend>
              {(['finish', 'rollback'] as const).map((choice) => (
                <label key={choice} className="check">
                  <input type="radio" name="in-flight" checked={inFlight === choice} onChange={() => setInFlight(choice)} />
                  {t(`actions.plan.abort.${choice}`)}
                </label>
              ))}
            </fieldset>
          )}
        </ActionButton>
      ))}
    </fieldset>
  );
}

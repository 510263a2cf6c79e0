// The actions section of a host's view for the chosen run: its plan (name and state in
// words) with the plan's actions, and this host's actions in that plan. The plan is asked
// for again while it is live, and at once after an action.
import type { PlanView, RunView } from '@yixing/scheduler';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { ConsoleApiError } from '../api/api-error.ts';
import { API, getJson } from '../api/client.ts';
import { startPolling } from '../hosts/polling.ts';
import { useCaller } from '../session/caller-context.tsx';
import { ErrorBanner } from '../views/error-banner.tsx';
import { hostActionsFor } from './action-rules.ts';
import { HostActions } from './host-actions.tsx';
import { PlanActions } from './plan-actions.tsx';

const POLL_MS = 2000;

export function RunActions({ run, onChanged }: { run: RunView; onChanged: () => void }) {
  const { t } = useTranslation();
  const caller = useCaller();
  // Said once, in words, when the role is why nothing here may be used.
  const retry = hostActionsFor(run, caller?.role ?? null).retry;
  const readOnly = !retry.allowed && retry.why === 'role';
  const [plan, setPlan] = useState<PlanView | null>(null);
  const [error, setError] = useState<ConsoleApiError | null>(null);
  const [round, setRound] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: a round is an ask-again-now
  useEffect(
    () =>
      startPolling(
        (signal) => getJson<PlanView>(`${API.scheduler}/v1/plans/${encodeURIComponent(run.planId)}`, signal),
        (p) => {
          setPlan(p);
          setError(null);
          return p.state === 'completed' || p.state === 'aborted' ? null : POLL_MS;
        },
        setError,
      ),
    [run.planId, round],
  );
  const changed = (): void => {
    setRound((r) => r + 1);
    onChanged();
  };
  return (
    <section className="card run-actions" aria-labelledby="run-actions-title">
      <h2 id="run-actions-title">{t('actions.title')}</h2>
      {readOnly && <p className="hint read-only">{t('actions.why.role')}</p>}
      {error && <ErrorBanner error={error} />}
      {plan && plan.id === run.planId && (
        <>
          <p className="plan-line">
            {t('actions.planLine', { name: plan.name })}{' '}
            <span className={`badge state-${plan.state}`} data-plan-state={plan.state}>
              {t(`planState.${plan.state}`)}
            </span>
          </p>
          <PlanActions plan={plan} onChanged={changed} />
        </>
      )}
      <p className="host-line">{t('actions.hostLine', { host: run.hostId })}</p>
      <HostActions run={run} onChanged={changed} />
    </section>
  );
}

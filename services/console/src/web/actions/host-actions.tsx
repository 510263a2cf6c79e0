// One host's actions in one plan: retry its failed step or roll it back when it is held,
// exclude it while it is still pending. Offered as hostActionsFor says, confirmed first;
// roll back and exclude ask for the host's id.
import type { RunView } from '@yixing/scheduler';
import { useTranslation } from 'react-i18next';
import { API, postJson } from '../api/client.ts';
import { useCaller } from '../session/caller-context.tsx';
import { ActionButton } from './action-button.tsx';
import { DESTRUCTIVE, HOST_ACTIONS, type HostAction, hostActionsFor } from './action-rules.ts';

export interface HostActionsProps {
  run: RunView;
  /** Called with the run as the API answered after an action. */
  onChanged?: (run: RunView) => void;
}

export function HostActions({ run, onChanged }: HostActionsProps) {
  const { t } = useTranslation();
  const caller = useCaller();
  const offers = hostActionsFor(run, caller?.role ?? null);
  const act = (action: HostAction) => async (): Promise<void> => {
    const path = `/v1/plans/${encodeURIComponent(run.planId)}/hosts/${encodeURIComponent(run.hostId)}/${action}`;
    onChanged?.(await postJson<RunView>(`${API.scheduler}${path}`, {}));
  };
  const values = { host: run.hostId, plan: run.planId, step: run.failure ? t(`step.${run.failure.step}`) : '' };
  return (
    <fieldset className="actions host-actions">
      <legend className="visually-hidden">{t('actions.host.group', { host: run.hostId })}</legend>
      {HOST_ACTIONS.map((a) => (
        <ActionButton
          key={a}
          label={t(`actions.host.${a}.label`)}
          offer={offers[a]}
          confirm={{
            title: t(`actions.host.${a}.title`, values),
            body: t(`actions.host.${a}.body`, values),
            confirmLabel: t(`actions.host.${a}.confirm`),
            typeToConfirm: DESTRUCTIVE.has(a) ? run.hostId : undefined,
          }}
          run={act(a)}
        />
      ))}
    </fieldset>
  );
}

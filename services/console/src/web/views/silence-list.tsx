// The silences: each with its matchers, state in words, when it starts and ends, who made
// it and why, and (an operator's) Expire, confirmed first. A table at desktop width,
// cards on a phone (the plans table's CSS).
import { useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ConfirmDialog } from '../actions/confirm-dialog.tsx';
import { OfferedButton } from '../actions/offered-button.tsx';
import type { SilenceView } from '../alerts/alert-list.ts';
import { expireOffer, whyNot } from '../alerts/alert-offers.ts';
import { API, deleteJson } from '../api/client.ts';
import { useCaller } from '../session/caller-context.tsx';

const STATE_ICON = { active: '■', pending: '◇', expired: '○' } as const;

export function SilenceList({ silences, onChanged }: { silences: SilenceView[]; onChanged: () => void }) {
  const { t, i18n } = useTranslation();
  const date = new Intl.DateTimeFormat(i18n.language, { dateStyle: 'short', timeStyle: 'short' });
  if (silences.length === 0) return <p>{t('alerts.silences.none')}</p>;
  return (
    <table className="plans silences">
      <thead>
        <tr>
          <th scope="col">{t('alerts.silences.column.matchers')}</th>
          <th scope="col">{t('alerts.silences.column.state')}</th>
          <th scope="col">{t('alerts.silences.column.period')}</th>
          <th scope="col">{t('alerts.silences.column.by')}</th>
          <th scope="col">{t('alerts.silences.column.actions')}</th>
        </tr>
      </thead>
      <tbody>
        {silences.map((s) => (
          <SilenceRow key={s.id} silence={s} date={date} onChanged={onChanged} />
        ))}
      </tbody>
    </table>
  );
}

function SilenceRow({ silence: s, date, onChanged }: { silence: SilenceView; date: Intl.DateTimeFormat; onChanged: () => void }) {
  const { t } = useTranslation();
  const caller = useCaller();
  const [confirming, setConfirming] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  const state = s.state as keyof typeof STATE_ICON;
  return (
    <tr data-silence={s.id} data-state={s.state}>
      <th scope="row" data-label={t('alerts.silences.column.matchers')}>
        <code className="matchers">{s.matchers}</code>
      </th>
      <td data-label={t('alerts.silences.column.state')}>
        <span className={`badge silence-${s.state}`} data-silence-state={s.state}>
          <span aria-hidden="true">{STATE_ICON[state] ?? ''}</span> {t(`alerts.silences.state.${s.state}`)}
        </span>
      </td>
      <td data-label={t('alerts.silences.column.period')}>
        {t('alerts.silences.period', { from: date.format(new Date(s.startsAt)), to: date.format(new Date(s.endsAt)) })}
      </td>
      <td data-label={t('alerts.silences.column.by')}>
        {t('alerts.silences.by', { by: s.createdBy, comment: s.comment })}
        {s.expiredBy && <div className="counts">{t('alerts.silences.expiredBy', { by: s.expiredBy })}</div>}
      </td>
      <td data-label={t('alerts.silences.column.actions')}>
        <OfferedButton
          ref={button}
          label={t('alerts.silences.expire.label')}
          name={t('alerts.silences.expire.name', { matchers: s.matchers })}
          reason={whyNot(t, expireOffer(s, caller?.role ?? null))}
          onClick={() => setConfirming(true)}
        />
        {confirming && (
          <ConfirmDialog
            title={t('alerts.silences.expire.title')}
            body={t('alerts.silences.expire.body', { matchers: s.matchers })}
            confirmLabel={t('alerts.silences.expire.confirm')}
            onConfirm={async () => {
              await deleteJson<SilenceView>(`${API.alerting}/v1/silences/${encodeURIComponent(s.id)}`);
              onChanged();
            }}
            onClose={() => {
              setConfirming(false);
              button.current?.focus();
            }}
          />
        )}
      </td>
    </tr>
  );
}

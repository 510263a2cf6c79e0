// The alerts view (/alerts): the alerts of one filter (firing — acknowledged ones too —,
// acknowledged, resolved, all), newest first, a page at a time (cursor paging: "load
// more"), each with its labels, the failed step's log one link away and an operator's
// Acknowledge and Silence; then the silences, with New silence and Expire. A viewer sees
// the actions disabled, with the reason. The filter is kept in the address (?state=).
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSearch } from 'wouter';
import { OfferedButton } from '../actions/offered-button.tsx';
import { ALERT_FILTERS, type AlertFilter, isAlertFilter } from '../alerts/alert-list.ts';
import { newSilenceOffer, whyNot } from '../alerts/alert-offers.ts';
import { useAlertList, useSilences } from '../alerts/use-alerts.ts';
import { useCaller } from '../session/caller-context.tsx';
import { AlertItem } from './alert-item.tsx';
import { ErrorBanner } from './error-banner.tsx';
import { SilenceFormDialog } from './silence-form-dialog.tsx';
import { SilenceList } from './silence-list.tsx';
import './alerts-view.css';

interface SilenceRequestState {
  labels: Readonly<Record<string, string>> | null;
  opener: HTMLElement | null;
}

export function AlertsView() {
  const { t } = useTranslation();
  const caller = useCaller();
  const search = new URLSearchParams(useSearch());
  const asked = search.get('state');
  const [filter, setFilter] = useState<AlertFilter>(isAlertFilter(asked) ? asked : 'firing');
  const list = useAlertList(filter);
  const silences = useSilences();
  const [silencing, setSilencing] = useState<SilenceRequestState | null>(null);
  const [announce, setAnnounce] = useState('');

  const choose = (f: AlertFilter): void => {
    setFilter(f);
    const q = new URLSearchParams(window.location.search);
    q.set('state', f);
    window.history.replaceState(null, '', `${window.location.pathname}?${q}`);
  };

  return (
    <section aria-labelledby="alerts-title" className="alerts-view">
      <div className="view-header">
        <h1 id="alerts-title">{t('alerts.title')}</h1>
        <button
          type="button"
          onClick={() => {
            list.reload();
            silences.reload();
          }}
        >
          {t('alerts.refresh')}
        </button>
      </div>
      <fieldset className="alert-filters">
        <legend>{t('alerts.filter.legend')}</legend>
        {ALERT_FILTERS.map((f) => (
          <button key={f} type="button" aria-pressed={filter === f} data-filter={f} onClick={() => choose(f)}>
            {t(`alerts.filter.${f}`)}
          </button>
        ))}
      </fieldset>
      {list.error && <ErrorBanner error={list.error} />}
      <p className="visually-hidden" role="status">
        {announce}
      </p>
      {list.alerts === null && !list.error && <p>{t('alerts.loading')}</p>}
      {list.alerts && list.alerts.length === 0 && <p className="alerts-empty">{t(`alerts.empty.${filter}`)}</p>}
      {list.alerts && list.alerts.length > 0 && (
        <ul className="alert-list" aria-labelledby="alerts-title">
          {list.alerts.map((a) => (
            <AlertItem
              key={a.fingerprint}
              alert={a}
              onChanged={(changed) => {
                list.replace(changed);
                setAnnounce(t('alerts.ack.done', { name: changed.labels.alertname ?? changed.fingerprint }));
              }}
              onSilence={(labels, opener) => setSilencing({ labels, opener })}
            />
          ))}
        </ul>
      )}
      {list.nextCursor && (
        <button type="button" onClick={list.loadMore} disabled={list.loadingMore}>
          {list.loadingMore ? t('alerts.loadingMore') : t('alerts.loadMore')}
        </button>
      )}
      <div className="view-header silences-header">
        <h2 id="silences-title">{t('alerts.silences.title')}</h2>
        <OfferedButton
          label={t('alerts.silences.new')}
          reason={whyNot(t, newSilenceOffer(caller?.role ?? null))}
          onClick={() => setSilencing({ labels: null, opener: document.activeElement as HTMLElement | null })}
        />
      </div>
      {silences.error && <ErrorBanner error={silences.error} />}
      {silences.silences && (
        <SilenceList
          silences={silences.silences}
          onChanged={() => {
            silences.reload();
            setAnnounce(t('alerts.silences.expire.done'));
          }}
        />
      )}
      {silencing && (
        <SilenceFormDialog
          labels={silencing.labels}
          onCreated={() => {
            silences.reload();
            setAnnounce(t('alerts.silenceForm.created'));
          }}
          onClose={() => {
            silencing.opener?.focus();
            setSilencing(null);
          }}
        />
      )}
    </section>
  );
}

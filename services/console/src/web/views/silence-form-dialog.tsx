// The silence form, in a modal <dialog>: matchers (prefilled from an alert's labels), a
// duration from now and a comment, each labelled, with a hint; an empty field is named
// before anything is sent, and each problem the API finds is shown beside the field it
// names (aria-invalid, described by it). Nothing is created unless the API accepts it.
import { type ChangeEvent, type ReactNode, useEffect, useId, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { SilenceView } from '../alerts/alert-list.ts';
import {
  DURATION_PRESETS,
  type FormProblem,
  formProblemsOf,
  prefilledForm,
  type SilenceField,
  type SilenceForm,
  silenceRequestOf,
} from '../alerts/silence-form.ts';
import { ConsoleApiError } from '../api/api-error.ts';
import { API, postJson } from '../api/client.ts';
import { ErrorBanner } from './error-banner.tsx';

export interface SilenceFormDialogProps {
  /** The alert's labels to prefill the matchers with; null for a blank form. */
  labels: Readonly<Record<string, string>> | null;
  onCreated: (s: SilenceView) => void;
  onClose: () => void;
}

export function SilenceFormDialog({ labels, onCreated, onClose }: SilenceFormDialogProps) {
  const { t } = useTranslation();
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  const [form, setForm] = useState<SilenceForm>(() => prefilledForm(labels));
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const [failure, setFailure] = useState<ConsoleApiError | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);

  const submit = (): void => {
    const checked = silenceRequestOf(form);
    setFailure(null);
    if ('problems' in checked) {
      setProblems(checked.problems);
      return;
    }
    setProblems([]);
    setBusy(true);
    postJson<SilenceView>(`${API.alerting}/v1/silences`, checked.request).then(
      (s) => {
        onCreated(s);
        onClose();
      },
      (err: unknown) => {
        setBusy(false);
        const e = err instanceof ConsoleApiError ? err : new ConsoleApiError(0, { code: 'CLIENT', message: String(err), retryable: false });
        const named = formProblemsOf(e.problems);
        setProblems(named);
        // What no field shows is said above the buttons.
        if (named.length === 0 || named.some((p) => p.field === 'form')) setFailure(e);
      },
    );
  };

  const problemText = (p: FormProblem): string => ('key' in p ? t(p.key) : p.reason);
  const field = (name: SilenceField, control: (props: Record<string, unknown>) => ReactNode) => {
    const mine = problems.filter((p) => p.field === name);
    const hintId = `${id}-${name}-hint`;
    const errorId = `${id}-${name}-error`;
    return (
      <div className="form-field" data-field={name}>
        <label htmlFor={`${id}-${name}`}>{t(`alerts.silenceForm.${name}`)}</label>
        {control({
          id: `${id}-${name}`,
          value: form[name],
          disabled: busy,
          'aria-invalid': mine.length > 0 ? true : undefined,
          'aria-describedby': mine.length > 0 ? `${errorId} ${hintId}` : hintId,
          onChange: (e: ChangeEvent<HTMLInputElement | HTMLTextAreaElement>) => setForm((f) => ({ ...f, [name]: e.target.value })),
        })}
        <p id={hintId} className="field-hint">
          {t(`alerts.silenceForm.hint.${name}`, { presets: DURATION_PRESETS.join(t('alerts.silenceForm.listSeparator')) })}
        </p>
        {mine.length > 0 && (
          <p id={errorId} className="field-error">
            {mine.map((p, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: the problems of one answer, in its order
              <span key={i}>{t('alerts.silenceForm.problem', { field: t(`alerts.silenceForm.${name}`), reason: problemText(p) })}</span>
            ))}
          </p>
        )}
      </div>
    );
  };

  return (
    <dialog
      ref={ref}
      className="confirm-dialog silence-dialog"
      aria-labelledby={`${id}-title`}
      onCancel={(e) => {
        e.preventDefault();
        if (!busy) onClose();
      }}
    >
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <h2 id={`${id}-title`}>
          {t(labels ? 'alerts.silenceForm.titleFor' : 'alerts.silenceForm.title', { name: labels?.alertname ?? '' })}
        </h2>
        <p>{t('alerts.silenceForm.intro')}</p>
        {field('matchers', (props) => (
          <textarea rows={3} spellCheck={false} {...props} />
        ))}
        {field('duration', (props) => (
          <input type="text" autoComplete="off" spellCheck={false} {...props} />
        ))}
        {field('comment', (props) => (
          <textarea rows={2} {...props} />
        ))}
        {failure && <ErrorBanner error={failure} />}
        {busy && (
          <p className="confirm-progress" role="status">
            {t('alerts.silenceForm.creating')}
          </p>
        )}
        <div className="confirm-buttons">
          <button type="button" onClick={onClose} disabled={busy}>
            {t('alerts.silenceForm.cancel')}
          </button>
          <button type="submit" className="primary" disabled={busy}>
            {t('alerts.silenceForm.create')}
          </button>
        </div>
      </form>
    </dialog>
  );
}

// A confirmation before an action: says what will happen and to what; a destructive one
// asks for the plan's name or the host's id typed first. While the request runs the dialog
// says so; if the API refuses, its error is shown and the dialog stays open. A native
// <dialog> opened modal: the browser keeps focus inside, Esc cancels, and focus goes back
// to the control that opened it.
import { type ReactNode, useEffect, useId, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ConsoleApiError } from '../api/api-error.ts';
import { ErrorBanner } from '../views/error-banner.tsx';

export interface ConfirmDialogProps {
  title: string;
  /** What will happen, to what. */
  body: string;
  confirmLabel: string;
  /** For a destructive action: what must be typed to confirm (a plan's name, a host's id). */
  typeToConfirm?: string | undefined;
  /** The request; resolves when done (the dialog closes), rejects with the API's error (shown). */
  onConfirm: () => Promise<void>;
  onClose: () => void;
  /** A choice the action takes (abort: what hosts in flight do). */
  children?: ReactNode;
}

export function ConfirmDialog({ title, body, confirmLabel, typeToConfirm, onConfirm, onClose, children }: ConfirmDialogProps) {
  const { t } = useTranslation();
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  const [typed, setTyped] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ConsoleApiError | null>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  const ready = !busy && (typeToConfirm === undefined || typed === typeToConfirm);
  // Closed before it goes: the browser gives focus back to the control that opened it.
  const close = (): void => {
    ref.current?.close();
    onClose();
  };

  const confirm = (): void => {
    if (!ready) return;
    setBusy(true);
    setError(null);
    onConfirm().then(close, (err: unknown) => {
      setBusy(false);
      setError(err instanceof ConsoleApiError ? err : new ConsoleApiError(0, { code: 'CLIENT', message: String(err), retryable: false }));
    });
  };

  return (
    <dialog
      ref={ref}
      className="confirm-dialog"
      aria-labelledby={`${id}-title`}
      aria-describedby={`${id}-body`}
      onCancel={(e) => {
        e.preventDefault();
        if (!busy) close();
      }}
    >
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          confirm();
        }}
      >
        <h2 id={`${id}-title`}>{title}</h2>
        <p id={`${id}-body`}>{body}</p>
        {children}
        {typeToConfirm !== undefined && (
          <label className="confirm-typed">
            <span>{t('actions.confirm.typeToConfirm', { value: typeToConfirm })}</span>
            <input value={typed} onChange={(e) => setTyped(e.target.value)} autoComplete="off" spellCheck={false} disabled={busy} />
          </label>
        )}
        {error && <ErrorBanner error={error} />}
        {busy && (
          <p className="confirm-progress" role="status">
            {t('actions.confirm.working')}
          </p>
        )}
        <div className="confirm-buttons">
          <button type="button" onClick={close} disabled={busy}>
            {t('actions.confirm.cancel')}
          </button>
          <button type="submit" className={typeToConfirm !== undefined ? 'danger' : 'primary'} disabled={!ready}>
            {confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}

// One action's control: a button that opens its confirmation, or, when the action is not
// offered, a button marked disabled (aria-disabled: it stays focusable, so a keyboard or
// screen-reader user still hears why) with the reason as its description and tooltip.
import { useId, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { Offer } from './action-rules.ts';
import { ConfirmDialog } from './confirm-dialog.tsx';
import './actions.css';

export interface ActionButtonProps {
  label: string;
  offer: Offer;
  /** The dialog's question, what will happen and the confirming button's words. */
  confirm: { title: string; body: string; confirmLabel: string; typeToConfirm?: string | undefined };
  run: () => Promise<void>;
}

export function ActionButton({ label, offer, confirm, run }: ActionButtonProps) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const trigger = useRef<HTMLButtonElement>(null);
  const reasonId = useId();
  const reason = offer.allowed ? undefined : t(`actions.why.${offer.why}`);
  return (
    <>
      <button
        ref={trigger}
        type="button"
        className="action"
        aria-disabled={offer.allowed ? undefined : true}
        aria-describedby={reason ? reasonId : undefined}
        title={reason}
        onClick={() => {
          if (offer.allowed) setOpen(true);
        }}
      >
        {label}
      </button>
      {reason && (
        <span id={reasonId} className="visually-hidden">
          {reason}
        </span>
      )}
      {open && (
        <ConfirmDialog
          {...confirm}
          onConfirm={run}
          onClose={() => {
            setOpen(false);
            // Back to the trigger, also when the browser did not (the dialog went with focus inside).
            requestAnimationFrame(() => trigger.current?.focus());
          }}
        />
      )}
    </>
  );
}

// One action's control: an OfferedButton that opens the action's confirmation, or says
// why the action is not offered.
import { type ReactNode, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { Offer } from './action-rules.ts';
import { ConfirmDialog } from './confirm-dialog.tsx';
import { OfferedButton } from './offered-button.tsx';

export interface ActionButtonProps {
  label: string;
  offer: Offer;
  /** The dialog's question, what will happen and the confirming button's words. */
  confirm: { title: string; body: string; confirmLabel: string; typeToConfirm?: string | undefined };
  run: () => Promise<void>;
  /** A choice shown in the confirmation. */
  children?: ReactNode;
}

export function ActionButton({ label, offer, confirm, run, children }: ActionButtonProps) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const trigger = useRef<HTMLButtonElement>(null);
  return (
    <>
      <OfferedButton
        ref={trigger}
        label={label}
        reason={offer.allowed ? undefined : t(`actions.why.${offer.why}`)}
        onClick={() => setOpen(true)}
      />
      {open && (
        <ConfirmDialog
          {...confirm}
          onConfirm={run}
          onClose={() => {
            setOpen(false);
            // Back to the trigger, also when the browser did not (the dialog went with focus inside).
            requestAnimationFrame(() => trigger.current?.focus());
          }}
        >
          {children}
        </ConfirmDialog>
      )}
    </>
  );
}

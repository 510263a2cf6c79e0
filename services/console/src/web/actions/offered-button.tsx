// A button that is either offered (a click acts) or not: then marked disabled with
// aria-disabled, so it stays focusable and a keyboard or screen-reader user still hears the
// reason (its description, and its tooltip). The reason is in words, never only dimmed.
import { forwardRef, useId } from 'react';
import './actions.css';

export interface OfferedButtonProps {
  label: string;
  /** The accessible name when the label alone is ambiguous in a list. */
  name?: string | undefined;
  /** Why it is not offered; absent when it is. */
  reason?: string | undefined;
  onClick: () => void;
}

export const OfferedButton = forwardRef<HTMLButtonElement, OfferedButtonProps>(function OfferedButton(
  { label, name, reason, onClick },
  ref,
) {
  const reasonId = useId();
  return (
    <>
      <button
        ref={ref}
        type="button"
        className="action"
        aria-label={name}
        aria-disabled={reason ? true : undefined}
        aria-describedby={reason ? reasonId : undefined}
        title={reason}
        onClick={() => {
          if (!reason) onClick();
        }}
      >
        {label}
      </button>
      {reason && (
        <span id={reasonId} className="visually-hidden">
          {reason}
        </span>
      )}
    </>
  );
});

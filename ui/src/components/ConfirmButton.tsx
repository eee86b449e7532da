// A destructive action in two steps: the first button asks, then one button does it and another
// takes the question back.
import { useSignal } from '@preact/signals';
import type { ComponentChildren } from 'preact';

export function ConfirmButton(props: {
  /** The first button. */
  label: ComponentChildren;
  /** The button that does it (its text may say it is under way). */
  confirm: ComponentChildren;
  /** The button that takes the question back. */
  keep: string;
  onConfirm: () => Promise<unknown>;
  /** The first button is disabled (and why, by id). */
  disabled?: boolean;
  describedBy?: string | undefined;
  /** The action is under way: the doing button is disabled. */
  busy?: boolean;
  secondary?: boolean;
}) {
  const asking = useSignal(false);
  if (!asking.value) {
    return (
      <button
        type="button"
        class={props.secondary ? 'secondary' : undefined}
        disabled={props.disabled}
        aria-describedby={props.describedBy}
        onClick={() => (asking.value = true)}
      >
        {props.label}
      </button>
    );
  }
  return (
    <>
      <button
        type="button"
        class="danger"
        disabled={props.busy}
        onClick={async () => {
          await props.onConfirm();
          asking.value = false;
        }}
      >
        {props.confirm}
      </button>
      <button type="button" class="secondary" onClick={() => (asking.value = false)}>
        {props.keep}
      </button>
    </>
  );
}

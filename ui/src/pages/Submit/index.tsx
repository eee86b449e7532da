import type { ComponentChildren } from 'preact';
import { useEffect, useMemo } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { Problem } from '../../components/State.tsx';
import { denied } from '../../models/auth.ts';
import { createSubmitModel, type SubmitForm, type SubmitModel } from '../../models/submit.ts';

const bytes = (n = 0) =>
  n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KB` : `${(n / (1 << 20)).toFixed(1)} MB`;

function Field({
  id,
  label,
  error,
  hint,
  children,
}: {
  id: string;
  label: string;
  error: string | undefined;
  hint?: string;
  children: ComponentChildren;
}) {
  return (
    <div class={`field${error ? ' invalid' : ''}`}>
      <label for={id}>{label}</label>
      {children}
      {hint && (
        <small id={`${id}-hint`} class="muted">
          {hint}
        </small>
      )}
      {error && (
        <small id={`${id}-error`} class="error">
          {error}
        </small>
      )}
    </div>
  );
}

export function Submit({ model: given }: { model?: SubmitModel }) {
  const model = useMemo(() => given ?? createSubmitModel(), [given]);
  const { route } = useLocation();
  useEffect(() => {
    void model.agents.load();
    void model.models.load();
  }, [model]);
  const f = model.form.value;
  const e = model.errors.value;
  const why = denied('operator');
  const agents = model.agents.data.value?.items ?? [];
  const models = model.models.data.value?.items ?? [];
  const chosen = agents.find((a) => a.metadata.name === f.agent);

  const files = model.files.value;
  const described = (k: keyof SubmitForm | 'attachments', hint = false) => ({
    id: k,
    name: k,
    'aria-invalid': e[k] ? true : undefined,
    'aria-describedby': [hint && `${k}-hint`, e[k] && `${k}-error`].filter(Boolean).join(' ') || undefined,
  });
  const text = (k: Exclude<keyof SubmitForm, 'pullRequest'>) => ({
    ...described(k),
    value: f[k],
    onInput: (ev: Event) => model.set(k, (ev.currentTarget as HTMLInputElement).value),
  });

  const onSubmit = async (ev: Event) => {
    ev.preventDefault();
    const form = ev.currentTarget as HTMLFormElement;
    const id = await model.submit();
    if (id) {
      route(`/jobs/${encodeURIComponent(id)}`);
      return;
    }
    // take keyboard and screen-reader users to the first field that needs them (the fieldset is
    // re-enabled on the next render)
    requestAnimationFrame(() => form.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus());
  };

  return (
    <section aria-labelledby="submit-title" class="narrow">
      <h1 id="submit-title">Submit a request</h1>
      {why && (
        <p class="problem forbidden" role="alert">
          {why} Ask an admin for the operator role to submit requests.
        </p>
      )}
      {model.agents.error.value && <Problem error={model.agents.error.value} retry={model.agents.load} />}
      {model.models.error.value && <Problem error={model.models.error.value} retry={model.models.load} />}
      <form onSubmit={onSubmit} noValidate>
        <fieldset disabled={!!why || model.submitting.value}>
          <Field id="agent" label="Agent" error={e.agent} hint={chosen?.spec.description}>
            <select {...text('agent')} {...described('agent', !!chosen?.spec.description)} required>
              <option value="">
                {model.agents.loading.value && !agents.length ? 'Loading…' : 'Choose an agent'}
              </option>
              {agents.map((a) => (
                <option key={a.metadata.name} value={a.metadata.name}>
                  {a.metadata.name} ({a.spec.role})
                </option>
              ))}
            </select>
          </Field>
          <Field id="model" label="Model" error={e.model}>
            <select {...text('model')}>
              <option value="">Agent default{chosen?.spec.model ? ` (${chosen.spec.model})` : ''}</option>
              {models.map((m) => (
                <option key={m.metadata.name} value={m.metadata.name}>
                  {m.spec.displayName ?? m.metadata.name} — {m.spec.provider}/{m.spec.executor}
                </option>
              ))}
            </select>
          </Field>
          <Field id="prompt" label="Prompt" error={e.prompt}>
            <textarea {...text('prompt')} rows={8} required />
          </Field>
          <fieldset class="group">
            <legend>Repository (optional)</legend>
            <Field id="repositoryUrl" label="URL" error={e.repositoryUrl}>
              <input {...text('repositoryUrl')} placeholder="https://github.com/org/repo.git" />
            </Field>
            <div class="row">
              <Field id="ref" label="Ref" error={e.ref}>
                <input {...text('ref')} placeholder="main" />
              </Field>
              <Field id="branch" label="Branch to push" error={e.branch}>
                <input {...text('branch')} />
              </Field>
            </div>
            <div class={`field check${e.pullRequest ? ' invalid' : ''}`}>
              <input
                type="checkbox"
                {...described('pullRequest')}
                checked={f.pullRequest}
                onChange={(ev) => model.set('pullRequest', ev.currentTarget.checked)}
              />
              <label for="pullRequest">Open a pull request</label>
              {e.pullRequest && (
                <small id="pullRequest-error" class="error">
                  {e.pullRequest}
                </small>
              )}
            </div>
          </fieldset>
          <div class="row">
            <Field id="timeoutSeconds" label="Timeout (seconds)" error={e.timeoutSeconds}>
              <input {...text('timeoutSeconds')} inputMode="numeric" />
            </Field>
            <Field id="priority" label="Priority" error={e.priority}>
              <input {...text('priority')} inputMode="numeric" placeholder="0" />
            </Field>
          </div>
          <Field id="labels" label="Labels" error={e.labels} hint="key=value, one per line">
            <textarea {...text('labels')} {...described('labels', true)} rows={2} />
          </Field>
          <Field
            id="attachments"
            label="Attach files"
            error={e.attachments}
            hint="PDF, text, tar, tar.gz or zip"
          >
            <input
              type="file"
              multiple
              {...described('attachments', true)}
              onChange={(ev) => {
                const input = ev.currentTarget;
                model.attach(Array.from(input.files ?? []));
                input.value = '';
              }}
            />
          </Field>
          {files.length > 0 && (
            <ul class="attachments" aria-label="Attached files">
              {files.map((a) => (
                <li key={a.key} class={a.state === 'error' ? 'error' : undefined}>
                  {a.name} —{' '}
                  <span role={a.state === 'error' ? 'alert' : 'status'}>
                    {a.state === 'uploading' ? 'uploading…' : a.state === 'done' ? bytes(a.size) : a.error}
                  </span>{' '}
                  <button type="button" class="link" onClick={() => model.detach(a.key)}>
                    Remove {a.name}
                  </button>
                </li>
              ))}
            </ul>
          )}
          {e.form && (
            <p class="error" role="alert">
              {e.form}
            </p>
          )}
          {model.failure.value && <Problem error={model.failure.value} />}
          <button type="submit">{model.submitting.value ? 'Submitting…' : 'Submit'}</button>
        </fieldset>
      </form>
    </section>
  );
}

export default Submit;

// A page for one kind of resource: the list, the selected item (spec, status, extras) and, for
// admins, create / edit / delete as JSON.
import { useSignal } from '@preact/signals';
import type { ComponentChildren } from 'preact';
import { useEffect, useMemo } from 'preact/hooks';
import { useLocation, useRoute } from 'preact-iso';
import type { ApiError } from '../lib/api.ts';
import { age } from '../lib/format.ts';
import type { AnyResource } from '../lib/types.ts';
import { denied } from '../models/auth.ts';
import { createResourceModel, type ResourceKind, type ResourceModel } from '../models/resources.ts';
import { ConfirmButton } from './ConfirmButton.tsx';
import { Async, Problem } from './State.tsx';

export type Column = [header: string, cell: (r: AnyResource) => ComponentChildren];

export interface ResourcePageProps {
  kind: ResourceKind;
  title: string;
  /** Route of the list, e.g. "/models"; an item is at `${path}/${name}`. */
  path: string;
  intro?: ComponentChildren;
  columns: Column[];
  /** Extra sections for the selected item. */
  extra?: (r: AnyResource, model: ResourceModel) => ComponentChildren;
  template: Record<string, unknown>;
  model?: ResourceModel;
}

function Editor({
  initial,
  label,
  onSave,
  onClose,
  model,
}: {
  initial: unknown;
  label: string;
  onSave: (body: unknown) => Promise<boolean>;
  onClose: () => void;
  model: ResourceModel;
}) {
  const text = useSignal(JSON.stringify(initial, null, 2));
  const parseError = useSignal('');
  const err = model.actionError.value;
  const save = async (e: Event) => {
    e.preventDefault();
    let body: unknown;
    try {
      body = JSON.parse(text.value);
    } catch (x) {
      parseError.value = `Not valid JSON: ${(x as Error).message}`;
      return;
    }
    parseError.value = '';
    if (await onSave(body)) onClose();
  };
  return (
    <form class="card editor" onSubmit={save}>
      <label for="resource-json">{label} (JSON)</label>
      <textarea
        id="resource-json"
        rows={16}
        spellcheck={false}
        value={text.value}
        aria-invalid={parseError.value || err ? true : undefined}
        aria-describedby="resource-json-error"
        onInput={(e) => (text.value = e.currentTarget.value)}
      />
      <div id="resource-json-error">
        {parseError.value && <p class="error">{parseError.value}</p>}
        {err && <Issues error={err} />}
      </div>
      <div class="actions">
        <button type="submit" disabled={model.busy.value}>
          {model.busy.value ? 'Saving…' : 'Save'}
        </button>
        <button
          type="button"
          class="secondary"
          onClick={() => {
            model.clearError();
            onClose();
          }}
        >
          Cancel
        </button>
      </div>
    </form>
  );
}

function Issues({ error }: { error: ApiError }) {
  const issues = error.issues;
  return (
    <>
      <Problem error={error} />
      {issues.length > 0 && (
        <ul class="error">
          {issues.map((i) => (
            <li key={i.path + i.message}>
              <code>{i.path || '(body)'}</code> {i.message}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

function Selected({ r, props, model }: { r: AnyResource; props: ResourcePageProps; model: ResourceModel }) {
  const editing = useSignal(false);
  const { route } = useLocation();
  const why = denied('admin');
  const name = r.metadata.name;
  const conditions = (r.status?.conditions ?? []) as { type: string; status: string; message?: string }[];
  return (
    <section class="card" aria-labelledby="selected-title">
      <div class="title">
        <h2 id="selected-title">{name}</h2>
        <div class="actions">
          <button
            type="button"
            disabled={!!why}
            aria-describedby={why ? 'admin-hint' : undefined}
            onClick={() => (editing.value = true)}
          >
            Edit
          </button>
          <ConfirmButton
            label="Delete"
            confirm={`Delete ${name}`}
            keep="Keep it"
            secondary
            disabled={!!why}
            describedBy={why ? 'admin-hint' : undefined}
            busy={model.busy.value}
            onConfirm={async () => {
              if (await model.remove(name)) route(props.path);
            }}
          />
        </div>
      </div>
      {why && (
        <p id="admin-hint" class="muted">
          {why}
        </p>
      )}
      {!editing.value && model.actionError.value && <Issues error={model.actionError.value} />}
      {editing.value ? (
        <Editor
          label={`Edit ${name}`}
          initial={{ metadata: { name, resourceVersion: r.metadata.resourceVersion }, spec: r.spec }}
          onSave={(body) => model.replace(name, body)}
          onClose={() => (editing.value = false)}
          model={model}
        />
      ) : (
        <>
          {conditions.length > 0 && (
            <p>
              {conditions.map((c) => (
                <span key={c.type} class={`badge cond-${c.status.toLowerCase()}`} title={c.message}>
                  {c.type}: {c.status}
                </span>
              ))}
            </p>
          )}
          {props.extra?.(r, model)}
          <details open>
            <summary>Spec</summary>
            <pre class="output">{JSON.stringify(r.spec, null, 2)}</pre>
          </details>
        </>
      )}
    </section>
  );
}

export function ResourcePage(props: ResourcePageProps) {
  const model = useMemo(() => props.model ?? createResourceModel(props.kind), [props.model, props.kind]);
  const { params } = useRoute();
  const creating = useSignal(false);
  const why = denied('admin');
  useEffect(() => {
    void model.list.load();
  }, [model]);
  const items = model.list.data.value?.items ?? [];
  const selected = params.name ? items.find((r) => r.metadata.name === params.name) : undefined;
  return (
    <section aria-labelledby="res-title">
      <div class="title">
        <h1 id="res-title">{props.title}</h1>
        {!why && !creating.value && (
          <button type="button" onClick={() => (creating.value = true)}>
            New
          </button>
        )}
      </div>
      {props.intro}
      {creating.value && (
        <Editor
          label={`New ${props.title.replace(/s$/, '').toLowerCase()}`}
          initial={props.template}
          onSave={(body) => model.create(body)}
          onClose={() => (creating.value = false)}
          model={model}
        />
      )}
      <Async
        of={model.list}
        isEmpty={(d) => d.items.length === 0}
        empty={`No ${props.title.toLowerCase()} yet.`}
      >
        {(d) => (
          <div class="scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  {props.columns.map(([h]) => (
                    <th scope="col" key={h}>
                      {h}
                    </th>
                  ))}
                  <th scope="col">Age</th>
                </tr>
              </thead>
              <tbody>
                {d.items.map((r) => (
                  <tr key={r.metadata.name} aria-selected={r === selected ? true : undefined}>
                    <td>
                      <a href={`${props.path}/${encodeURIComponent(r.metadata.name)}`}>{r.metadata.name}</a>
                    </td>
                    {props.columns.map(([h, cell]) => (
                      <td key={h}>{cell(r) ?? '—'}</td>
                    ))}
                    <td>{age(r.metadata.creationTimestamp)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Async>
      {params.name && model.list.data.value && !selected && (
        <p class="problem" role="alert">
          No {props.title.replace(/s$/, '').toLowerCase()} named “{params.name}”.
        </p>
      )}
      {selected && <Selected key={selected.metadata.name} r={selected} props={props} model={model} />}
    </section>
  );
}

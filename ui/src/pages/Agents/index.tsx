import { useEffect } from 'preact/hooks';
import { Tag } from '../../components/Badge.tsx';
import { ResourcePage } from '../../components/ResourcePage.tsx';
import { Async } from '../../components/State.tsx';
import { count } from '../../lib/format.ts';
import type { ResourceModel } from '../../models/resources.ts';

/** The instructions an agent's requests get, composed by the API. */
export function Preview({ name, model }: { name: string; model: ResourceModel }) {
  useEffect(() => model.loadPreview(name), [name, model]);
  const p = model.preview.value;
  return (
    <section aria-labelledby="preview-title">
      <h3 id="preview-title">Composed instructions</h3>
      {p && (
        <Async of={p}>
          {(c) => (
            <>
              <ol class="parts">
                {c.parts.map((x) => (
                  <li key={x.kind + x.source}>
                    <Tag>{x.kind}</Tag> {x.source}
                  </li>
                ))}
              </ol>
              {c.parts.length === 0 && <p class="state empty">No instructions apply to this agent.</p>}
              <p class="muted">
                {count(c.text.length)} characters · <code>{c.hash}</code>
              </p>
              <pre class="output">{c.text}</pre>
            </>
          )}
        </Async>
      )}
    </section>
  );
}

export function Agents() {
  return (
    <ResourcePage
      kind="agents"
      title="Agents"
      path="/agents"
      intro={
        <p class="muted">
          AiAgents: roles with a default model, tools and the instructions composed for them.
        </p>
      }
      columns={[
        ['Role', (r) => r.spec.role as string],
        ['Default model', (r) => r.spec.model as string],
        ['Repository access', (r) => r.spec.repositoryAccess as string],
        ['Description', (r) => r.spec.description as string],
      ]}
      extra={(r, model) => <Preview name={r.metadata.name} model={model} />}
      template={{ metadata: { name: '' }, spec: { role: 'developer', repositoryAccess: 'read' } }}
    />
  );
}
export default Agents;

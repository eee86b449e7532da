import { ResourcePage } from '../../components/ResourcePage.tsx';

export function Instructions() {
  return (
    <ResourcePage
      kind="instructions"
      title="Instructions"
      path="/instructions"
      intro={
        <p class="muted">
          AiInstructions: global ones go to every agent by priority, local ones only to the agents they list.
        </p>
      }
      columns={[
        ['Type', (r) => r.spec.type as string],
        ['Priority', (r) => r.spec.priority as number],
        ['Agents', (r) => ((r.spec.agents as string[] | undefined) ?? []).join(', ') || undefined],
        ['Description', (r) => r.spec.description as string],
      ]}
      extra={(r) => <pre class="output">{r.spec.content as string}</pre>}
      template={{ metadata: { name: '' }, spec: { type: 'global', priority: 100, content: '' } }}
    />
  );
}
export default Instructions;

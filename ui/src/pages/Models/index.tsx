import { ResourcePage } from '../../components/ResourcePage.tsx';
import { usd } from '../../lib/format.ts';

type Pricing = { inputPerMillionTokensUsd?: number; outputPerMillionTokensUsd?: number } | undefined;

export function Models() {
  return (
    <ResourcePage
      kind="models"
      title="Models"
      path="/models"
      intro={
        <p class="muted">AiModels: which provider and executor run a request, and what its tokens cost.</p>
      }
      columns={[
        ['Display name', (r) => r.spec.displayName as string],
        ['Provider', (r) => r.spec.provider as string],
        ['Executor', (r) => r.spec.executor as string],
        ['Model id', (r) => <code>{r.spec.model as string}</code>],
        [
          'Price in / out (1M tokens)',
          (r) => {
            const p = r.spec.pricing as Pricing;
            return p ? `${usd(p.inputPerMillionTokensUsd)} / ${usd(p.outputPerMillionTokensUsd)}` : undefined;
          },
        ],
      ]}
      template={{
        metadata: { name: '' },
        spec: { provider: 'anthropic', executor: 'claude', model: '' },
      }}
    />
  );
}
export default Models;

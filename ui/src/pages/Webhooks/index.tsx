import { useEffect, useMemo } from 'preact/hooks';
import { Tag } from '../../components/Badge.tsx';
import { ResourcePage } from '../../components/ResourcePage.tsx';
import { Async, Problem } from '../../components/State.tsx';
import { time } from '../../lib/format.ts';
import type { AnyResource } from '../../lib/types.ts';
import { denied } from '../../models/auth.ts';
import { createLedgerModel, type LedgerModel, requestName } from '../../models/webhooks.ts';

type Rule = { name: string; event: string; actions?: string[]; agent: string; model?: string };

function Rules({ r }: { r: AnyResource }) {
  const rules = (r.spec.rules ?? []) as Rule[];
  const url = r.status?.url as string | undefined;
  return (
    <>
      <p>
        Type <Tag>{String(r.spec.type)}</Tag> {r.spec.suspend ? <Tag>suspended</Tag> : null}
        {url && (
          <>
            {' '}
            · endpoint <code>{url}</code>
          </>
        )}
      </p>
      {rules.length === 0 ? (
        <p class="state empty">This source has no rules: deliveries create nothing.</p>
      ) : (
        <table>
          <caption>Rules</caption>
          <thead>
            <tr>
              <th scope="col">Rule</th>
              <th scope="col">Event</th>
              <th scope="col">Actions</th>
              <th scope="col">Agent</th>
              <th scope="col">Model</th>
            </tr>
          </thead>
          <tbody>
            {rules.map((x) => (
              <tr key={x.name}>
                <td>{x.name}</td>
                <td>{x.event}</td>
                <td>{x.actions?.join(', ') || 'any'}</td>
                <td>{x.agent}</td>
                <td>{x.model ?? 'agent default'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

export function Ledger({ source, model: given }: { source: string; model?: LedgerModel }) {
  const model = useMemo(() => given ?? createLedgerModel(source), [given, source]);
  useEffect(() => void model.deliveries.load(), [model]);
  const why = denied('operator');
  const done = model.replayed.value;
  return (
    <section aria-labelledby="ledger-title">
      <h3 id="ledger-title">Deliveries</h3>
      {why && <p class="muted">Replaying a delivery: {why}</p>}
      {done && (
        <p class="notice" role="status">
          Replayed {done.id}
          {done.message && ` — ${done.message}`}
          {done.requests.length > 0 && (
            <>
              {': '}
              {done.requests.map((id) => (
                <a key={id} href={`/jobs/${encodeURIComponent(id)}`}>
                  {id}{' '}
                </a>
              ))}
            </>
          )}
        </p>
      )}
      {model.replayError.value && <Problem error={model.replayError.value} />}
      <Async of={model.deliveries} isEmpty={(d) => d.items.length === 0} empty="No deliveries received yet.">
        {(d) => (
          <div class="scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Delivery</th>
                  <th scope="col">Event</th>
                  <th scope="col">Received</th>
                  <th scope="col">Matched rules</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Requests</th>
                  <th scope="col">
                    <span class="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {d.items.map((x) => (
                  <tr key={x.key ?? x.id}>
                    <td>
                      <code>{x.id}</code>
                    </td>
                    <td>
                      {x.event}
                      {x.action ? `.${x.action}` : ''}
                    </td>
                    <td>{time(x.receivedAt)}</td>
                    <td>{(x.matched ?? x.matchedRules)?.join(', ') || '—'}</td>
                    <td>
                      {x.outcome ?? '—'}
                      {x.replayOf && <div class="muted">replay of {x.replayOf}</div>}
                      {(x.message ?? x.reason) && <div class="muted">{x.message ?? x.reason}</div>}
                    </td>
                    <td>
                      {(x.requests ?? []).map((r) => {
                        const name = requestName(r);
                        const result = typeof r === 'string' ? undefined : r.result;
                        return (
                          <div key={name}>
                            <a href={`/jobs/${encodeURIComponent(name)}`}>{name}</a>
                            {result && result !== 'created' && <span class="muted"> ({result})</span>}
                          </div>
                        );
                      })}
                    </td>
                    <td>
                      <button
                        type="button"
                        class="secondary"
                        disabled={!!why || !!model.replaying.value || x.replayable === false}
                        title={x.replayable === false ? 'Its body is no longer kept' : undefined}
                        aria-label={`Replay delivery ${x.id}`}
                        onClick={() => void model.replay(x.id)}
                      >
                        {model.replaying.value === x.id ? 'Replaying…' : 'Replay'}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Async>
    </section>
  );
}

export function Webhooks() {
  return (
    <ResourcePage
      kind="webhooksources"
      title="Webhook sources"
      path="/webhooks"
      intro={
        <p class="muted">
          Where webhooks come in, the rules that turn them into requests, and what each delivery did.
        </p>
      }
      columns={[
        ['Type', (r) => r.spec.type as string],
        ['Rules', (r) => ((r.spec.rules as unknown[] | undefined) ?? []).length],
        ['Last delivery', (r) => time(r.status?.lastDeliveryAt as string | undefined)],
        ['Deliveries', (r) => r.status?.deliveries as number],
      ]}
      extra={(r) => (
        <>
          <Rules r={r} />
          <Ledger source={r.metadata.name} />
        </>
      )}
      template={{
        metadata: { name: '' },
        spec: { type: 'github', secretRef: { name: '', key: 'secret' }, rules: [] },
      }}
    />
  );
}
export default Webhooks;

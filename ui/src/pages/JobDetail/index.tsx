import type { ComponentChildren } from 'preact';
import { useEffect, useMemo } from 'preact/hooks';
import { useLocation, useRoute } from 'preact-iso';
import { PhaseBadge, Tag } from '../../components/Badge.tsx';
import { ConfirmButton } from '../../components/ConfirmButton.tsx';
import { Async, Problem } from '../../components/State.tsx';
import { between, count, duration, time, usd } from '../../lib/format.ts';
import { every } from '../../lib/load.ts';
import type { JobDetail as Detail, JobEvent } from '../../lib/types.ts';
import { denied } from '../../models/auth.ts';
import { createJobModel, type JobModel, type StreamState } from '../../models/job.ts';

const STREAM_LABEL: Record<StreamState, string> = {
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting…',
  ended: 'ended',
};

function Facts({ items }: { items: [string, ComponentChildren][] }) {
  return (
    <dl class="facts">
      {items.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v ?? '—'}</dd>
        </div>
      ))}
    </dl>
  );
}

function json(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v, null, 2);
}

export function EventItem({ ev }: { ev: JobEvent }) {
  const d = ev.data ?? {};
  const name = (d.name ?? d.tool) as string | undefined;
  let body: ComponentChildren = ev.message;
  if (ev.type === 'tool_call' || ev.type === 'tool_result') {
    const payload = ev.type === 'tool_call' ? (d.input ?? d.arguments) : (d.output ?? d.content ?? d.result);
    body = (
      <details>
        <summary>
          {name ?? (ev.type === 'tool_call' ? 'tool call' : 'tool result')}
          {ev.message ? ` — ${ev.message}` : ''}
        </summary>
        {payload !== undefined && <pre>{json(payload)}</pre>}
      </details>
    );
  } else if (ev.type === 'usage') {
    body = `${count(d.inputTokens as number)} in / ${count(d.outputTokens as number)} out${
      d.costUsd === undefined ? '' : ` · ${usd(d.costUsd as number)}`
    }`;
  } else if (ev.type === 'artifact') {
    body = `${(d.name as string) ?? ev.message ?? 'artifact'}${d.path ? ` (${d.path as string})` : ''}`;
  } else if (ev.type === 'log') {
    body = <pre class="log">{ev.message}</pre>;
  }
  return (
    <li class={`event ev-${ev.type}`}>
      <span class="seq">#{ev.seq}</span>
      <span class="etype">{ev.type.replace('_', ' ')}</span>
      <time dateTime={ev.time}>{ev.time ? new Date(ev.time).toLocaleTimeString() : ''}</time>
      <div class="ebody">{body}</div>
    </li>
  );
}

export function Timeline({ model }: { model: JobModel }) {
  const events = model.events.value;
  const state = model.stream.value;
  return (
    <section aria-labelledby="timeline-title">
      <div class="title">
        <h2 id="timeline-title">Events</h2>
        <span class={`stream stream-${state}`} role="status">
          {STREAM_LABEL[state]}
        </span>
      </div>
      {model.dropped.value > 0 && <p class="muted">{model.dropped.value} older events not shown.</p>}
      {events.length === 0 ? (
        <p class="state empty">
          {state === 'ended' ? 'This request recorded no events.' : 'Waiting for events…'}
        </p>
      ) : (
        <ol class="timeline" aria-live="polite" aria-label="Event timeline">
          {events.map((ev) => (
            <EventItem key={ev.seq} ev={ev} />
          ))}
        </ol>
      )}
    </section>
  );
}

function Actions({ model }: { model: JobModel }) {
  const { route } = useLocation();
  const why = denied('operator');
  const busy = model.busy.value;
  const terminal = model.isTerminal();
  const hint = why ? 'role-hint' : undefined;
  const retry = async () => {
    const id = await model.retry();
    if (id) route(`/jobs/${encodeURIComponent(id)}`);
  };
  return (
    <div class="actions">
      {!terminal && (
        <ConfirmButton
          label="Cancel request"
          confirm={busy === 'cancel' ? 'Cancelling…' : 'Yes, cancel it'}
          keep="Keep running"
          disabled={!!why || !!busy}
          describedBy={hint}
          busy={!!busy}
          onConfirm={() => model.cancel()}
        />
      )}
      {terminal && (
        <button type="button" disabled={!!why || !!busy} aria-describedby={hint} onClick={retry}>
          {busy === 'retry' ? 'Retrying…' : 'Retry'}
        </button>
      )}
      {terminal && (
        <ConfirmButton
          label="Delete"
          confirm={busy === 'delete' ? 'Deleting…' : 'Yes, delete it and its events'}
          keep="Keep it"
          secondary
          disabled={!!why || !!busy}
          describedBy={hint}
          busy={!!busy}
          onConfirm={async () => {
            if (await model.remove()) route('/jobs');
          }}
        />
      )}
      {why && (
        <span id="role-hint" class="muted">
          {why}
        </span>
      )}
      {model.actionError.value && <Problem error={model.actionError.value} />}
    </div>
  );
}

function Overview({ d, model }: { d: Detail; model: JobModel }) {
  const s = d.status ?? {};
  const spec = d.spec;
  const r = s.result;
  const u = s.usage;
  return (
    <>
      <div class="title">
        <h1>
          {d.id} <PhaseBadge phase={s.phase} />
        </h1>
        <Actions model={model} />
      </div>
      {s.message && <p class={s.phase === 'Failed' ? 'problem' : 'muted'}>{s.message}</p>}
      <div class="grid">
        <section aria-labelledby="facts-title" class="card">
          <h2 id="facts-title">Request</h2>
          <Facts
            items={[
              ['Agent', spec.agent],
              ['Model', s.resolvedModel ?? spec.model ?? 'agent default'],
              ['Executor', s.executor],
              [
                'Source',
                spec.source ? `${spec.source.kind}${spec.source.name ? ` / ${spec.source.name}` : ''}` : '—',
              ],
              ['Caller', spec.caller],
              ['Priority', spec.priority],
              ['Timeout', spec.timeoutSeconds ? duration(spec.timeoutSeconds * 1000) : 'default'],
              ['Repository', spec.repository?.url],
              [
                'Ref / branch',
                [spec.repository?.ref, spec.repository?.branch].filter(Boolean).join(' → ') || '—',
              ],
              ['Labels', Object.entries(spec.labels ?? {}).map(([k, v]) => <Tag key={k}>{`${k}=${v}`}</Tag>)],
              [
                'Attachments',
                spec.attachments?.length ? spec.attachments.map((a) => <Tag key={a}>{a}</Tag>) : '—',
              ],
              ['Callback', spec.callback?.url && <code>{spec.callback.url}</code>],
              [
                'Retry of',
                spec.retryOf && <a href={`/jobs/${encodeURIComponent(spec.retryOf)}`}>{spec.retryOf}</a>,
              ],
            ]}
          />
        </section>
        <section aria-labelledby="job-title" class="card">
          <h2 id="job-title">Job</h2>
          <Facts
            items={[
              ['Queue position', s.queuePosition],
              ['Job', s.jobName],
              ['Attempts', s.attempts],
              ['Created', time(d.metadata.creationTimestamp)],
              ['Started', time(s.startedAt)],
              ['Completed', time(s.completedAt)],
              ['Prompt hash', s.promptHash && <code>{s.promptHash}</code>],
              ['Events', s.eventCount],
            ]}
          />
        </section>
        <section aria-labelledby="usage-title" class="card">
          <h2 id="usage-title">Usage</h2>
          <Facts
            items={[
              ['Input tokens', count(u?.inputTokens)],
              ['Output tokens', count(u?.outputTokens)],
              ['Cost', usd(u?.costUsd)],
              ['Duration', duration(u?.durationMs ?? between(s.startedAt, s.completedAt))],
            ]}
          />
        </section>
      </div>
      {r && (
        <section aria-labelledby="result-title" class="card">
          <h2 id="result-title">Result</h2>
          {r.pullRequestUrl && (
            <p>
              Pull request:{' '}
              <a href={r.pullRequestUrl} target="_blank" rel="noopener noreferrer">
                {r.pullRequestUrl}
              </a>
            </p>
          )}
          {r.summary && <p>{r.summary}</p>}
          {r.output && <pre class="output">{r.output}</pre>}
          {r.outputTruncated && <p class="muted">Output truncated.</p>}
          {r.artifacts && r.artifacts.length > 0 && (
            <ul>
              {r.artifacts.map((a) => (
                <li key={a.name}>
                  {a.url ? <a href={a.url}>{a.name}</a> : a.name} {a.path && <code>{a.path}</code>}
                  {a.sizeBytes !== undefined && ` (${count(a.sizeBytes)} bytes)`}
                </li>
              ))}
            </ul>
          )}
        </section>
      )}
    </>
  );
}

function Details({ d, model }: { d: Detail; model: JobModel }) {
  const s = d.status ?? {};
  return (
    <>
      <section aria-labelledby="prompt-title" class="card">
        <h2 id="prompt-title">Prompt</h2>
        <pre class="output">{d.spec.prompt}</pre>
      </section>
      <section aria-labelledby="instr-title" class="card">
        <h2 id="instr-title">Composed instructions</h2>
        <Async of={model.prompt}>
          {(p) => (
            <>
              <p>
                {p.parts.length
                  ? p.parts.map((x) => <Tag key={x.source + x.kind}>{`${x.kind}: ${x.source}`}</Tag>)
                  : 'No instructions apply.'}{' '}
                <code class="muted">{p.hash}</code>
              </p>
              <details>
                <summary>Show text ({count(p.text.length)} characters)</summary>
                <pre class="output">{p.text}</pre>
              </details>
            </>
          )}
        </Async>
      </section>
      {s.conditions && s.conditions.length > 0 && (
        <section aria-labelledby="cond-title" class="card">
          <h2 id="cond-title">Conditions</h2>
          <table>
            <thead>
              <tr>
                <th scope="col">Type</th>
                <th scope="col">Status</th>
                <th scope="col">Reason</th>
                <th scope="col">Message</th>
                <th scope="col">Since</th>
              </tr>
            </thead>
            <tbody>
              {s.conditions.map((c) => (
                <tr key={c.type}>
                  <td>{c.type}</td>
                  <td>{c.status}</td>
                  <td>{c.reason}</td>
                  <td>{c.message}</td>
                  <td>{time(c.lastTransitionTime)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </>
  );
}

export function JobDetail({ model: given }: { model?: JobModel }) {
  const { params } = useRoute();
  const id = params.id ?? '';
  const model = useMemo(() => given ?? createJobModel(id), [given, id]);
  useEffect(() => {
    model.start();
    const stopPoll = every(5000, async () => {
      if (!model.isTerminal()) await model.job.load();
    });
    return () => {
      stopPoll();
      model.stop();
    };
  }, [model]);
  return (
    <article class="detail">
      <p>
        <a href="/jobs">← Jobs</a>
      </p>
      <Async of={model.job}>{(d) => <Overview d={d} model={model} />}</Async>
      {!model.missing.value && <Timeline model={model} />}
      {model.job.data.value && <Details d={model.job.data.value} model={model} />}
    </article>
  );
}

export default JobDetail;

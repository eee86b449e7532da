// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen, within } from '@testing-library/preact';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { App } from '../../app.tsx';
import { envelope, FakeEventSource, fakeApi, Reply, signIn } from '../../test/fakes.ts';

const detail = (phase: string, extra: object = {}) => ({
  id: 'req-1',
  metadata: { name: 'req-1', creationTimestamp: '2026-01-01T10:00:00Z' },
  spec: {
    agent: 'developer',
    model: 'sonnet',
    prompt: 'Fix the flaky test',
    repository: { url: 'https://git.example/org/repo.git', ref: 'main', pullRequest: true },
    priority: 0,
    maxRetries: 0,
    cancel: false,
    source: { kind: 'ui' },
    caller: 'ada',
    labels: { team: 'core' },
  },
  status: {
    phase,
    jobName: 'ir-req-1-abc12',
    executor: 'claude',
    resolvedModel: 'sonnet',
    attempts: 1,
    startedAt: '2026-01-01T10:00:05Z',
    ...extra,
  },
});

const prompt = {
  text: 'Be careful.\n\nYou are a developer.',
  hash: 'sha256:abc',
  parts: [
    { source: 'safety', kind: 'global' },
    { source: 'developer', kind: 'agent' },
  ],
};

beforeEach(() => {
  FakeEventSource.instances = [];
  vi.stubGlobal('EventSource', FakeEventSource);
  history.replaceState(null, '', '/jobs/req-1');
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe('Job detail page', () => {
  it('shows the request, composed instructions, result with PR link, usage and Job facts', async () => {
    signIn('viewer');
    fakeApi({
      'GET /api/jobs/req-1': detail('Succeeded', {
        completedAt: '2026-01-01T10:02:05Z',
        usage: { inputTokens: 1200, outputTokens: 300, costUsd: 0.0421, durationMs: 120_000 },
        result: {
          summary: 'Fixed it',
          output: 'diff --git …',
          pullRequestUrl: 'https://git.example/org/repo/pull/7',
        },
      }),
      'GET /api/jobs/req-1/prompt': prompt,
    });
    render(<App />);
    await screen.findByRole('heading', { name: /req-1/ });
    expect(
      screen.getByRole('link', { name: 'https://git.example/org/repo/pull/7' }).getAttribute('href'),
    ).toBe('https://git.example/org/repo/pull/7');
    screen.getByText('Fixed it');
    screen.getByText('Fix the flaky test');
    screen.getByText('ir-req-1-abc12');
    screen.getByText('1,200');
    screen.getByText('$0.0421');
    screen.getByText('2m 00s');
    await screen.findByText('global: safety');
    screen.getByText('agent: developer');
    expect(FakeEventSource.last.url).toBe('/api/jobs/req-1/events');
  });

  it('streams events into the timeline as they arrive', async () => {
    signIn('viewer');
    fakeApi({ 'GET /api/jobs/req-1': detail('Running'), 'GET /api/jobs/req-1/prompt': prompt });
    render(<App />);
    await screen.findByText('Waiting for events…');
    const es = FakeEventSource.last;
    es.open();
    await screen.findByText('live');
    es.emit({ seq: 1, type: 'message', time: '2026-01-01T10:00:06Z', message: 'Looking at the test' });
    es.emit({ seq: 2, type: 'tool_call', data: { name: 'Bash', input: { command: 'npm test' } } });
    es.emit({ seq: 3, type: 'log', message: '1 failed' });
    await screen.findByText('Looking at the test');
    await screen.findByText('Bash');
    await screen.findByText('1 failed');
    expect(
      within(screen.getByRole('list', { name: 'Event timeline' })).getAllByRole('listitem'),
    ).toHaveLength(3);
    es.fail(false);
    await screen.findByText('reconnecting…');
  });

  it('lets an operator cancel a running request', async () => {
    signIn('operator');
    let phase = 'Running';
    const { calls } = fakeApi({
      'GET /api/jobs/req-1': () => detail(phase),
      'GET /api/jobs/req-1/prompt': prompt,
      'POST /api/jobs/req-1/cancel': () => {
        phase = 'Cancelled';
        return { id: 'req-1' };
      },
    });
    render(<App />);
    fireEvent.click(await screen.findByRole('button', { name: 'Cancel request' }));
    fireEvent.click(screen.getByRole('button', { name: 'Yes, cancel it' }));
    await screen.findByRole('button', { name: 'Retry' });
    expect(calls.some((c) => c.method === 'POST' && c.path === '/api/jobs/req-1/cancel')).toBe(true);
    expect(screen.getAllByText('Cancelled').length).toBeGreaterThan(0);
  });

  it('retries a finished request and opens the new one', async () => {
    signIn('operator');
    fakeApi({
      'GET /api/jobs/req-1': detail('Failed', { message: 'exit code 1' }),
      'GET /api/jobs/req-2': { ...detail('Pending'), id: 'req-2' },
      'GET /api/jobs/req-1/prompt': prompt,
      'GET /api/jobs/req-2/prompt': prompt,
      'POST /api/jobs/req-1/retry': { id: 'req-2' },
    });
    render(<App />);
    await screen.findByText('exit code 1');
    fireEvent.click(screen.getByRole('button', { name: 'Retry' }));
    await screen.findByRole('heading', { name: /req-2/ });
    expect(location.pathname).toBe('/jobs/req-2');
  });

  it('lets an operator delete a finished request, after confirming, and goes back to the list', async () => {
    signIn('operator');
    const { calls } = fakeApi({
      'GET /api/jobs/req-1': detail('Succeeded'),
      'GET /api/jobs/req-1/prompt': prompt,
      'DELETE /api/jobs/req-1': new Reply(204, undefined),
      'GET /api/jobs': { items: [] },
      'GET /api/stats/summary': { byPhase: {} },
    });
    render(<App />);
    fireEvent.click(await screen.findByRole('button', { name: 'Delete' }));
    expect(calls.some((c) => c.method === 'DELETE')).toBe(false);
    fireEvent.click(screen.getByRole('button', { name: 'Yes, delete it and its events' }));
    await vi.waitFor(() => expect(location.pathname).toBe('/jobs'));
    expect(calls.filter((c) => c.method === 'DELETE').map((c) => c.path)).toEqual(['/api/jobs/req-1']);
    expect(FakeEventSource.instances.every((es) => es.readyState === 2)).toBe(true);
  });

  it('offers no delete while a request runs', async () => {
    signIn('operator');
    fakeApi({ 'GET /api/jobs/req-1': detail('Running'), 'GET /api/jobs/req-1/prompt': prompt });
    render(<App />);
    await screen.findByRole('button', { name: 'Cancel request' });
    expect(screen.queryByRole('button', { name: 'Delete' })).toBeNull();
  });

  it('shows attachments, the callback and the request retried', async () => {
    signIn('viewer');
    const d = detail('Pending');
    fakeApi({
      'GET /api/jobs/req-1': {
        ...d,
        spec: {
          ...d.spec,
          attachments: ['upl-one', 'upl-two'],
          callback: { url: 'https://hooks.example.test/done' },
          retryOf: 'req-0',
        },
      },
      'GET /api/jobs/req-1/prompt': prompt,
    });
    render(<App />);
    await screen.findByText('upl-one');
    screen.getByText('upl-two');
    screen.getByText('https://hooks.example.test/done');
    expect(screen.getByRole('link', { name: 'req-0' }).getAttribute('href')).toBe('/jobs/req-0');
  });

  it('stops asking for a request that is not there', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    try {
      signIn('viewer');
      const { calls } = fakeApi({});
      render(<App />);
      await screen.findByText(/request not found|no route/i);
      const es = FakeEventSource.last;
      await vi.waitFor(() => expect(es.readyState).toBe(2));
      expect(screen.queryByText('Waiting for events…')).toBeNull();
      const before = calls.length;
      es.fail(true);
      await vi.advanceTimersByTimeAsync(60_000);
      expect(calls.length).toBe(before);
      expect(FakeEventSource.instances).toHaveLength(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('disables cancel for a viewer and says why', async () => {
    signIn('viewer');
    fakeApi({ 'GET /api/jobs/req-1': detail('Running'), 'GET /api/jobs/req-1/prompt': prompt });
    render(<App />);
    const button = await screen.findByRole('button', { name: 'Cancel request' });
    expect(button.hasAttribute('disabled')).toBe(true);
    const hint = document.getElementById(button.getAttribute('aria-describedby')!)!;
    expect(hint.textContent).toBe('Requires the operator role; you are signed in as viewer.');
  });

  it('shows a clear message when the API answers 403', async () => {
    signIn('operator');
    fakeApi({
      'GET /api/jobs/req-1': detail('Running'),
      'GET /api/jobs/req-1/prompt': prompt,
      'POST /api/jobs/req-1/cancel': envelope(403, 'forbidden', 'operator role required'),
    });
    render(<App />);
    fireEvent.click(await screen.findByRole('button', { name: 'Cancel request' }));
    fireEvent.click(screen.getByRole('button', { name: 'Yes, cancel it' }));
    const alert = await screen.findByRole('alert');
    expect(within(alert).getByText('Not allowed')).toBeTruthy();
    expect(alert.textContent).toContain("You don't have permission to do this (operator role required)");
  });
});

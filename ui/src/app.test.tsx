// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen, within } from '@testing-library/preact';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { App } from './app.tsx';
import { authState, loadMe, me } from './models/auth.ts';
import { envelope, FakeEventSource, fakeApi, Reply, signIn } from './test/fakes.ts';

beforeEach(() => {
  vi.stubGlobal('EventSource', FakeEventSource);
  history.replaceState(null, '', '/jobs');
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  me.value = undefined;
  authState.value = 'loading';
});

const emptyLists = { 'GET /api/jobs': { items: [] }, 'GET /api/stats/summary': { byPhase: {} } };

describe('sign-in', () => {
  it('sends an unauthenticated visitor to the login page, coming back to where they were', async () => {
    history.replaceState(null, '', '/jobs?phase=Running');
    const assign = vi.spyOn(location, 'assign').mockImplementation(() => {});
    fakeApi({ 'GET /api/auth/me': envelope(401, 'unauthorized', 'authentication required') });
    render(<App />);
    await loadMe();
    expect(assign).toHaveBeenCalledWith('/api/auth/login?returnTo=%2Fjobs%3Fphase%3DRunning');
    screen.getByText('Checking your session…');
  });

  it('shows the user menu with roles, and signs out', async () => {
    const { calls } = fakeApi({
      ...emptyLists,
      'GET /api/auth/me': {
        user: { sub: 'u1', name: 'Grace', email: 'grace@example.test' },
        roles: ['viewer', 'operator'],
      },
      'POST /api/auth/logout': new Reply(204),
    });
    render(<App />);
    await loadMe();
    const menu = await screen.findByLabelText('User menu for Grace');
    expect(menu.textContent).toBe('Graceoperator');
    fireEvent.click(menu);
    const body = menu.parentElement!.querySelector<HTMLElement>('.menu-body')!;
    within(body).getByText('grace@example.test');
    within(body).getByText('operator');
    expect(screen.getByRole('link', { name: 'Submit' })).toBeTruthy();
    fireEvent.click(within(body).getByRole('button', { name: 'Sign out' }));
    await screen.findByRole('heading', { name: 'Signed out' });
    expect(screen.getByRole('link', { name: 'Sign in again' }).getAttribute('href')).toBe(
      '/api/auth/login?returnTo=%2Fjobs',
    );
    expect(calls.some((c) => c.method === 'POST' && c.path === '/api/auth/logout')).toBe(true);
  });

  it('goes on to the OpenID provider’s logout page when the API names one', async () => {
    const assign = vi.spyOn(location, 'assign').mockImplementation(() => {});
    fakeApi({
      ...emptyLists,
      'GET /api/auth/me': { user: { sub: 'u1', name: null, email: 'grace@example.test' }, roles: ['viewer'] },
      'POST /api/auth/logout': { loggedOut: true, redirectTo: 'https://id.example.test/logout?x=1' },
    });
    render(<App />);
    await loadMe();
    fireEvent.click(await screen.findByLabelText('User menu for grace@example.test'));
    fireEvent.click(screen.getByRole('button', { name: 'Sign out' }));
    await screen.findByRole('heading', { name: 'Signed out' });
    expect(assign).toHaveBeenCalledWith('https://id.example.test/logout?x=1');
  });

  it('explains when the session cannot be checked', async () => {
    fakeApi({ 'GET /api/auth/me': envelope(503, 'upstream_unavailable', 'identity provider unreachable') });
    render(<App />);
    await loadMe();
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('identity provider unreachable');
  });
});

describe('navigation', () => {
  it('has a labelled main navigation marking the current page, and a 404 page', async () => {
    signIn('viewer');
    fakeApi(emptyLists);
    history.replaceState(null, '', '/nowhere');
    render(<App />);
    await screen.findByRole('heading', { name: 'Page not found' });
    const nav = screen.getByRole('navigation', { name: 'Main' });
    fireEvent.click(within(nav).getByRole('link', { name: 'Jobs' }));
    await screen.findByRole('heading', { name: 'Jobs' });
    expect(within(nav).getByRole('link', { name: 'Jobs' }).getAttribute('aria-current')).toBe('page');
    expect(document.title).toBe('Jobs · ai-agents');
  });
});

describe('resources', () => {
  const agents = {
    items: [
      {
        metadata: { name: 'developer', resourceVersion: '7' },
        spec: { role: 'developer', model: 'sonnet', repositoryAccess: 'pr', systemPrompt: 'You write code.' },
      },
    ],
  };

  it('shows an agent and its composition preview', async () => {
    signIn('viewer');
    fakeApi({
      'GET /api/resources/agents': agents,
      'GET /api/resources/agents/developer/preview': {
        text: 'Be safe.\n\nYou write code.',
        hash: 'sha256:feed',
        parts: [
          { source: 'safety', kind: 'global' },
          { source: 'developer', kind: 'agent' },
        ],
      },
    });
    history.replaceState(null, '', '/agents/developer');
    render(<App />);
    await screen.findByRole('heading', { name: 'Composed instructions' });
    await screen.findByText('sha256:feed');
    expect(screen.getByText(/Be safe\./).tagName).toBe('PRE');
    expect(screen.getByRole('button', { name: 'Edit' }).hasAttribute('disabled')).toBe(true);
    screen.getByText('Requires the admin role; you are signed in as viewer.');
    expect(screen.queryByRole('button', { name: 'New' })).toBeNull();
  });

  it('lets an admin edit a resource as JSON and shows the API issues', async () => {
    signIn('admin');
    let attempt = 0;
    const { calls } = fakeApi({
      'GET /api/resources/agents': agents,
      'GET /api/resources/agents/developer/preview': { text: '', hash: 'h', parts: [] },
      'PUT /api/resources/agents/developer': () =>
        ++attempt === 1
          ? envelope(400, 'invalid_body', 'request body is invalid', [
              { path: 'spec.maxTurns', message: 'Too small' },
            ])
          : agents.items[0],
    });
    history.replaceState(null, '', '/agents/developer');
    render(<App />);
    fireEvent.click(await screen.findByRole('button', { name: 'Edit' }));
    const editor = screen.getByLabelText('Edit developer (JSON)') as HTMLTextAreaElement;
    const body = JSON.parse(editor.value);
    expect(body).toEqual({
      metadata: { name: 'developer', resourceVersion: '7' },
      spec: agents.items[0]!.spec,
    });
    fireEvent.input(editor, {
      target: { value: JSON.stringify({ ...body, spec: { ...body.spec, maxTurns: 0 } }) },
    });
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await screen.findByText('Too small');
    screen.getByText('spec.maxTurns');
    fireEvent.input(editor, { target: { value: '{ not json' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await screen.findByText(/Not valid JSON/);
    fireEvent.input(editor, { target: { value: JSON.stringify(body) } });
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await screen.findByRole('button', { name: 'Edit' });
    expect(calls.filter((c) => c.method === 'PUT')).toHaveLength(2);
  });

  it('lets an admin delete a resource after confirming, or take it back', async () => {
    signIn('admin');
    const { calls } = fakeApi({
      'GET /api/resources/agents': agents,
      'GET /api/resources/agents/developer/preview': { text: '', hash: 'h', parts: [] },
      'DELETE /api/resources/agents/developer': new Reply(204, undefined),
    });
    history.replaceState(null, '', '/agents/developer');
    render(<App />);
    fireEvent.click(await screen.findByRole('button', { name: 'Delete' }));
    fireEvent.click(screen.getByRole('button', { name: 'Keep it' }));
    fireEvent.click(screen.getByRole('button', { name: 'Delete' }));
    expect(calls.some((c) => c.method === 'DELETE')).toBe(false);
    fireEvent.click(screen.getByRole('button', { name: 'Delete developer' }));
    await vi.waitFor(() => expect(location.pathname).toBe('/agents'));
    expect(calls.filter((c) => c.method === 'DELETE').map((c) => c.path)).toEqual([
      '/api/resources/agents/developer',
    ]);
  });

  it('shows the empty state', async () => {
    signIn('viewer');
    fakeApi({ 'GET /api/resources/models': { items: [] } });
    history.replaceState(null, '', '/models');
    render(<App />);
    await screen.findByText('No models yet.');
  });
});

describe('webhooks', () => {
  const sources = {
    items: [
      {
        metadata: { name: 'github' },
        spec: {
          type: 'github',
          rules: [{ name: 'review', event: 'pull_request', actions: ['opened'], agent: 'reviewer' }],
        },
        status: { url: 'https://hooks.example/github' },
      },
    ],
  };
  const deliveries = {
    items: [
      {
        key: 'k1',
        id: 'd-1',
        event: 'pull_request',
        action: 'opened',
        receivedAt: '2026-01-01T10:00:00Z',
        matched: ['review'],
        outcome: 'created',
        requests: [{ name: 'req-7', rule: 'review', result: 'created' }],
        replayable: true,
      },
      {
        key: 'k2',
        id: 'd-2',
        event: 'push',
        receivedAt: '2026-01-01T09:00:00Z',
        matched: [],
        outcome: 'ignored',
        message: 'no rule matched',
        requests: [],
        replayable: false,
      },
    ],
  };

  it('shows the rules and the delivery ledger, and replays a delivery', async () => {
    signIn('operator');
    const { calls } = fakeApi({
      'GET /api/resources/webhooksources': sources,
      'GET /api/webhooks/github/deliveries': deliveries,
      'POST /api/webhooks/github/deliveries/d-1/replay': {
        delivery: 'd-1',
        outcome: 'created',
        message: '1 request created',
        requests: [{ name: 'req-8', rule: 'review', result: 'created' }],
      },
    });
    history.replaceState(null, '', '/webhooks/github');
    render(<App />);
    await screen.findByText('https://hooks.example/github');
    screen.getByRole('table', { name: 'Rules' });
    await screen.findByText('d-1');
    expect(screen.getByRole('link', { name: 'req-7' }).getAttribute('href')).toBe('/jobs/req-7');
    screen.getByText('no rule matched');
    expect(screen.getByRole('button', { name: 'Replay delivery d-2' }).hasAttribute('disabled')).toBe(true);
    fireEvent.click(screen.getByRole('button', { name: 'Replay delivery d-1' }));
    const status = await screen.findByText(/Replayed d-1 — 1 request created/);
    expect(within(status).getByRole('link', { name: 'req-8' })).toBeTruthy();
    expect(calls.some((c) => c.method === 'POST' && c.path.endsWith('/d-1/replay'))).toBe(true);
  });

  it('disables replay for a viewer', async () => {
    signIn('viewer');
    fakeApi({
      'GET /api/resources/webhooksources': sources,
      'GET /api/webhooks/github/deliveries': deliveries,
    });
    history.replaceState(null, '', '/webhooks/github');
    render(<App />);
    const replay = await screen.findByRole('button', { name: 'Replay delivery d-1' });
    expect(replay.hasAttribute('disabled')).toBe(true);
    screen.getByText(/Replaying a delivery: Requires the operator role/);
  });
});

describe('stats', () => {
  it('says so when Prometheus is down, and still shows counts by phase', async () => {
    signIn('viewer');
    fakeApi({
      'GET /api/stats/summary': { byPhase: { Running: 2, Failed: 1 } },
      'GET /api/stats/timeseries': envelope(503, 'upstream_unavailable', 'Prometheus is unavailable'),
    });
    history.replaceState(null, '', '/stats');
    render(<App />);
    // one notice for all the charts
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain(
      'A service the API depends on is unavailable: Prometheus is unavailable',
    );
    expect(screen.getAllByRole('alert')).toHaveLength(1);
    expect(document.querySelectorAll('figure')).toHaveLength(0);
    const counts = screen.getByRole('list', { name: 'Requests by phase' });
    within(counts).getByRole('link', { name: /Running 2/ });
  });
});

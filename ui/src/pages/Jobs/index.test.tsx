// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen, within } from '@testing-library/preact';
import { LocationProvider } from 'preact-iso';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { envelope, fakeApi, signIn } from '../../test/fakes.ts';
import { Jobs } from './index.tsx';

const job = (id: string, phase: string, extra: object = {}) => ({
  id,
  phase,
  agent: 'developer',
  model: 'sonnet',
  source: 'api',
  caller: 'ci-bot',
  createdAt: new Date(Date.now() - 120_000).toISOString(),
  ...extra,
});

beforeEach(() => {
  history.replaceState(null, '', '/jobs');
  signIn('viewer');
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const show = () =>
  render(
    <LocationProvider>
      <Jobs />
    </LocationProvider>,
  );

describe('Jobs page', () => {
  it('lists requests with phase, queue position, agent, model, source, caller and age', async () => {
    fakeApi({
      'GET /api/jobs': { items: [job('req-a', 'Queued', { queuePosition: 3 }), job('req-b', 'Succeeded')] },
      'GET /api/stats/summary': { byPhase: { Queued: 1, Succeeded: 1 } },
    });
    show();
    const link = await screen.findByRole('link', { name: 'req-a' });
    expect(link.getAttribute('href')).toBe('/jobs/req-a');
    const row = link.closest('tr')!;
    expect(within(row).getByText('Queued').className).toContain('phase-queued');
    for (const text of ['3', 'developer', 'sonnet', 'api', 'ci-bot', '2m']) within(row).getByText(text);
    const counts = screen.getByRole('list', { name: 'Requests by phase' });
    expect(
      within(counts)
        .getByRole('link', { name: /Succeeded 1/ })
        .getAttribute('href'),
    ).toBe('/jobs?phase=Succeeded');
  });

  it('passes filters from the URL to the API and pages with continue tokens', async () => {
    history.replaceState(null, '', '/jobs?phase=Running&agent=developer&label=team%3Dcore&limit=25');
    const { calls } = fakeApi({
      'GET /api/jobs': ({ url }) =>
        url.searchParams.get('continue') === 'tok2'
          ? { items: [job('req-page2', 'Running')] }
          : { items: [job('req-page1', 'Running')], continue: 'tok2' },
      'GET /api/stats/summary': { byPhase: {} },
    });
    show();
    await screen.findByRole('link', { name: 'req-page1' });
    const first = calls.find((c) => c.path === '/api/jobs')!.url.searchParams;
    expect(Object.fromEntries(first)).toEqual({
      phase: 'Running',
      agent: 'developer',
      label: 'team=core',
      limit: '25',
    });
    expect((screen.getByLabelText('Phase') as HTMLSelectElement).value).toBe('Running');
    expect(screen.getByRole('button', { name: '← Previous' }).hasAttribute('disabled')).toBe(true);
    fireEvent.click(screen.getByRole('button', { name: 'Next →' }));
    await screen.findByRole('link', { name: 'req-page2' });
    expect(screen.getByText('Page 2')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Next →' }).hasAttribute('disabled')).toBe(true);
    fireEvent.click(screen.getByRole('button', { name: '← Previous' }));
    await screen.findByRole('link', { name: 'req-page1' });
    expect(
      calls
        .filter((c) => c.path === '/api/jobs')
        .at(-1)!
        .url.searchParams.has('continue'),
    ).toBe(false);
  });

  it('applies the filter form through the URL', async () => {
    const { calls } = fakeApi({ 'GET /api/jobs': { items: [] }, 'GET /api/stats/summary': { byPhase: {} } });
    show();
    await screen.findByText(/No requests yet/);
    fireEvent.change(screen.getByLabelText('Phase'), { target: { value: 'Failed' } });
    fireEvent.input(screen.getByLabelText('Caller'), { target: { value: 'alice' } });
    fireEvent.click(screen.getByRole('button', { name: 'Apply' }));
    await screen.findByText('No requests match these filters.');
    expect(location.search).toContain('phase=Failed');
    const last = calls.filter((c) => c.path === '/api/jobs').at(-1)!.url.searchParams;
    expect([last.get('phase'), last.get('caller')]).toEqual(['Failed', 'alice']);
  });

  it('shows the API error with a way to try again', async () => {
    fakeApi({
      'GET /api/jobs': envelope(500, 'internal', 'internal error'),
      'GET /api/stats/summary': { byPhase: {} },
    });
    show();
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('internal error');
    expect(alert.textContent).toContain('req-1');
    within(alert).getByRole('button', { name: 'Try again' });
  });
});

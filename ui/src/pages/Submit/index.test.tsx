// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen } from '@testing-library/preact';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { App } from '../../app.tsx';
import { envelope, FakeEventSource, fakeApi, Reply, signIn } from '../../test/fakes.ts';

const agents = {
  items: [
    {
      metadata: { name: 'developer' },
      spec: { role: 'developer', model: 'sonnet', description: 'Writes code' },
    },
    { metadata: { name: 'reviewer' }, spec: { role: 'reviewer' } },
  ],
};
const models = {
  items: [
    {
      metadata: { name: 'sonnet' },
      spec: { provider: 'anthropic', executor: 'claude', model: 'claude-sonnet' },
    },
  ],
};

beforeEach(() => {
  vi.stubGlobal('EventSource', FakeEventSource);
  history.replaceState(null, '', '/submit');
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const fill = (label: string, value: string) => {
  const el = screen.getByLabelText(label) as HTMLInputElement;
  // As in a browser, choosing an option fires both input and change.
  fireEvent.input(el, { target: { value } });
  if (el.tagName === 'SELECT') fireEvent.change(el);
};

describe('Submit page', () => {
  it('fills the pickers from the API and opens the new request', async () => {
    signIn('operator');
    const { calls } = fakeApi({
      'GET /api/resources/agents': agents,
      'GET /api/resources/models': models,
      'POST /api/jobs': { id: 'req-9' },
      'GET /api/jobs/req-9': {
        id: 'req-9',
        metadata: { name: 'req-9' },
        spec: { agent: 'developer', prompt: 'x' },
      },
      'GET /api/jobs/req-9/prompt': { text: '', hash: 'h', parts: [] },
    });
    render(<App />);
    await screen.findByRole('option', { name: 'developer (developer)' });
    screen.getByRole('option', { name: 'sonnet — anthropic/claude' });
    fill('Agent', 'developer');
    screen.getByRole('option', { name: 'Agent default (sonnet)' });
    screen.getByText('Writes code');
    fill('Prompt', 'Add a test');
    fill('URL', 'https://git.example/org/repo.git');
    fill('Labels', 'team=core');
    fireEvent.click(screen.getByRole('button', { name: 'Submit' }));
    await screen.findByRole('heading', { name: /req-9/ });
    expect(location.pathname).toBe('/jobs/req-9');
    expect(calls.find((c) => c.method === 'POST')!.body).toEqual({
      agent: 'developer',
      prompt: 'Add a test',
      repository: { url: 'https://git.example/org/repo.git', pullRequest: false },
      labels: { team: 'core' },
    });
  });

  it('shows the API validation errors next to their fields', async () => {
    signIn('operator');
    fakeApi({
      'GET /api/resources/agents': agents,
      'GET /api/resources/models': models,
      'POST /api/jobs': envelope(400, 'invalid_body', 'request body is invalid', [
        { path: 'repository.url', message: 'must be a git URL' },
        { path: 'timeoutSeconds', message: 'Too big: expected number to be <=604800' },
      ]),
    });
    render(<App />);
    await screen.findByRole('option', { name: 'developer (developer)' });
    fill('Agent', 'developer');
    fill('Prompt', 'x');
    fill('URL', 'not a url');
    fill('Timeout (seconds)', '9999999');
    fireEvent.click(screen.getByRole('button', { name: 'Submit' }));
    await screen.findByText('must be a git URL');
    const url = screen.getByLabelText('URL');
    expect(url.getAttribute('aria-invalid')).toBe('true');
    expect(document.getElementById(url.getAttribute('aria-describedby')!)!.textContent).toBe(
      'must be a git URL',
    );
    expect(screen.getByLabelText('Timeout (seconds)').getAttribute('aria-invalid')).toBe('true');
    expect(location.pathname).toBe('/submit');
    // focus moves to the first field that needs attention
    await vi.waitFor(() => expect(document.activeElement).toBe(url));
  });

  it('checks required fields before calling the API', async () => {
    signIn('operator');
    const { calls } = fakeApi({ 'GET /api/resources/agents': agents, 'GET /api/resources/models': models });
    render(<App />);
    await screen.findByRole('option', { name: 'developer (developer)' });
    fireEvent.click(screen.getByRole('button', { name: 'Submit' }));
    await screen.findByText('Choose an agent.');
    screen.getByText('Write a prompt.');
    expect(calls.some((c) => c.method === 'POST')).toBe(false);
  });

  /** Chooses files in the labelled file input, as a browser does. */
  const choose = (...files: File[]) => {
    const input = screen.getByLabelText('Attach files') as HTMLInputElement;
    Object.defineProperty(input, 'files', { value: files, configurable: true });
    fireEvent.change(input);
  };

  it('uploads chosen files and submits their ids as attachments; a removed file is not sent', async () => {
    signIn('operator');
    let n = 0;
    const { calls, fetch } = fakeApi({
      'GET /api/resources/agents': agents,
      'GET /api/resources/models': models,
      'POST /api/uploads': () => {
        n++;
        return { id: `upl-${n}`, size: n === 1 ? 2048 : 5, kind: 'text', name: `f${n}` };
      },
      'DELETE /api/uploads/upl-2': new Reply(204),
      'POST /api/jobs': envelope(400, 'invalid_body', 'request body is invalid', [
        { path: 'attachments.0', message: 'not your upload' },
      ]),
    });
    render(<App />);
    await screen.findByRole('option', { name: 'developer (developer)' });
    fill('Agent', 'developer');
    fill('Prompt', 'Summarise the report');
    const report = new File(['%PDF-1.7 …'], 'Q3 report.pdf', { type: 'application/pdf' });
    choose(report, new File(['hello'], 'notes.txt', { type: 'text/plain' }));
    screen.getAllByText('uploading…');
    await screen.findByText('2.0 KB');
    await screen.findByText('5 B');
    const uploads = fetch.mock.calls.filter(([path]) => path === '/api/uploads');
    expect(uploads).toHaveLength(2);
    expect(uploads[0]![1]).toMatchObject({
      method: 'POST',
      body: report,
      headers: { 'X-Upload-Name': 'Q3%20report.pdf' },
    });
    const remove = screen.getByRole('button', { name: 'Remove notes.txt' });
    fireEvent.click(remove);
    expect(screen.queryByText('notes.txt', { exact: false })).toBeNull();
    expect(calls.filter((c) => c.method === 'DELETE').map((c) => c.path)).toEqual(['/api/uploads/upl-2']);
    fireEvent.click(screen.getByRole('button', { name: 'Submit' }));
    await screen.findByText('not your upload');
    expect(calls.find((c) => c.path === '/api/jobs')!.body).toEqual({
      agent: 'developer',
      prompt: 'Summarise the report',
      attachments: ['upl-1'],
    });
    expect(screen.getByLabelText('Attach files').getAttribute('aria-invalid')).toBe('true');
  });

  it("shows the API's message for a refused file; submits only once it is removed", async () => {
    signIn('operator');
    const { calls } = fakeApi({
      'GET /api/resources/agents': agents,
      'GET /api/resources/models': models,
      'POST /api/uploads': envelope(415, 'unsupported_media_type', 'type not allowed'),
      'POST /api/jobs': { id: 'req-9' },
      'GET /api/jobs/req-9': {
        id: 'req-9',
        metadata: { name: 'req-9' },
        spec: { agent: 'developer', prompt: 'x' },
      },
      'GET /api/jobs/req-9/prompt': { text: '', hash: 'h', parts: [] },
    });
    render(<App />);
    await screen.findByRole('option', { name: 'developer (developer)' });
    fill('Agent', 'developer');
    fill('Prompt', 'x');
    choose(new File([new Uint8Array([0x7f, 0x45, 0x4c, 0x46])], 'tool.bin'));
    const alert = await screen.findByText('type not allowed');
    expect(alert.getAttribute('role')).toBe('alert');
    // not silently dropped: the form says what to do first
    fireEvent.click(screen.getByRole('button', { name: 'Submit' }));
    await screen.findByText('Remove the files that could not be uploaded, or try them again.');
    expect(calls.some((c) => c.path === '/api/jobs')).toBe(false);
    fireEvent.click(screen.getByRole('button', { name: 'Remove tool.bin' }));
    fireEvent.click(screen.getByRole('button', { name: 'Submit' }));
    await screen.findByRole('heading', { name: /req-9/ });
    expect(calls.find((c) => c.path === '/api/jobs')!.body).toEqual({ agent: 'developer', prompt: 'x' });
  });

  it('waits for uploads in progress before submitting', async () => {
    signIn('operator');
    let finish: (v: unknown) => void = () => {};
    const { calls } = fakeApi({
      'GET /api/resources/agents': agents,
      'GET /api/resources/models': models,
      'POST /api/uploads': () =>
        new Promise((r) => {
          finish = r;
        }),
    });
    render(<App />);
    await screen.findByRole('option', { name: 'developer (developer)' });
    fill('Agent', 'developer');
    fill('Prompt', 'x');
    choose(new File(['a'], 'a.txt'));
    fireEvent.click(screen.getByRole('button', { name: 'Submit' }));
    await screen.findByText('Wait for the uploads to finish.');
    expect(calls.some((c) => c.path === '/api/jobs')).toBe(false);
    finish({ id: 'upl-1', size: 1 });
  });

  it('tells a viewer why the form is disabled and hides the nav link', async () => {
    signIn('viewer');
    fakeApi({ 'GET /api/resources/agents': agents, 'GET /api/resources/models': models });
    render(<App />);
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('Requires the operator role; you are signed in as viewer.');
    expect(screen.getByRole('button', { name: 'Submit' }).closest('fieldset')!.disabled).toBe(true);
    expect(screen.queryByRole('link', { name: 'Submit' })).toBeNull();
  });
});

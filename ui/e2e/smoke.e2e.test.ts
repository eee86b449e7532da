// UI smoke test: the production build in `vite preview`, driven by Debian's chromium through
// playwright-core, against the tiny stub API in stub-api.ts. It proves the pages render, route,
// stream and submit in a real browser; it is NOT the end-to-end proof (real functions, controller,
// apiserver and OpenID provider), which lives with the other e2e tests.
// Screenshots: test-results/screenshots/*.png.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import preact from '@preact/preset-vite';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { build, type PreviewServer, preview } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, launchChromium } from './browser.ts';
import { type StubState, stubApi } from './stub-api.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const SHOTS = join(ROOT, 'test-results', 'screenshots');

const state: StubState = { role: 'operator', calls: [] };
let outDir: string;
let server: PreviewServer;
let base: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;

const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium)`);
  outDir = await mkdtemp(join(tmpdir(), 'ui-smoke-'));
  await mkdir(SHOTS, { recursive: true });
  const common = { configFile: false as const, root: join(ROOT, 'ui'), logLevel: 'warn' as const };
  await build({ ...common, plugins: [preact()], build: { outDir, emptyOutDir: true } });
  server = await preview({
    ...common,
    build: { outDir },
    preview: { host: '127.0.0.1', port: 0, strictPort: false },
    plugins: [{ name: 'stub-api', configurePreviewServer: (s) => void s.middlewares.use(stubApi(state)) }],
  });
  base = `http://127.0.0.1:${(server.httpServer.address() as AddressInfo).port}`;
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: 'light' });
  page = await context.newPage();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

describe('dashboard in chromium (stub API)', () => {
  it('sends a signed-out visitor through login and back to the page they asked for', async () => {
    state.role = undefined;
    await page.goto(`${base}/stats`);
    await page.getByRole('heading', { name: 'Stats' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/stats');
    expect(state.calls.some((c) => c.url === '/api/auth/login?returnTo=%2Fstats')).toBe(true);
  });

  it('lists jobs with phases and filters them', async () => {
    await page.goto(`${base}/jobs`);
    await page.getByRole('link', { name: 'req-queued-a' }).waitFor();
    const row = page.getByRole('row').filter({ hasText: 'req-queued-a' });
    expect(await row.getByText('Queued', { exact: true }).count()).toBe(1);
    await shot('jobs');
    await page.getByLabel('Phase', { exact: true }).selectOption('Failed');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/phase=Failed/);
    await page.getByRole('link', { name: 'req-queued-a' }).waitFor({ state: 'detached' });
    expect(await page.getByRole('link', { name: 'req-failed' }).count()).toBe(1);
  });

  it('streams a job’s events live and resumes after the connection drops', async () => {
    await page.goto(`${base}/jobs/req-live`);
    await page.getByText('all tests pass').waitFor();
    await page.getByRole('status').filter({ hasText: 'ended' }).waitFor();
    const items = page.getByRole('list', { name: 'Event timeline' }).getByRole('listitem');
    expect(await items.count()).toBe(6);
    const resumed = state.calls
      .filter((c) => c.url === '/api/jobs/req-live/events')
      .map((c) => c.lastEventId);
    expect(resumed).toEqual([undefined, '3']);
    await page.getByText('Bash').first().click();
    await shot('job-detail-live');
  });

  it('shows a finished job’s result, pull request, usage and composed instructions', async () => {
    await page.goto(`${base}/jobs/req-done`);
    await page.getByRole('link', { name: 'https://git.example/acme/platform/pull/128' }).waitFor();
    await page.getByText('global: safety').waitFor();
    expect(await page.getByText('$0.2032').count()).toBeGreaterThan(0);
    await shot('job-detail-result');
  });

  it('cancels a running job', async () => {
    await page.goto(`${base}/jobs/req-running`);
    await page.getByRole('button', { name: 'Cancel request' }).click();
    await page.getByRole('button', { name: 'Yes, cancel it' }).click();
    await page.getByRole('button', { name: 'Retry' }).waitFor();
    expect(state.calls.some((c) => c.method === 'POST' && c.url === '/api/jobs/req-running/cancel')).toBe(
      true,
    );
  });

  it('submits a job, with the API’s validation errors shown inline first', async () => {
    await page.goto(`${base}/submit`);
    await page.getByRole('option', { name: 'developer (developer)' }).waitFor({ state: 'attached' });
    await page.getByLabel('Agent').selectOption('developer');
    await page.getByLabel('Prompt').fill('Upgrade the linter and fix what it finds.');
    await page.getByLabel('URL').fill('git.example:acme/platform');
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.getByText('must be a git URL').waitFor();
    expect(await page.getByLabel('URL').getAttribute('aria-invalid')).toBe('true');
    await shot('submit-validation');
    await page.getByLabel('URL').fill('https://git.example/acme/platform.git');
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.waitForURL(/\/jobs\/req-new$/);
    await page.getByRole('heading', { name: /req-new/ }).waitFor();
  });

  it('shows models, agents with their composition preview, and instructions', async () => {
    await page.goto(`${base}/models`);
    await page.getByRole('link', { name: 'qwen-local' }).waitFor();
    await shot('models');
    await page.goto(`${base}/agents/developer`);
    await page.getByRole('heading', { name: 'Composed instructions' }).waitFor();
    await page.getByText('sha256:51f0…aa').waitFor();
    await shot('agents-preview');
    await page.goto(`${base}/instructions/git-flow`);
    await page.getByText('Work on a branch; open a PR.').first().waitFor();
    await shot('instructions');
  });

  it('shows a webhook source’s rules and ledger, and replays a delivery', async () => {
    await page.goto(`${base}/webhooks/github`);
    await page.getByRole('table', { name: 'Rules' }).waitFor();
    await page.getByRole('button', { name: 'Replay delivery a1b2c3' }).click();
    await page.getByText('Replayed a1b2c3').waitFor();
    await shot('webhooks');
  });

  it('draws the stats charts with uPlot', async () => {
    await page.goto(`${base}/stats`);
    await page.locator('.chart canvas').nth(4).waitFor();
    expect(await page.locator('.chart canvas').count()).toBe(5);
    await shot('stats');
  });

  it('has a 404 page and is keyboard reachable', async () => {
    await page.goto(`${base}/no/such/page`);
    await page.getByRole('heading', { name: 'Page not found' }).waitFor();
    await shot('not-found');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Jobs');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Jobs' }).waitFor();
  });

  it('follows a dark colour scheme', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(`${base}/jobs/req-done`);
    await page.getByText('global: safety').waitFor();
    const bg = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    expect(bg).toBe('rgb(15, 19, 24)');
    await shot('job-detail-dark');
    await page.goto(`${base}/stats`);
    await page.locator('.chart canvas').nth(4).waitFor();
    await shot('stats-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('tells a viewer why actions are unavailable', async () => {
    state.role = 'viewer';
    await page.goto(`${base}/jobs/req-queued-b`);
    const cancel = page.getByRole('button', { name: 'Cancel request' });
    await cancel.waitFor();
    expect(await cancel.isDisabled()).toBe(true);
    await page.getByText('Requires the operator role; you are signed in as viewer.').waitFor();
    expect(await page.getByRole('link', { name: 'Submit' }).count()).toBe(0);
    await page.getByLabel('User menu for Ada Lovelace').click();
    await shot('viewer-job');
    await page.goto(`${base}/submit`);
    await page.getByRole('alert').filter({ hasText: 'Requires the operator role' }).waitFor();
    await shot('viewer-submit');
  });

  it('signs out', async () => {
    await page.goto(`${base}/jobs`);
    await page.getByLabel('User menu for Ada Lovelace').click();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Signed out' }).waitFor();
    expect(state.role).toBeUndefined();
  });
});

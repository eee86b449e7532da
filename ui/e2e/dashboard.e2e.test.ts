// The dashboard's end-to-end proof (issue 8): Debian's chromium, driven by playwright-core, against
// nginx serving the production build with the chart's config, the real functions, controller and
// apiserver (Jobs run on the kwok node), and the real OpenID provider. An operator signs in, submits
// a job from the form and watches its events arrive live while the test plays the executor (it
// posts event batches to /api/events/ingest with the ingest token the controller minted), until the
// phase reaches Succeeded; cancels another job; and a viewer sees the API's 403 for an operator
// action. Screenshots: test-results/screenshots/e2e-*.png.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { EXECUTOR_ENV } from '../../api/v1alpha1/executor-contract.ts';
import type { InferenceRequest } from '../../api/v1alpha1/index.ts';
import { childNames, EXECUTOR_CONTAINER } from '../../controller/job-spec.ts';
import { RESOURCES } from '../../controller/kube.ts';
import { adminClient, createFixtures, getRequest, KWOK } from '../../controller/testing.ts';
import { createTestNamespace, eventually, type TestNamespace } from '../../test/kube.ts';
import { jobPodIngestToken } from '../../test/kubelet-token.ts';
import { CHROMIUM, launchChromium } from './browser.ts';
import { NGINX, type Stack, SUBMIT_CALLER, SUBMIT_KEY, startStack } from './stack.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const SHOTS = join(ROOT, 'test-results', 'screenshots');
const HOLD = 'kwok.labrats.work/outcome';

let ns: TestNamespace;
let stack: Stack;
let browser: Browser;
const contexts: BrowserContext[] = [];
/** Console errors (CSP violations among them) on the dashboard's pages: the chart's CSP must not break the app. */
const problems: string[] = [];
const client = () => adminClient(inject('kubeconfig'));

const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(SHOTS, `e2e-${name}.png`), fullPage: true });

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: 'light' });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  // the dashboard's pages only (the test provider's logout page wants a web font and a favicon)
  const ours = () => new URL(page.url()).origin === stack.origin;
  page.on('console', (m) => {
    if (m.type() === 'error' && ours() && !/status of 40[13]/.test(m.text()))
      problems.push(`${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => {
    if (ours()) problems.push(String(e));
  });
  return page;
}

/** At the OpenID provider's pages: sign in, grant consent, and land back on the dashboard. */
async function signIn(page: Page, account: 'oscar' | 'vera', password: string): Promise<void> {
  await page.waitForURL((u) => u.origin === stack.provider.issuer);
  await page.locator('input[name="login"]').fill(account);
  await page.locator('input[name="password"]').fill(password);
  await shot(page, `login-${account}`);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL((u) => u.origin === stack.origin);
}

const phaseBadge = (page: Page, phase: string) => page.locator('h1 .badge', { hasText: phase });

async function request(name: string): Promise<InferenceRequest> {
  return getRequest(client(), ns.name, name);
}

/**
 * The executor's side of a run, as the Job the controller created describes it: the ingest URL
 * from the container's environment and the token the kubelet projects into its pod.
 */
async function executorOf(name: string) {
  const names = childNames(name);
  const { token } = await jobPodIngestToken(ns.core, ns.name, names.job);
  const job = await ns.batch.readNamespacedJob({ name: names.job, namespace: ns.name });
  const container = job.spec?.template.spec?.containers.find((c) => c.name === EXECUTOR_CONTAINER);
  const url = container?.env?.find((e) => e.name === EXECUTOR_ENV.ingestUrl)?.value;
  if (!url) throw new Error(`Job ${names.job} has no ${EXECUTOR_ENV.ingestUrl}`);
  let seq = 0;
  return {
    job: names.job,
    async send(events: { type: string; message?: string; data?: Record<string, unknown> }[]) {
      const batch = events.map((e) => ({ seq: ++seq, time: new Date().toISOString(), ...e }));
      const res = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ request: name, events: batch }),
      });
      const body = await res.text();
      expect(res.status, body).toBe(200);
      expect(JSON.parse(body)).toMatchObject({ accepted: batch.length, lastSeq: seq });
    },
  };
}

/** The held pod's executor exits 0: the label that holds it goes, and kwok completes it. */
async function finishPod(jobName: string): Promise<void> {
  const pods = await ns.core.listNamespacedPod({ namespace: ns.name, labelSelector: `job-name=${jobName}` });
  const pod = pods.items.find((p) => p.status?.phase === 'Running');
  if (!pod?.metadata?.name) throw new Error(`no running pod for Job ${jobName}`);
  ns.kubectl(['label', 'pod', pod.metadata.name, `${HOLD}-`]);
}

beforeAll(async () => {
  for (const [what, path] of [
    ['browser', CHROMIUM],
    ['nginx', NGINX],
  ] as const)
    if (!existsSync(path))
      throw new Error(`no ${what} at ${path}: install Debian's ${what} (apt-get install -y ${what})`);
  await mkdir(SHOTS, { recursive: true });
  ns = await createTestNamespace('ui-e2e');
  await createFixtures(client(), ns.name);
  stack = await startStack({ namespace: ns.name, kubeconfig: inject('kubeconfig') });
  browser = await launchChromium();
}, 240_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await stack?.stop();
  await ns?.cleanup();
});

describe('dashboard end to end (nginx, functions, controller, apiserver, OpenID provider)', () => {
  let operator: Page;
  let submitted = '';
  let cancelled = '';

  it('signs an operator in through the OpenID provider and back to the page they asked for', async () => {
    operator = await newPage();
    const first = await operator.goto(`${stack.origin}/jobs`);
    // the document came from the chart's nginx config
    expect(first?.headers()['content-security-policy']).toContain("default-src 'self'");
    expect(first?.headers()['x-frame-options']).toBe('DENY');
    await signIn(operator, 'oscar', 'oscar-pw');
    expect(new URL(operator.url()).pathname).toBe('/jobs');
    await operator.getByRole('heading', { name: 'Jobs' }).waitFor();
    await operator.getByLabel('User menu for Oscar Operator').waitFor();
    expect(await operator.getByRole('navigation', { name: 'Main' }).getByText('Submit').count()).toBe(1);
    await shot(operator, 'jobs-empty');
  });

  it('submits a job from the form and lands on its page', async () => {
    await operator.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Submit' }).click();
    await operator.getByRole('heading', { name: 'Submit a request' }).waitFor();
    await operator.getByRole('option', { name: 'developer (developer)' }).waitFor({ state: 'attached' });
    await operator.getByLabel('Agent').selectOption('developer');
    await operator.getByLabel('Prompt').fill('Make the flaky jobs test deterministic.');
    await operator.getByLabel('Labels').fill(`team=platform\n${HOLD}=hold`);
    await shot(operator, 'submit');
    await operator.getByRole('button', { name: 'Submit' }).click();
    await operator.waitForURL(/\/jobs\/[a-z0-9-]+$/);
    submitted = decodeURIComponent(new URL(operator.url()).pathname.split('/').pop() ?? '');
    await operator.getByRole('heading', { name: new RegExp(submitted) }).waitFor();
    const req = await request(submitted);
    expect(req.spec).toMatchObject({
      agent: 'developer',
      prompt: 'Make the flaky jobs test deterministic.',
      labels: { team: 'platform', [HOLD]: 'hold' },
      // the session's user, not an API key
      caller: 'oscar',
      source: { kind: 'ui' },
    });
  });

  it('shows the job’s events live as the executor sends them, until the phase is Succeeded', async () => {
    expect(submitted, 'the submit step made a job').not.toBe('');
    const page = operator;
    await phaseBadge(page, 'Running').waitFor();
    await page.getByRole('status').filter({ hasText: 'live' }).waitFor();
    await page.getByText('Waiting for events…').waitFor();
    // Everything below must arrive over the open event stream: a reload would drop this marker.
    await page.evaluate(() => Object.assign(window, { e2eSamePage: true }));
    const timeline = page.getByRole('list', { name: 'Event timeline' }).getByRole('listitem');
    const exec = await executorOf(submitted);

    await exec.send([
      { type: 'started', message: 'claude started', data: { executor: 'claude' } },
      { type: 'message', message: 'Reading jobs.int.test.ts to find the race.' },
    ]);
    await page.getByText('Reading jobs.int.test.ts to find the race.').waitFor();
    expect(await timeline.count()).toBe(2);

    await exec.send([
      { type: 'tool_call', data: { name: 'Bash', input: { command: 'npm test -- jobs' } } },
      { type: 'tool_result', data: { name: 'Bash', output: '1 failed, 41 passed' } },
      { type: 'message', message: 'The test creates the job before the informer has synced.' },
    ]);
    await page.getByText('The test creates the job before the informer has synced.').waitFor();
    expect(await timeline.count()).toBe(5);
    await page.getByText('Bash').first().click();
    await page.getByText('npm test -- jobs').waitFor();
    await shot(page, 'job-live');

    await exec.send([
      { type: 'usage', data: { inputTokens: 18_200, outputTokens: 1_450, costUsd: 0.0763 } },
      {
        type: 'completed',
        message: 'done',
        data: {
          outcome: 'succeeded',
          result: { summary: 'The test now waits for the informer to sync before creating the job.' },
          usage: { inputTokens: 18_200, outputTokens: 1_450, costUsd: 0.0763, durationMs: 42_000 },
        },
      },
    ]);
    await page.getByText('18,200 in / 1,450 out').first().waitFor();
    await page.locator('.timeline .ev-completed').waitFor();
    expect(await timeline.count()).toBe(7);
    // the stream has ended (completed was sent); the phase is still the controller's to set
    await page.getByRole('status').filter({ hasText: 'ended' }).waitFor();

    // the executor exits 0: the pod succeeds, the Job completes, the controller ends the request
    await finishPod(exec.job);
    await eventually('the request Succeeded in the apiserver', async () =>
      (await request(submitted)).status?.phase === 'Succeeded' ? true : undefined,
    );
    await phaseBadge(page, 'Succeeded').waitFor();
    await page.getByText('The test now waits for the informer to sync before creating the job.').waitFor();
    expect(await page.evaluate(() => (window as { e2eSamePage?: boolean }).e2eSamePage)).toBe(true);
    const status = (await request(submitted)).status;
    expect(status?.eventCount).toBe(7);
    expect(status?.usage).toMatchObject({ inputTokens: 18_200, outputTokens: 1_450 });
    await shot(page, 'job-succeeded');
  });

  it('cancels another, running job', async () => {
    // a job from the public API (an API key, as CI would submit), held running on the kwok node
    const res = await fetch(`${stack.origin}/api/jobs/submit`, {
      method: 'POST',
      headers: { 'x-api-key': SUBMIT_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ agent: 'developer', prompt: 'Upgrade the linter.', labels: KWOK.hold }),
    });
    const body = (await res.json()) as { id: string };
    expect(res.status, JSON.stringify(body)).toBe(202);
    cancelled = body.id;
    await eventually('its pod running', async () => {
      const pods = await ns.core.listNamespacedPod({
        namespace: ns.name,
        labelSelector: `job-name=${childNames(cancelled).job}`,
      });
      return pods.items.some((p) => p.status?.phase === 'Running') ? true : undefined;
    });

    const page = operator;
    await page.goto(`${stack.origin}/jobs`);
    const row = page.getByRole('row').filter({ hasText: cancelled });
    await row.getByText('Running', { exact: true }).waitFor();
    await row.getByText(SUBMIT_CALLER).waitFor();
    await shot(page, 'jobs');
    await row.getByRole('link', { name: cancelled }).click();
    await phaseBadge(page, 'Running').waitFor();
    await page.getByRole('button', { name: 'Cancel request' }).click();
    await page.getByRole('button', { name: 'Yes, cancel it' }).click();
    await phaseBadge(page, 'Cancelled').waitFor();
    await page.getByRole('button', { name: 'Retry' }).waitFor();
    const req = await request(cancelled);
    expect(req.spec.cancel).toBe(true);
    expect(req.status?.phase).toBe('Cancelled');
    await eventually('its Job gone or stopped', async () => {
      const pods = await ns.core.listNamespacedPod({
        namespace: ns.name,
        labelSelector: `job-name=${childNames(cancelled).job}`,
      });
      return pods.items.every((p) => p.status?.phase !== 'Running') ? true : undefined;
    });
    await shot(page, 'job-cancelled');
  });

  it('shows a viewer why operator actions are unavailable, and the API’s 403 when one is tried', async () => {
    expect(cancelled, 'the cancel step made a job').not.toBe('');
    const page = await newPage();
    await page.goto(`${stack.origin}/jobs/${cancelled}`);
    await signIn(page, 'vera', 'vera-pw');
    expect(new URL(page.url()).pathname).toBe(`/jobs/${cancelled}`);
    await phaseBadge(page, 'Cancelled').waitFor();
    expect(await page.getByRole('navigation', { name: 'Main' }).getByText('Submit').count()).toBe(0);
    const retry = page.getByRole('button', { name: 'Retry' });
    expect(await retry.isDisabled()).toBe(true);
    await page.getByText('Requires the operator role; you are signed in as viewer.').waitFor();
    await page.getByLabel('User menu for Vera Viewer').click();
    await shot(page, 'viewer-job');
    await page.getByLabel('User menu for Vera Viewer').click();

    // The UI only hides what the API enforces: a viewer who forces the button (a stale tab, the
    // developer tools) gets the API's 403, shown as "Not allowed" with the role they hold.
    const before = (await client().list(RESOURCES.inferencerequests, ns.name)).items.length;
    await retry.evaluate((b) => b.removeAttribute('disabled'));
    await retry.click();
    const alert = page.getByRole('alert').filter({ hasText: 'Not allowed' });
    await alert.waitFor();
    const text = (await alert.textContent()) ?? '';
    expect(text).toContain('this needs the operator role');
    expect(text).toContain('You are signed in as viewer');
    expect(text).toMatch(/request [0-9a-f-]{36}/);
    expect((await client().list(RESOURCES.inferencerequests, ns.name)).items.length).toBe(before);
    await shot(page, 'viewer-403');

    await page.goto(`${stack.origin}/submit`);
    await page.getByRole('alert').filter({ hasText: 'Requires the operator role' }).waitFor();
    expect(await page.getByRole('button', { name: 'Submit' }).isDisabled()).toBe(true);
    await shot(page, 'viewer-submit');
  });

  it('signs out at the dashboard and at the OpenID provider', async () => {
    await operator.goto(`${stack.origin}/jobs`);
    await operator.getByLabel('User menu for Oscar Operator').click();
    await operator.getByRole('button', { name: 'Sign out' }).click();
    // RP-initiated logout: the provider asks, then sends the browser back to the dashboard, which
    // (no session any more) sends it to the provider's login form
    await operator.waitForURL((u) => u.origin === stack.provider.issuer);
    await shot(operator, 'provider-logout');
    await operator.getByRole('button', { name: /sign me out/i }).click();
    await operator.locator('input[name="login"]').waitFor();
    expect(new URL(operator.url()).origin).toBe(stack.provider.issuer);
    const me = await operator.request.get(`${stack.origin}/api/auth/me`);
    expect(me.status()).toBe(401);
    expect(problems, stack.logs()).toEqual([]);
  });
});

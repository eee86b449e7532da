// The housekeeping CronJob programs against the real test apiserver: cleanup keeps what a request
// owns and removes what no request owns (or what is past retention), dry-run removes nothing;
// token-refresh refreshes idle claude models through a local OAuth token endpoint and writes the
// tokens back to their Secrets. Uploads cleanup keeps what a request attaches and what is young,
// removes old unreferenced uploads, and dry-run removes nothing.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { exampleAiModel, exampleInferenceRequest } from '../../api/v1alpha1/examples.ts';
import { createUploadStore } from '../../functions/uploads/store.ts';
import { createTestNamespace, type TestNamespace } from '../../test/kube.ts';
import { cleanup, cleanupUploads, listRequestObjects, requestPhases } from './cleanup.ts';
import { kubeFrom } from './common.ts';
import { tokenRefresh } from './token-refresh.ts';

const run = promisify(execFile);
const HOUR = 3600;
let t: TestNamespace;

beforeAll(async () => {
  t = await createTestNamespace('housekeeping');
});
afterAll(async () => {
  await t?.cleanup();
});

function createRequest(name: string, phase?: string) {
  t.kubectl(['apply', '-f', '-'], JSON.stringify(exampleInferenceRequest(name)));
  if (phase) {
    t.kubectl([
      'patch',
      'inferencerequest',
      name,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { phase } }),
    ]);
  }
}

/** A workspace folder with an events log, last touched `ageSeconds` ago. */
function folder(root: string, name: string, ageSeconds: number) {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'events.jsonl'), '{"seq":1}\n');
  const when = new Date(Date.now() - ageSeconds * 1000);
  utimesSync(join(dir, 'events.jsonl'), when, when);
  utimesSync(dir, when, when);
  return dir;
}

describe('cleanup', () => {
  let root: string;
  const dirs: Record<string, string> = {};

  beforeAll(() => {
    createRequest('running-old', 'Running');
    createRequest('succeeded-old', 'Succeeded');
    createRequest('succeeded-fresh', 'Succeeded');
    createRequest('pending-no-status');
    root = mkdtempSync(join(tmpdir(), 'workspace-'));
    dirs.runningOld = folder(root, 'running-old', 30 * 24 * HOUR);
    dirs.succeededOld = folder(root, 'succeeded-old', 30 * 24 * HOUR);
    dirs.succeededFresh = folder(root, 'succeeded-fresh', HOUR);
    dirs.pending = folder(root, 'pending-no-status', 30 * 24 * HOUR);
    dirs.orphanOld = folder(root, 'deleted-request', 2 * HOUR);
    dirs.orphanFresh = folder(root, 'just-created', 10);
    dirs.hidden = folder(root, '.locks', 30 * 24 * HOUR);
    writeFileSync(join(root, 'stray-file.txt'), 'x');
    const outside = mkdtempSync(join(tmpdir(), 'outside-'));
    writeFileSync(join(outside, 'keep.txt'), 'must survive');
    symlinkSync(outside, join(root, 'link-to-outside'));
    dirs.outside = outside;
  });

  const options = (dryRun: boolean, lines: unknown[] = []) => ({
    workspaceDir: root,
    retentionSeconds: 7 * 24 * HOUR,
    orphanGraceSeconds: 600,
    dryRun,
    listRequests: () => requestPhases(kubeFrom(t.kc, t.name)),
    log: (_l: string, msg: string, fields?: Record<string, unknown>) => lines.push({ msg, ...fields }),
  });

  it('the CronJob command in dry-run mode logs what it would remove and removes nothing', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        'controller/housekeeping/cleanup.ts',
        '--workspace',
        root,
        '--retention-seconds',
        String(7 * 24 * HOUR),
        '--dry-run',
      ],
      { env: { ...process.env, KUBECONFIG: inject('kubeconfig'), NAMESPACE: t.name } },
    );
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const would = lines.filter((l) => l.msg === 'would remove workspace folder');
    expect(would.map((l) => [l.path, l.reason]).sort()).toEqual(
      [
        [dirs.orphanOld, 'orphan'],
        [dirs.succeededOld, 'retention'],
      ].sort(),
    );
    expect(lines.at(-1)).toMatchObject({ msg: 'cleanup finished', removed: 2, dryRun: true });
    for (const d of Object.values(dirs)) expect(existsSync(d), d).toBe(true);
  });

  it('dry-run through the API removes nothing either', async () => {
    const r = await cleanup(options(true));
    expect(r.removed.map((x) => x.name).sort()).toEqual(['deleted-request', 'succeeded-old']);
    for (const d of Object.values(dirs)) expect(existsSync(d), d).toBe(true);
  });

  it('removes folders no request owns and finished ones past retention, keeps the rest', async () => {
    const lines: unknown[] = [];
    const r = await cleanup(options(false, lines));
    expect(r.removed).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'deleted-request', reason: 'orphan' }),
        expect.objectContaining({ name: 'succeeded-old', reason: 'retention' }),
      ]),
    );
    expect(r.removed).toHaveLength(2);
    expect(existsSync(dirs.orphanOld!)).toBe(false);
    expect(existsSync(dirs.succeededOld!)).toBe(false);
    // owned and running (however old), owned and finished recently, pending, within grace, hidden
    for (const k of ['runningOld', 'succeededFresh', 'pending', 'orphanFresh', 'hidden']) {
      expect(existsSync(dirs[k]!), k).toBe(true);
    }
    // never follows a symlink out of the workspace
    expect(existsSync(join(dirs.outside!, 'keep.txt'))).toBe(true);
    expect(existsSync(join(root, 'stray-file.txt'))).toBe(true);
    expect(r.kept).toEqual(
      expect.arrayContaining([
        { name: 'running-old', reason: 'request Running' },
        { name: 'link-to-outside', reason: 'symlink' },
        { name: 'just-created', reason: 'orphan within grace period' },
      ]),
    );
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ msg: 'removed workspace folder', path: dirs.orphanOld, reason: 'orphan' }),
      ]),
    );
  });

  it('a deleted request frees its folder on the next run', async () => {
    t.kubectl(['delete', 'inferencerequest', 'running-old', '--wait=true']);
    const r = await cleanup(options(false));
    expect(r.removed.map((x) => x.name)).toEqual(['running-old']);
    expect(existsSync(dirs.runningOld!)).toBe(false);
  });
});

describe('uploads cleanup', () => {
  const DAY = 24 * HOUR;
  let uploadsDir: string;
  const ids: Record<'referenced' | 'oldOrphan' | 'youngOrphan', string> = {
    referenced: '',
    oldOrphan: '',
    youngOrphan: '',
  };

  /** An upload made through the real store, `ageSeconds` ago. */
  async function upload(name: string, ageSeconds: number): Promise<string> {
    const store = createUploadStore({
      dir: uploadsDir,
      maxBytes: 1 << 20,
      now: () => Date.now() - ageSeconds * 1000,
    });
    const body = new Blob([`notes for ${name}\n`]).stream();
    return (await store.put(body, { name, owner: 'user:test' })).id;
  }

  beforeAll(async () => {
    uploadsDir = mkdtempSync(join(tmpdir(), 'uploads-'));
    ids.referenced = await upload('referenced.txt', 30 * DAY);
    ids.oldOrphan = await upload('old.txt', 30 * DAY);
    ids.youngOrphan = await upload('young.txt', HOUR);
    const req = exampleInferenceRequest('with-attachment');
    t.kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({ ...req, spec: { ...req.spec, attachments: [ids.referenced] } }),
    );
  });

  const options = (dryRun: boolean, lines: Record<string, unknown>[] = []) => ({
    uploadsDir,
    retentionSeconds: 7 * DAY,
    dryRun,
    listRequests: () => listRequestObjects(kubeFrom(t.kc, t.name)),
    log: (_l: string, msg: string, fields?: Record<string, unknown>) => lines.push({ msg, ...fields }),
  });
  const exists = (id: string) => existsSync(join(uploadsDir, id));

  it('the CronJob command with --uploads --dry-run logs the old unreferenced upload and removes nothing', async () => {
    const workspace = mkdtempSync(join(tmpdir(), 'workspace-'));
    const { stdout } = await run(
      process.execPath,
      [
        'controller/housekeeping/cleanup.ts',
        '--workspace',
        workspace,
        '--uploads',
        uploadsDir,
        '--uploads-retention-seconds',
        String(7 * DAY),
        '--dry-run',
      ],
      { env: { ...process.env, KUBECONFIG: inject('kubeconfig'), NAMESPACE: t.name } },
    );
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const would = lines.filter((l) => l.msg === 'would remove upload');
    expect(would).toEqual([
      expect.objectContaining({
        id: ids.oldOrphan,
        path: join(uploadsDir, ids.oldOrphan),
        reason: 'unreferenced',
        dryRun: true,
      }),
    ]);
    expect(lines.at(-1)).toMatchObject({ msg: 'uploads cleanup finished', removed: 1, dryRun: true });
    for (const id of Object.values(ids)) expect(exists(id), id).toBe(true);
  });

  it('dry-run through the API removes nothing either', async () => {
    const r = await cleanupUploads(options(true));
    expect(r.removed.map((x) => x.id)).toEqual([ids.oldOrphan]);
    for (const id of Object.values(ids)) expect(exists(id), id).toBe(true);
  });

  it('removes the old unreferenced upload, keeps the referenced and the young one, and logs it', async () => {
    const lines: Record<string, unknown>[] = [];
    const r = await cleanupUploads(options(false, lines));
    expect(r.removed).toEqual([expect.objectContaining({ id: ids.oldOrphan, reason: 'unreferenced' })]);
    expect(exists(ids.oldOrphan)).toBe(false);
    expect(exists(ids.referenced)).toBe(true);
    expect(exists(ids.youngOrphan)).toBe(true);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          msg: 'removed upload',
          id: ids.oldOrphan,
          owner: 'user:test',
          dryRun: false,
        }),
      ]),
    );
  });

  it('an upload whose request is deleted goes on the next run once past retention', async () => {
    t.kubectl(['delete', 'inferencerequest', 'with-attachment', '--wait=true']);
    const r = await cleanupUploads(options(false));
    expect(r.removed.map((x) => x.id)).toEqual([ids.referenced]);
    expect(exists(ids.referenced)).toBe(false);
    expect(exists(ids.youngOrphan)).toBe(true);
  });
});

describe('token-refresh', () => {
  let server: Server;
  let tokenUrl: string;
  const calls: Record<string, unknown>[] = [];
  let answer: { status: number; body: unknown } = { status: 200, body: {} };

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        calls.push({
          path: req.url,
          contentType: req.headers['content-type'],
          ...(JSON.parse(body) as object),
        });
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    tokenUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/oauth/token`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const credentials = (refreshToken: string | undefined) =>
    JSON.stringify({
      claudeAiOauth: {
        accessToken: 'old-access',
        ...(refreshToken ? { refreshToken } : {}),
        expiresAt: 1,
        scopes: ['user:inference'],
        subscriptionType: 'max',
      },
    });
  const secret = (name: string, json: string) =>
    t.kubectl(['create', 'secret', 'generic', name, `--from-literal=credentials.json=${json}`]);
  const readCreds = async (name: string) => {
    const s = await t.core.readNamespacedSecret({ name, namespace: t.name });
    return JSON.parse(Buffer.from(s.data!['credentials.json']!, 'base64').toString()) as {
      claudeAiOauth: Record<string, unknown>;
    };
  };
  const model = (name: string, secretName: string | undefined, executor = 'claude') => {
    const m = exampleAiModel(name);
    if (executor === 'claude') m.spec.credentialsRef = { name: secretName!, key: 'credentials.json' };
    else {
      // the CRD only allows credentialsRef on claude models
      m.spec.executor = executor as 'codex';
      m.spec.provider = 'openai';
      delete m.spec.credentialsRef;
    }
    t.kubectl(['apply', '-f', '-'], JSON.stringify(m));
  };
  const setStatus = (name: string, status: Record<string, string>) =>
    t.kubectl([
      'patch',
      'aimodel',
      name,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status }),
    ]);

  it('refreshes idle claude models, writes the tokens back and records it; leaves the others alone', async () => {
    const past = new Date(Date.now() - 48 * HOUR * 1000).toISOString();
    secret('idle-creds', credentials('refresh-1'));
    model('claude-idle', 'idle-creds');
    setStatus('claude-idle', { lastUsedAt: past });
    secret('busy-creds', credentials('refresh-2'));
    model('claude-busy', 'busy-creds');
    setStatus('claude-busy', { lastUsedAt: new Date().toISOString() });
    secret('apikey-creds', JSON.stringify({ apiKey: 'x' }));
    model('claude-apikey', 'apikey-creds');
    setStatus('claude-apikey', { lastUsedAt: past });
    model('codex-idle', undefined, 'codex');

    answer = {
      status: 200,
      body: {
        access_token: 'new-access',
        refresh_token: 'refresh-1b',
        expires_in: 28800,
        token_type: 'Bearer',
      },
    };
    const now = Date.now();
    const lines: Record<string, unknown>[] = [];
    // idle = 6 h: the last use (or refresh) decides, not the model's creation
    const r = await tokenRefresh({
      kube: kubeFrom(t.kc, t.name),
      idleSeconds: 6 * HOUR,
      tokenUrl,
      clientId: 'client-123',
      now: () => now,
      log: (_l, msg, f) => lines.push({ msg, ...f }),
    });
    expect(Object.fromEntries(r.models.map((m) => [m.name, m.outcome]))).toEqual({
      'claude-idle': 'refreshed',
      'claude-busy': 'recently used',
      'claude-apikey': 'no refresh token',
      'codex-idle': 'not claude',
    });
    expect(calls).toEqual([
      {
        path: '/v1/oauth/token',
        contentType: 'application/json',
        grant_type: 'refresh_token',
        refresh_token: 'refresh-1',
        client_id: 'client-123',
      },
    ]);
    const idle = await readCreds('idle-creds');
    expect(idle.claudeAiOauth).toEqual({
      accessToken: 'new-access',
      refreshToken: 'refresh-1b',
      expiresAt: now + 28800 * 1000,
      scopes: ['user:inference'],
      subscriptionType: 'max',
    });
    expect((await readCreds('busy-creds')).claudeAiOauth.accessToken).toBe('old-access');
    const status = JSON.parse(t.kubectl(['get', 'aimodel', 'claude-idle', '-o', 'json'])) as {
      status: { credentialsRefreshedAt: string };
    };
    expect(status.status.credentialsRefreshedAt).toBe(new Date(now).toISOString());
    // tokens never reach the logs
    expect(JSON.stringify(lines)).not.toMatch(/new-access|refresh-1/);
  });

  it('a refusal of the token endpoint leaves the Secret as it was and reports the failure', async () => {
    const past = new Date(Date.now() - 48 * HOUR * 1000).toISOString();
    secret('revoked-creds', credentials('revoked'));
    model('claude-revoked', 'revoked-creds');
    setStatus('claude-revoked', { lastUsedAt: past });
    setStatus('claude-idle', { lastUsedAt: past, credentialsRefreshedAt: past });
    answer = { status: 400, body: { error: 'invalid_grant', error_description: 'Refresh token revoked' } };
    calls.length = 0;
    const r = await tokenRefresh({
      kube: kubeFrom(t.kc, t.name),
      idleSeconds: 6 * HOUR,
      tokenUrl,
      clientId: 'client-123',
    });
    const revoked = r.models.find((m) => m.name === 'claude-revoked');
    expect(revoked).toEqual({
      name: 'claude-revoked',
      outcome: 'failed',
      detail: 'token endpoint answered 400 (invalid_grant)',
    });
    expect((await readCreds('revoked-creds')).claudeAiOauth).toMatchObject({
      accessToken: 'old-access',
      refreshToken: 'revoked',
    });
    expect(calls.length).toBe(2);
  });

  it('the CronJob command exits non-zero when a refresh fails', async () => {
    answer = { status: 401, body: { error: 'invalid_client' } };
    const failed = await run(
      process.execPath,
      [
        'controller/housekeeping/token-refresh.ts',
        '--idle-seconds',
        '60',
        '--token-url',
        tokenUrl,
        '--client-id',
        'c',
      ],
      { env: { ...process.env, KUBECONFIG: inject('kubeconfig'), NAMESPACE: t.name } },
    ).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(
      /"msg":"model failed".*"detail":"token endpoint answered 401 \(invalid_client\)"/,
    );
  });
});

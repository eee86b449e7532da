// Uploads end to end against the real apiserver: a PDF and a tar.gz uploaded through the uploads
// routes with a submit API key, checked as submit's attachments hook checks them, submitted
// through the real submit route (functions ServiceAccount, its RBAC), turned into a Job by the
// real controller — which mounts the uploads volume read-only at /uploads and hands the ids to
// the executor — and the archive unpacked by the executor's archive code from the same volume.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { RUN_ANNOTATIONS, UPLOADS_MOUNT } from '../../api/v1alpha1/executor-contract.ts';
import { childNames } from '../../controller/job-spec.ts';
import type { Running } from '../../controller/main.ts';
import { adminClient, createFixtures, runInProcess, testEnv } from '../../controller/testing.ts';
import { unpackArchiveAttachments } from '../../executor/archive/attachments.ts';
import { pdfBytes, tgzBytes } from '../../executor/archive/testing/archives.ts';
import { createTestNamespace, eventually, type TestNamespace } from '../../test/kube.ts';
import { createApp } from '../app.ts';
import { loadConfig } from '../config.ts';
import { createFileEventStore } from '../lib/event-store.ts';
import { createKubeClient } from '../lib/kube-client.ts';
import { silentLogger } from '../lib/log.ts';
import { testRequireRole } from '../testing/auth.ts';
import { functionsKubeConfig } from '../testing/service-account.ts';
import { createUploadStore, type UploadMeta } from './store.ts';

const KEY = 'uploads-int-key-0123456789';
const OTHER_KEY = 'uploads-int-other-0123456789';
let ns: TestNamespace;
let dir: string;
let workspace: string;
let api: ReturnType<typeof createApp>;
let controller: Running | undefined;
const store = () => createUploadStore({ dir, maxBytes: 64 * 1024 * 1024 });

beforeAll(async () => {
  ns = await createTestNamespace('uploads');
  dir = await mkdtemp(join(tmpdir(), 'uploads-int-'));
  workspace = await mkdtemp(join(tmpdir(), 'uploads-ws-'));
  await createFixtures(adminClient(inject('kubeconfig')), ns.name);
  const config = loadConfig({
    NAMESPACE: ns.name,
    INGEST_TOKEN_SECRET: 'uploads-int-ingest-secret-0123456789abcdef',
    SUBMIT_API_KEYS: `ci:${KEY},other:${OTHER_KEY}`,
    WORKSPACE_DIR: workspace,
  });
  const kube = createKubeClient(await functionsKubeConfig(ns), ns.name);
  api = createApp({
    config,
    kube,
    events: createFileEventStore(join(workspace, 'events')),
    log: silentLogger,
    auth: { requireRole: testRequireRole },
    uploads: store(),
  });
  controller = await runInProcess(
    inject('kubeconfig'),
    testEnv(ns.name, { UPLOADS_PVC_NAME: 'workspace', UPLOADS_SUBPATH: 'uploads' }),
  );
});

afterAll(async () => {
  await controller?.stop();
  await ns?.cleanup();
  await rm(dir, { recursive: true, force: true });
  await rm(workspace, { recursive: true, force: true });
});

async function upload(name: string, data: Uint8Array<ArrayBuffer>, key = KEY): Promise<UploadMeta> {
  const fd = new FormData();
  fd.append('file', new Blob([data]), name);
  const res = await api.request('/api/uploads', {
    method: 'POST',
    body: fd,
    headers: { 'x-api-key': key },
  });
  expect(res.status).toBe(201);
  return (await res.json()) as UploadMeta;
}

it('uploads a PDF and a tar.gz, submits a request with them, mounts them read-only and unpacks the archive', async () => {
  const pdf = await upload('spec.pdf', pdfBytes('the spec'));
  const tgz = await upload(
    'workspace.tar.gz',
    tgzBytes([
      { name: 'app/', type: 'dir' },
      { name: 'app/main.ts', content: 'export const answer = 42;\n' },
      { name: 'app/README.md', content: '# app\n' },
    ]),
  );
  expect([pdf.kind, tgz.kind]).toEqual(['pdf', 'tar.gz']);

  // submit checks spec.attachments: someone else's upload and an unknown id are a 400, nothing created
  const foreign = await upload('other.pdf', pdfBytes('other'), OTHER_KEY);
  const submitWith = (attachments: string[]) =>
    api.request('/api/jobs/submit', {
      method: 'POST',
      headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ agent: 'developer', prompt: 'read the spec', attachments }),
    });
  for (const ids of [
    [pdf.id, foreign.id],
    [pdf.id, 'upl-00000000000000000000000000000000'],
  ]) {
    const refused = await submitWith(ids);
    expect(refused.status).toBe(400);
    const body = (await refused.json()) as { error: { details: { path: string }[] } };
    expect(body.error.details.map((d) => d.path)).toEqual(['attachments.1']);
  }
  const none = (await ns.custom.listNamespacedCustomObject({
    group: 'labrats.work',
    version: 'v1alpha1',
    plural: 'inferencerequests',
    namespace: ns.name,
  })) as { items: unknown[] };
  expect(none.items).toHaveLength(0);

  const submit = await api.request('/api/jobs/submit', {
    method: 'POST',
    headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
    body: JSON.stringify({
      agent: 'developer',
      prompt: 'read the spec, build the app',
      attachments: [pdf.id, tgz.id],
    }),
  });
  expect(submit.status).toBe(202);
  const { id: name } = (await submit.json()) as { id: string };
  const stored = (await ns.custom.getNamespacedCustomObject({
    group: 'labrats.work',
    version: 'v1alpha1',
    plural: 'inferencerequests',
    namespace: ns.name,
    name,
  })) as { spec: { attachments?: string[]; caller?: string } };
  expect(stored.spec.attachments).toEqual([pdf.id, tgz.id]);
  expect(stored.spec.caller).toBe('ci');

  // the controller's Job: each attachment (and nothing else) read-only at /uploads/<id>; the ids in request.json
  const names = childNames(name);
  const job = await eventually('the executor Job', async () =>
    ns.batch.readNamespacedJob({ name: names.job, namespace: ns.name }).catch(() => undefined),
  );
  const pod = job.spec!.template.spec!;
  const volume = pod.volumes!.find((v) => v.name === 'uploads')!;
  expect(volume.persistentVolumeClaim).toEqual({ claimName: 'workspace', readOnly: true });
  const mounts = pod.containers[0]!.volumeMounts!.filter((m) => m.name === 'uploads');
  expect(mounts).toEqual([
    {
      name: 'uploads',
      mountPath: `${UPLOADS_MOUNT}/${pdf.id}`,
      readOnly: true,
      subPath: `uploads/${pdf.id}`,
    },
    {
      name: 'uploads',
      mountPath: `${UPLOADS_MOUNT}/${tgz.id}`,
      readOnly: true,
      subPath: `uploads/${tgz.id}`,
    },
  ]);
  // request.json travels in the pod's annotations (a downward API volume makes it a file)
  const requestFile = job.spec!.template.metadata!.annotations![RUN_ANNOTATIONS.requestFile]!;
  expect(JSON.parse(requestFile).attachments).toEqual([pdf.id, tgz.id]);

  // the executor side: the same volume (here: the uploads dir) → archives unpacked into the workspace
  const target = join(workspace, 'run');
  await import('node:fs/promises').then((fs) => fs.mkdir(target));
  const unpacked = await unpackArchiveAttachments(dir, [pdf.id, tgz.id], target);
  expect(unpacked.map((u) => [u.id, u.kind, u.files])).toEqual([[tgz.id, 'tar.gz', 2]]);
  expect(await readFile(join(target, 'app/main.ts'), 'utf8')).toBe('export const answer = 42;\n');
  expect(await readFile(join(dir, pdf.id, pdf.file))).toEqual(Buffer.from(pdfBytes('the spec')));
});

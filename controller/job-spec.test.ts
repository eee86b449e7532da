import { describe, expect, it } from 'vitest';
import type { AiAgent, AiModel, InferenceRequest } from '../api/v1alpha1/index.ts';
import { loadConfig } from './config.ts';
import { type Job, observeJob } from './job-runtime.ts';
import {
  buildFilesSecret,
  buildJob,
  childNames,
  filesFitInline,
  labelValue,
  requestFiles,
  userPodLabels,
} from './job-spec.ts';
import type { Resolution } from './resolve.ts';

const config = loadConfig({ INGEST_TOKEN_SECRET: 'x'.repeat(32), MODELS_PVC_NAME: 'models' });
const req = {
  apiVersion: 'labrats.work/v1alpha1',
  kind: 'InferenceRequest',
  metadata: { name: 'r'.repeat(80), namespace: 'ns', uid: 'u-1', generation: 1 },
  spec: {
    agent: 'dev',
    prompt: 'p',
    maxRetries: 1,
    priority: 0,
    cancel: false,
    labels: { team: 'a', 'app.kubernetes.io/name': 'evil', 'bad key!': 'x' },
  },
} as InferenceRequest;
const model = {
  metadata: { name: 'local' },
  spec: {
    provider: 'llamacpp',
    executor: 'llama',
    model: 'tiny.gguf',
    resources: { limits: { memory: '2Gi' } },
  },
} as unknown as AiModel;
const resolution: Resolution = {
  agent: { metadata: { name: 'dev' }, spec: { role: 'developer', repositoryAccess: 'read' } } as AiAgent,
  model,
  config: undefined,
  executor: 'llama',
  timeoutSeconds: 300,
  prompt: { text: 'x', hash: 'sha256:abc' },
  modelDownload: { url: 'https://example.com/tiny.gguf', file: 'tiny.gguf' },
};

describe('job spec', () => {
  it('uses deterministic names of at most 63 characters', () => {
    const a = childNames(req.metadata.name);
    expect(a).toEqual(childNames(req.metadata.name));
    for (const n of Object.values(a)) expect(n.length).toBeLessThanOrEqual(63);
    expect(labelValue(req.metadata.name).length).toBeLessThanOrEqual(63);
  });

  it('keeps only valid user labels that do not touch ours', () => {
    expect(userPodLabels(req.spec.labels)).toEqual({ team: 'a' });
  });

  it('adds the model download init container, resources and the deadline', () => {
    const job = buildJob(req, resolution, config) as unknown as {
      // biome-ignore lint/suspicious/noExplicitAny: the test reads arbitrary pod spec fields
      spec: { activeDeadlineSeconds: number; backoffLimit: number; template: { spec: Record<string, any> } };
    };
    expect(job.spec.activeDeadlineSeconds).toBe(300);
    expect(job.spec.backoffLimit).toBe(1);
    const pod = job.spec.template.spec;
    expect(pod.initContainers[0].name).toBe('fetch-model');
    expect(pod.initContainers[0].command).toEqual(['node', '/app/executor/model-init/main.ts']);
    expect(pod.initContainers[0].image).toBe(pod.containers[0].image);
    expect(pod.initContainers[0].env).toContainEqual({
      name: 'AI_AGENTS_MODEL_URL',
      value: 'https://example.com/tiny.gguf',
    });
    expect(pod.initContainers[0].env).toContainEqual({ name: 'AI_AGENTS_MODEL_FILE', value: 'tiny.gguf' });
    expect(pod.initContainers[0].env).toContainEqual({ name: 'AI_AGENTS_MODELS_DIR', value: '/models' });
    expect(pod.containers[0].resources).toEqual({ limits: { memory: '2Gi' } });
    expect(pod.volumes).toContainEqual({ name: 'models', persistentVolumeClaim: { claimName: 'models' } });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.serviceAccountName).toBe('default'); // named: the projected ingest token needs it
  });
});

// biome-ignore lint/suspicious/noExplicitAny: the tests read arbitrary pod spec fields
type AnyPod = Record<string, any>;
const podTemplate = (j: unknown) =>
  (j as { spec: { template: { metadata: { annotations: Record<string, string> }; spec: AnyPod } } }).spec
    .template;

describe('the run carries its own files and ingest credential', () => {
  it('puts the request files in the pod annotations, projected by a downward API volume', () => {
    const files = requestFiles(req, resolution);
    const template = podTemplate(buildJob(req, resolution, config));
    expect(template.metadata.annotations).toEqual({
      'labrats.work/request': req.metadata.name,
      'labrats.work/request-uid': 'u-1',
      'labrats.work/request.json': files['request.json'],
      'labrats.work/instructions.md': 'x',
    });
    expect(JSON.parse(files['request.json']!)).toMatchObject({ name: req.metadata.name, uid: 'u-1' });
    expect(template.spec.volumes).toContainEqual({
      name: 'config',
      downwardAPI: {
        items: [
          {
            path: 'request.json',
            fieldRef: { fieldPath: "metadata.annotations['labrats.work/request.json']" },
          },
          {
            path: 'instructions.md',
            fieldRef: { fieldPath: "metadata.annotations['labrats.work/instructions.md']" },
          },
        ],
      },
    });
  });

  it('projects a ServiceAccount token for ingest that outlives the deadline, and stores no token', () => {
    const template = podTemplate(buildJob(req, resolution, config));
    expect(template.spec.volumes).toContainEqual({
      name: 'ingest-token',
      projected: {
        sources: [
          {
            serviceAccountToken: {
              audience: 'ai-agents-ingest',
              expirationSeconds: 900,
              path: 'ingest-token',
            },
          },
        ],
      },
    });
    const c = template.spec.containers[0];
    expect(c.volumeMounts).toContainEqual({
      name: 'ingest-token',
      mountPath: '/var/run/secrets/ai-agents',
      readOnly: true,
    });
    expect(c.env).toContainEqual({
      name: 'AI_AGENTS_INGEST_TOKEN_FILE',
      value: '/var/run/secrets/ai-agents/ingest-token',
    });
    expect(JSON.stringify(template)).not.toContain('secretKeyRef');
  });

  it('moves files too large for annotations into a Secret the Job mounts instead', () => {
    const big = { ...req, spec: { ...req.spec, prompt: 'é'.repeat(70_000) } }; // 140 KB in UTF-8
    const files = requestFiles(big, resolution);
    expect(filesFitInline(files)).toBe(false);
    expect(filesFitInline(requestFiles(req, resolution))).toBe(true);
    const jobObj = buildJob(big, resolution, config, files);
    const template = podTemplate(jobObj);
    expect(Object.keys(template.metadata.annotations)).toEqual([
      'labrats.work/request',
      'labrats.work/request-uid',
    ]);
    expect(jobObj.metadata.annotations?.['labrats.work/request-files']).toBe('secret');
    const names = childNames(big.metadata.name);
    expect(template.spec.volumes).toContainEqual({
      name: 'config',
      secret: {
        secretName: names.secret,
        items: [
          { key: 'request.json', path: 'request.json' },
          { key: 'instructions.md', path: 'instructions.md' },
        ],
      },
    });
    const secret = buildFilesSecret(big, resolution, files) as unknown as {
      metadata: { name: string; ownerReferences: { uid: string }[] };
      stringData: Record<string, string>;
    };
    expect(secret.metadata.name).toBe(names.secret);
    expect(secret.metadata.ownerReferences[0]!.uid).toBe('u-1');
    expect(Object.keys(secret.stringData).sort()).toEqual(['instructions.md', 'request.json']);
  });

  it('always uses the Secret with REQUEST_FILES=secret', () => {
    const secretFiles = loadConfig({ REQUEST_FILES: 'secret' });
    const jobObj = buildJob(req, resolution, secretFiles);
    const template = podTemplate(jobObj);
    expect(template.metadata.annotations['labrats.work/request.json']).toBeUndefined();
    expect(jobObj.metadata.annotations?.['labrats.work/request-files']).toBe('secret');
    expect(template.spec.volumes.find((v: { name: string }) => v.name === 'config').secret.secretName).toBe(
      childNames(req.metadata.name).secret,
    );
  });
});

const job = (status: Job['status']): Job => ({
  metadata: { name: 'j' },
  spec: { activeDeadlineSeconds: 5 },
  status,
});

describe('observeJob', () => {
  it('maps Job conditions to run states', () => {
    expect(observeJob(job({ active: 1 }), []).state).toBe('pending');
    expect(
      observeJob(job({ active: 1 }), [{ metadata: { name: 'p' }, status: { phase: 'Running' } }]).state,
    ).toBe('running');
    expect(
      observeJob(job({ succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] }), []),
    ).toMatchObject({
      state: 'succeeded',
      active: false,
    });
    expect(
      observeJob(
        job({ failed: 1, conditions: [{ type: 'Failed', status: 'True', reason: 'DeadlineExceeded' }] }),
        [],
      ),
    ).toMatchObject({ state: 'timedOut', reason: 'DeadlineExceeded' });
    expect(
      observeJob(
        job({ failed: 1, conditions: [{ type: 'Failed', status: 'True', reason: 'PodFailurePolicy' }] }),
        [],
      ),
    ).toMatchObject({ state: 'failed', reason: 'BadRequest', attempts: 1 });
    expect(
      observeJob(
        job({ failed: 3, conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] }),
        [],
      ),
    ).toMatchObject({ state: 'failed', reason: 'ExecutorFailed', attempts: 3 });
  });

  it('mounts only the attachments of the request, each read-only at /uploads/<id>', () => {
    const withUploads = loadConfig({
      INGEST_TOKEN_SECRET: 'x'.repeat(32),
      UPLOADS_PVC_NAME: 'workspace',
      UPLOADS_SUBPATH: 'uploads',
    });
    type Pod = { volumes: { name: string }[]; containers: { volumeMounts: { name: string }[] }[] };
    const podOf = (r: InferenceRequest) =>
      (buildJob(r, resolution, withUploads) as unknown as { spec: { template: { spec: Pod } } }).spec.template
        .spec;

    const none = podOf(req);
    expect(none.volumes.map((v) => v.name)).not.toContain('uploads');
    expect(none.containers[0]!.volumeMounts.filter((m) => m.name === 'uploads')).toEqual([]);

    const attached = podOf({ ...req, spec: { ...req.spec, attachments: ['upl-a', 'upl-b'] } });
    expect(attached.volumes).toContainEqual({
      name: 'uploads',
      persistentVolumeClaim: { claimName: 'workspace', readOnly: true },
    });
    expect(attached.containers[0]!.volumeMounts.filter((m) => m.name === 'uploads')).toEqual([
      { name: 'uploads', mountPath: '/uploads/upl-a', readOnly: true, subPath: 'uploads/upl-a' },
      { name: 'uploads', mountPath: '/uploads/upl-b', readOnly: true, subPath: 'uploads/upl-b' },
    ]);
  });
});

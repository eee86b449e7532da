// Pure builders for an executor run's children: the Job, and only when the request files are too
// large for the pod's annotations a Secret holding them. The Job carries everything else itself:
// the request files in its pod template's annotations (projected as files by a downward API
// volume) and, for ingest, a ServiceAccount token the kubelet projects with our audience. So an
// admitted request costs the apiserver one create. Names are deterministic (≤ 63 characters),
// every child carries a controller ownerReference to the request and our labels.
import { createHash } from 'node:crypto';
import {
  EXECUTOR_CONFIG_DIR,
  EXECUTOR_ENV,
  EXIT_BAD_REQUEST,
  EXIT_TIMED_OUT,
  type ExecutorRequest,
  INGEST_TOKEN_DIR,
  INGEST_TOKEN_PATH,
  INSTRUCTIONS_FILE,
  LABELS,
  MANAGED_BY,
  MAX_INLINE_FILES_BYTES,
  MODEL_INIT_ENV,
  MODEL_INIT_PROGRAM,
  MODELS_MOUNT,
  REQUEST_FILE,
  RUN_ANNOTATIONS,
  UPLOADS_MOUNT,
  WORKSPACE_MOUNT,
} from '../api/v1alpha1/executor-contract.ts';
import { API_VERSION, type InferenceRequest } from '../api/v1alpha1/index.ts';
import { INGEST_AUDIENCE } from '../api/v1alpha1/ingest-token.ts';
import { childName } from '../api/v1alpha1/names.ts';
import { type Config, executorImage } from './config.ts';
import type { KubeObject, OwnerReference } from './kube.ts';
import type { Resolution } from './resolve.ts';

export const EXECUTOR_CONTAINER = 'executor';
export const MODEL_INIT_CONTAINER = 'fetch-model';
/** Where the executor reads its ingest token (projected by the kubelet, rotated in place). */
export const INGEST_TOKEN_FILE = `${INGEST_TOKEN_DIR}/${INGEST_TOKEN_PATH}`;
/** On a Job whose request files are in a Secret (too large for annotations): cleanup deletes it. */
export const FILES_ANNOTATION = 'labrats.work/request-files';
export const MODEL_LABEL = 'labrats.work/model';
export const COMPONENT_EXECUTOR = 'executor';
/** Selects everything the controller creates for executor runs. */
export const EXECUTOR_SELECTOR = `${LABELS.managedBy}=${MANAGED_BY},${LABELS.component}=${COMPONENT_EXECUTOR}`;

export interface ChildNames {
  job: string;
  /** request.json and instructions.md when they are too large for annotations */
  secret: string;
}

export function childNames(requestName: string): ChildNames {
  return {
    job: childName(requestName, 'run'),
    secret: childName(requestName, 'files'),
  };
}

/** A label value for arbitrary text (≤ 63, valid characters; hashed when it would not fit). */
export function labelValue(s: string): string {
  if (/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(s) && s.length <= 63) return s;
  const h = createHash('sha256').update(s).digest('hex').slice(0, 10);
  const clean = s
    .replace(/[^A-Za-z0-9_.-]/g, '-')
    .slice(0, 50)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return clean ? `${clean}-${h}` : h;
}

export function ownerRef(req: InferenceRequest): OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: 'InferenceRequest',
    name: req.metadata.name,
    uid: req.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function ourLabels(req: InferenceRequest, r: Resolution): Record<string, string> {
  return {
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.partOf]: 'ai-agents',
    [LABELS.component]: COMPONENT_EXECUTOR,
    [LABELS.request]: labelValue(req.metadata.name),
    [LABELS.caller]: labelValue(callerOf(req)),
    [MODEL_LABEL]: labelValue(r.model.metadata.name),
  };
}

export function callerOf(req: InferenceRequest): string {
  return (
    req.spec.caller ??
    req.spec.apiKeyRef?.name ??
    req.spec.source?.name ??
    req.spec.source?.kind ??
    'anonymous'
  );
}

const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

/** The request's own labels that are valid pod labels and do not touch ours. */
export function userPodLabels(labels: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels ?? {})) {
    if (!LABEL_KEY.test(k) || !LABEL_VALUE.test(v)) continue;
    if (
      k.startsWith('app.kubernetes.io/') ||
      k.startsWith('labrats.work/') ||
      k.includes('kubernetes.io/job')
    )
      continue;
    if (k === 'job-name' || k === 'controller-uid') continue;
    out[k] = v;
  }
  return out;
}

export function executorRequest(req: InferenceRequest, r: Resolution): ExecutorRequest {
  const { agent, model } = r;
  const provider = r.config?.spec.providers?.[model.spec.provider];
  return {
    apiVersion: API_VERSION,
    name: req.metadata.name,
    namespace: req.metadata.namespace ?? 'default',
    uid: req.metadata.uid ?? '',
    executor: model.spec.executor,
    prompt: req.spec.prompt,
    promptHash: r.prompt.hash,
    agent: {
      name: agent.metadata.name,
      role: agent.spec.role,
      ...(agent.spec.maxTurns !== undefined ? { maxTurns: agent.spec.maxTurns } : {}),
      ...(agent.spec.allowedTools ? { allowedTools: agent.spec.allowedTools } : {}),
      ...(agent.spec.disallowedTools ? { disallowedTools: agent.spec.disallowedTools } : {}),
      ...(agent.spec.permissionMode ? { permissionMode: agent.spec.permissionMode } : {}),
      ...(agent.spec.sandbox ? { sandbox: agent.spec.sandbox } : {}),
      repositoryAccess: agent.spec.repositoryAccess ?? 'read',
    },
    model: {
      name: model.metadata.name,
      provider: model.spec.provider,
      model: model.spec.model,
      ...(r.baseUrl ? { baseUrl: r.baseUrl } : {}),
      ...(r.modelDownload ? { modelFile: r.modelDownload.file } : {}),
      ...(model.spec.contextSize ? { contextSize: model.spec.contextSize } : {}),
      ...(provider?.defaults?.maxTokens ? { maxTokens: provider.defaults.maxTokens } : {}),
      ...(provider?.defaults?.temperature !== undefined
        ? { temperature: provider.defaults.temperature }
        : {}),
      ...(model.spec.pricing
        ? {
            pricing: {
              inputPerMillionTokensUsd: model.spec.pricing.inputPerMillionTokensUsd ?? 0,
              outputPerMillionTokensUsd: model.spec.pricing.outputPerMillionTokensUsd ?? 0,
            },
          }
        : {}),
    },
    ...(req.spec.repository
      ? {
          repository: {
            url: req.spec.repository.url,
            ...(req.spec.repository.ref ? { ref: req.spec.repository.ref } : {}),
            ...(req.spec.repository.branch ? { branch: req.spec.repository.branch } : {}),
            pullRequest: req.spec.repository.pullRequest ?? false,
          },
        }
      : {}),
    ...(req.spec.attachments?.length ? { attachments: req.spec.attachments } : {}),
    timeoutSeconds: r.timeoutSeconds,
    ...(req.spec.maxRetries ? { maxRetries: req.spec.maxRetries } : {}),
    ...(req.spec.labels ? { labels: req.spec.labels } : {}),
  };
}

/** The files an executor finds in its config directory (EXECUTOR_CONFIG_DIR). */
export function requestFiles(req: InferenceRequest, r: Resolution): Record<string, string> {
  return {
    [REQUEST_FILE]: JSON.stringify(executorRequest(req, r), null, 2),
    [INSTRUCTIONS_FILE]: r.prompt.text,
  };
}

/** Whether the request files fit in the pod's annotations (else they go in a Secret). */
export function filesFitInline(files: Record<string, string>): boolean {
  let bytes = 0;
  for (const text of Object.values(files)) bytes += Buffer.byteLength(text, 'utf8');
  return bytes <= MAX_INLINE_FILES_BYTES;
}

/** Whether a run's files travel in its pod's annotations: REQUEST_FILES=secret always uses a Secret. */
export function filesInline(config: Pick<Config, 'REQUEST_FILES'>, files: Record<string, string>): boolean {
  return config.REQUEST_FILES === 'annotations' && filesFitInline(files);
}

/** The Secret for request files too large for annotations (a prompt may be as sensitive as a token). */
export function buildFilesSecret(
  req: InferenceRequest,
  r: Resolution,
  files: Record<string, string>,
): KubeObject {
  const names = childNames(req.metadata.name);
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: names.secret,
      namespace: req.metadata.namespace,
      labels: ourLabels(req, r),
      ownerReferences: [ownerRef(req)],
    },
    stringData: files,
  };
}

/** Where the Job's deadline puts the end of the run (the ingest token expires then, plus slack). */
export function tokenExpiry(now: Date, timeoutSeconds: number): Date {
  return new Date(now.getTime() + tokenLifetimeSeconds(timeoutSeconds) * 1000);
}

/** The ingest token's lifetime: the run's deadline plus slack (the kubelet rotates it at 80 %). */
export function tokenLifetimeSeconds(timeoutSeconds: number): number {
  return timeoutSeconds + 600;
}

/**
 * The executor Job. `files` are the request files (requestFiles()); when they do not fit in
 * annotations the Job mounts them from the Secret buildFilesSecret() makes instead.
 */
export function buildJob(
  req: InferenceRequest,
  r: Resolution,
  config: Config,
  files: Record<string, string> = requestFiles(req, r),
): KubeObject {
  const names = childNames(req.metadata.name);
  const inline = filesInline(config, files);
  const labels = ourLabels(req, r);
  const podLabels = { ...userPodLabels(req.spec.labels), ...labels };
  const workspaceSubPath = [config.WORKSPACE_SUBPATH_PREFIX, req.metadata.name].filter(Boolean).join('/');
  const workspace = config.WORKSPACE_PVC_NAME
    ? { name: 'workspace', persistentVolumeClaim: { claimName: config.WORKSPACE_PVC_NAME } }
    : { name: 'workspace', emptyDir: {} };
  const fileAnnotation: Record<string, string> = {
    [REQUEST_FILE]: RUN_ANNOTATIONS.requestFile,
    [INSTRUCTIONS_FILE]: RUN_ANNOTATIONS.instructionsFile,
  };
  const volumes: unknown[] = [
    inline
      ? {
          name: 'config',
          downwardAPI: {
            items: [REQUEST_FILE, INSTRUCTIONS_FILE].map((f) => ({
              path: f,
              fieldRef: { fieldPath: `metadata.annotations['${fileAnnotation[f]}']` },
            })),
          },
        }
      : {
          name: 'config',
          secret: {
            secretName: names.secret,
            items: [REQUEST_FILE, INSTRUCTIONS_FILE].map((f) => ({ key: f, path: f })),
          },
        },
    {
      name: 'ingest-token',
      projected: {
        sources: [
          {
            serviceAccountToken: {
              audience: INGEST_AUDIENCE,
              expirationSeconds: tokenLifetimeSeconds(r.timeoutSeconds),
              path: INGEST_TOKEN_PATH,
            },
          },
        ],
      },
    },
    workspace,
    config.MODELS_PVC_NAME
      ? { name: 'models', persistentVolumeClaim: { claimName: config.MODELS_PVC_NAME } }
      : { name: 'models', emptyDir: {} },
    { name: 'tmp', emptyDir: {} },
  ];
  const mounts: unknown[] = [
    { name: 'config', mountPath: EXECUTOR_CONFIG_DIR, readOnly: true },
    { name: 'ingest-token', mountPath: INGEST_TOKEN_DIR, readOnly: true },
    {
      name: 'workspace',
      mountPath: WORKSPACE_MOUNT,
      ...(config.WORKSPACE_PVC_NAME ? { subPath: workspaceSubPath } : {}),
    },
    { name: 'models', mountPath: MODELS_MOUNT },
    { name: 'tmp', mountPath: '/tmp' },
  ];
  // Only the request's own attachments, each read-only at /uploads/<id>: an executor never sees
  // other callers' uploads.
  const attachments = req.spec.attachments ?? [];
  if (config.UPLOADS_PVC_NAME && attachments.length > 0) {
    volumes.push({
      name: 'uploads',
      persistentVolumeClaim: { claimName: config.UPLOADS_PVC_NAME, readOnly: true },
    });
    for (const id of attachments) {
      mounts.push({
        name: 'uploads',
        mountPath: `${UPLOADS_MOUNT}/${id}`,
        readOnly: true,
        subPath: config.UPLOADS_SUBPATH ? `${config.UPLOADS_SUBPATH}/${id}` : id,
      });
    }
  }
  const credentials = r.model.spec.executor === 'claude' ? r.model.spec.credentialsRef : undefined;
  if (credentials) {
    volumes.push({
      name: 'credentials',
      secret: {
        secretName: credentials.name,
        ...(credentials.key ? { items: [{ key: credentials.key, path: credentials.key }] } : {}),
      },
    });
    mounts.push({ name: 'credentials', mountPath: CREDENTIALS_DIR, readOnly: true });
  }
  const containerSecurity = {
    runAsNonRoot: true,
    runAsUser: 1001,
    runAsGroup: 1001,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
  const env = [
    ...(r.model.spec.env ?? []).filter((e) => !e.name.startsWith('AI_AGENTS_')),
    { name: EXECUTOR_ENV.ingestUrl, value: config.INGEST_URL },
    { name: EXECUTOR_ENV.ingestTokenFile, value: INGEST_TOKEN_FILE },
    { name: EXECUTOR_ENV.request, value: req.metadata.name },
    { name: EXECUTOR_ENV.namespace, value: req.metadata.namespace ?? 'default' },
    { name: EXECUTOR_ENV.configDir, value: EXECUTOR_CONFIG_DIR },
    { name: EXECUTOR_ENV.workspace, value: WORKSPACE_MOUNT },
    { name: EXECUTOR_ENV.executor, value: r.executor },
    ...(credentials ? [{ name: CREDENTIALS_ENV, value: CREDENTIALS_DIR }] : []),
    { name: 'HOME', value: '/tmp' },
  ];
  const initContainers = r.modelDownload
    ? [
        {
          name: MODEL_INIT_CONTAINER,
          // the executor image's own program: downloads only when absent, checks the sha256,
          // writes through a temporary file and a rename
          image: r.model.spec.image ?? executorImage(config.EXECUTOR_IMAGE, r.executor),
          command: ['node', MODEL_INIT_PROGRAM],
          env: [
            { name: MODEL_INIT_ENV.url, value: r.modelDownload.url },
            { name: MODEL_INIT_ENV.file, value: r.modelDownload.file },
            { name: MODEL_INIT_ENV.modelsDir, value: MODELS_MOUNT },
            ...(r.modelDownload.sha256
              ? [{ name: MODEL_INIT_ENV.sha256, value: r.modelDownload.sha256 }]
              : []),
          ],
          volumeMounts: [{ name: 'models', mountPath: MODELS_MOUNT }],
          securityContext: containerSecurity,
          resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
        },
      ]
    : [];
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: names.job,
      namespace: req.metadata.namespace,
      labels,
      annotations: {
        'labrats.work/prompt-hash': r.prompt.hash,
        ...(inline ? {} : { [FILES_ANNOTATION]: 'secret' }),
      },
      ownerReferences: [ownerRef(req)],
    },
    spec: {
      backoffLimit: req.spec.maxRetries ?? 0,
      activeDeadlineSeconds: r.timeoutSeconds,
      ttlSecondsAfterFinished: config.JOB_TTL_SECONDS,
      podFailurePolicy: {
        rules: [
          {
            action: 'FailJob',
            onExitCodes: {
              containerName: EXECUTOR_CONTAINER,
              operator: 'In',
              values: [EXIT_BAD_REQUEST, EXIT_TIMED_OUT],
            },
          },
          { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
        ],
      },
      template: {
        metadata: {
          labels: podLabels,
          // whose run the pod is (ingest maps its token to the request through these) and, when
          // they fit, the request files the downward API volume projects
          annotations: {
            [RUN_ANNOTATIONS.request]: req.metadata.name,
            [RUN_ANNOTATIONS.requestUid]: req.metadata.uid ?? '',
            ...(inline
              ? {
                  [RUN_ANNOTATIONS.requestFile]: files[REQUEST_FILE] ?? '',
                  [RUN_ANNOTATIONS.instructionsFile]: files[INSTRUCTIONS_FILE] ?? '',
                }
              : {}),
          },
        },
        spec: {
          restartPolicy: 'Never',
          // always named: a projected token needs it (the ServiceAccount admission plugin would
          // fill in `default`, but validation must not depend on it)
          serviceAccountName: config.EXECUTOR_SERVICE_ACCOUNT ?? 'default',
          ...(config.EXECUTOR_SERVICE_ACCOUNT ? {} : { automountServiceAccountToken: false }),
          enableServiceLinks: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1001,
            runAsGroup: 1001,
            fsGroup: 1001,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          ...(initContainers.length ? { initContainers } : {}),
          containers: [
            {
              name: EXECUTOR_CONTAINER,
              image: r.model.spec.image ?? executorImage(config.EXECUTOR_IMAGE, r.executor),
              env,
              volumeMounts: mounts,
              ...(r.model.spec.resources ? { resources: r.model.spec.resources } : {}),
              securityContext: containerSecurity,
            },
          ],
          volumes,
        },
      },
    },
  };
}

/** Where a claude model's credentials Secret is mounted, and the variable that says so. */
export const CREDENTIALS_DIR = `${EXECUTOR_CONFIG_DIR}/credentials`;
export const CREDENTIALS_ENV = 'AI_AGENTS_CREDENTIALS_DIR';

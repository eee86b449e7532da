// The children of a WebhookSource, as desired: a Deployment running the webhook-only app
// (WEBHOOK_SOURCE_NAME), a Service in front of it and an Ingress routing the source's public path
// to it. Pure functions: the reconciler applies what these return.
import { createHash } from 'node:crypto';
import { API_VERSION, type WebhookSource } from '../../api/v1alpha1/index.ts';
import { FIELD_MANAGER, type KubeObject, type ResourcePath } from '../kube.ts';

export const WEBHOOK_RESOURCES = {
  webhooksources: { prefix: '/apis/labrats.work/v1alpha1', plural: 'webhooksources' },
  deployments: { prefix: '/apis/apps/v1', plural: 'deployments' },
  services: { prefix: '/api/v1', plural: 'services' },
  ingresses: { prefix: '/apis/networking.k8s.io/v1', plural: 'ingresses' },
} as const satisfies Record<string, ResourcePath>;

export const COMPONENT = 'webhook';
export const CHILD_SELECTOR = `app.kubernetes.io/managed-by=${FIELD_MANAGER},app.kubernetes.io/component=${COMPONENT}`;
/** On the pod template: changes whenever the source's spec (or the image) does, rolling the pods. */
export const SOURCE_HASH_ANNOTATION = 'labrats.work/source-hash';
/** On each child: the hash of what was last applied, so unchanged children are not re-applied. */
export const APPLIED_HASH_ANNOTATION = 'labrats.work/applied-hash';
export const WEBHOOK_PORT = 3001;

export interface WebhookChildOptions {
  /** The receiver image, tag included (see webhookImage). */
  image: string;
  serviceAccountName?: string;
  ingressClassName?: string;
  logLevel?: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
}

const sha = (s: string, n: number) => createHash('sha256').update(s).digest('hex').slice(0, n);

/** The children's name: a DNS-1035 label ≤ 63 (Service names must start with a letter). */
export function webhookChildName(source: string): string {
  const clean = source.replace(/\./g, '-');
  const full = `webhook-${clean}`;
  if (full.length <= 63 && clean === source) return full;
  return `webhook-${clean.slice(0, 45).replace(/-+$/, '')}-${sha(source, 8)}`;
}

/**
 * The receiver image: WEBHOOK_IMAGE as given when it carries a tag or digest; otherwise its
 * repository (default ghcr.io/labrats-work/apps.ai-agents/webhook) with the running controller's
 * tag (from CONTROLLER_IMAGE), so receivers always match the controller's release.
 */
export function webhookImage(env: { WEBHOOK_IMAGE?: string; CONTROLLER_IMAGE?: string }): string {
  const split = (ref: string) => {
    const at = ref.indexOf('@');
    if (at >= 0) return { repo: ref.slice(0, at), tag: ref.slice(at) };
    const colon = ref.lastIndexOf(':');
    return colon > ref.lastIndexOf('/')
      ? { repo: ref.slice(0, colon), tag: `:${ref.slice(colon + 1)}` }
      : { repo: ref };
  };
  const given = env.WEBHOOK_IMAGE?.trim()
    ? split(env.WEBHOOK_IMAGE.trim())
    : { repo: 'ghcr.io/labrats-work/apps.ai-agents/webhook' };
  if (given.tag) return `${given.repo}${given.tag}`;
  const controllerTag = env.CONTROLLER_IMAGE?.trim() ? split(env.CONTROLLER_IMAGE.trim()).tag : undefined;
  return `${given.repo}${controllerTag ?? ':latest'}`;
}

export const sourcePath = (s: WebhookSource) => s.spec.ingress?.path ?? `/api/webhooks/${s.metadata.name}`;

/** Where senders should post: the Ingress host if there is one, else the in-cluster Service. */
export function sourceUrl(s: WebhookSource, namespace: string): string {
  const host = s.spec.ingress?.host;
  return host
    ? `https://${host}${sourcePath(s)}`
    : `http://${webhookChildName(s.metadata.name)}.${namespace}.svc:${WEBHOOK_PORT}${sourcePath(s)}`;
}

export function specHash(s: WebhookSource, opts: WebhookChildOptions): string {
  return sha(JSON.stringify({ spec: s.spec, image: opts.image, logLevel: opts.logLevel ?? 'info' }), 16);
}

function ownerRef(s: WebhookSource) {
  return {
    apiVersion: API_VERSION,
    kind: 'WebhookSource',
    name: s.metadata.name,
    uid: s.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

function meta(s: WebhookSource, namespace: string, kind: string) {
  const name = webhookChildName(s.metadata.name);
  return {
    name,
    namespace,
    labels: {
      'app.kubernetes.io/name': 'ai-agents-webhook',
      'app.kubernetes.io/instance': name,
      'app.kubernetes.io/component': COMPONENT,
      'app.kubernetes.io/part-of': 'ai-agents',
      'app.kubernetes.io/managed-by': FIELD_MANAGER,
      'labrats.work/webhook-source': s.metadata.name.slice(0, 63).replace(/[-.]+$/, ''),
    },
    ownerReferences: [ownerRef(s)],
    annotations: {} as Record<string, string>,
    _kind: kind,
  };
}

/** Adds the applied-hash annotation (hash of the object itself) and drops the helper field. */
function finish(obj: { metadata: ReturnType<typeof meta> } & Record<string, unknown>): KubeObject {
  const { _kind, ...metadata } = obj.metadata;
  const body = { ...obj, metadata };
  metadata.annotations[APPLIED_HASH_ANNOTATION] = sha(JSON.stringify(body), 16);
  return body as unknown as KubeObject;
}

export function desiredDeployment(
  s: WebhookSource,
  namespace: string,
  opts: WebhookChildOptions,
): KubeObject {
  const m = meta(s, namespace, 'Deployment');
  const selector = { 'app.kubernetes.io/name': 'ai-agents-webhook', 'app.kubernetes.io/instance': m.name };
  const path = sourcePath(s);
  return finish({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: m,
    spec: {
      replicas: s.spec.suspend ? 0 : (s.spec.replicas ?? 1),
      revisionHistoryLimit: 3,
      selector: { matchLabels: selector },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: {
          labels: { ...m.labels },
          annotations: { [SOURCE_HASH_ANNOTATION]: specHash(s, opts) },
        },
        spec: {
          ...(opts.serviceAccountName ? { serviceAccountName: opts.serviceAccountName } : {}),
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1001,
            runAsGroup: 1001,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'webhook',
              image: opts.image,
              ...(opts.imagePullPolicy ? { imagePullPolicy: opts.imagePullPolicy } : {}),
              env: [
                { name: 'WEBHOOK_SOURCE_NAME', value: s.metadata.name },
                { name: 'NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                { name: 'PORT', value: String(WEBHOOK_PORT) },
                { name: 'LOG_LEVEL', value: opts.logLevel ?? 'info' },
                ...(path !== `/api/webhooks/${s.metadata.name}`
                  ? [{ name: 'WEBHOOK_PATH', value: path }]
                  : []),
              ],
              ports: [{ name: 'http', containerPort: WEBHOOK_PORT, protocol: 'TCP' }],
              readinessProbe: { httpGet: { path: '/ready', port: 'http' }, periodSeconds: 10 },
              livenessProbe: { httpGet: { path: '/health', port: 'http' }, periodSeconds: 20 },
              resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
            },
          ],
        },
      },
    },
  });
}

export function desiredService(s: WebhookSource, namespace: string): KubeObject {
  const m = meta(s, namespace, 'Service');
  return finish({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: m,
    spec: {
      type: 'ClusterIP',
      selector: { 'app.kubernetes.io/name': 'ai-agents-webhook', 'app.kubernetes.io/instance': m.name },
      ports: [{ name: 'http', port: WEBHOOK_PORT, targetPort: 'http', protocol: 'TCP' }],
    },
  });
}

export function desiredIngress(s: WebhookSource, namespace: string, opts: WebhookChildOptions): KubeObject {
  const m = meta(s, namespace, 'Ingress');
  const className = s.spec.ingress?.className ?? opts.ingressClassName;
  const host = s.spec.ingress?.host;
  return finish({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: m,
    spec: {
      ...(className ? { ingressClassName: className } : {}),
      rules: [
        {
          ...(host ? { host } : {}),
          http: {
            paths: [
              {
                path: sourcePath(s),
                pathType: 'Prefix',
                backend: { service: { name: m.name, port: { name: 'http' } } },
              },
            ],
          },
        },
      ],
    },
  });
}

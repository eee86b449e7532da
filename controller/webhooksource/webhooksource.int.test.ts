// The WebhookSource controller against the real control plane: per-source Deployment, Service and
// Ingress appear for a new source, follow its changes, and are garbage-collected by
// kube-controller-manager when it is deleted; status reports deploymentName, url and Ready.
import { AppsV1Api, NetworkingV1Api, type V1Deployment } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP, VERSION, type WebhookSource } from '../../api/v1alpha1/index.ts';
import { createTestNamespace, eventually, type TestNamespace } from '../../test/kube.ts';
import { createKubeClient } from '../kube.ts';
import { accessFromKubeConfig } from '../kube-access.ts';
import { silentLogger } from '../log.ts';
import { createWebhookSourceController, type WebhookSourceController } from './index.ts';
import { SOURCE_HASH_ANNOTATION, webhookChildName } from './resources.ts';

let ns: TestNamespace;
let controller: WebhookSourceController;
let apps: AppsV1Api;
let net: NetworkingV1Api;
const wsPath = { group: GROUP, version: VERSION, plural: 'webhooksources' };

const source = (name: string): WebhookSource => ({
  apiVersion: 'labrats.work/v1alpha1',
  kind: 'WebhookSource',
  metadata: { name },
  spec: {
    type: 'github',
    secretRef: { name: 'gh-secret', key: 'secret' },
    rules: [
      {
        name: 'issues',
        event: 'issues',
        agent: 'developer',
        promptTemplate: '{{issue.title}}',
        concurrencyPolicy: 'queue',
      },
    ],
    ingress: { host: 'hooks.example.com', className: 'traefik' },
    replicas: 1,
    suspend: false,
  },
});

const getOrUndefined = async <T>(fn: () => Promise<T>): Promise<T | undefined> => {
  try {
    return await fn();
  } catch (e) {
    if ((e as { code?: number }).code === 404) return undefined;
    throw e;
  }
};

beforeAll(async () => {
  ns = await createTestNamespace('whsrc');
  apps = ns.kc.makeApiClient(AppsV1Api);
  net = ns.kc.makeApiClient(NetworkingV1Api);
  controller = createWebhookSourceController({
    client: createKubeClient(await accessFromKubeConfig(ns.kc)),
    log: silentLogger,
    namespace: ns.name,
    env: {
      WEBHOOK_IMAGE: 'ghcr.io/labrats-work/apps.ai-agents/webhook',
      CONTROLLER_IMAGE: 'ghcr.io/labrats-work/apps.ai-agents/processor:1.4.2',
    },
    resyncMs: 0,
  });
  controller.startInformers();
  await controller.startWorkers();
});

afterAll(async () => {
  await controller?.stop();
  await ns?.cleanup();
});

describe('WebhookSource → Deployment + Service + Ingress', () => {
  const name = 'github-main';
  const child = webhookChildName(name);

  it('appear for a new source, owned by it, with the controller tag and WEBHOOK_SOURCE_NAME', async () => {
    const created = (await ns.custom.createNamespacedCustomObject({
      ...wsPath,
      namespace: ns.name,
      body: source(name),
    })) as {
      metadata: { uid: string };
    };
    const dep = await eventually('the Deployment', () =>
      getOrUndefined(() => apps.readNamespacedDeployment({ name: child, namespace: ns.name })),
    );
    const owner = dep.metadata?.ownerReferences?.[0];
    expect(owner).toMatchObject({ kind: 'WebhookSource', name, uid: created.metadata.uid, controller: true });
    const container = dep.spec?.template.spec?.containers[0];
    expect(container?.image).toBe('ghcr.io/labrats-work/apps.ai-agents/webhook:1.4.2');
    expect(container?.env?.find((e) => e.name === 'WEBHOOK_SOURCE_NAME')?.value).toBe(name);
    expect(dep.spec?.template.spec?.securityContext?.runAsNonRoot).toBe(true);
    const svc = await eventually('the Service', () =>
      getOrUndefined(() => ns.core.readNamespacedService({ name: child, namespace: ns.name })),
    );
    expect(svc.metadata?.ownerReferences?.[0]?.uid).toBe(created.metadata.uid);
    expect(svc.spec?.selector).toEqual(dep.spec?.selector.matchLabels);
    const ing = await eventually('the Ingress', () =>
      getOrUndefined(() => net.readNamespacedIngress({ name: child, namespace: ns.name })),
    );
    expect(ing.spec?.ingressClassName).toBe('traefik');
    expect(ing.spec?.rules?.[0]).toMatchObject({
      host: 'hooks.example.com',
      http: {
        paths: [{ path: `/api/webhooks/${name}`, pathType: 'Prefix', backend: { service: { name: child } } }],
      },
    });
    const status = await eventually('status', async () => {
      const s = (await ns.custom.getNamespacedCustomObject({
        ...wsPath,
        namespace: ns.name,
        name,
      })) as WebhookSource;
      return s.status?.deploymentName ? s.status : undefined;
    });
    expect(status).toMatchObject({
      deploymentName: child,
      url: `https://hooks.example.com/api/webhooks/${name}`,
      observedGeneration: 1,
    });
    expect(status.conditions?.find((c) => c.type === 'Ready')).toBeDefined();
  });

  it('update when the source changes: the pods roll (new hash), the Ingress follows', async () => {
    const before = (await apps.readNamespacedDeployment({ name: child, namespace: ns.name })) as V1Deployment;
    const oldHash = before.spec?.template.metadata?.annotations?.[SOURCE_HASH_ANNOTATION];
    expect(oldHash).toBeTruthy();
    await ns.custom.patchNamespacedCustomObject({
      ...wsPath,
      namespace: ns.name,
      name,
      body: [
        {
          op: 'replace',
          path: '/spec/ingress',
          value: { host: 'hooks2.example.com', path: '/hooks/gh', className: 'traefik' },
        },
        { op: 'replace', path: '/spec/replicas', value: 2 },
      ],
    });
    const dep = await eventually('the rolled Deployment', async () => {
      const d = await apps.readNamespacedDeployment({ name: child, namespace: ns.name });
      return d.spec?.template.metadata?.annotations?.[SOURCE_HASH_ANNOTATION] !== oldHash ? d : undefined;
    });
    expect(dep.spec?.replicas).toBe(2);
    expect(dep.spec?.template.spec?.containers[0]?.env?.find((e) => e.name === 'WEBHOOK_PATH')?.value).toBe(
      '/hooks/gh',
    );
    const ing = await eventually('the updated Ingress', async () => {
      const i = await net.readNamespacedIngress({ name: child, namespace: ns.name });
      return i.spec?.rules?.[0]?.host === 'hooks2.example.com' ? i : undefined;
    });
    expect(ing.spec?.rules?.[0]?.http?.paths[0]?.path).toBe('/hooks/gh');
    await eventually('status url', async () => {
      const s = (await ns.custom.getNamespacedCustomObject({
        ...wsPath,
        namespace: ns.name,
        name,
      })) as WebhookSource;
      return s.status?.url === 'https://hooks2.example.com/hooks/gh' && s.status.observedGeneration === 2
        ? true
        : undefined;
    });
  });

  it('a deleted child is put back', async () => {
    const old = await ns.core.readNamespacedService({ name: child, namespace: ns.name });
    await ns.core.deleteNamespacedService({ name: child, namespace: ns.name });
    const back = await eventually('the Service to come back', async () => {
      const s = await getOrUndefined(() =>
        ns.core.readNamespacedService({ name: child, namespace: ns.name }),
      );
      return s && s.metadata?.uid !== old.metadata?.uid ? s : undefined;
    });
    expect(back.metadata?.ownerReferences?.[0]?.name).toBe(name);
  });

  it('does not adopt a same-named object it does not own', async () => {
    const other = 'taken';
    await ns.core.createNamespacedService({
      namespace: ns.name,
      body: { metadata: { name: webhookChildName(other) }, spec: { ports: [{ port: 80 }] } },
    });
    await ns.custom.createNamespacedCustomObject({ ...wsPath, namespace: ns.name, body: source(other) });
    const ready = await eventually('NameConflict', async () => {
      const s = (await ns.custom.getNamespacedCustomObject({
        ...wsPath,
        namespace: ns.name,
        name: other,
      })) as WebhookSource;
      const c = s.status?.conditions?.find((x) => x.type === 'Ready');
      return c?.reason === 'NameConflict' ? c : undefined;
    });
    expect(ready.status).toBe('False');
    const svc = await ns.core.readNamespacedService({ name: webhookChildName(other), namespace: ns.name });
    expect(svc.metadata?.ownerReferences ?? []).toHaveLength(0);
  });

  it('vanish when the source is deleted (garbage collection)', async () => {
    await ns.custom.deleteNamespacedCustomObject({ ...wsPath, namespace: ns.name, name });
    await eventually(
      'the children to be collected',
      async () => {
        const [d, s, i] = await Promise.all([
          getOrUndefined(() => apps.readNamespacedDeployment({ name: child, namespace: ns.name })),
          getOrUndefined(() => ns.core.readNamespacedService({ name: child, namespace: ns.name })),
          getOrUndefined(() => net.readNamespacedIngress({ name: child, namespace: ns.name })),
        ]);
        return !d && !s && !i ? true : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );
  });
});

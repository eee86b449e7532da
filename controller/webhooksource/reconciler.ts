// WebhookSource reconciler, level-triggered: from the source in the cache, apply its Deployment,
// Service and Ingress (server-side apply, skipped when the child already carries the same applied
// hash), then rebuild status (deploymentName, url, Ready) from the state of the world. Children
// carry a controller ownerReference, so the garbage collector removes them with the source. A
// child of the same name that is not ours is never adopted: the source reports NameConflict.
import type { WebhookSource } from '../../api/v1alpha1/index.ts';
import { getCondition, setCondition } from '../conditions.ts';
import {
  controllerOf,
  FIELD_MANAGER,
  isNotFound,
  type KubeClient,
  type KubeObject,
  objectPath,
  type ResourcePath,
  splitKey,
} from '../kube.ts';
import type { Logger } from '../log.ts';
import type { ReconcileResult } from '../queue.ts';
import {
  APPLIED_HASH_ANNOTATION,
  desiredDeployment,
  desiredIngress,
  desiredService,
  sourceUrl,
  WEBHOOK_RESOURCES,
  type WebhookChildOptions,
  webhookChildName,
} from './resources.ts';

export interface WebhookSourceCache {
  source(key: string): (WebhookSource & KubeObject) | undefined;
  /** A child from the (label-selected) child informers. */
  child(kind: 'deployments' | 'services' | 'ingresses', key: string): KubeObject | undefined;
}

export interface WebhookSourceReconcilerDeps {
  client: KubeClient;
  cache: WebhookSourceCache;
  options: WebhookChildOptions;
  log: Logger;
  now?: () => Date;
}

type ChildKind = 'deployments' | 'services' | 'ingresses';

export const READY = 'Ready';

export function createWebhookSourceReconciler(deps: WebhookSourceReconcilerDeps) {
  const { client, cache, options, log } = deps;
  const now = deps.now ?? (() => new Date());

  async function apply(
    kind: ChildKind,
    r: ResourcePath,
    source: WebhookSource & KubeObject,
    body: KubeObject,
  ) {
    const ns = source.metadata.namespace ?? '';
    const name = body.metadata.name;
    const cached = cache.child(kind, `${ns}/${name}`);
    const want = body.metadata.annotations?.[APPLIED_HASH_ANNOTATION];
    if (
      cached &&
      cached.metadata.annotations?.[APPLIED_HASH_ANNOTATION] === want &&
      controllerOf(cached)?.uid === source.metadata.uid
    ) {
      return { object: cached, conflict: false };
    }
    // not in our cache: make sure an object of that name is not someone else's before applying
    if (!cached) {
      try {
        const existing = await client.get<KubeObject>(r, ns, name);
        if (controllerOf(existing)?.uid !== source.metadata.uid) return { object: existing, conflict: true };
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    } else if (controllerOf(cached)?.uid !== source.metadata.uid) {
      return { object: cached, conflict: true };
    }
    const object = await client.request<KubeObject>('PATCH', objectPath(r, ns, name), {
      body,
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: FIELD_MANAGER, force: true },
    });
    return { object, conflict: false };
  }

  return async function reconcileWebhookSource(key: string): Promise<ReconcileResult | undefined> {
    const source = cache.source(key);
    if (!source || source.metadata.deletionTimestamp) return undefined; // children go with it (GC)
    const { namespace } = splitKey(key);
    const results = {
      deployments: await apply(
        'deployments',
        WEBHOOK_RESOURCES.deployments,
        source,
        desiredDeployment(source, namespace, options),
      ),
      services: await apply(
        'services',
        WEBHOOK_RESOURCES.services,
        source,
        desiredService(source, namespace),
      ),
      ingresses: await apply(
        'ingresses',
        WEBHOOK_RESOURCES.ingresses,
        source,
        desiredIngress(source, namespace, options),
      ),
    };
    const conflicts = Object.entries(results)
      .filter(([, r]) => r.conflict)
      .map(([kind]) => kind.replace(/s$/, ''));
    const dep = results.deployments.object as KubeObject & {
      spec?: { replicas?: number };
      status?: { availableReplicas?: number; updatedReplicas?: number; observedGeneration?: number };
    };
    const desired = dep.spec?.replicas ?? 0;
    const available = dep.status?.availableReplicas ?? 0;
    const ready = conflicts.length
      ? {
          status: 'False' as const,
          reason: 'NameConflict',
          message: `a ${conflicts.join(', ')} named ${webhookChildName(source.metadata.name)} exists and is not owned by this source`,
        }
      : source.spec.suspend
        ? { status: 'False' as const, reason: 'Suspended', message: 'the source is suspended (0 replicas)' }
        : available >= desired && desired > 0
          ? {
              status: 'True' as const,
              reason: 'Available',
              message: `${available}/${desired} receivers available`,
            }
          : {
              status: 'False' as const,
              reason: 'Progressing',
              message: `${available}/${desired} receivers available`,
            };
    const generation = source.metadata.generation;
    const conditions = setCondition(source.status?.conditions, { type: READY, ...ready }, now(), generation);
    const status = {
      observedGeneration: generation,
      deploymentName: webhookChildName(source.metadata.name),
      url: sourceUrl(source, namespace),
      conditions,
    };
    const prev = source.status ?? {};
    const prevReady = getCondition(prev.conditions, READY);
    const same =
      prev.observedGeneration === status.observedGeneration &&
      prev.deploymentName === status.deploymentName &&
      prev.url === status.url &&
      prevReady?.status === ready.status &&
      prevReady?.reason === ready.reason &&
      prevReady?.message === ready.message;
    if (!same) {
      await client.request(
        'PATCH',
        objectPath(WEBHOOK_RESOURCES.webhooksources, namespace, source.metadata.name, 'status'),
        {
          body: { status },
          contentType: 'application/merge-patch+json',
          query: { fieldManager: FIELD_MANAGER },
        },
      );
      log.debug('webhook source status', { source: key, ready: ready.reason });
    }
    return undefined;
  };
}

// The WebhookSource controller: informers on WebhookSources and on the Deployments, Services and
// Ingresses it owns (label-selected), a keyed queue, and the reconciler. A change to a child
// requeues its owner, so a deleted or edited child is put back. controller/main.ts starts the
// informers with the others and the workers once leadership is won.
import type { WebhookSource } from '../../api/v1alpha1/index.ts';
import { createInformer, type Informer, kubeSource } from '../informer.ts';
import { controllerOf, type KubeClient, type KubeObject, keyOf } from '../kube.ts';
import type { Logger } from '../log.ts';
import { createWorkQueue, type WorkQueue } from '../queue.ts';
import { createWebhookSourceReconciler } from './reconciler.ts';
import { CHILD_SELECTOR, WEBHOOK_RESOURCES, type WebhookChildOptions, webhookImage } from './resources.ts';

export interface WebhookSourceControllerOptions {
  client: KubeClient;
  log: Logger;
  /** Watch one namespace; undefined = all. */
  namespace?: string;
  /** Receiver settings; `image` defaults from WEBHOOK_IMAGE / CONTROLLER_IMAGE (see webhookImage). */
  options?: Partial<WebhookChildOptions>;
  env?: Record<string, string | undefined>;
  resyncMs?: number;
  workers?: number;
  now?: () => Date;
}

export interface WebhookSourceController {
  queue: WorkQueue;
  sources: Informer<WebhookSource & KubeObject>;
  startInformers(): void;
  hasSynced(): boolean;
  waitForSync(signal?: AbortSignal): Promise<void>;
  /** Start reconciling (after leadership); waits for the caches first. */
  startWorkers(): Promise<void>;
  stop(): Promise<void>;
}

/** Receiver settings from the controller's environment. */
export function webhookOptionsFromEnv(env: Record<string, string | undefined>): WebhookChildOptions {
  const pull = env.WEBHOOK_IMAGE_PULL_POLICY;
  return {
    image: webhookImage(env),
    ...(env.WEBHOOK_SERVICE_ACCOUNT ? { serviceAccountName: env.WEBHOOK_SERVICE_ACCOUNT } : {}),
    ...(env.WEBHOOK_INGRESS_CLASS ? { ingressClassName: env.WEBHOOK_INGRESS_CLASS } : {}),
    ...(env.WEBHOOK_LOG_LEVEL ? { logLevel: env.WEBHOOK_LOG_LEVEL } : {}),
    ...(pull === 'Always' || pull === 'IfNotPresent' || pull === 'Never' ? { imagePullPolicy: pull } : {}),
  };
}

export function createWebhookSourceController(o: WebhookSourceControllerOptions): WebhookSourceController {
  const log = o.log.child({ controller: 'webhooksource' });
  const resyncMs = o.resyncMs ?? 600_000;
  const options: WebhookChildOptions = { ...webhookOptionsFromEnv(o.env ?? process.env), ...o.options };
  const informer = <T extends KubeObject>(name: keyof typeof WEBHOOK_RESOURCES, labelSelector?: string) =>
    createInformer<T>({
      name,
      source: kubeSource(o.client, WEBHOOK_RESOURCES[name], o.namespace),
      resyncMs,
      log,
      ...(labelSelector ? { labelSelector } : {}),
    });
  const sources = informer<WebhookSource & KubeObject>('webhooksources');
  const children = {
    deployments: informer<KubeObject>('deployments', CHILD_SELECTOR),
    services: informer<KubeObject>('services', CHILD_SELECTOR),
    ingresses: informer<KubeObject>('ingresses', CHILD_SELECTOR),
  };
  const all = [sources, ...Object.values(children)];
  const queue = createWorkQueue({
    onError: (key, error, retryInMs) =>
      log.warn('webhook source reconcile failed', {
        source: key,
        error: String(error).slice(0, 500),
        retryInMs,
      }),
  });

  sources.on((event, obj) => {
    if (event !== 'delete') queue.add(keyOf(obj));
  });
  for (const inf of Object.values(children)) {
    inf.on((_event, obj) => {
      const owner = controllerOf(obj);
      if (owner?.kind === 'WebhookSource') queue.add(`${obj.metadata.namespace ?? ''}/${owner.name}`);
    });
  }

  const reconcile = createWebhookSourceReconciler({
    client: o.client,
    options,
    log,
    ...(o.now ? { now: o.now } : {}),
    cache: {
      source: (key) => sources.get(key),
      child: (kind, key) => children[kind].get(key),
    },
  });

  return {
    queue,
    sources,
    startInformers() {
      for (const i of all) i.start();
    },
    hasSynced: () => all.every((i) => i.hasSynced()),
    async waitForSync(signal) {
      await Promise.all(all.map((i) => i.waitForSync(signal)));
    },
    async startWorkers() {
      await Promise.all(all.map((i) => i.waitForSync()));
      queue.run(o.workers ?? 2, reconcile);
      for (const s of sources.list()) queue.add(keyOf(s));
    },
    async stop() {
      await queue.shutdown();
      await Promise.all(all.map((i) => i.stop()));
    },
  };
}

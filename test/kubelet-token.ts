// Integration-test helper: the kubelet's part in an executor pod's ingest credential. The Job's pod
// template has a projected serviceAccountToken volume (audience, lifetime); with no kubelet here,
// the test mints what the kubelet would: a TokenRequest for the pod's ServiceAccount with that
// audience and lifetime, bound to the pod.
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { eventually } from './kube.ts';

interface ProjectedToken {
  audience?: string;
  expirationSeconds?: number;
}

/**
 * A token of the pod's ServiceAccount for `audience`, bound to the pod (ServiceAccount created when
 * it is missing: the ServiceAccount controller makes only `default`).
 */
export async function podBoundToken(
  core: CoreV1Api,
  pod: V1Pod,
  audience: string,
  expirationSeconds = 3600,
): Promise<string> {
  const namespace = pod.metadata!.namespace!;
  const account = pod.spec?.serviceAccountName || 'default';
  await core
    .createNamespacedServiceAccount({ namespace, body: { metadata: { name: account } } })
    .catch(() => {}); // exists
  const review = await core.createNamespacedServiceAccountToken({
    namespace,
    name: account,
    body: {
      spec: {
        audiences: [audience],
        expirationSeconds,
        boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata!.name!, uid: pod.metadata!.uid! },
      },
    },
  });
  const token = review.status?.token;
  if (!token) throw new Error(`no token for ServiceAccount ${namespace}/${account}`);
  return token;
}

/** The token the kubelet would project into `pod`: its projected volume's audience and lifetime. */
export async function kubeletIngestToken(core: CoreV1Api, pod: V1Pod): Promise<string> {
  const projected = (pod.spec?.volumes ?? [])
    .flatMap((v) => v.projected?.sources ?? [])
    .map((s) => s.serviceAccountToken as ProjectedToken | undefined)
    .find((t) => t !== undefined);
  if (!projected?.audience) throw new Error(`pod ${pod.metadata!.name} projects no ServiceAccount token`);
  return podBoundToken(core, pod, projected.audience, projected.expirationSeconds);
}

/** A live pod of `jobName` (the Job controller's), once there is one. */
export function jobPod(
  core: CoreV1Api,
  namespace: string,
  jobName: string,
  { timeoutMs = 30_000 } = {},
): Promise<V1Pod> {
  return eventually(
    `a pod of Job ${jobName}`,
    async () =>
      (
        await core.listNamespacedPod({
          namespace,
          labelSelector: `batch.kubernetes.io/job-name=${jobName}`,
        })
      ).items.find((p) => !p.metadata?.deletionTimestamp),
    { timeoutMs },
  );
}

/** Waits for a pod of `jobName` and mints the token the kubelet would project into it. */
export async function jobPodIngestToken(
  core: CoreV1Api,
  namespace: string,
  jobName: string,
  opts: { timeoutMs?: number } = {},
): Promise<{ pod: V1Pod; token: string }> {
  const pod = await jobPod(core, namespace, jobName, opts);
  return { pod, token: await kubeletIngestToken(core, pod) };
}

// Integration-test helper: the functions' ServiceAccount in a test namespace, bound to the Role in
// functions/rbac.yaml, and a KubeConfig that authenticates with a TokenRequest token for it.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig, RbacAuthorizationV1Api, type V1Role } from '@kubernetes/client-node';
import { parse } from 'yaml';
import type { TestNamespace } from '../../test/kube.ts';

const here = dirname(fileURLToPath(import.meta.url));
export const FUNCTIONS_SA = 'ai-agents-functions';

export function functionsRole(): V1Role {
  return parse(readFileSync(join(here, '..', 'rbac.yaml'), 'utf8')) as V1Role;
}

export async function functionsKubeConfig(ns: TestNamespace): Promise<KubeConfig> {
  const rbac = ns.kc.makeApiClient(RbacAuthorizationV1Api);
  const role = functionsRole();
  await ns.core.createNamespacedServiceAccount({
    namespace: ns.name,
    body: { metadata: { name: FUNCTIONS_SA } },
  });
  await rbac.createNamespacedRole({
    namespace: ns.name,
    body: { ...role, metadata: { ...role.metadata, namespace: ns.name } },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: ns.name,
    body: {
      metadata: { name: FUNCTIONS_SA },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata!.name! },
      subjects: [{ kind: 'ServiceAccount', name: FUNCTIONS_SA, namespace: ns.name }],
    },
  });
  const tr = await ns.core.createNamespacedServiceAccountToken({
    namespace: ns.name,
    name: FUNCTIONS_SA,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const cluster = ns.kc.getCurrentCluster()!;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: FUNCTIONS_SA, token: tr.status!.token }],
    contexts: [{ name: FUNCTIONS_SA, cluster: cluster.name, user: FUNCTIONS_SA, namespace: ns.name }],
    currentContext: FUNCTIONS_SA,
  });
  return kc;
}

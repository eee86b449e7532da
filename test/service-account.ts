// Integration-test helper: a ServiceAccount in a test namespace bound to a given Role, and a
// KubeConfig that authenticates as it with a TokenRequest token — the identity a chart deploys.
import { KubeConfig, RbacAuthorizationV1Api, type V1PolicyRule } from '@kubernetes/client-node';
import type { TestNamespace } from './kube.ts';

export async function serviceAccountKubeConfig(
  ns: TestNamespace,
  account: string,
  role: { name: string; rules: V1PolicyRule[] },
): Promise<KubeConfig> {
  const rbac = ns.kc.makeApiClient(RbacAuthorizationV1Api);
  await ns.core.createNamespacedServiceAccount({ namespace: ns.name, body: { metadata: { name: account } } });
  await rbac.createNamespacedRole({
    namespace: ns.name,
    body: { metadata: { name: role.name, namespace: ns.name }, rules: role.rules },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: ns.name,
    body: {
      metadata: { name: account },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.name },
      subjects: [{ kind: 'ServiceAccount', name: account, namespace: ns.name }],
    },
  });
  const tr = await ns.core.createNamespacedServiceAccountToken({
    namespace: ns.name,
    name: account,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const cluster = ns.kc.getCurrentCluster()!;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: account, token: tr.status!.token }],
    contexts: [{ name: account, cluster: cluster.name, user: account, namespace: ns.name }],
    currentContext: account,
  });
  return kc;
}

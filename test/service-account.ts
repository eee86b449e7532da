// Integration-test helper: a ServiceAccount in a test namespace bound to a given Role (and, when
// given, a ClusterRole), and a KubeConfig that authenticates as it with a TokenRequest token — the
// identity a chart deploys.
import { KubeConfig, RbacAuthorizationV1Api, type V1PolicyRule } from '@kubernetes/client-node';
import type { TestNamespace } from './kube.ts';

export interface RoleRules {
  name: string;
  rules: V1PolicyRule[];
}

export async function serviceAccountKubeConfig(
  ns: TestNamespace,
  account: string,
  role: RoleRules,
  clusterRole?: RoleRules,
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
  if (clusterRole) {
    // cluster-scoped: named after the namespace (as the chart does) and owned by it, so the garbage
    // collector removes them with the namespace
    const namespace = await ns.core.readNamespace({ name: ns.name });
    const metadata = {
      name: `${ns.name}-${clusterRole.name}`,
      ownerReferences: [
        { apiVersion: 'v1', kind: 'Namespace', name: ns.name, uid: namespace.metadata!.uid! },
      ],
    };
    await rbac.createClusterRole({ body: { metadata, rules: clusterRole.rules } });
    await rbac.createClusterRoleBinding({
      body: {
        metadata,
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: metadata.name },
        subjects: [{ kind: 'ServiceAccount', name: account, namespace: ns.name }],
      },
    });
  }
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

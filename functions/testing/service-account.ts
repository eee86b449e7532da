// Integration-test helper: the functions' ServiceAccount in a test namespace, bound to exactly what
// the chart grants it — the Role in functions/rbac.yaml and the ClusterRole in
// functions/rbac-cluster.yaml (TokenReviews) — and a KubeConfig that authenticates with a
// TokenRequest token for it.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubeConfig, V1ClusterRole, V1Role } from '@kubernetes/client-node';
import { parse } from 'yaml';
import type { TestNamespace } from '../../test/kube.ts';
import { serviceAccountKubeConfig } from '../../test/service-account.ts';

const here = dirname(fileURLToPath(import.meta.url));
export const FUNCTIONS_SA = 'ai-agents-functions';

export function functionsRole(): V1Role {
  return parse(readFileSync(join(here, '..', 'rbac.yaml'), 'utf8')) as V1Role;
}

export function functionsClusterRole(): V1ClusterRole {
  return parse(readFileSync(join(here, '..', 'rbac-cluster.yaml'), 'utf8')) as V1ClusterRole;
}

export function functionsKubeConfig(ns: TestNamespace): Promise<KubeConfig> {
  const role = functionsRole();
  const clusterRole = functionsClusterRole();
  return serviceAccountKubeConfig(
    ns,
    FUNCTIONS_SA,
    { name: role.metadata!.name!, rules: role.rules ?? [] },
    { name: clusterRole.metadata!.name!, rules: clusterRole.rules ?? [] },
  );
}

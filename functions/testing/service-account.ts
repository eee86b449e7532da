// Integration-test helper: the functions' ServiceAccount in a test namespace, bound to the Role in
// functions/rbac.yaml, and a KubeConfig that authenticates with a TokenRequest token for it.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubeConfig, V1Role } from '@kubernetes/client-node';
import { parse } from 'yaml';
import type { TestNamespace } from '../../test/kube.ts';
import { serviceAccountKubeConfig } from '../../test/service-account.ts';

const here = dirname(fileURLToPath(import.meta.url));
export const FUNCTIONS_SA = 'ai-agents-functions';

export function functionsRole(): V1Role {
  return parse(readFileSync(join(here, '..', 'rbac.yaml'), 'utf8')) as V1Role;
}

export function functionsKubeConfig(ns: TestNamespace): Promise<KubeConfig> {
  const role = functionsRole();
  return serviceAccountKubeConfig(ns, FUNCTIONS_SA, { name: role.metadata!.name!, rules: role.rules ?? [] });
}

// OAuth credentials write-back against the real apiserver, as an executor ServiceAccount whose Role may
// update only the one credentials Secret (resourceNames), exactly as the executor does it in a pod:
// bearer token file + cluster CA, JSON merge patch of one key.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestNamespace, type TestNamespace } from '../../test/kube.ts';
import {
  credentialsPath,
  installCredentials,
  refreshedCredentials,
  writeBackCredentials,
} from './credentials.ts';

let ns: TestNamespace;
let dir: string;
let env: Record<string, string>;
const original = JSON.stringify({
  claudeAiOauth: { accessToken: 'old-access', refreshToken: 'old-refresh', expiresAt: 1 },
});

beforeAll(async () => {
  ns = await createTestNamespace('creds');
  dir = await mkdtemp(path.join(tmpdir(), 'ai-agents-creds-'));
  for (const name of ['claude-creds', 'other-secret']) {
    await ns.core.createNamespacedSecret({
      namespace: ns.name,
      body: { metadata: { name }, stringData: { 'credentials.json': original, keep: 'me' } },
    });
  }
  const rbac = ns.kc.makeApiClient(RbacAuthorizationV1Api);
  await ns.core.createNamespacedServiceAccount({
    namespace: ns.name,
    body: { metadata: { name: 'executor' } },
  });
  await rbac.createNamespacedRole({
    namespace: ns.name,
    body: {
      metadata: { name: 'executor-credentials' },
      rules: [
        {
          apiGroups: [''],
          resources: ['secrets'],
          resourceNames: ['claude-creds'],
          verbs: ['get', 'patch', 'update'],
        },
      ],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: ns.name,
    body: {
      metadata: { name: 'executor-credentials' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'executor-credentials' },
      subjects: [{ kind: 'ServiceAccount', name: 'executor', namespace: ns.name }],
    },
  });
  const tr = await ns.core.createNamespacedServiceAccountToken({
    namespace: ns.name,
    name: 'executor',
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const cluster = ns.kc.getCurrentCluster()!;
  // the CA the control plane hands to pods (kube-controller-manager --root-ca-file)
  const ca = await readFile(
    path.join(path.dirname(inject('kubeconfig')), 'apiserver-certs', 'apiserver.crt'),
  );
  await writeFile(path.join(dir, 'token'), tr.status!.token!);
  await writeFile(path.join(dir, 'ca.crt'), ca);
  await writeFile(path.join(dir, 'mounted.json'), original);
  env = {
    AI_AGENTS_CLAUDE_CREDENTIALS_FILE: path.join(dir, 'mounted.json'),
    AI_AGENTS_CREDENTIALS_SECRET: 'claude-creds',
    AI_AGENTS_CREDENTIALS_SECRET_KEY: 'credentials.json',
    AI_AGENTS_NAMESPACE: ns.name,
    AI_AGENTS_KUBE_API_URL: cluster.server,
    AI_AGENTS_KUBE_TOKEN_FILE: path.join(dir, 'token'),
    AI_AGENTS_KUBE_CA_FILE: path.join(dir, 'ca.crt'),
  };
});
afterAll(async () => {
  await ns?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

const secretKey = async (name: string, key: string) => {
  const s = await ns.core.readNamespacedSecret({ namespace: ns.name, name });
  return Buffer.from(s.data![key]!, 'base64').toString('utf8');
};

describe('claude OAuth credentials', () => {
  it('are installed for the CLI, and only a refreshed copy is written back, to that Secret only', async () => {
    const home = path.join(dir, 'home');
    await mkdir(home, { recursive: true });
    const given = await installCredentials(env, home);
    expect(given).toBe(original);
    // nothing changed: nothing to write
    expect(await refreshedCredentials(home, given)).toBeUndefined();

    // the CLI refreshed its token
    const refreshed = JSON.stringify({
      claudeAiOauth: { accessToken: 'new-access', refreshToken: 'new-refresh', expiresAt: 2 },
    });
    await writeFile(credentialsPath(home), refreshed);
    const changed = await refreshedCredentials(home, given);
    expect(changed).toBe(refreshed);
    await writeBackCredentials(env, changed!);
    expect(await secretKey('claude-creds', 'credentials.json')).toBe(refreshed);
    expect(await secretKey('claude-creds', 'keep')).toBe('me');

    // RBAC by resource name: the same identity cannot touch another Secret
    await expect(
      writeBackCredentials({ ...env, AI_AGENTS_CREDENTIALS_SECRET: 'other-secret' }, refreshed),
    ).rejects.toThrow(/403/);
    expect(await secretKey('other-secret', 'credentials.json')).toBe(original);
  });

  it('a half-written credentials file is never written back', async () => {
    const home = path.join(dir, 'home2');
    await mkdir(home, { recursive: true });
    const given = await installCredentials(env, home);
    await writeFile(credentialsPath(home), '{"claudeAiOauth": {"accessTok');
    expect(await refreshedCredentials(home, given)).toBeUndefined();
  });
});

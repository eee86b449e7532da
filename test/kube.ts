// Helpers for integration tests: an admin client on the shared control plane and a fresh
// namespace per test (deleted afterwards).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { BatchV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { inject } from 'vitest';

export function adminKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(inject('kubeconfig'));
  return kc;
}

export interface TestNamespace {
  name: string;
  kc: KubeConfig;
  core: CoreV1Api;
  batch: BatchV1Api;
  custom: CustomObjectsApi;
  kubectl(args: string[], input?: string): string;
  cleanup(): Promise<void>;
}

export async function createTestNamespace(prefix = 'test'): Promise<TestNamespace> {
  const kc = adminKubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const name = `${prefix}-${randomBytes(4).toString('hex')}`.slice(0, 63);
  await core.createNamespace({ body: { metadata: { name, labels: { 'ai-agents.test': 'true' } } } });
  const kubectl = (args: string[], input?: string) =>
    execFileSync(
      join(inject('kubeBinDir'), 'kubectl'),
      [`--kubeconfig=${inject('kubeconfig')}`, '-n', name, ...args],
      {
        encoding: 'utf8',
        input,
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
  return {
    name,
    kc,
    core,
    batch: kc.makeApiClient(BatchV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    kubectl,
    async cleanup() {
      await core.deleteNamespace({ name, propagationPolicy: 'Background' }).catch(() => {});
    },
  };
}

/** Polls until `check` returns a value other than undefined, or fails with the last value seen. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  { timeoutMs = 30_000, intervalMs = 100 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      lastError = e;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}

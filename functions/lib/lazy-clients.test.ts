import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { lazyClients } from './lazy-clients.ts';

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`;

describe('lazyClients', () => {
  const saved = process.env.KUBECONFIG;
  afterEach(() => {
    if (saved === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = saved;
  });

  it('reads the kubeconfig on first use, and again after a failed read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lazy-clients-'));
    const file = join(dir, 'config');
    process.env.KUBECONFIG = file;
    try {
      // built without a kubeconfig: nothing is read yet
      const { kube, webhookCore } = lazyClients('ns');
      await expect(kube.warm()).rejects.toThrow(/ENOENT/);
      await expect(webhookCore.getConfigMap('x')).rejects.toThrow(/ENOENT/);
      // mounted late: the next call finds it
      writeFileSync(file, KUBECONFIG);
      await expect(kube.warm()).resolves.toBeUndefined();
      expect(kube.namespace).toBe('ns');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

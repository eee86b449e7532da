// Integration-test helper: the unified app over real HTTP on loopback (Node), backed by the real
// apiserver through the functions' ServiceAccount.
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import type { KubeConfig } from '@kubernetes/client-node';
import { type App, createApp } from '../app.ts';
import { loadConfig } from '../config.ts';
import { createFileEventStore } from '../lib/event-store.ts';
import { createKubeClient } from '../lib/kube-client.ts';
import { createLogger } from '../lib/log.ts';
import { testRequireRole } from './auth.ts';

export interface Served {
  url: string;
  app: App;
  logs: string[];
  workspace: string;
  close(): Promise<void>;
}

export async function serveFunctions(
  kc: KubeConfig,
  namespace: string,
  env: Record<string, string>,
): Promise<Served> {
  const workspace = mkdtempSync(join(tmpdir(), 'ai-agents-fn-int-'));
  const logs: string[] = [];
  const config = loadConfig({ WORKSPACE_DIR: workspace, NAMESPACE: namespace, ...env });
  const app = createApp({
    config,
    kube: createKubeClient(kc, namespace),
    events: createFileEventStore(workspace),
    auth: { requireRole: testRequireRole },
    log: createLogger('info', (l) => logs.push(l)),
    eventStream: { pollMs: 50, phaseCheckMs: 200 },
  });
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) =>
    server.listening ? resolve() : server.once('listening', () => resolve()),
  );
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    app,
    logs,
    workspace,
    async close() {
      await app.services.statusWriter.flushAll();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
    },
  };
}

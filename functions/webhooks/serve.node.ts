// Serves a per-source webhook receiver on Node: boot from the environment (WEBHOOK_SOURCE_NAME
// set), listen, then load the Kubernetes client after the first answer (lib/warm-after-start.ts);
// on SIGTERM/SIGINT stop accepting, flush the delivery ledger and exit. Reads the environment only
// when called, so that the modules can be evaluated ahead of time (functions/webhooks/build.ts
// puts them in a startup snapshot). main.node.ts calls it; so does the bundle's entry.
import { bootOrExit, serveOnNode } from '../lib/serve-on-node.ts';
import { bootWebhookOnly } from './boot.ts';

/** Starts the server; a bad configuration is written to stderr and the process exits 1. */
export async function serveNode(env: Record<string, string | undefined>): Promise<void> {
  const started = performance.now();
  const { app, config, log, receiver, kube } = bootOrExit(() => bootWebhookOnly(env));
  await serveOnNode({
    fetch: app.fetch,
    port: config.port,
    hostname: env.HOST,
    log,
    started,
    warm: () => kube.warm(),
    flush: () => receiver.ledger.flush(),
    fields: { source: config.webhookSourceName },
  });
}

/**
 * For a startup snapshot, before it is taken: boots with a stand-in environment and matches the
 * routes a start answers first, then drops the result, so that the snapshot holds that code
 * compiled. Opens no file, timer or socket and draws no random numbers.
 */
export function prepare(): void {
  const { app } = bootWebhookOnly({ WEBHOOK_SOURCE_NAME: 'snapshot' });
  for (const [method, path] of [
    ['GET', '/ready'],
    ['GET', '/health'],
    ['POST', '/api/webhooks/snapshot'],
  ] as const) {
    app.router.match(method, path);
  }
}

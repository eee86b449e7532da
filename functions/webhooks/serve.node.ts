// Serves a per-source webhook receiver on Node: boot from the environment (WEBHOOK_SOURCE_NAME
// set), listen, then load the Kubernetes client after the first answer (lib/warm-after-start.ts);
// on SIGTERM/SIGINT stop accepting, flush the delivery ledger and exit. Reads the environment only
// when called, so that the modules can be evaluated ahead of time (functions/webhooks/build.ts
// puts them in a startup snapshot). main.node.ts calls it; so does the bundle's entry.
import { stopOnSignals } from '../lib/stop-on-signals.ts';
import { warmAfterStart } from '../lib/warm-after-start.ts';
import { type BootedWebhook, bootWebhookOnly } from './boot.ts';

/** Starts the server; a bad configuration is written to stderr and the process exits 1. */
export async function serveNode(env: Record<string, string | undefined>): Promise<void> {
  const started = performance.now();
  let booted: BootedWebhook;
  try {
    booted = bootWebhookOnly(env);
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  }
  const { app, config, log, receiver, kube } = booted;
  // loaded here, not with the modules: it reads the global Request and Response as it loads, which
  // a startup snapshot cannot hold (functions/build.ts)
  const { serve } = await import('@hono/node-server');
  const warming = warmAfterStart(app.fetch, () => kube.warm(), log, started);
  const server = serve(
    { fetch: warming.fetch, port: config.port, hostname: env.HOST ?? '0.0.0.0' },
    (info) => {
      log.info('listening', {
        port: info.port,
        runtime: 'node',
        source: config.webhookSourceName,
        startMs: Math.round(performance.now() - started),
      });
      warming.listening();
    },
  );
  stopOnSignals(server, log, () => receiver.ledger.flush());
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

// Node entry of a per-source webhook pod: `WEBHOOK_SOURCE_NAME=<source> node functions/webhooks/main.node.ts`.
// Serves only that source (see app.ts); the Kubernetes client loads after the first answer
// (lib/warm-after-start.ts); flushes the delivery ledger on SIGTERM/SIGINT.
import { serve } from '@hono/node-server';
import { stopOnSignals } from '../lib/stop-on-signals.ts';
import { warmAfterStart } from '../lib/warm-after-start.ts';
import { type BootedWebhook, bootWebhookOnly } from './boot.ts';

const started = performance.now();
let booted: BootedWebhook;
try {
  booted = bootWebhookOnly(process.env);
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
}
const { app, config, log, receiver, kube } = booted;
const warming = warmAfterStart(app.fetch, () => kube.warm(), log, started);

const server = serve(
  { fetch: warming.fetch, port: config.port, hostname: process.env.HOST ?? '0.0.0.0' },
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

// Node entry of a per-source webhook pod: `WEBHOOK_SOURCE_NAME=<source> node functions/webhooks/main.node.ts`.
// Serves only that source (see app.ts); flushes the delivery ledger on SIGTERM/SIGINT.
import { serve } from '@hono/node-server';
import { type BootedWebhook, bootWebhookOnly } from './boot.ts';

let booted: BootedWebhook;
try {
  booted = bootWebhookOnly(process.env);
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
}
const { app, config, log, receiver } = booted;

const server = serve(
  { fetch: app.fetch, port: config.port, hostname: process.env.HOST ?? '0.0.0.0' },
  (info) => log.info('listening', { port: info.port, runtime: 'node', source: config.webhookSourceName }),
);

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  log.info('stopping', { signal });
  server.close();
  await receiver.ledger.flush().catch(() => {});
  process.exit(0);
};
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));

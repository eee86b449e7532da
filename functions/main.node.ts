// Node entry: `node functions/main.node.ts` (or the bundle built by functions/build.ts). Listens,
// then loads the Kubernetes client in the background; on SIGTERM/SIGINT stops accepting, flushes
// queued status writes and exits.
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { type Booted, boot } from './boot.ts';

const started = performance.now();
let booted: Booted;
try {
  booted = boot(process.env, { getPeerAddress: (c) => getConnInfo(c).remote.address });
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
}
const { app, config, log, kube } = booted;

const server = serve(
  { fetch: app.fetch, port: config.port, hostname: process.env.HOST ?? '0.0.0.0' },
  (info) => {
    log.info('listening', {
      port: info.port,
      runtime: 'node',
      startMs: Math.round(performance.now() - started),
    });
    setTimeout(() => {
      kube.warm().then(
        () => log.info('kubernetes client loaded', { sinceStartMs: Math.round(performance.now() - started) }),
        (err) => log.error('kubernetes client failed to load', { error: String(err).slice(0, 500) }),
      );
    }, 0);
  },
);

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  log.info('stopping', { signal });
  server.close();
  await app.services.statusWriter.flushAll().catch(() => {});
  process.exit(0);
};
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));

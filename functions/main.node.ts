// Node entry: `node functions/main.node.ts` (or the bundle built by functions/build.ts). Listens,
// then loads the Kubernetes client in the background; on SIGTERM/SIGINT stops accepting, flushes
// queued status writes and exits.
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { collectDefaultMetrics } from 'prom-client';
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
// process metrics (memory, CPU, event loop) on Node; the Deno entry has no equivalent
collectDefaultMetrics({ register: app.services.metrics.registry, prefix: 'ai_agents_functions_' });

// The Kubernetes client loads (blocking the event loop for a moment) once the first request —
// normally the readiness probe — has been answered, or a second after listening; an API call that
// comes first loads it itself.
let warming = false;
const warm = () => {
  if (warming) return;
  warming = true;
  setTimeout(() => {
    kube.warm().then(
      () => log.info('kubernetes client loaded', { sinceStartMs: Math.round(performance.now() - started) }),
      (err) => log.error('kubernetes client failed to load', { error: String(err).slice(0, 500) }),
    );
  }, 10);
};
type Fetch = typeof app.fetch;
let handle: Fetch = async (req, env) => {
  const res = await app.fetch(req, env);
  handle = app.fetch; // from now on, straight to the app
  warm();
  return res;
};
const server = serve(
  {
    fetch: (req, env) => handle(req, env),
    port: config.port,
    hostname: process.env.HOST ?? '0.0.0.0',
  },
  (info) => {
    log.info('listening', {
      port: info.port,
      runtime: 'node',
      startMs: Math.round(performance.now() - started),
    });
    setTimeout(warm, 1000);
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

// Node entry: `node functions/main.node.ts`. Serves the unified app with @hono/node-server, stops
// on SIGTERM/SIGINT after flushing queued status writes.
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { boot } from './boot.ts';

let booted: ReturnType<typeof boot>;
try {
  booted = boot(process.env, { getPeerAddress: (c) => getConnInfo(c).remote.address });
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
}
const { app, config, log } = booted;

const server = serve(
  { fetch: app.fetch, port: config.port, hostname: process.env.HOST ?? '0.0.0.0' },
  (info) => log.info('listening', { port: info.port, runtime: 'node' }),
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

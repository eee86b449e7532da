// Deno entry: `deno task start` (deno.json). Same app, served by Deno.serve; the Kubernetes client
// loads in the background once listening.
import { getConnInfo } from 'hono/deno';
import { type Booted, boot } from './boot.ts';

declare const Deno: {
  env: { toObject(): Record<string, string> };
  serve(
    opts: {
      port: number;
      hostname?: string;
      signal?: AbortSignal;
      onListen?: (addr: { port: number }) => void;
    },
    handler: (req: Request, info: unknown) => Response | Promise<Response>,
  ): { finished: Promise<void> };
  addSignalListener(signal: 'SIGTERM' | 'SIGINT', handler: () => void): void;
  exit(code: number): never;
};

const env = Deno.env.toObject();
let booted: Booted;
try {
  booted = boot(env, { getPeerAddress: (c) => getConnInfo(c).remote.address });
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  Deno.exit(1);
}
const { app, config, log, kube } = booted;
// As in main.node.ts: load the Kubernetes client after the first answer (or a second after listening).
let warming = false;
const warm = () => {
  if (warming) return;
  warming = true;
  setTimeout(() => {
    kube
      .warm()
      .catch((err) => log.error('kubernetes client failed to load', { error: String(err).slice(0, 500) }));
  }, 10);
};
const abort = new AbortController();
const server = Deno.serve(
  {
    port: config.port,
    hostname: env.HOST ?? '0.0.0.0',
    signal: abort.signal,
    onListen: ({ port }) => {
      log.info('listening', { port, runtime: 'deno' });
      setTimeout(warm, 1000);
    },
  },
  async (req, info) => {
    const res = await app.fetch(req, info);
    warm();
    return res;
  },
);

const stop = async (signal: string) => {
  log.info('stopping', { signal });
  abort.abort();
  await server.finished;
  await app.services.statusWriter.flushAll().catch(() => {});
  Deno.exit(0);
};
Deno.addSignalListener('SIGTERM', () => void stop('SIGTERM'));
Deno.addSignalListener('SIGINT', () => void stop('SIGINT'));

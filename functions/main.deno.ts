// Deno entry: `deno task start` (see deno.json). Same app, served by Deno.serve.
import { getConnInfo } from 'hono/deno';
import { boot } from './boot.ts';

declare const Deno: {
  env: { toObject(): Record<string, string> };
  serve(
    opts: {
      port: number;
      hostname?: string;
      onListen?: (addr: { port: number }) => void;
      signal?: AbortSignal;
    },
    handler: (req: Request, info: unknown) => Response | Promise<Response>,
  ): { finished: Promise<void> };
  addSignalListener(signal: 'SIGTERM' | 'SIGINT', handler: () => void): void;
  exit(code: number): never;
};

const env = Deno.env.toObject();
let booted: ReturnType<typeof boot>;
try {
  booted = boot(env, { getPeerAddress: (c) => getConnInfo(c).remote.address });
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  Deno.exit(1);
}
const { app, config, log } = booted;
const abort = new AbortController();
const server = Deno.serve(
  {
    port: config.port,
    hostname: env.HOST ?? '0.0.0.0',
    signal: abort.signal,
    onListen: ({ port }) => log.info('listening', { port, runtime: 'deno' }),
  },
  (req, info) => app.fetch(req, info),
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

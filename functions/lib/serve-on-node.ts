// What the Node entries (serve.node.ts, webhooks/serve.node.ts) share: boot or exit with the
// reason, listen and say so, load the Kubernetes client after the first answer
// (warm-after-start.ts), and stop on SIGTERM/SIGINT (stop-on-signals.ts).
import type { Http2Bindings, HttpBindings } from '@hono/node-server';
import type { LogFields, Logger } from './log.ts';
import { stopOnSignals } from './stop-on-signals.ts';
import { warmAfterStart } from './warm-after-start.ts';

/** `boot()`, or — a bad configuration — its message on stderr and exit 1 before anything listens. */
export function bootOrExit<T>(boot: () => T): T {
  try {
    return boot();
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  }
}

export interface ServeOnNode {
  fetch: (req: Request, env: HttpBindings | Http2Bindings) => Response | Promise<Response>;
  port: number;
  /** The address to listen on (the HOST variable); default every IPv4 address. */
  hostname: string | undefined;
  log: Logger;
  /** performance.now() when the entry began: the "listening" line says how long ago that was */
  started: number;
  /** What waits for the first answer: the Kubernetes client, and what else need not delay it. */
  warm: () => Promise<void>;
  /** What to write before exiting on SIGTERM/SIGINT. */
  flush: () => Promise<unknown>;
  /** More fields for the "listening" line. */
  fields?: LogFields;
}

export async function serveOnNode(o: ServeOnNode): Promise<void> {
  // loaded here, not with the modules: it reads the global Request, Response and Headers as it
  // loads, which load node:http and node:http2 — builtins a startup snapshot cannot hold
  // (functions/build.ts)
  const { serve } = await import('@hono/node-server');
  const warming = warmAfterStart(o.fetch, o.warm, o.log, o.started);
  const server = serve({ fetch: warming.fetch, port: o.port, hostname: o.hostname ?? '0.0.0.0' }, (info) => {
    o.log.info('listening', {
      port: info.port,
      runtime: 'node',
      ...o.fields,
      startMs: Math.round(performance.now() - o.started),
    });
    warming.listening();
  });
  stopOnSignals(server, o.log, o.flush);
}

// Serves the API on Node: boot(env), listen, then load the Kubernetes client in the background; on
// SIGTERM/SIGINT stop accepting, flush queued status writes and exit. Reads the environment only
// when called, so that the modules can be evaluated ahead of time (functions/build.ts puts them in
// a startup snapshot) and the process still takes its configuration from the environment it
// starts in. functions/main.node.ts calls it; so does the bundle's entry.
import { getConnInfo } from '@hono/node-server/conninfo';
import { collectDefaultMetrics, Gauge, type Registry } from 'prom-client';
import { boot } from './boot.ts';
import { submitBody } from './jobs/submit.ts';
import { bootOrExit, serveOnNode } from './lib/serve-on-node.ts';

const METRICS_PREFIX = 'ai_agents_functions_';

/**
 * Starts the server; a bad configuration is written to stderr and the process exits 1 before
 * anything listens.
 */
export async function serveNode(env: Record<string, string | undefined>): Promise<void> {
  const started = performance.now();
  const { app, config, log, kube } = bootOrExit(() =>
    boot(env, { getPeerAddress: (c) => getConnInfo(c).remote.address }),
  );
  const registry = app.services.metrics.registry;
  await serveOnNode({
    fetch: app.fetch,
    port: config.port,
    hostname: env.HOST,
    log,
    started,
    warm: () => {
      registerProcessMetrics(registry);
      return kube.warm();
    },
    flush: () => app.services.statusWriter.flushAll(),
  });
}

/**
 * Process metrics (memory, CPU, event loop) on Node; the Deno entry has no equivalent. Registered
 * with the Kubernetes client, after the first answer: they cost a start a few milliseconds, and a
 * scrape in the process's first moments simply finds them missing.
 */
function registerProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry, prefix: METRICS_PREFIX });
  // prom-client reads the start time as it loads, which in a startup snapshot is the image build
  const startTime = `${METRICS_PREFIX}process_start_time_seconds`;
  const startSeconds = Math.round(Date.now() / 1000 - process.uptime());
  registry.removeSingleMetric(startTime);
  new Gauge({
    name: startTime,
    help: 'Start time of the process since unix epoch in seconds.',
    registers: [registry],
    aggregator: 'omit',
    collect() {
      this.set(startSeconds);
    },
  });
}

/**
 * For a startup snapshot (functions/build.ts), before it is taken: runs what a start runs before it
 * answers — boot() with a stand-in environment, the router's first matches — and the first parse
 * of a submit body, then drops the result. The snapshot keeps the bytecode V8 compiled meanwhile,
 * so the process that starts from it compiles none of that again. Opens no file, timer or socket
 * and draws no random numbers.
 */
export function prepare(): void {
  const secret = 'snapshot-only-secret-0123456789abcdef';
  const { app } = boot(
    {
      INGEST_TOKEN_SECRET: secret,
      JWT_SECRET: secret,
      SUBMIT_API_KEYS: `snapshot:${secret}`,
      OIDC_ISSUER: 'http://127.0.0.1:9',
      OIDC_CLIENT_ID: 'snapshot',
      OIDC_CLIENT_SECRET: 'snapshot',
      OIDC_REDIRECT_URI: 'http://127.0.0.1/api/auth/callback',
    },
    { getPeerAddress: (c) => getConnInfo(c).remote.address },
  );
  for (const [method, path] of [
    ['GET', '/ready'],
    ['GET', '/health'],
    ['POST', '/api/jobs/submit'],
    ['GET', '/api/jobs/ir-1/events'],
  ] as const) {
    app.router.match(method, path);
  }
  submitBody.safeParse({ agent: 'developer', prompt: 'snapshot', labels: { team: 'snapshot' } });
}

// Controller entry: configuration, Kubernetes client, informers, leader election, HTTP endpoints
// (/health, /ready, /metrics) and graceful shutdown.
import { createServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { type Controller, createController } from './controller.ts';
import { createKubeClient } from './kube.ts';
import { type KubeAccess, loadKubeAccess } from './kube-access.ts';
import { createLeaderElector, type LeaderElector } from './leader.ts';
import { createLogger, type Logger } from './log.ts';
import { createProcessRuntime } from './process-runtime.ts';

export interface Running {
  controller: Controller;
  server: Server;
  elector?: LeaderElector;
  port: number;
  stop(): Promise<void>;
}

/** Starts the controller; it owns `access` (its connections close on stop). */
export async function startController(config: Config, log: Logger, access?: KubeAccess): Promise<Running> {
  const client = createKubeClient(access ?? (await loadKubeAccess()));
  // executor runtime selection: EXECUTOR_RUNTIME=process runs executors as local child processes
  const runtime =
    config.EXECUTOR_RUNTIME === 'process' ? createProcessRuntime({ config, log, client }) : undefined;
  const controller = createController({ client, config, log, ...(runtime ? { runtime } : {}) });
  controller.startInformers();

  let leading = !config.LEADER_ELECTION;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/health' || path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else if (path === '/ready' || path === '/readyz') {
      const ready = controller.hasSynced();
      res
        .writeHead(ready ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: ready ? 'ok' : 'syncing', leader: leading }));
    } else if (path === '/metrics') {
      controller.metrics.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': controller.metrics.registry.contentType }).end(body),
        (e) => res.writeHead(500).end(String(e)),
      );
    } else res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
  });
  await new Promise<void>((resolve) => server.listen(config.PORT, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  log.info('listening', { port, namespace: config.NAMESPACE ?? '(all)' });

  const begin = () => {
    leading = true;
    controller.metrics.isLeader.set(1);
    controller.startWorkers().catch((e) => {
      log.error('workers failed to start', { error: String(e) });
      process.exit(1);
    });
  };

  let elector: LeaderElector | undefined;
  if (config.LEADER_ELECTION) {
    const identity = config.POD_NAME ?? `${hostname()}-${process.pid}`;
    elector = createLeaderElector({
      client,
      namespace: config.LEASE_NAMESPACE ?? config.NAMESPACE ?? config.POD_NAMESPACE ?? 'default',
      name: config.LEASE_NAME,
      identity,
      leaseDurationMs: config.LEASE_DURATION_SECONDS * 1000,
      renewDeadlineMs: config.LEASE_RENEW_DEADLINE_SECONDS * 1000,
      retryPeriodMs: config.LEASE_RETRY_PERIOD_SECONDS * 1000,
      log,
      onStartedLeading: begin,
      onStoppedLeading() {
        // another replica may already be acting: stop at once and let Kubernetes restart us
        controller.metrics.isLeader.set(0);
        log.error('leadership lost, exiting');
        process.exit(1);
      },
    });
    elector.run();
  } else begin();

  return {
    controller,
    server,
    port,
    ...(elector ? { elector } : {}),
    async stop() {
      await elector?.stop();
      await controller.stop();
      await new Promise<void>((r) => server.close(() => r()));
      client.access.agent.destroy();
    },
  };
}

async function main() {
  let config: Config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const log = createLogger(config.LOG_LEVEL, { component: 'controller' });
  const running = await startController(config, log);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    running.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('unhandledRejection', (e) => log.error('unhandled rejection', { error: String(e) }));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => {
    process.stderr.write(`controller failed: ${String(e)}\n`);
    process.exit(1);
  });
}

// Node entries: on SIGTERM or SIGINT stop accepting, write what is still queued, then exit.
import type { Logger } from './log.ts';

export function stopOnSignals(
  server: { close(): unknown },
  log: Logger,
  flush: () => Promise<unknown>,
): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    server.close();
    await flush().catch(() => {});
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

// Node entries: load what the first API call needs (the Kubernetes client) only once the process
// has answered its first request — normally the readiness probe — or a second after listening,
// whichever comes first. Loading blocks the event loop for a moment; doing it later keeps process
// start → /ready short (DESIGN.md §5). A call that comes first simply loads the client itself.
import type { Logger } from './log.ts';

type Fetch<E> = (req: Request, env: E) => Response | Promise<Response>;

export interface WarmAfterStart<E> {
  /** The server's fetch: the app's, noting the first answer. */
  fetch: Fetch<E>;
  /** Call when the server listens. */
  listening(): void;
}

export function warmAfterStart<E>(
  appFetch: Fetch<E>,
  warm: () => Promise<void>,
  log: Logger,
  started = performance.now(),
  fallbackMs = 1000,
): WarmAfterStart<E> {
  let warming = false;
  const start = () => {
    if (warming) return;
    warming = true;
    setTimeout(() => {
      warm().then(
        () => log.info('kubernetes client loaded', { sinceStartMs: Math.round(performance.now() - started) }),
        (err) => log.error('kubernetes client failed to load', { error: String(err).slice(0, 500) }),
      );
    }, 10);
  };
  let handle: Fetch<E> = async (req, env) => {
    const res = await appFetch(req, env);
    handle = appFetch; // from now on, straight to the app
    start();
    return res;
  };
  return {
    fetch: (req, env) => handle(req, env),
    listening: () => void setTimeout(start, fallbackMs),
  };
}

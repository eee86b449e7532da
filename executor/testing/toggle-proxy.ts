// An HTTP proxy in front of a server that can be switched off (connections reset) to simulate an outage.
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ToggleProxy {
  url: string;
  down: boolean;
  /** Requests refused while down. */
  refused: number;
  close(): Promise<void>;
}

export async function startToggleProxy(target: string): Promise<ToggleProxy> {
  const upstream = new URL(target);
  const state = { down: false, refused: 0 };
  const server: Server = createServer((req, res) => {
    if (state.down) {
      state.refused += 1;
      req.socket.destroy();
      return;
    }
    const forward = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        path: req.url,
        method: req.method,
        headers: req.headers,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const proxy = state as ToggleProxy;
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return proxy;
}

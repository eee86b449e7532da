// /health and /ready (the seed's probe contract: 200 {"status":"ok"}, no external dependency) and
// /metrics (Prometheus text).
import { Hono } from 'hono';
import type { Registry } from 'prom-client';

export function healthApp(registry: Registry): Hono {
  const app = new Hono();
  const ok = { status: 'ok' } as const;
  app.get('/health', (c) => c.json(ok));
  app.get('/ready', (c) => c.json(ok));
  app.get('/metrics', async (c) => {
    c.header('Content-Type', registry.contentType);
    return c.body(await registry.metrics());
  });
  return app;
}

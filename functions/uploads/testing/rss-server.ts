// A real @hono/node-server on loopback serving the uploads routes, for the flat-memory test:
// the test streams a large upload to it and reads the process's peak RSS from GET /rss.
// Env: UPLOADS_DIR, UPLOADS_MAX_BYTES, TEST_API_KEY. Prints {"port":N} once listening.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createApiKeyStore } from '../../lib/api-keys.ts';
import { ApiError, errorHandler } from '../../lib/errors.ts';
import { createLogger } from '../../lib/log.ts';
import { uploadsApp } from '../app.ts';
import { loadUploadsConfig } from '../config.ts';
import { createUploadStore } from '../store.ts';

const cfg = loadUploadsConfig(process.env);
const app = new Hono();
app.get('/rss', (c) =>
  c.json({ rss: process.memoryUsage.rss(), maxRss: process.resourceUsage().maxRSS * 1024 }),
);
app.route(
  '/api/uploads',
  uploadsApp({
    store: createUploadStore(cfg),
    apiKeys: createApiKeyStore({
      staticKeys: [{ caller: 'bench', key: process.env.TEST_API_KEY ?? '' }],
      cacheSeconds: 10,
    }),
    requireRole: () => () => {
      throw new ApiError('unauthorized', 'API key only here');
    },
  }),
);
app.onError(errorHandler(createLogger('error')));
const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => {
  process.stdout.write(`${JSON.stringify({ port: info.port })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));

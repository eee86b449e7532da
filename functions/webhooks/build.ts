// Bundles a per-source webhook receiver (functions/webhooks/serve.node.ts) into dist/webhook/
// (`node functions/webhooks/build.ts [outDir]`), the webhook image's program, as functions/build.ts
// does the API's: one minified, ASCII-only file (webhook.cjs) for what runs before the first
// answer, chunks/ for what loads after it (@kubernetes/client-node, undici) and @hono/node-server,
// a startup snapshot (webhook.blob) that holds webhook.cjs evaluated, and the compile cache for the
// chunks. Nothing outside outDir is needed.
import { join } from 'node:path';
import { type BuildOptions, bundleWithSnapshot, type SnapshotProgram, snapshotStartArgs } from '../build.ts';

export const WEBHOOK_OUT_DIR = join(import.meta.dirname, '..', '..', 'dist', 'webhook');
const WEBHOOK_PROGRAM_NAME = 'webhook';

/**
 * The arguments of `node` that start the receiver built in `dir` (the webhook image's CMD, the
 * benchmark, the tests; functions/build.test.ts keeps the Dockerfile in step).
 */
export const webhookStartArgs = (dir: string): string[] => snapshotStartArgs(dir, WEBHOOK_PROGRAM_NAME);

const WEBHOOK: SnapshotProgram = {
  name: WEBHOOK_PROGRAM_NAME,
  source: join(import.meta.dirname, 'serve.node.ts'),
  warm: {
    env: () => ({ WEBHOOK_SOURCE_NAME: 'warm' }),
    // a delivery: the receiver reads its source, which loads the Kubernetes client (refused)
    probes: [
      {
        area: 'kubernetes client',
        path: '/api/webhooks/warm',
        init: {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-github-event': 'ping' },
          body: '{}',
        },
      },
    ],
  },
};

/** Builds the bundle and its snapshot into outDir (emptied first); resolves with outDir. */
export function buildWebhook(outDir = WEBHOOK_OUT_DIR, opts: BuildOptions = {}): Promise<string> {
  return bundleWithSnapshot(WEBHOOK, outDir, opts);
}

if (import.meta.main) console.log(await buildWebhook(process.argv[2]));

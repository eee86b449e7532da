// Bundles a per-source webhook receiver (functions/webhooks/main.node.ts) into dist/webhook/
// (`node functions/webhooks/build.ts [outDir]`), the webhook image's program: one minified,
// ASCII-only file (webhook.cjs) for what runs before the first answer, and chunks/ for what loads
// after it (@kubernetes/client-node, undici), instead of the TypeScript sources and thousands of
// modules resolved from node_modules at every start. Nothing outside outDir is needed.
import { join } from 'node:path';
import { bundleForNode } from '../build.ts';

export const WEBHOOK_OUT_DIR = join(import.meta.dirname, '..', '..', 'dist', 'webhook');
/** The file the webhook image runs (`node <outDir>/webhook.cjs`). */
export const WEBHOOK_ENTRY = 'webhook.cjs';

/** Builds the bundle into outDir (emptied first); resolves with outDir. */
export async function buildWebhook(outDir = WEBHOOK_OUT_DIR): Promise<string> {
  await bundleForNode({ webhook: join(import.meta.dirname, 'main.node.ts') }, outDir);
  return outDir;
}

if (import.meta.main) console.log(await buildWebhook(process.argv[2]));

// Bundles a per-source webhook receiver (functions/webhooks/main.node.ts) into dist/webhook/
// (`node functions/webhooks/build.ts [outDir]`), the webhook image's program: one minified,
// ASCII-only file (webhook.cjs) and the chunks it loads, instead of the TypeScript sources and
// thousands of modules resolved from node_modules at every start. Nothing outside outDir is needed.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'rolldown';

export const WEBHOOK_OUT_DIR = join(import.meta.dirname, '..', '..', 'dist', 'webhook');
/** The file the webhook image runs (`node <outDir>/webhook.cjs`). */
export const WEBHOOK_ENTRY = 'webhook.cjs';

/** Builds the bundle into outDir (emptied first); resolves with outDir. */
export async function buildWebhook(outDir = WEBHOOK_OUT_DIR): Promise<string> {
  await rm(outDir, { recursive: true, force: true });
  await build({
    input: { webhook: join(import.meta.dirname, 'main.node.ts') },
    platform: 'node',
    logLevel: 'warn',
    onLog(level, log, handler) {
      // client-node imports undici statically, so kube-http's lazy import of it is moot here
      if (log.code === 'INEFFECTIVE_DYNAMIC_IMPORT') return;
      handler(level, log);
    },
    output: {
      dir: outDir,
      format: 'cjs',
      entryFileNames: '[name].cjs',
      chunkFileNames: 'chunks/[name]-[hash].cjs',
      minify: true,
      // non-ASCII source makes V8 decode and scan a two-byte string
      charset: 'ascii',
      // not read at run time: for mapping a stack trace by hand
      sourcemap: true,
    },
  });
  return outDir;
}

if (import.meta.main) console.log(await buildWebhook(process.argv[2]));

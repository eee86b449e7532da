// Bundles the Node entry into dist/functions/ (`node functions/build.ts`): one ESM file for the
// app and a separate chunk for @kubernetes/client-node, loaded after the server listens. Loading
// one bundle instead of thousands of modules is what keeps process start → /ready short.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'rolldown';

export const OUT_DIR = join(import.meta.dirname, '..', 'dist', 'functions');

export async function buildFunctions(outDir = OUT_DIR): Promise<string> {
  await rm(outDir, { recursive: true, force: true });
  await build({
    input: { main: join(import.meta.dirname, 'main.node.ts') },
    platform: 'node',
    logLevel: 'warn',
    output: { dir: outDir, format: 'esm', entryFileNames: '[name].mjs', chunkFileNames: '[name]-[hash].mjs' },
  });
  return join(outDir, 'main.mjs');
}

if (import.meta.main) console.log(await buildFunctions(process.argv[2]));

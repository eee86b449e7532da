// Dashboard bundle budget: the production build's JavaScript, gzipped, ≤ 50 KB (DESIGN.md §5).
// Builds with the real vite.config.ts into a temporary folder and weighs every .js file it emits
// (the initial chunk and the lazy ones alike), gzip at the default level as nginx or `gzip` would.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { BenchContext, BenchRow } from './harness.ts';

const ROOT = resolve(import.meta.dirname, '..');
const BUDGET_KB = 50;

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await files(p)));
    else out.push(p);
  }
  return out;
}

export default async function uiBench(ctx?: BenchContext): Promise<BenchRow[]> {
  const { build } = await import('vite');
  const outDir = await mkdtemp(join(tmpdir(), 'ui-bench-'));
  try {
    await build({
      configFile: join(ROOT, 'vite.config.ts'),
      logLevel: 'silent',
      build: { outDir, emptyOutDir: true },
    });
    const html = await readFile(join(outDir, 'index.html'), 'utf8');
    const kb = (n: number) => Math.round((n / 1000) * 10) / 10;
    let total = 0;
    let initial = 0;
    let raw = 0;
    const chunks: string[] = [];
    for (const f of (await files(outDir)).filter((f) => f.endsWith('.js'))) {
      const buf = await readFile(f);
      const gz = gzipSync(buf).length;
      const name = f.slice(outDir.length + 1);
      total += gz;
      raw += buf.length;
      if (html.includes(name)) initial += gz;
      chunks.push(`${name} ${kb(gz)} KB`);
    }
    ctx?.log(`ui chunks (gzip): ${chunks.join(', ')}`);
    return [
      {
        measure: 'dashboard JavaScript, all chunks, gzip',
        value: kb(total),
        unit: 'KB',
        target: `<= ${BUDGET_KB} KB`,
        pass: total <= BUDGET_KB * 1000,
      },
      { measure: 'dashboard JavaScript, initial chunk, gzip', value: kb(initial), unit: 'KB' },
      { measure: 'dashboard JavaScript, all chunks, minified', value: kb(raw), unit: 'KB' },
    ];
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  for (const row of await uiBench()) console.log(JSON.stringify(row));
}

// `npm run bench`: runs every `**/*.bench.ts` (bench/apiserver.bench.ts first: it measures the
// baselines the others compare against), prints a table and writes bench/results/*.json.
import { globSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type ControlPlane, installCrds, startControlPlane } from '../scripts/controlplane/index.ts';
import type { BenchContext, BenchRow } from './harness.ts';

const root = join(import.meta.dirname, '..');
const only = process.argv.slice(2);
const files = globSync('**/*.bench.ts', { cwd: root, exclude: (p) => p.includes('node_modules') })
  .filter((f) => only.length === 0 || f.includes('apiserver') || only.some((o) => f.includes(o)))
  .sort(
    (a, b) =>
      Number(b.includes('apiserver.bench')) - Number(a.includes('apiserver.bench')) || a.localeCompare(b),
  );

const started: ControlPlane[] = [];
const lazy = (full: boolean) => {
  let p: Promise<ControlPlane> | undefined;
  return () => {
    p ??= startControlPlane({ full }).then(async (cp) => {
      started.push(cp);
      await installCrds(cp);
      return cp;
    });
    return p;
  };
};
const ctx: BenchContext = {
  controlPlane: lazy(false),
  fullControlPlane: lazy(true),
  baselines: new Map(),
  log: (l) => console.error(`  ${l}`),
};

const rows: (BenchRow & { file: string })[] = [];
let failed = false;
try {
  for (const file of files) {
    console.error(`▶ ${file}`);
    try {
      const mod = (await import(pathToFileURL(join(root, file)).href)) as {
        default: (c: BenchContext) => Promise<BenchRow[]>;
      };
      for (const row of await mod.default(ctx)) rows.push({ ...row, file });
    } catch (e) {
      failed = true;
      console.error(`  ✗ ${file} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    }
  }
} finally {
  for (const cp of started) await cp.stop();
}

const fmt = (n: number | undefined) =>
  n === undefined ? '' : Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toFixed(3);
const table = rows.map((r) => ({
  measure: r.measure,
  value: `${fmt(r.value)} ${r.unit}`,
  baseline: r.baseline === undefined ? '' : `${fmt(r.baseline)} (${r.baselineName ?? ''})`,
  ratio: fmt(r.ratio),
  target: r.target ?? '',
  result: r.pass === undefined ? '' : r.pass ? 'pass' : 'FAIL',
}));
console.table(table);

const outDir = join(root, 'bench', 'results');
mkdirSync(outDir, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const report = {
  date: new Date().toISOString(),
  node: process.version,
  files: files.map((f) => relative(root, f)),
  rows,
};
writeFileSync(join(outDir, `bench-${stamp}.json`), JSON.stringify(report, null, 2));
writeFileSync(join(outDir, 'latest.json'), JSON.stringify(report, null, 2));
console.error(`results: bench/results/bench-${stamp}.json`);
if (failed || rows.some((r) => r.pass === false)) process.exitCode = 1;

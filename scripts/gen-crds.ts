// Writes k8s/infra/crd-<singular>.yaml for every resource in api/v1alpha1 (`npm run gen:crds`).
// `--check` exits 1 and names the files that differ instead of writing.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crdFiles } from '../api/v1alpha1/crd-files.ts';

const root = new URL('..', import.meta.url).pathname;
const check = process.argv.includes('--check');
const stale: string[] = [];
for (const { path, content } of crdFiles()) {
  const file = join(root, path);
  if (check) {
    let current = '';
    try {
      current = readFileSync(file, 'utf8');
    } catch {}
    if (current !== content) stale.push(path);
  } else {
    writeFileSync(file, content);
    console.log(`wrote ${path}`);
  }
}
if (stale.length) {
  console.error(`out of date (run npm run gen:crds): ${stale.join(', ')}`);
  process.exit(1);
}

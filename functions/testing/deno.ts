// Runs a `deno test` file with the `deno` npm package and checks that every case passed.
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** @param file the suite's Deno entry, relative to the repository root */
export async function expectDenoSuitePasses(file: string, cases: number, env: Record<string, string> = {}) {
  const deno = join(root, 'node_modules', '.bin', 'deno');
  const { code, out } = await new Promise<{ code: number; out: string }>((resolve) => {
    execFile(
      deno,
      ['test', '--no-check', '-A', file],
      { cwd: root, env: { ...process.env, NO_COLOR: '1', ...env }, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}\n${stderr}` }),
    );
  });
  expect(out, out).toMatch(new RegExp(`ok \\| ${cases} passed \\| 0 failed`));
  expect(code).toBe(0);
}

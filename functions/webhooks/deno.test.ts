// Runs the webhooks' behavioural suite under Deno (the `deno` npm package): every case must pass.
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { suite } from './suite.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

it('the webhooks suite passes under Deno, every case', { timeout: 180_000 }, async () => {
  const deno = join(root, 'node_modules', '.bin', 'deno');
  const { code, out } = await new Promise<{ code: number; out: string }>((resolve) => {
    execFile(
      deno,
      ['test', '--no-check', '-A', 'functions/webhooks/deno.run.ts'],
      { cwd: root, env: { ...process.env, NO_COLOR: '1' }, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}\n${stderr}` }),
    );
  });
  const total = Object.keys(suite).length;
  expect(out, out).toMatch(new RegExp(`ok \\| ${total} passed \\| 0 failed`));
  expect(code).toBe(0);
});

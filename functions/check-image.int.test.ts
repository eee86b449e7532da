// functions/check-image.sh in the suite: the api and webhook targets of functions/Dockerfile built
// and started step for step without Docker (as uid 1001, read-only, from another directory). It
// needs root for the uids; CI runs as root.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const isRoot = process.getuid?.() === 0;

describe('functions/check-image.sh', () => {
  it.skipIf(!isRoot)(
    'the api and webhook images start as built, with nothing from node_modules',
    () => {
      const run = spawnSync('bash', [join(import.meta.dirname, 'check-image.sh')], {
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
      expect(run.stdout).toContain('check-image: ok');
    },
    150_000,
  );
});

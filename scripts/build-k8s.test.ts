import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const script = join(import.meta.dirname, 'build-k8s.sh');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function runWith(env: Record<string, string>) {
  const cache = mkdtempSync(join(tmpdir(), 'build-k8s-test-'));
  dirs.push(cache);
  return spawnSync('bash', [script], {
    env: { ...env, AI_AGENTS_CACHE: cache, HOME: cache },
    encoding: 'utf8',
  });
}

describe('scripts/build-k8s.sh', () => {
  it('stops with a message saying what to do when Go is missing', () => {
    // a PATH with bash and coreutils but no go
    const r = runWith({ PATH: '/usr/bin:/bin' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Go is not installed');
    expect(r.stderr).toMatch(/Install Go/);
  });

  it('stops with a clear message when a module cannot be fetched', () => {
    const go = spawnSync('bash', ['-c', 'command -v go'], { encoding: 'utf8' }).stdout.trim();
    const r = runWith({
      PATH: `${dirname(go)}:/usr/bin:/bin`,
      K8S_VERSION: '0.0.1',
      GOFLAGS: '-mod=mod',
      GOPROXY: 'off',
      GOMODCACHE: join(tmpdir(), `empty-modcache-${process.pid}`),
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /error: (could not download k8s.io\/kubernetes@v0.0.1|go get of etcd failed|building)/,
    );
  }, 60_000);
});

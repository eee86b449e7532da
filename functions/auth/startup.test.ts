// Start-up of the real entry point (functions/main.node.ts): a missing or short JWT_SECRET and a
// half-configured OIDC stop the process with a clear message before it listens.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, test } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const workspace = mkdtempSync(join(tmpdir(), 'ai-agents-auth-startup-'));
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

const base = {
  PATH: process.env.PATH ?? '',
  WORKSPACE_DIR: workspace,
  NAMESPACE: 'ai-agents',
  INGEST_TOKEN_SECRET: 'ingest-secret-for-startup-tests-0123456789',
  PORT: '18089',
  HOST: '127.0.0.1',
};

function start(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['functions/main.node.ts'],
      { cwd: root, env: { ...base, ...env }, timeout: 30_000 },
      (err, _stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr }),
    );
    child.stdin?.end();
  });
}

test.each([
  ['JWT_SECRET missing', {}, /JWT_SECRET is not set: .* at least 32 bytes/],
  ['JWT_SECRET short', { JWT_SECRET: 'too-short' }, /JWT_SECRET is 9 bytes; it must be at least 32 bytes/],
  [
    'OIDC half-configured',
    { JWT_SECRET: 'x'.repeat(40), OIDC_ISSUER: 'https://id.example.test', OIDC_CLIENT_ID: 'ai-agents' },
    /OIDC is half-configured: OIDC_ISSUER, OIDC_CLIENT_ID set but OIDC_CLIENT_SECRET, OIDC_REDIRECT_URI missing/,
  ],
])('%s: the process exits 1 with the reason', { timeout: 60_000 }, async (_name, env, message) => {
  const { code, stderr } = await start(env as Record<string, string>);
  expect(code).toBe(1);
  expect(stderr).toMatch(/auth configuration is invalid/);
  expect(stderr).toMatch(message);
});

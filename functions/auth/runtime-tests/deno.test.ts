// Runs the auth runtime suite under Deno (the `deno` npm package) against a real oidc-provider that
// this Node process starts on 127.0.0.1, and checks every case passed.
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ACCOUNTS } from '../testing/fixtures.ts';
import { startTestProvider, type TestProvider } from '../testing/provider.ts';
import { authSuite, type SuiteProvider } from './suite.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const APP_ORIGIN = 'http://localhost:8787';
let op: TestProvider;
beforeAll(async () => {
  op = await startTestProvider({
    redirectUri: `${APP_ORIGIN}/api/auth/callback`,
    postLogoutRedirectUri: `${APP_ORIGIN}/`,
    accounts: ACCOUNTS,
  });
});
afterAll(() => op?.close());

it('the auth suite passes under Deno, every case', { timeout: 180_000 }, async () => {
  const provider: SuiteProvider = {
    issuer: op.issuer,
    clientId: op.clientId,
    clientSecret: op.clientSecret,
    appOrigin: APP_ORIGIN,
  };
  const deno = join(root, 'node_modules', '.bin', 'deno');
  const { code, out } = await new Promise<{ code: number; out: string }>((resolve) => {
    execFile(
      deno,
      ['test', '--no-check', '-A', 'functions/auth/runtime-tests/deno.run.ts'],
      {
        cwd: root,
        env: { ...process.env, NO_COLOR: '1', AUTH_SUITE_PROVIDER: JSON.stringify(provider) },
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}\n${stderr}` }),
    );
  });
  const total = Object.keys(authSuite(provider)).length;
  expect(out, out).toMatch(new RegExp(`ok \\| ${total} passed \\| 0 failed`));
  expect(code).toBe(0);
});

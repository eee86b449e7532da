// Runs the auth runtime suite under Deno (the `deno` npm package) against a real oidc-provider that
// this Node process starts on 127.0.0.1, and checks every case passed.
import { afterAll, beforeAll, it } from 'vitest';
import { expectDenoSuitePasses } from '../../testing/deno.ts';
import { ACCOUNTS } from '../testing/fixtures.ts';
import { startTestProvider, type TestProvider } from '../testing/provider.ts';
import { authSuite, type SuiteProvider } from './suite.ts';

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
  await expectDenoSuitePasses(
    'functions/auth/runtime-tests/deno.run.ts',
    Object.keys(authSuite(provider)).length,
    {
      AUTH_SUITE_PROVIDER: JSON.stringify(provider),
    },
  );
});

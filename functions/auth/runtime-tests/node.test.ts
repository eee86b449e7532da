// The auth runtime suite under Node (vitest), against a real oidc-provider on 127.0.0.1.
import { afterAll, beforeAll, describe, it } from 'vitest';
import { ACCOUNTS } from '../testing/fixtures.ts';
import { startTestProvider, type TestProvider } from '../testing/provider.ts';
import { authSuite } from './suite.ts';

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

describe('auth behaviour (node)', () => {
  // The cases are known before the provider starts; each reads its address when it runs.
  const names = Object.keys(authSuite({ issuer: '', clientId: '', clientSecret: '', appOrigin: APP_ORIGIN }));
  for (const name of names) {
    it(name, () =>
      authSuite({
        issuer: op.issuer,
        clientId: op.clientId,
        clientSecret: op.clientSecret,
        appOrigin: APP_ORIGIN,
      })[name]!(),
    );
  }
});

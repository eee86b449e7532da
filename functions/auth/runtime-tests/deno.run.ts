// The auth runtime suite under Deno: run by deno.test.ts, which starts the provider and passes its
// address in AUTH_SUITE_PROVIDER.

import { Deno, registerSuite } from '../../testing/deno-runtime.ts';
import { authSuite, type SuiteProvider } from './suite.ts';

const raw = Deno.env.get('AUTH_SUITE_PROVIDER');
if (!raw)
  throw new Error(
    'AUTH_SUITE_PROVIDER is not set: run this through functions/auth/runtime-tests/deno.test.ts',
  );
const provider = JSON.parse(raw) as SuiteProvider;

registerSuite(authSuite(provider));

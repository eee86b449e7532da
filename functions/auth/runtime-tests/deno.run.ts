// The auth runtime suite under Deno: run by deno.test.ts, which starts the provider and passes its
// address in AUTH_SUITE_PROVIDER.
import { authSuite, type SuiteProvider } from './suite.ts';

declare const Deno: {
  env: { get(name: string): string | undefined };
  test(def: {
    name: string;
    fn: () => Promise<void>;
    sanitizeOps?: boolean;
    sanitizeResources?: boolean;
  }): void;
};

const raw = Deno.env.get('AUTH_SUITE_PROVIDER');
if (!raw)
  throw new Error(
    'AUTH_SUITE_PROVIDER is not set: run this through functions/auth/runtime-tests/deno.test.ts',
  );
const provider = JSON.parse(raw) as SuiteProvider;

for (const [name, fn] of Object.entries(authSuite(provider))) {
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
}

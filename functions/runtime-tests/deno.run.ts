// The behavioural suite under Deno: `deno task test` (deno.json), also run by deno.test.ts.
import { suite } from './suite.ts';

declare const Deno: {
  test(def: {
    name: string;
    fn: () => Promise<void>;
    sanitizeOps?: boolean;
    sanitizeResources?: boolean;
  }): void;
};

for (const [name, fn] of Object.entries(suite)) {
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
}

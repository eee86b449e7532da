// The webhooks' behavioural suite under Deno (run by deno.test.ts, or directly with
// `deno test -A functions/webhooks/deno.run.ts`).
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

// The webhooks' behavioural suite under Deno (run by deno.test.ts, or directly with
// `deno test -A functions/webhooks/deno.run.ts`).

import { registerSuite } from '../testing/deno-runtime.ts';
import { suite } from './suite.ts';

registerSuite(suite);

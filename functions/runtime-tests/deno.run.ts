// The behavioural suite under Deno: `deno task test` (deno.json), also run by deno.test.ts.

import { registerSuite } from '../testing/deno-runtime.ts';
import { suite } from './suite.ts';

registerSuite(suite);

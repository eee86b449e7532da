// The webhooks' behavioural suite under Node (vitest); deno.test.ts runs the same under Deno.
import { describe, it } from 'vitest';
import { suite } from './suite.ts';

describe('webhooks behaviour (node)', () => {
  for (const [name, fn] of Object.entries(suite)) it(name, fn);
});

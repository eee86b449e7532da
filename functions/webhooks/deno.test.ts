// Runs the webhooks' behavioural suite under Deno (the `deno` npm package): every case must pass.
import { it } from 'vitest';
import { expectDenoSuitePasses } from '../testing/deno.ts';
import { suite } from './suite.ts';

it('the webhooks suite passes under Deno, every case', { timeout: 180_000 }, async () => {
  await expectDenoSuitePasses('functions/webhooks/deno.run.ts', Object.keys(suite).length);
});

// Runs the behavioural suite under Deno (the `deno` npm package) and checks every case passed.
import { it } from 'vitest';
import { expectDenoSuitePasses } from '../testing/deno.ts';
import { suite } from './suite.ts';

it('the behavioural suite passes under Deno, every case', { timeout: 180_000 }, async () => {
  await expectDenoSuitePasses('functions/runtime-tests/deno.run.ts', Object.keys(suite).length);
});

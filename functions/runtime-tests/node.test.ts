// The behavioural suite under Node (vitest).
import { describe, it } from 'vitest';
import { suite } from './suite.ts';

describe('functions behaviour (node)', () => {
  for (const [name, fn] of Object.entries(suite)) it(name, fn);
});

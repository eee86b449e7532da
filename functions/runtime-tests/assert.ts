// Runtime-neutral assertions for the behavioural suite (vitest and Deno.test both run it).
export class AssertionError extends Error {
  override name = 'AssertionError';
}

function show(v: unknown): string {
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a as object).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b as object).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

export function equal(actual: unknown, expected: unknown, what = 'value'): void {
  if (!deepEqual(actual, expected)) {
    throw new AssertionError(`${what}: expected ${show(expected)}, got ${show(actual)}`);
  }
}

export function ok(cond: unknown, what: string): asserts cond {
  if (!cond) throw new AssertionError(what);
}

/** Every key of `expected` has that value in `actual` (recursively). */
export function includes(actual: unknown, expected: Record<string, unknown>, what = 'object'): void {
  for (const [k, v] of Object.entries(expected)) {
    const got = (actual as Record<string, unknown> | undefined)?.[k];
    if (v && typeof v === 'object' && !Array.isArray(v))
      includes(got, v as Record<string, unknown>, `${what}.${k}`);
    else equal(got, v, `${what}.${k}`);
  }
}

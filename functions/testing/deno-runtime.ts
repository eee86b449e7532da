// What the suites' Deno entries (`*deno.run.ts`) use of Deno's global; the project is type-checked
// without Deno's own types.
interface DenoTestApi {
  env: { get(name: string): string | undefined };
  test(def: {
    name: string;
    fn: () => Promise<void>;
    sanitizeOps?: boolean;
    sanitizeResources?: boolean;
  }): void;
}

export const Deno = (globalThis as unknown as { Deno: DenoTestApi }).Deno;

/** Registers every case of a behavioural suite as a Deno test. */
export function registerSuite(suite: Record<string, () => Promise<void>>): void {
  for (const [name, fn] of Object.entries(suite))
    Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
}

// The stats settings from the environment: PROMETHEUS_URL (http or https base URL; unset = stats
// timeseries answer 503) and PROMETHEUS_TIMEOUT_MS (default 10000). Checked once at start.
import { z } from 'zod';
import type { StatsOptions } from './app.ts';

const schema = z.object({
  PROMETHEUS_URL: z
    .string()
    .trim()
    .optional()
    .transform((v) => (v ? v : undefined))
    .pipe(z.url({ protocol: /^https?$/, message: 'PROMETHEUS_URL must be an http(s) URL' }).optional()),
  PROMETHEUS_TIMEOUT_MS: z
    .string()
    .trim()
    .optional()
    .transform((v) => (v ? Number(v) : 10_000))
    .pipe(
      z
        .number({ message: 'PROMETHEUS_TIMEOUT_MS must be a number' })
        .int('PROMETHEUS_TIMEOUT_MS must be whole milliseconds')
        .min(100, 'PROMETHEUS_TIMEOUT_MS must be at least 100')
        .max(120_000, 'PROMETHEUS_TIMEOUT_MS must be at most 120000'),
    ),
});

/** Throws an Error listing every bad variable. */
export function loadStatsConfig(env: Record<string, string | undefined>): StatsOptions {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new Error(
      `invalid configuration:\n  - ${parsed.error.issues.map((i) => i.message).join('\n  - ')}`,
    );
  }
  return {
    ...(parsed.data.PROMETHEUS_URL ? { prometheusUrl: parsed.data.PROMETHEUS_URL } : {}),
    timeoutMs: parsed.data.PROMETHEUS_TIMEOUT_MS,
  };
}

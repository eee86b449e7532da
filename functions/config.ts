// Configuration from the environment (deployment guide, "Configuration"), validated once at
// start with every problem listed in one clear error.
import { z } from 'zod';
import { LOG_LEVELS } from './lib/log.ts';

const int = (name: string, def: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return def;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({
          code: 'custom',
          message: `${name} must be an integer in ${min}..${max} (got "${v}")`,
        });
        return z.NEVER;
      }
      return n;
    });

const str = (def: string) =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? def : v.trim()));

const namespace = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'NAMESPACE must be a lowercase RFC 1123 label')
  .max(63);

const envSchema = z.object({
  PORT: int('PORT', 3001, 1, 65535),
  LOG_LEVEL: z
    .string()
    .optional()
    .transform((v) => (v ?? 'info').toLowerCase())
    .pipe(z.enum(LOG_LEVELS, { message: `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}` })),
  APP_VERSION: str('dev'),
  WORKSPACE_DIR: str('/workspace/jobs'),
  NAMESPACE: z
    .string()
    .optional()
    .transform((v) => (v?.trim() ? v.trim() : 'ai-agents'))
    .pipe(namespace),
  SUBMIT_API_KEYS: z.string().optional(),
  INGEST_TOKEN_SECRET: z.string().optional(),
  WEBHOOK_SOURCE_NAME: z.string().optional(),
  SUBMIT_RATE_PER_MINUTE: int('SUBMIT_RATE_PER_MINUTE', 600, 1, 1_000_000),
  SUBMIT_RATE_BURST: int('SUBMIT_RATE_BURST', 60, 1, 1_000_000),
  MAX_BODY_BYTES: int('MAX_BODY_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024),
  INGEST_MAX_BODY_BYTES: int('INGEST_MAX_BODY_BYTES', 4 * 1024 * 1024, 1024, 256 * 1024 * 1024),
  STATUS_FLUSH_INTERVAL_MS: int('STATUS_FLUSH_INTERVAL_MS', 1000, 10, 60_000),
  API_KEY_CACHE_SECONDS: int('API_KEY_CACHE_SECONDS', 10, 0, 3600),
});

/** Checks across variables, made even when others are already wrong so every problem is listed. */
function crossProblems(env: Record<string, string | undefined>): string[] {
  const problems: string[] = [];
  const secret = env.INGEST_TOKEN_SECRET ?? '';
  if (!env.WEBHOOK_SOURCE_NAME && new TextEncoder().encode(secret).byteLength < 32) {
    problems.push(
      secret
        ? 'INGEST_TOKEN_SECRET must be at least 32 bytes'
        : 'INGEST_TOKEN_SECRET is required (at least 32 bytes; the controller signs ingest tokens with it)',
    );
  }
  for (const entry of splitKeys(env.SUBMIT_API_KEYS)) {
    const problem = staticKeyProblem(entry);
    if (problem) problems.push(problem);
  }
  return [...new Set(problems)];
}

export interface StaticApiKey {
  caller: string;
  key: string;
}

export interface Config {
  port: number;
  logLevel: (typeof LOG_LEVELS)[number];
  appVersion: string;
  workspaceDir: string;
  namespace: string;
  /** From SUBMIT_API_KEYS: `key` or `caller:key`, comma-separated. */
  staticApiKeys: StaticApiKey[];
  ingestTokenSecret: string;
  webhookSourceName?: string;
  submitRatePerMinute: number;
  submitRateBurst: number;
  maxBodyBytes: number;
  ingestMaxBodyBytes: number;
  statusFlushIntervalMs: number;
  apiKeyCacheSeconds: number;
}

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

function splitKeys(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

const CALLER = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function parseStaticKey(entry: string, index: number): StaticApiKey {
  const colon = entry.indexOf(':');
  const caller = colon > 0 ? entry.slice(0, colon) : '';
  if (caller && CALLER.test(caller) && caller.length <= 63) return { caller, key: entry.slice(colon + 1) };
  return { caller: `submit-key-${index + 1}`, key: entry };
}

function staticKeyProblem(entry: string): string | undefined {
  const { key } = parseStaticKey(entry, 0);
  if (key.length < 16) return 'every SUBMIT_API_KEYS entry needs a key of at least 16 characters';
  return undefined;
}

/** Reads and validates the environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = envSchema.safeParse(env);
  const problems = [
    ...(parsed.success
      ? []
      : parsed.error.issues.map((i) =>
          i.code === 'custom' || i.path.length === 0 || i.message.includes(String(i.path[0]))
            ? i.message
            : `${i.path.join('.')}: ${i.message}`,
        )),
    ...crossProblems(env),
  ];
  if (!parsed.success || problems.length) throw new ConfigError(problems);
  const e = parsed.data;
  return {
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    appVersion: e.APP_VERSION,
    workspaceDir: e.WORKSPACE_DIR,
    namespace: e.NAMESPACE,
    staticApiKeys: splitKeys(e.SUBMIT_API_KEYS).map(parseStaticKey),
    ingestTokenSecret: e.INGEST_TOKEN_SECRET ?? '',
    ...(e.WEBHOOK_SOURCE_NAME ? { webhookSourceName: e.WEBHOOK_SOURCE_NAME } : {}),
    submitRatePerMinute: e.SUBMIT_RATE_PER_MINUTE,
    submitRateBurst: e.SUBMIT_RATE_BURST,
    maxBodyBytes: e.MAX_BODY_BYTES,
    ingestMaxBodyBytes: e.INGEST_MAX_BODY_BYTES,
    statusFlushIntervalMs: e.STATUS_FLUSH_INTERVAL_MS,
    apiKeyCacheSeconds: e.API_KEY_CACHE_SECONDS,
  };
}

// Controller configuration from environment variables, validated once at start.
import { z } from 'zod';
import { callbackDestinations } from './callback-destination.ts';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const optionalString = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v ? v : undefined));
const k8sName = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a lowercase RFC 1123 name')
  .max(253);

export const configSchema = z
  .object({
    PORT: int(0, 65_535).default(3001),
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    /** Executor Jobs running at once (AiConfig.spec.concurrency.global overrides it). */
    WORKER_CONCURRENCY: int(1, 100_000).default(5),
    /** Reconcile workers (parallel API calls), independent of WORKER_CONCURRENCY. */
    RECONCILE_WORKERS: int(1, 256).default(16),
    /** Status writes in flight at once (status-lane.ts); the rest wait and coalesce. */
    STATUS_WRITERS: int(1, 256).default(4),
    /** Watch one namespace; unset = all namespaces. */
    NAMESPACE: optionalString.pipe(k8sName.optional()),
    /** Namespace of the leader-election Lease (default NAMESPACE, then POD_NAMESPACE, then "default"). */
    LEASE_NAMESPACE: optionalString.pipe(k8sName.optional()),
    POD_NAMESPACE: optionalString.pipe(k8sName.optional()),
    LEASE_NAME: k8sName.default('ai-agents-controller'),
    LEASE_DURATION_SECONDS: int(2, 600).default(15),
    LEASE_RENEW_DEADLINE_SECONDS: int(1, 600).default(10),
    LEASE_RETRY_PERIOD_SECONDS: z.coerce.number().min(0.1).max(60).default(2),
    /** Identity in the Lease (default: hostname + pid). */
    POD_NAME: optionalString,
    LEADER_ELECTION: z
      .enum(['true', 'false'])
      .default('true')
      .transform((v) => v === 'true'),
    /** Reconcile a Deployment + Service + Ingress per WebhookSource (needs RBAC on those kinds). */
    WEBHOOK_SOURCES: z
      .enum(['true', 'false'])
      .default('true')
      .transform((v) => v === 'true'),

    EXECUTOR_IMAGE: z
      .string()
      .trim()
      .min(1)
      .default('ghcr.io/labrats-work/ai-agents/executor-{executor}:latest'),
    EXECUTOR_SERVICE_ACCOUNT: optionalString.pipe(k8sName.optional()),
    UPLOADS_PVC_NAME: optionalString.pipe(k8sName.optional()),
    UPLOADS_SUBPATH: optionalString,
    WORKSPACE_PVC_NAME: optionalString.pipe(k8sName.optional()),
    // a folder inside the workspace volume: relative, without `..`
    WORKSPACE_SUBPATH_PREFIX: z
      .string()
      .refine(
        (p) => !p.startsWith('/') && !p.split('/').includes('..'),
        'must be a folder inside the workspace volume (relative, no "..")',
      )
      .default('jobs'),
    MODELS_PVC_NAME: optionalString.pipe(k8sName.optional()),
    INGEST_URL: z.url().default('http://ai-agents-api:3001/api/events/ingest'),
    /**
     * process runtime: the HS256 key its runs' ingest tokens are signed with (shared with the API).
     * Executor Jobs need none: the kubelet projects their ingest token (job-spec.ts).
     */
    INGEST_TOKEN_SECRET: z
      .string()
      .refine((s) => new TextEncoder().encode(s).byteLength >= 32, 'must be at least 32 bytes')
      .optional(),
    /**
     * Where a run's request.json and instructions.md travel: in its pod's annotations (one
     * apiserver write per run; readable by whoever may read pods, as spec.prompt is by whoever may
     * read requests), or always in a Secret owned by the request (a second write per run).
     */
    REQUEST_FILES: z.enum(['annotations', 'secret']).default('annotations'),
    JOB_TTL_SECONDS: int(0, 30 * 86_400).default(3600),
    DEFAULT_TIMEOUT_SECONDS: int(1, 604_800).default(3600),

    CALLBACK_MAX_ATTEMPTS: int(1, 50).default(5),
    CALLBACK_BACKOFF_MS: int(1, 3_600_000).default(1000),
    CALLBACK_TIMEOUT_MS: int(100, 300_000).default(10_000),
    CALLBACK_CONCURRENCY: int(1, 1000).default(16),
    CALLBACK_REPORT_WAIT_MS: int(0, 600_000).default(5000),
    /**
     * Comma-separated host names, *.wildcards, IP addresses and CIDR ranges callbacks may go to;
     * unset = anywhere but loopback, link-local, unspecified and multicast (callback-destination.ts).
     */
    CALLBACK_ALLOWED_HOSTS: optionalString.superRefine((v, ctx) => {
      try {
        callbackDestinations(v);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message });
      }
    }),

    RESYNC_SECONDS: int(0, 86_400).default(600),
    QUEUE_POSITION_REFRESH_MS: int(0, 3_600_000).default(2000),

    // --- executor runtime selection (local platform, scripts/platform) ---
    /** kubernetes: one Job per request (default); process: a local child process (process-runtime.ts). */
    EXECUTOR_RUNTIME: z.enum(['kubernetes', 'process']).default('kubernetes'),
    /** process runtime only: root of runs/, workspace/, models/ and uploads/ (default ./.data). */
    PROCESS_DATA_DIR: z.string().trim().min(1).default('.data'),
    // --- end executor runtime selection ---
  })
  .superRefine((c, ctx) => {
    if (c.EXECUTOR_RUNTIME === 'process' && c.INGEST_TOKEN_SECRET === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['INGEST_TOKEN_SECRET'],
        message: "required with EXECUTOR_RUNTIME=process (it signs the runs' ingest tokens)",
      });
    // as kube-controller-manager requires: a leader must give up before another may take over
    if (c.LEASE_RENEW_DEADLINE_SECONDS >= c.LEASE_DURATION_SECONDS)
      ctx.addIssue({
        code: 'custom',
        path: ['LEASE_RENEW_DEADLINE_SECONDS'],
        message: `must be less than LEASE_DURATION_SECONDS (${c.LEASE_DURATION_SECONDS})`,
      });
    if (c.LEASE_RETRY_PERIOD_SECONDS >= c.LEASE_RENEW_DEADLINE_SECONDS)
      ctx.addIssue({
        code: 'custom',
        path: ['LEASE_RETRY_PERIOD_SECONDS'],
        message: `must be less than LEASE_RENEW_DEADLINE_SECONDS (${c.LEASE_RENEW_DEADLINE_SECONDS})`,
      });
  });

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment; the error lists every bad variable by name (never its value). */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const input: Record<string, string> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v !== '') input[key] = v;
  }
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new ConfigError(`invalid controller configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** The executor image for a kind: `{executor}` in EXECUTOR_IMAGE is replaced by the kind. */
export function executorImage(template: string, executor: string): string {
  return template.replaceAll('{executor}', executor);
}

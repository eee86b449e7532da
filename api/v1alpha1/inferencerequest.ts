import { z } from 'zod';
import {
  conditions,
  gitUrl,
  labelName,
  localRef,
  objectName,
  type ResourceDefinition,
  secretKeyRef,
  stringMap,
  timestamp,
} from './common.ts';

export const PHASES = [
  'Pending',
  'Queued',
  'Running',
  'Succeeded',
  'Failed',
  'Cancelled',
  'TimedOut',
] as const;

import { TERMINAL_PHASES } from './event-types.ts';

export { TERMINAL_PHASES } from './event-types.ts';
export const phase = z.enum(PHASES);
export type Phase = z.infer<typeof phase>;
export type TerminalPhase = (typeof TERMINAL_PHASES)[number];
export const isTerminal = (p: string | undefined): p is TerminalPhase =>
  (TERMINAL_PHASES as readonly string[]).includes(p ?? '');

export const SOURCE_KINDS = ['api', 'webhook', 'ui', 'schedule', 'ci'] as const;

/**
 * The label that makes a Secret usable as a callback's HMAC key. Without it any Secret a submitter
 * could name would sign whatever the callback carries (a webhook source's key, say).
 */
export const CALLBACK_SECRET_LABEL = 'labrats.work/callback-secret';

export const MAX_PROMPT_CHARS = 200_000;
export const MAX_OUTPUT_CHARS = 65_536;

export const inferenceRequestSpec = z.strictObject({
  agent: objectName.describe('AiAgent that runs the request'),
  model: objectName.optional().describe("AiModel; defaults to the agent's model, then AiConfig's"),
  prompt: z.string().min(1).max(MAX_PROMPT_CHARS),
  repository: z
    .strictObject({
      url: gitUrl,
      ref: z.string().min(1).max(255).optional(),
      branch: z
        .string()
        .min(1)
        .max(255)
        .regex(/^[A-Za-z0-9._/-]+$/)
        .optional(),
      pullRequest: z.boolean().default(false),
    })
    .optional(),
  attachments: z
    .array(
      z
        .string()
        .min(1)
        .max(128)
        .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/),
    )
    .max(32)
    .optional()
    .describe('upload ids under UPLOADS_DIR'),
  apiKeyRef: localRef.optional().describe('API-key Secret naming the caller'),
  callback: z
    .strictObject({
      // no user:password@ — the URL is shown to every viewer of the request; receivers check the
      // signature instead
      url: z
        .string()
        .max(2048)
        .regex(
          /^https?:\/\/[^\s/?#@]+(?:[/?#]\S*)?$/,
          'must be an http(s) URL without credentials (user:password@); sign callbacks with secretRef',
        ),
      secretRef: secretKeyRef
        .optional()
        .describe(`HMAC key: a Secret labelled ${CALLBACK_SECRET_LABEL}=true (key "secret" by default)`),
    })
    .optional(),
  timeoutSeconds: z.int().min(1).max(604_800).optional(),
  maxRetries: z.int().min(0).max(10).default(0),
  priority: z.int().min(-1000).max(1000).default(0),
  labels: stringMap.optional(),
  source: z
    .strictObject({
      kind: z.enum(SOURCE_KINDS),
      name: z.string().max(253).optional(),
      deliveryId: z.string().max(253).optional(),
    })
    .optional(),
  concurrencyKey: z.string().max(253).optional(),
  retryOf: objectName.optional().describe('the request this one retries'),
  caller: labelName.optional().describe('identity of the submitter, for fair share and limits'),
  cancel: z.boolean().default(false),
});
export type InferenceRequestSpec = z.infer<typeof inferenceRequestSpec>;
export type InferenceRequestSpecInput = z.input<typeof inferenceRequestSpec>;

export const usage = z.strictObject({
  inputTokens: z.int().min(0).optional(),
  outputTokens: z.int().min(0).optional(),
  costUsd: z.number().min(0).optional(),
  durationMs: z.int().min(0).optional(),
});
export type Usage = z.infer<typeof usage>;

export const result = z.strictObject({
  summary: z.string().max(4096).optional(),
  output: z.string().max(MAX_OUTPUT_CHARS).optional(),
  outputTruncated: z.boolean().optional(),
  pullRequestUrl: z.string().max(2048).optional(),
  artifacts: z
    .array(
      z.strictObject({
        name: z.string().min(1).max(253),
        path: z.string().max(4096).optional(),
        url: z.string().max(2048).optional(),
        sizeBytes: z.int().min(0).optional(),
      }),
    )
    .max(100)
    .optional(),
});
export type Result = z.infer<typeof result>;

export const inferenceRequestStatus = z.strictObject({
  phase: phase.optional(),
  reason: z.string().max(256).optional(),
  message: z.string().max(4096).optional(),
  conditions: conditions.optional(),
  observedGeneration: z.int().min(0).optional(),
  queuePosition: z.int().min(0).optional(),
  jobName: z.string().max(63).optional(),
  startedAt: timestamp.optional(),
  completedAt: timestamp.optional(),
  attempts: z.int().min(0).optional(),
  resolvedModel: z.string().max(253).optional(),
  executor: z.string().max(63).optional(),
  result: result.optional(),
  usage: usage.optional(),
  promptHash: z.string().max(128).optional(),
  lastEvent: z
    .strictObject({
      seq: z.int().min(0),
      type: z.string().max(64),
      time: timestamp.optional(),
      message: z.string().max(1024).optional(),
    })
    .optional(),
  eventCount: z.int().min(0).optional(),
  callback: z
    .strictObject({
      attempts: z.int().min(0).optional(),
      deliveredAt: timestamp.optional(),
      lastStatus: z.int().min(0).optional(),
      lastError: z.string().max(1024).optional(),
      gaveUp: z.boolean().optional(),
    })
    .optional(),
});
export type InferenceRequestStatus = z.infer<typeof inferenceRequestStatus>;

export const inferenceRequestDefinition = {
  kind: 'InferenceRequest',
  plural: 'inferencerequests',
  singular: 'inferencerequest',
  shortNames: ['ir', 'irs'],
  spec: inferenceRequestSpec,
  status: inferenceRequestStatus,
  printerColumns: [
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Agent', type: 'string', jsonPath: '.spec.agent' },
    { name: 'Model', type: 'string', jsonPath: '.status.resolvedModel' },
    { name: 'Queue', type: 'integer', jsonPath: '.status.queuePosition', priority: 1 },
    { name: 'Job', type: 'string', jsonPath: '.status.jobName', priority: 1 },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
} satisfies ResourceDefinition<typeof inferenceRequestSpec, typeof inferenceRequestStatus>;

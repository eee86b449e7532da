import { z } from 'zod';
import { conditions, objectName, type ResourceDefinition, secretKeyRef } from './common.ts';

const pattern = z.string().min(1).max(253);

export const webhookRule = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(63)
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/),
  event: z.string().min(1).max(128).describe('e.g. issues, issue_comment, pull_request, push, or * '),
  actions: z.array(z.string().min(1).max(128)).max(32).optional(),
  filters: z
    .strictObject({
      labels: z.array(pattern).max(32).optional(),
      repositories: z.array(pattern).max(64).optional(),
      branches: z.array(pattern).max(64).optional(),
      senders: z
        .strictObject({
          allow: z.array(pattern).max(256).optional(),
          deny: z.array(pattern).max(256).optional(),
        })
        .optional(),
      command: z.string().min(1).max(128).optional().describe('comment command such as /ai review'),
    })
    .optional(),
  agent: objectName,
  model: objectName.optional(),
  promptTemplate: z.string().min(1).max(20_000),
  repository: z
    .strictObject({
      urlTemplate: z.string().max(1024).optional(),
      refTemplate: z.string().max(1024).optional(),
      branchTemplate: z.string().max(1024).optional(),
      pullRequest: z.boolean().optional(),
    })
    .optional(),
  priority: z.int().min(-1000).max(1000).optional(),
  concurrencyKey: z
    .string()
    .max(1024)
    .optional()
    .describe('template, e.g. {{repository.full_name}}#{{number}}'),
  concurrencyPolicy: z.enum(['queue', 'cancel-previous', 'skip']).default('queue'),
});
export type WebhookRule = z.infer<typeof webhookRule>;

export const webhookSourceSpec = z.strictObject({
  type: z.enum(['github', 'gitlab', 'generic']),
  secretRef: secretKeyRef,
  signature: z
    .strictObject({
      header: z.string().min(1).max(128).default('X-Signature-256'),
      prefix: z.string().max(32).default('sha256='),
      timestampHeader: z.string().max(128).optional(),
      toleranceSeconds: z.int().min(1).max(86_400).default(300),
    })
    .optional()
    .describe('generic sources: HMAC-SHA256 header settings'),
  deliveryIdHeader: z.string().max(128).optional(),
  eventHeader: z.string().max(128).optional(),
  rules: z.array(webhookRule).max(100).default([]),
  ingress: z
    .strictObject({
      host: z
        .string()
        .max(253)
        .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/)
        .optional(),
      path: z
        .string()
        .max(1024)
        .regex(/^\/[^\s]*$/)
        .optional(),
      className: z.string().max(253).optional(),
    })
    .optional(),
  replicas: z.int().min(0).max(20).default(1),
  suspend: z.boolean().default(false),
});
export type WebhookSourceSpec = z.infer<typeof webhookSourceSpec>;

export const webhookSourceStatus = z.strictObject({
  conditions: conditions.optional(),
  observedGeneration: z.int().min(0).optional(),
  deploymentName: z.string().max(253).optional(),
  url: z.string().max(2048).optional(),
  lastDeliveryAt: z.string().meta({ format: 'date-time' }).optional(),
  deliveries: z.int().min(0).optional(),
});

export const webhookSourceDefinition = {
  kind: 'WebhookSource',
  plural: 'webhooksources',
  singular: 'webhooksource',
  shortNames: ['whs'],
  spec: webhookSourceSpec,
  status: webhookSourceStatus,
  printerColumns: [
    { name: 'Type', type: 'string', jsonPath: '.spec.type' },
    { name: 'URL', type: 'string', jsonPath: '.status.url' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
} satisfies ResourceDefinition<typeof webhookSourceSpec, typeof webhookSourceStatus>;

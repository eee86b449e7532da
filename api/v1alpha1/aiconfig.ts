import { z } from 'zod';
import { sha256Hex } from './aimodel.ts';
import { conditions, httpUrl, objectName, type ResourceDefinition } from './common.ts';

export const providerSettings = z.strictObject({
  baseUrl: httpUrl.optional(),
  modelUrl: httpUrl.optional().describe('GGUF the init container caches under /models'),
  modelSha256: sha256Hex.optional(),
  defaults: z
    .strictObject({
      model: objectName.optional(),
      maxTokens: z.int().min(1).max(1_000_000).optional(),
      temperature: z.number().min(0).max(2).optional(),
    })
    .optional(),
});

export const aiConfigSpec = z.strictObject({
  providers: z
    .strictObject({
      anthropic: providerSettings.optional(),
      openai: providerSettings.optional(),
      llamacpp: providerSettings.optional(),
    })
    .optional(),
  defaultModel: objectName.optional(),
  defaultTimeoutSeconds: z.int().min(1).max(604_800).default(3600),
  concurrency: z
    .strictObject({
      global: z.int().min(1).max(10_000).optional().describe('overrides WORKER_CONCURRENCY'),
      perModel: z.int().min(1).max(10_000).optional(),
      perCaller: z.int().min(1).max(10_000).optional(),
    })
    .optional(),
  retention: z
    .strictObject({
      completedRequestsSeconds: z.int().min(60).optional(),
      workspaceSeconds: z.int().min(60).optional(),
      uploadsSeconds: z.int().min(60).optional(),
    })
    .optional(),
});
export type AiConfigSpec = z.infer<typeof aiConfigSpec>;

export const aiConfigStatus = z.strictObject({
  conditions: conditions.optional(),
  observedGeneration: z.int().min(0).optional(),
});

export const aiConfigDefinition = {
  kind: 'AiConfig',
  plural: 'aiconfigs',
  singular: 'aiconfig',
  shortNames: ['aic'],
  spec: aiConfigSpec,
  status: aiConfigStatus,
  printerColumns: [
    { name: 'Default-Model', type: 'string', jsonPath: '.spec.defaultModel' },
    { name: 'Concurrency', type: 'integer', jsonPath: '.spec.concurrency.global' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
} satisfies ResourceDefinition<typeof aiConfigSpec, typeof aiConfigStatus>;

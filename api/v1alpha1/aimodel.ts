import { z } from 'zod';
import { conditions, envVar, httpUrl, type ResourceDefinition, resources, secretKeyRef } from './common.ts';

export const PROVIDERS = ['anthropic', 'openai', 'llamacpp'] as const;
export const EXECUTORS = ['claude', 'codex', 'llama', 'bonsai'] as const;
export type Provider = (typeof PROVIDERS)[number];
export type ExecutorKind = (typeof EXECUTORS)[number];

export const sha256Hex = z.string().regex(/^[a-f0-9]{64}$/, 'must be a lowercase hex sha256');

export const aiModelSpec = z.strictObject({
  provider: z.enum(PROVIDERS),
  executor: z.enum(EXECUTORS),
  model: z.string().min(1).max(253).describe('provider model id, or GGUF file name for llama'),
  displayName: z.string().max(253).optional(),
  credentialsRef: secretKeyRef.optional().describe('Secret with API key or OAuth credentials (claude only)'),
  image: z.string().min(1).max(512).optional().describe('executor image override'),
  modelUrl: httpUrl.optional().describe('GGUF to cache under /models (llama, bonsai)'),
  modelSha256: sha256Hex.optional(),
  contextSize: z.int().min(128).max(1_048_576).optional(),
  resources: resources.optional(),
  env: z.array(envVar).max(64).optional(),
  pricing: z
    .strictObject({
      inputPerMillionTokensUsd: z.number().min(0).default(0),
      outputPerMillionTokensUsd: z.number().min(0).default(0),
    })
    .optional(),
});
export type AiModelSpec = z.infer<typeof aiModelSpec>;

export const aiModelStatus = z.strictObject({
  conditions: conditions.optional(),
  observedGeneration: z.int().min(0).optional(),
  lastUsedAt: z.string().meta({ format: 'date-time' }).optional(),
  credentialsRefreshedAt: z.string().meta({ format: 'date-time' }).optional(),
});

export const aiModelDefinition = {
  kind: 'AiModel',
  plural: 'aimodels',
  singular: 'aimodel',
  shortNames: ['aim'],
  spec: aiModelSpec,
  status: aiModelStatus,
  printerColumns: [
    { name: 'Provider', type: 'string', jsonPath: '.spec.provider' },
    { name: 'Executor', type: 'string', jsonPath: '.spec.executor' },
    { name: 'Model', type: 'string', jsonPath: '.spec.model' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
  specValidations: [
    {
      rule: "!has(self.credentialsRef) || self.executor == 'claude'",
      message: 'credentialsRef is only used by the claude executor',
    },
  ],
} satisfies ResourceDefinition<typeof aiModelSpec, typeof aiModelStatus>;

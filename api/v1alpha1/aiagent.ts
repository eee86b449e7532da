import { z } from 'zod';
import { conditions, labelName, objectName, type ResourceDefinition } from './common.ts';

export const REPOSITORY_ACCESS = ['read', 'write', 'pr'] as const;
export type RepositoryAccess = (typeof REPOSITORY_ACCESS)[number];
export const SHIPPED_ROLES = [
  'developer',
  'codex-developer',
  'reviewer',
  'codex-reviewer',
  'docs',
  'architect',
  'ops',
  'security',
  'triage',
  'testing',
] as const;

export const aiAgentSpec = z.strictObject({
  role: labelName.describe('what the agent is for, e.g. developer or reviewer'),
  description: z.string().max(1024).optional(),
  model: objectName.optional().describe('default AiModel'),
  systemPrompt: z.string().max(100_000).optional(),
  maxTurns: z.int().min(1).max(1000).optional(),
  timeoutSeconds: z.int().min(1).max(604_800).optional(),
  allowedTools: z.array(z.string().min(1).max(256)).max(128).optional(),
  disallowedTools: z.array(z.string().min(1).max(256)).max(128).optional(),
  permissionMode: z.enum(['default', 'acceptEdits', 'bypassPermissions', 'plan']).optional(),
  sandbox: z
    .enum(['read-only', 'workspace-write', 'danger-full-access'])
    .optional()
    .describe('codex sandbox mode'),
  repositoryAccess: z.enum(REPOSITORY_ACCESS).default('read'),
});
export type AiAgentSpec = z.infer<typeof aiAgentSpec>;

export const aiAgentStatus = z.strictObject({
  conditions: conditions.optional(),
  observedGeneration: z.int().min(0).optional(),
  promptHash: z.string().max(128).optional(),
});

export const aiAgentDefinition = {
  kind: 'AiAgent',
  plural: 'aiagents',
  singular: 'aiagent',
  shortNames: ['aia'],
  spec: aiAgentSpec,
  status: aiAgentStatus,
  printerColumns: [
    { name: 'Role', type: 'string', jsonPath: '.spec.role' },
    { name: 'Model', type: 'string', jsonPath: '.spec.model' },
    { name: 'Access', type: 'string', jsonPath: '.spec.repositoryAccess' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
} satisfies ResourceDefinition<typeof aiAgentSpec, typeof aiAgentStatus>;

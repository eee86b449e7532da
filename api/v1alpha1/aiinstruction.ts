import { z } from 'zod';
import { conditions, objectName, type ResourceDefinition } from './common.ts';

export const aiInstructionSpec = z.strictObject({
  type: z.enum(['global', 'local']),
  priority: z.int().min(0).max(10_000).default(100).describe('global ones are composed in ascending order'),
  agents: z.array(objectName).max(64).optional().describe('agents a local instruction applies to'),
  description: z.string().max(1024).optional(),
  content: z.string().min(1).max(100_000),
});
export type AiInstructionSpec = z.infer<typeof aiInstructionSpec>;

export const aiInstructionStatus = z.strictObject({
  conditions: conditions.optional(),
  observedGeneration: z.int().min(0).optional(),
});

export const aiInstructionDefinition = {
  kind: 'AiInstruction',
  plural: 'aiinstructions',
  singular: 'aiinstruction',
  shortNames: ['aii'],
  spec: aiInstructionSpec,
  status: aiInstructionStatus,
  printerColumns: [
    { name: 'Type', type: 'string', jsonPath: '.spec.type' },
    { name: 'Priority', type: 'integer', jsonPath: '.spec.priority' },
    { name: 'Agents', type: 'string', jsonPath: '.spec.agents' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
  specValidations: [
    {
      rule: "self.type != 'local' || (has(self.agents) && size(self.agents) > 0)",
      message: 'a local instruction must list the agents it applies to',
    },
  ],
} satisfies ResourceDefinition<typeof aiInstructionSpec, typeof aiInstructionStatus>;

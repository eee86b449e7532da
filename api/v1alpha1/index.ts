import type { z } from 'zod';
import { aiAgentDefinition } from './aiagent.ts';
import { aiConfigDefinition } from './aiconfig.ts';
import { aiInstructionDefinition } from './aiinstruction.ts';
import { aiModelDefinition } from './aimodel.ts';
import { type API_VERSION, GROUP, type ObjectMeta, VERSION } from './common.ts';
import { inferenceRequestDefinition } from './inferencerequest.ts';
import { webhookSourceDefinition } from './webhooksource.ts';

export * from './aiagent.ts';
export * from './aiconfig.ts';
export * from './aiinstruction.ts';
export * from './aimodel.ts';
export * from './common.ts';
export * from './inferencerequest.ts';
export * from './webhooksource.ts';

export const resourceDefinitions = [
  inferenceRequestDefinition,
  aiModelDefinition,
  aiAgentDefinition,
  aiConfigDefinition,
  aiInstructionDefinition,
  webhookSourceDefinition,
] as const;

type Definitions = (typeof resourceDefinitions)[number];
export type Kind = Definitions['kind'];

/** A custom resource as stored: spec after defaults, status as written by its owner. */
export interface Resource<D extends Definitions> {
  apiVersion: typeof API_VERSION;
  kind: D['kind'];
  metadata: ObjectMeta & { name: string; namespace?: string };
  spec: z.infer<D['spec']>;
  status?: z.infer<D['status']>;
}

export type InferenceRequest = Resource<typeof inferenceRequestDefinition>;
export type AiModel = Resource<typeof aiModelDefinition>;
export type AiAgent = Resource<typeof aiAgentDefinition>;
export type AiConfig = Resource<typeof aiConfigDefinition>;
export type AiInstruction = Resource<typeof aiInstructionDefinition>;
export type WebhookSource = Resource<typeof webhookSourceDefinition>;

export function definitionOf(kind: string): Definitions {
  const d = resourceDefinitions.find((r) => r.kind === kind);
  if (!d) throw new Error(`unknown kind ${kind}`);
  return d;
}

/** Arguments for client-node's CustomObjectsApi. */
export function customObjectPath(kind: Kind): { group: string; version: string; plural: string } {
  return { group: GROUP, version: VERSION, plural: definitionOf(kind).plural };
}

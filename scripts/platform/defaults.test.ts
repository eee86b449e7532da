// The default set is valid against the resource schemas and follows the model URL it is given.
import { describe, expect, it } from 'vitest';
import {
  aiAgentSpec,
  aiConfigSpec,
  aiInstructionSpec,
  aiModelSpec,
  SHIPPED_ROLES,
} from '../../api/v1alpha1/index.ts';
import { defaultResources, LOCAL_MODEL, localModelFile, UNCONFIGURED_MODEL_FILE } from './defaults.ts';

const SCHEMAS = {
  AiAgent: aiAgentSpec,
  AiConfig: aiConfigSpec,
  AiInstruction: aiInstructionSpec,
  AiModel: aiModelSpec,
};

describe('local platform defaults', () => {
  it('are valid resources: the namespace, AiConfig, the local model, every shipped role and the 14 instructions', () => {
    const all = defaultResources({
      namespace: 'ai-agents',
      modelUrl: 'https://hf.co/x/resolve/main/qwen.Q4.gguf?download=1',
    });
    expect(all[0]).toMatchObject({ kind: 'Namespace', metadata: { name: 'ai-agents' } });
    for (const r of all.slice(1)) {
      expect(r.metadata.namespace).toBe('ai-agents');
      const schema = SCHEMAS[r.kind as keyof typeof SCHEMAS];
      expect(schema, r.kind).toBeDefined();
      const parsed = schema.safeParse(r.spec);
      expect(parsed.success, `${r.kind}/${r.metadata.name}: ${JSON.stringify(parsed.error?.issues)}`).toBe(
        true,
      );
    }
    const names = (kind: string) => all.filter((r) => r.kind === kind).map((r) => r.metadata.name);
    expect(names('AiAgent')).toEqual([...SHIPPED_ROLES]);
    expect(names('AiInstruction')).toHaveLength(14);
    expect(names('AiModel')).toEqual([LOCAL_MODEL]);
    expect(all.find((r) => r.kind === 'AiConfig')?.spec).toMatchObject({ defaultModel: LOCAL_MODEL });
    expect(all.find((r) => r.kind === 'AiModel')?.spec).toMatchObject({
      executor: 'llama',
      model: 'qwen.Q4.gguf',
      modelUrl: 'https://hf.co/x/resolve/main/qwen.Q4.gguf?download=1',
    });
  });

  it('without a model URL the local model names a file and no URL', () => {
    const model = defaultResources({ namespace: 'n' }).find((r) => r.kind === 'AiModel');
    expect(model?.spec).toMatchObject({ model: UNCONFIGURED_MODEL_FILE });
    expect(model?.spec).not.toHaveProperty('modelUrl');
    expect(localModelFile('http://127.0.0.1:9/models/tiny%20model.gguf')).toBe('tiny_20model.gguf');
  });
});

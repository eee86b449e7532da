import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crdFiles } from './crd-files.ts';
import { examples } from './examples.ts';
import { aiInstructionSpec, inferenceRequestSpec, resourceDefinitions, webhookSourceSpec } from './index.ts';

const root = join(import.meta.dirname, '..', '..');

describe('resource schemas', () => {
  it.each(resourceDefinitions.map((d) => [d.kind, d] as const))('%s example parses', (kind, def) => {
    const example = examples[kind as keyof typeof examples]();
    expect(def.spec.safeParse(example.spec).success).toBe(true);
  });

  it('applies defaults', () => {
    const spec = inferenceRequestSpec.parse({ agent: 'developer', prompt: 'hi' });
    expect(spec).toMatchObject({ maxRetries: 0, priority: 0, cancel: false });
  });

  it.each([
    ['missing prompt', { agent: 'developer' }, 'prompt'],
    ['empty prompt', { agent: 'developer', prompt: '' }, 'prompt'],
    ['bad agent name', { agent: 'Not_A_Name', prompt: 'x' }, 'agent'],
    ['negative timeout', { agent: 'a', prompt: 'x', timeoutSeconds: -1 }, 'timeoutSeconds'],
    ['fractional retries', { agent: 'a', prompt: 'x', maxRetries: 1.5 }, 'maxRetries'],
    ['bad callback url', { agent: 'a', prompt: 'x', callback: { url: 'ftp://x' } }, 'callback.url'],
    [
      'credentials in a callback url',
      { agent: 'a', prompt: 'x', callback: { url: 'https://user:secret@hooks.example.com/x' } },
      'callback.url',
    ],
    ['unknown field', { agent: 'a', prompt: 'x', bogus: true }, ''],
    ['bad source kind', { agent: 'a', prompt: 'x', source: { kind: 'email' } }, 'source.kind'],
  ])('InferenceRequest rejects %s', (_name, spec, path) => {
    const r = inferenceRequestSpec.safeParse(spec);
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path.join('.'))).toContain(path);
  });

  it('InferenceRequest takes callback urls with an @ past the host', () => {
    for (const url of [
      'https://hooks.example.com/x?to=a@b.c',
      'http://10.0.0.1:8080',
      'https://h.example/#@',
    ])
      expect(
        inferenceRequestSpec.safeParse({ agent: 'a', prompt: 'x', callback: { url } }).success,
        url,
      ).toBe(true);
  });

  it('WebhookSource rule policy is an enum', () => {
    const good = webhookSourceSpec.safeParse(examples.WebhookSource().spec);
    expect(good.success).toBe(true);
    const bad = webhookSourceSpec.safeParse({
      ...examples.WebhookSource().spec,
      rules: [{ name: 'r', event: 'push', agent: 'a', promptTemplate: 'x', concurrencyPolicy: 'sometimes' }],
    });
    expect(bad.success).toBe(false);
  });

  it('AiInstruction priority is bounded', () => {
    expect(aiInstructionSpec.safeParse({ type: 'global', content: 'x', priority: -5 }).success).toBe(false);
  });
});

describe('generated CRDs', () => {
  it.each(crdFiles().map((f) => [f.path, f.content] as const))('%s matches the schemas', (path, content) => {
    // run `npm run gen:crds` after changing api/v1alpha1
    expect(readFileSync(join(root, path), 'utf8')).toBe(content);
  });

  it('are structural: no unions, no additionalProperties:false, every object typed', () => {
    const walk = (node: unknown, at: string): string[] => {
      if (!node || typeof node !== 'object') return [];
      const n = node as Record<string, unknown>;
      const problems: string[] = [];
      for (const k of ['anyOf', 'oneOf', 'allOf', 'not', '$ref', 'nullable'])
        if (k in n) problems.push(`${at}: ${k}`);
      if (n.additionalProperties === false) problems.push(`${at}: additionalProperties false`);
      if (n.properties && n.type !== 'object') problems.push(`${at}: properties without type object`);
      for (const [k, v] of Object.entries(n.properties ?? {})) problems.push(...walk(v, `${at}.${k}`));
      if (n.items) problems.push(...walk(n.items, `${at}[]`));
      if (n.additionalProperties && typeof n.additionalProperties === 'object')
        problems.push(...walk(n.additionalProperties, `${at}{}`));
      return problems;
    };
    for (const f of crdFiles()) {
      const version = (f.manifest.spec as { versions: { schema: { openAPIV3Schema: unknown } }[] })
        .versions[0]!;
      expect(walk(version.schema.openAPIV3Schema, f.path)).toEqual([]);
    }
  });
});

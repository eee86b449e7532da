import { ApiException, ApiextensionsV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestNamespace, type TestNamespace } from '../../test/kube.ts';
import { examples } from './examples.ts';
import { GROUP, resourceDefinitions, VERSION } from './index.ts';

let ns: TestNamespace;
beforeAll(async () => {
  ns = await createTestNamespace('crds');
});
afterAll(async () => ns?.cleanup());

const plural = (kind: string) => resourceDefinitions.find((d) => d.kind === kind)!.plural;

async function create(kind: string, body: object, fieldValidation?: string) {
  return ns.custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: ns.name,
    plural: plural(kind),
    body,
    fieldValidation,
  });
}

/** Creates the object expecting the apiserver to refuse it; returns the Status message. */
async function rejection(kind: string, body: object, fieldValidation?: string): Promise<string> {
  try {
    await create(kind, body, fieldValidation);
  } catch (e) {
    if (e instanceof ApiException) {
      // 422 Invalid for schema violations, 400 BadRequest for strict unknown-field checks
      expect([400, 422]).toContain(e.code);
      const status = JSON.parse(String(e.body)) as { message: string };
      return status.message;
    }
    throw e;
  }
  throw new Error('the apiserver accepted an invalid object');
}

function withSpec(kind: keyof typeof examples, name: string, patch: (spec: Record<string, unknown>) => void) {
  const obj = structuredClone(examples[kind](name));
  patch(obj.spec as Record<string, unknown>);
  return obj;
}

describe('CRDs on a real apiserver', () => {
  it('all six are Established', async () => {
    const ext = ns.kc.makeApiClient(ApiextensionsV1Api);
    for (const def of resourceDefinitions) {
      const crd = await ext.readCustomResourceDefinition({ name: `${def.plural}.${GROUP}` });
      const established = crd.status?.conditions?.find((c) => c.type === 'Established');
      expect(established?.status, def.kind).toBe('True');
      expect(crd.spec.versions[0]?.subresources?.status).toBeDefined();
      expect(crd.spec.names.shortNames).toEqual(def.shortNames);
    }
  });

  it.each(Object.keys(examples))('accepts a valid %s', async (kind) => {
    const obj = examples[kind as keyof typeof examples](`valid-${kind.toLowerCase()}`);
    const created = (await create(kind, obj, 'Strict')) as { metadata: { uid: string } };
    expect(created.metadata.uid).toBeTruthy();
  });

  it('applies schema defaults', async () => {
    const created = (await create('InferenceRequest', {
      ...examples.InferenceRequest('defaults'),
      spec: { agent: 'developer', prompt: 'hello' },
    })) as { spec: Record<string, unknown> };
    expect(created.spec).toMatchObject({ maxRetries: 0, priority: 0, cancel: false });
  });

  it('rejects a missing required field, naming it', async () => {
    const body = await rejection(
      'InferenceRequest',
      withSpec('InferenceRequest', 'no-prompt', (s) => delete s.prompt),
    );
    expect(body).toContain('spec.prompt: Required value');
  });

  it('rejects a wrong enum, naming the field', async () => {
    const body = await rejection(
      'InferenceRequest',
      withSpec('InferenceRequest', 'bad-enum', (s) => (s.source = { kind: 'email' })),
    );
    expect(body).toContain('spec.source.kind: Unsupported value: "email"');
    expect(body).toContain('supported values: "api", "webhook", "ui", "schedule", "ci"');
  });

  it('rejects a negative timeout', async () => {
    const body = await rejection(
      'InferenceRequest',
      withSpec('InferenceRequest', 'neg-timeout', (s) => (s.timeoutSeconds = -5)),
    );
    expect(body).toContain('spec.timeoutSeconds');
    expect(body).toMatch(/should be greater than or equal to 1/);
  });

  it('rejects a malformed URL', async () => {
    const body = await rejection(
      'InferenceRequest',
      withSpec('InferenceRequest', 'bad-url', (s) => (s.callback = { url: 'not a url' })),
    );
    expect(body).toContain('spec.callback.url');
  });

  it('rejects an unknown field under strict validation and prunes it otherwise', async () => {
    const obj = withSpec('AiAgent', 'unknown-field', (s) => (s.colour = 'blue'));
    const body = await rejection('AiAgent', obj, 'Strict');
    expect(body).toContain('unknown field "spec.colour"');
    const created = (await create('AiAgent', obj)) as { spec: Record<string, unknown> };
    expect(created.spec).not.toHaveProperty('colour');
    expect(created.spec.role).toBe('developer');
  });

  it('enforces CEL rules: a local instruction must name its agents', async () => {
    const body = await rejection(
      'AiInstruction',
      withSpec('AiInstruction', 'local-no-agents', (s) => (s.type = 'local')),
    );
    expect(body).toContain('a local instruction must list the agents it applies to');
  });

  it('keeps spec and status apart (status subresource)', async () => {
    type IR = {
      metadata: { resourceVersion?: string };
      spec: { prompt: string };
      status?: { phase?: string };
    };
    const base = {
      group: GROUP,
      version: VERSION,
      namespace: ns.name,
      plural: 'inferencerequests',
      name: 'split',
    };
    await create('InferenceRequest', examples.InferenceRequest('split'));
    // a status write through the main resource is ignored
    const cur = (await ns.custom.getNamespacedCustomObject(base)) as IR;
    await ns.custom.replaceNamespacedCustomObject({
      ...base,
      body: { ...cur, status: { phase: 'Running' } },
    });
    expect(((await ns.custom.getNamespacedCustomObject(base)) as IR).status?.phase).toBeUndefined();
    // the status subresource writes status and ignores spec
    const cur2 = (await ns.custom.getNamespacedCustomObject(base)) as IR;
    await ns.custom.replaceNamespacedCustomObjectStatus({
      ...base,
      body: {
        ...cur2,
        spec: { ...cur2.spec, prompt: 'changed' },
        status: { phase: 'Queued', queuePosition: 3 },
      },
    });
    const after = (await ns.custom.getNamespacedCustomObject(base)) as IR;
    expect(after.status?.phase).toBe('Queued');
    expect(after.spec.prompt).toBe(examples.InferenceRequest().spec.prompt);
    // an invalid status is rejected too
    await expect(
      ns.custom.replaceNamespacedCustomObjectStatus({
        ...base,
        body: { ...after, status: { phase: 'Exploded' } },
      }),
    ).rejects.toThrow(/status.phase: Unsupported value/);
  });

  it('kubectl get ir shows phase, agent, model and age', async () => {
    await create('InferenceRequest', examples.InferenceRequest('printed'));
    const base = {
      group: GROUP,
      version: VERSION,
      namespace: ns.name,
      plural: 'inferencerequests',
      name: 'printed',
    };
    const cur = (await ns.custom.getNamespacedCustomObject(base)) as object;
    await ns.custom.replaceNamespacedCustomObjectStatus({
      ...base,
      body: { ...cur, status: { phase: 'Running', resolvedModel: 'claude-sonnet' } },
    });
    const out = ns.kubectl(['get', 'ir', 'printed']);
    const [header, row] = out.trim().split('\n');
    expect(header?.split(/\s+/)).toEqual(['NAME', 'PHASE', 'AGENT', 'MODEL', 'AGE']);
    expect(row).toMatch(/^printed\s+Running\s+developer\s+claude-sonnet\s+\d+s$/);
  });
});

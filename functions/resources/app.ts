// /api/resources/:kind[/:name] — AiModel, AiAgent, AiInstruction, AiConfig and WebhookSource in the
// functions' namespace (viewer reads, admin writes). Specs are checked against the same zod
// schemas the CRDs come from; what only the apiserver knows (CEL rules) comes back as its 422,
// answered as 400 with field paths. GET /api/resources/agents/:name/preview composes an agent's
// instructions.
import { Hono } from 'hono';
import { z } from 'zod';
import { composeInstructions } from '../../api/v1alpha1/compose.ts';
import {
  type AiAgent,
  type AiInstruction,
  API_VERSION,
  definitionOf,
  type Kind,
  objectName,
} from '../../api/v1alpha1/index.ts';
import { listAll } from '../jobs/read.ts';
import { publicMetadata } from '../jobs/shape.ts';
import { limitBody, objectNameParam, pageLimit, requireJson } from '../lib/body.ts';
import { ApiError, fieldIssues, invalidBody } from '../lib/errors.ts';
import { isKubeError, type KubeObject } from '../lib/kube.ts';
import { kubeToApiError, listError } from '../lib/kube-errors.ts';
import type { Services } from '../lib/services.ts';

export const RESOURCE_KINDS = {
  models: 'AiModel',
  agents: 'AiAgent',
  instructions: 'AiInstruction',
  configs: 'AiConfig',
  webhooksources: 'WebhookSource',
} as const satisfies Record<string, Kind>;
export type ResourcePath = keyof typeof RESOURCE_KINDS;

const kindOf = (path: string | undefined): Kind => {
  const kind = (RESOURCE_KINDS as Record<string, Kind>)[path ?? ''];
  if (!kind) throw new ApiError('not_found', `unknown resource kind "${String(path).slice(0, 64)}"`);
  return kind;
};

const labelMap = z.record(z.string().max(317), z.string().max(63)).optional();
const resourceBody = z.strictObject({
  apiVersion: z.literal(API_VERSION).optional(),
  kind: z.string().optional(),
  metadata: z.strictObject({
    name: objectName,
    labels: labelMap,
    annotations: z.record(z.string().max(317), z.string().max(65_536)).optional(),
    // opaque to clients, but every apiserver's are decimal uint64s; anything else it answers 500
    resourceVersion: z
      .string()
      .refine(
        (v) => /^[0-9]{1,20}$/.test(v) && BigInt(v) <= 0xffff_ffff_ffff_ffffn,
        'a resourceVersion as read from the object',
      )
      .optional(),
  }),
  spec: z.unknown(),
});

const listQuery = z.strictObject({
  limit: pageLimit(500, 100),
  continue: z.string().min(1).max(4096).optional(),
});

function view(o: KubeObject) {
  return {
    name: o.metadata.name,
    metadata: publicMetadata(o.metadata),
    spec: o.spec ?? {},
    status: o.status ?? {},
  };
}

async function readBody(c: { req: { json(): Promise<unknown> } }, kind: Kind) {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    throw new ApiError('bad_request', 'request body must be JSON');
  }
  const parsed = resourceBody.safeParse(raw);
  if (!parsed.success) throw invalidBody(parsed.error);
  const body = parsed.data;
  if (body.kind !== undefined && body.kind !== kind) {
    throw new ApiError('invalid_body', 'request body is invalid', {
      details: [{ path: 'kind', message: `must be ${kind}` }],
    });
  }
  const spec = definitionOf(kind).spec.safeParse(body.spec);
  if (!spec.success) {
    throw new ApiError('invalid_body', 'request body is invalid', {
      details: fieldIssues(spec.error).map((i) => ({ ...i, path: i.path ? `spec.${i.path}` : 'spec' })),
    });
  }
  return body as z.infer<typeof resourceBody> & { spec: Record<string, unknown> };
}

export function resourcesApp(s: Services): Hono {
  const app = new Hono();
  app.use('*', limitBody(s.config.maxBodyBytes));

  app.get('/agents/:name/preview', async (c) => {
    const name = objectNameParam(c.req.param('name'), 'agent');
    try {
      const agent = await s.kube.get<AiAgent & KubeObject>('AiAgent', name);
      const instructions = await listAll<AiInstruction & KubeObject>(s, 'AiInstruction');
      return c.json(composeInstructions(agent, instructions));
    } catch (err) {
      throw kubeToApiError(err, `agent ${name}`);
    }
  });

  app.get('/:kind', async (c) => {
    const kind = kindOf(c.req.param('kind'));
    const q = listQuery.safeParse(c.req.query());
    if (!q.success) throw invalidBody(q.error, 'query');
    try {
      const res = await s.kube.list(kind, {
        limit: q.data.limit,
        ...(q.data.continue ? { continue: q.data.continue } : {}),
      });
      return c.json({ items: res.items.map(view), ...(res.continue ? { continue: res.continue } : {}) });
    } catch (err) {
      throw listError(err, kind, !!q.data.continue);
    }
  });

  app.get('/:kind/:name', async (c) => {
    const kind = kindOf(c.req.param('kind'));
    const name = objectNameParam(c.req.param('name'), kind);
    try {
      return c.json(view(await s.kube.get(kind, name)));
    } catch (err) {
      throw kubeToApiError(err, `${kind} ${name}`);
    }
  });

  app.post('/:kind', requireJson, async (c) => {
    const kind = kindOf(c.req.param('kind'));
    const body = await readBody(c, kind);
    const { resourceVersion: _rv, ...metadata } = body.metadata;
    try {
      const created = await s.kube.create(kind, { apiVersion: API_VERSION, kind, metadata, spec: body.spec });
      s.log.info('resource created', {
        requestId: c.get('requestId'),
        kind,
        name: metadata.name,
        by: c.get('user')?.sub,
      });
      return c.json(view(created), 201);
    } catch (err) {
      if (isKubeError(err, 409)) throw new ApiError('conflict', `${kind} ${metadata.name} already exists`);
      throw kubeToApiError(err, `${kind} ${metadata.name}`);
    }
  });

  app.put('/:kind/:name', requireJson, async (c) => {
    const kind = kindOf(c.req.param('kind'));
    const name = objectNameParam(c.req.param('name'), kind);
    const body = await readBody(c, kind);
    if (body.metadata.name !== name) {
      throw new ApiError('invalid_body', 'request body is invalid', {
        details: [{ path: 'metadata.name', message: `must be ${name}, as in the path` }],
      });
    }
    for (let attempt = 1; ; attempt++) {
      try {
        const rv = body.metadata.resourceVersion ?? (await s.kube.get(kind, name)).metadata.resourceVersion;
        const updated = await s.kube.replace(kind, name, {
          apiVersion: API_VERSION,
          kind,
          metadata: { ...body.metadata, ...(rv ? { resourceVersion: rv } : {}) },
          spec: body.spec,
        });
        s.log.info('resource updated', { requestId: c.get('requestId'), kind, name, by: c.get('user')?.sub });
        return c.json(view(updated));
      } catch (err) {
        // Without a resourceVersion from the client, last write wins: re-read and try again.
        if (isKubeError(err, 409) && !body.metadata.resourceVersion && attempt < 3) continue;
        if (isKubeError(err, 409)) {
          throw new ApiError('conflict', `${kind} ${name} was changed meanwhile; reload and try again`);
        }
        throw kubeToApiError(err, `${kind} ${name}`);
      }
    }
  });

  app.delete('/:kind/:name', async (c) => {
    const kind = kindOf(c.req.param('kind'));
    const name = objectNameParam(c.req.param('name'), kind);
    try {
      await s.kube.delete(kind, name);
    } catch (err) {
      throw kubeToApiError(err, `${kind} ${name}`);
    }
    s.log.info('resource deleted', { requestId: c.get('requestId'), kind, name, by: c.get('user')?.sub });
    return c.body(null, 204);
  });

  return app;
}

// GET /api/jobs, GET /api/jobs/:id, GET /api/jobs/:id/prompt (viewer).
import { Hono } from 'hono';
import { z } from 'zod';
import { composeInstructions } from '../../api/v1alpha1/compose.ts';
import { type AiAgent, type AiInstruction, type InferenceRequest, PHASES } from '../../api/v1alpha1/index.ts';
import { objectNameParam, pageLimit } from '../lib/body.ts';
import { ApiError, invalidBody } from '../lib/errors.ts';
import type { KubeObject } from '../lib/kube.ts';
import { kubeToApiError, listError } from '../lib/kube-errors.ts';
import type { Services } from '../lib/services.ts';
import { detail, isLabelKey, isLabelValue, type JobListItem, listItem } from './shape.ts';

const labelValue = z.string().refine(isLabelValue, 'must be a valid label value');

export const listQuery = z.strictObject({
  phase: z
    .string()
    .transform((s) => s.split(',').filter(Boolean))
    .pipe(z.array(z.enum(PHASES)).min(1))
    .optional(),
  agent: labelValue.optional(),
  model: labelValue.optional(),
  source: labelValue.optional(),
  caller: labelValue.optional(),
  label: z
    .array(
      z.string().refine((s) => {
        const eq = s.indexOf('=');
        return eq > 0 && isLabelKey(s.slice(0, eq)) && isLabelValue(s.slice(eq + 1));
      }, 'must be key=value with a valid label key and value'),
    )
    .max(16)
    .optional(),
  limit: pageLimit(500, 50),
  continue: z.string().min(1).max(4096).optional(),
});

/** Loads a request or answers 404. */
export async function getRequest(
  s: Services,
  id: string | undefined,
): Promise<InferenceRequest & KubeObject> {
  const name = objectNameParam(id, 'request');
  try {
    return await s.kube.get<InferenceRequest & KubeObject>('InferenceRequest', name);
  } catch (err) {
    throw kubeToApiError(err, 'request');
  }
}

export function readApp(s: Services): Hono {
  const app = new Hono();

  app.get('/', async (c) => {
    const raw: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(c.req.queries())) raw[k] = k === 'label' ? v : v.at(-1);
    const parsed = listQuery.safeParse(raw);
    if (!parsed.success) throw invalidBody(parsed.error, 'query');
    const q = parsed.data;
    const selector = [
      ...(q.agent ? [`labrats.work/agent=${q.agent}`] : []),
      ...(q.model ? [`labrats.work/model=${q.model}`] : []),
      ...(q.source ? [`labrats.work/source=${q.source}`] : []),
      ...(q.caller ? [`labrats.work/caller=${q.caller}`] : []),
      ...(q.label ?? []),
    ].join(',');
    const items: JobListItem[] = [];
    let cont = q.continue;
    // Phase lives in status (no label): page through, asking for exactly what is still missing,
    // so the continue token handed back never skips an item.
    for (let page = 0; page < 20; page++) {
      let res: Awaited<ReturnType<Services['kube']['list']>>;
      try {
        res = await s.kube.list('InferenceRequest', {
          ...(selector ? { labelSelector: selector } : {}),
          limit: q.limit - items.length,
          ...(cont ? { continue: cont } : {}),
        });
      } catch (err) {
        throw listError(err, 'request list', !!cont);
      }
      for (const o of res.items) {
        const item = listItem(o);
        if (!q.phase || q.phase.includes(item.phase as (typeof PHASES)[number])) items.push(item);
      }
      cont = res.continue;
      if (!cont || items.length >= q.limit || !q.phase) break;
    }
    return c.json({ items, ...(cont ? { continue: cont } : {}) });
  });

  app.get('/:id', async (c) => c.json(detail(await getRequest(s, c.req.param('id')))));

  app.get('/:id/prompt', async (c) => {
    const req = await getRequest(s, c.req.param('id'));
    let agent: AiAgent;
    let instructions: AiInstruction[];
    try {
      agent = await s.kube.get<AiAgent & KubeObject>('AiAgent', req.spec.agent);
    } catch (err) {
      const e = kubeToApiError(err, `agent ${req.spec.agent}`);
      // the request is there; what is missing is its agent, so not a 404 (which would say the request is)
      throw e.code === 'not_found'
        ? new ApiError(
            'conflict',
            `the request's agent ${req.spec.agent} does not exist (yet): there are no instructions to compose`,
            { details: { agent: req.spec.agent } },
          )
        : e;
    }
    try {
      instructions = await listAll<AiInstruction & KubeObject>(s, 'AiInstruction');
    } catch (err) {
      throw kubeToApiError(err, 'instructions');
    }
    const composed = composeInstructions(agent, instructions);
    return c.json({
      ...composed,
      prompt: req.spec.prompt,
      ...(req.status?.promptHash ? { promptHash: req.status.promptHash } : {}),
    });
  });

  return app;
}

export async function listAll<T extends KubeObject>(
  s: Services,
  kind: 'AiInstruction' | 'AiAgent',
): Promise<T[]> {
  const out: T[] = [];
  let cont: string | undefined;
  do {
    const res = await s.kube.list<T>(kind, { limit: 500, ...(cont ? { continue: cont } : {}) });
    out.push(...res.items);
    cont = res.continue;
  } while (cont);
  return out;
}

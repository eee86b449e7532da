// POST /api/jobs/:id/cancel, POST /api/jobs/:id/retry, DELETE /api/jobs/:id (operator).
import { Hono } from 'hono';
import { type InferenceRequest, isTerminal } from '../../api/v1alpha1/index.ts';
import { objectNameParam } from '../lib/body.ts';
import { ApiError } from '../lib/errors.ts';
import type { KubeObject } from '../lib/kube.ts';
import { kubeToApiError } from '../lib/kube-errors.ts';
import type { Services } from '../lib/services.ts';
import { getRequest } from './read.ts';
import { jobLinks, requestLabels } from './shape.ts';

export function actionsApp(s: Services): Hono {
  const app = new Hono();

  app.post('/:id/cancel', async (c) => {
    const req = await getRequest(s, c.req.param('id'));
    if (isTerminal(req.status?.phase)) {
      throw new ApiError('already_finished', `request already ended (${req.status?.phase})`, {
        details: { phase: req.status?.phase },
      });
    }
    try {
      await s.kube.patch('InferenceRequest', req.metadata.name, { spec: { cancel: true } });
    } catch (err) {
      throw kubeToApiError(err, 'request');
    }
    s.log.info('request cancel asked', {
      requestId: c.get('requestId'),
      request: req.metadata.name,
      by: c.get('user')?.sub,
    });
    return c.json(
      { id: req.metadata.name, cancel: true, status: { phase: req.status?.phase ?? 'Pending' } },
      202,
    );
  });

  app.post('/:id/retry', async (c) => {
    const old = await getRequest(s, c.req.param('id'));
    if (!isTerminal(old.status?.phase)) {
      throw new ApiError('conflict', 'only a request that has ended can be retried', {
        details: { phase: old.status?.phase ?? 'Pending' },
      });
    }
    const { cancel: _cancel, retryOf: _retryOf, ...rest } = old.spec;
    const spec: InferenceRequest['spec'] = { ...rest, cancel: false, retryOf: old.metadata.name };
    const base = old.metadata.name.slice(0, 40).replace(/[-.]+$/, '');
    const body: KubeObject = {
      apiVersion: 'labrats.work/v1alpha1',
      kind: 'InferenceRequest',
      metadata: {
        generateName: `${base}-retry-`,
        labels: {
          ...requestLabels({ spec, ...(spec.caller ? { caller: spec.caller } : {}) }),
          'labrats.work/retry-of': base,
        },
      } as unknown as KubeObject['metadata'],
      spec: spec as unknown as Record<string, unknown>,
    };
    let created: KubeObject;
    try {
      created = await s.kube.create('InferenceRequest', body);
    } catch (err) {
      throw kubeToApiError(err, 'request');
    }
    s.metrics.submissions.inc({ source: 'retry' });
    s.log.info('request retried', {
      requestId: c.get('requestId'),
      request: created.metadata.name,
      retryOf: old.metadata.name,
      by: c.get('user')?.sub,
    });
    const id = created.metadata.name;
    return c.json({ id, retryOf: old.metadata.name, status: { phase: 'Pending' }, links: jobLinks(id) }, 202);
  });

  app.delete('/:id', async (c) => {
    const name = objectNameParam(c.req.param('id'), 'request');
    try {
      await s.kube.delete('InferenceRequest', name);
    } catch (err) {
      throw kubeToApiError(err, 'request');
    }
    s.log.info('request deleted', { requestId: c.get('requestId'), request: name, by: c.get('user')?.sub });
    return c.body(null, 204);
  });

  return app;
}

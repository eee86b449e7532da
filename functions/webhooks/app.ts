// HTTP for webhooks. Two apps from the same receiver:
//  - createWebhooksApp: the routes the unified API mounts at /api/webhooks —
//      POST /:source                           public, authenticated by the source's signature
//      GET  /:source/deliveries                the delivery ledger (role viewer)
//      POST /:source/deliveries/:id/replay     run a kept delivery again (role operator)
//    The ledger routes exist only when a requireRole is given (fail closed).
//  - createWebhookOnlyApp: what a per-source pod (WEBHOOK_SOURCE_NAME) serves — the one source's
//    POST route (also at the Ingress path, if different), /health, /ready and /metrics; nothing else.
import { type Handler, Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { type Counter, Registry } from 'prom-client';
import { healthApp } from '../health/app.ts';
import { ApiError, errorHandler, notFoundHandler } from '../lib/errors.ts';
import { webhookDeliveriesCounter } from '../lib/metrics.ts';
import type { RequireRole } from '../lib/roles.ts';
import { createReceiver, type Receiver, type ReceiverDeps } from './receiver.ts';

export const DEFAULT_MAX_WEBHOOK_BODY_BYTES = 1024 * 1024;

export interface WebhooksAppOptions extends ReceiverDeps {
  /** Largest body accepted (default 1 MiB); larger ones get 413 before they are read in full. */
  maxBodyBytes?: number;
  requireRole?: RequireRole;
  /** Counts deliveries by source and outcome (ai_agents_webhook_deliveries_total). */
  deliveries?: Counter<'source' | 'outcome'>;
  /** A receiver to share (tests, benchmarks); built from the deps otherwise. */
  receiver?: Receiver;
}

/** Reads the body, refusing (413) past maxBytes: by Content-Length up front, then while streaming. */
export async function readLimited(req: Request, maxBytes: number): Promise<Uint8Array> {
  const tooLarge = () =>
    new ApiError('payload_too_large', `request body is larger than ${maxBytes} bytes`, {
      details: { maxBytes },
    });
  const length = req.headers.get('content-length');
  const declared = Number(length);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge();
  if (length !== null && Number.isFinite(declared) && !req.headers.has('transfer-encoding')) {
    // the server reads exactly the declared length: one read, no web stream (Node's fast path);
    // checked again for a Request made in-process, whose header may say anything
    const body = new Uint8Array(await req.arrayBuffer());
    if (body.byteLength > maxBytes) throw tooLarge();
    return body;
  }
  if (!req.body) return new Uint8Array();
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** The outcome label of a refused delivery, from the error's status. */
function refusedOutcome(err: unknown): string {
  const status = err instanceof HTTPException ? err.status : 500;
  return status === 401 ? 'bad_signature' : status < 500 ? 'invalid' : 'error';
}

/** POST handler for one delivery; the source is the `:source` parameter unless fixed. */
export function receiveHandler(
  receiver: Receiver,
  maxBytes: number,
  fixedSource?: string,
  deliveries?: Counter<'source' | 'outcome'>,
): Handler {
  return async function receiveWebhook(c) {
    const source = fixedSource ?? c.req.param('source') ?? '';
    // 404 for an unknown source comes before reading (or refusing) the body
    if (!(await receiver.exists(source)))
      throw new ApiError('not_found', `webhook source "${source}" not found`);
    try {
      const body = await readLimited(c.req.raw, maxBytes);
      const answer = await receiver.receive(source, c.req.raw.headers, body);
      deliveries?.inc({ source, outcome: answer.body.outcome });
      return c.json(answer.body, answer.status);
    } catch (err) {
      deliveries?.inc({ source, outcome: refusedOutcome(err) });
      throw err;
    }
  };
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;

export function createWebhooksApp(opts: WebhooksAppOptions): Hono {
  const receiver = opts.receiver ?? createReceiver(opts);
  const maxBytes = opts.maxBodyBytes ?? DEFAULT_MAX_WEBHOOK_BODY_BYTES;
  const app = new Hono();

  app.post('/:source', receiveHandler(receiver, maxBytes, undefined, opts.deliveries));

  if (opts.requireRole) {
    const viewer = opts.requireRole('viewer');
    const operator = opts.requireRole('operator');
    app.get('/:source/deliveries', viewer, async function listDeliveries(c) {
      const limit = Math.min(Math.max(Number(c.req.query('limit') ?? 50) || 50, 1), 100);
      const items = await receiver.deliveries(c.req.param('source'), limit);
      return c.json({ items });
    });
    app.post('/:source/deliveries/:id/replay', operator, async function replayDelivery(c) {
      const id = c.req.param('id');
      if (!ID.test(id)) throw new ApiError('not_found', 'delivery not found');
      const answer = await receiver.replay(c.req.param('source'), id);
      return c.json(answer.body, answer.status);
    });
  }
  return app;
}

export interface WebhookOnlyAppOptions extends WebhooksAppOptions {
  /** WEBHOOK_SOURCE_NAME: the only source this app serves. */
  sourceName: string;
  /** The source's Ingress path when it is not /api/webhooks/<source> (e.g. "/hooks/github"). */
  path?: string;
  /** Served at /metrics (default: a new one holding the deliveries counter). */
  registry?: Registry;
}

/** The whole app of a per-source webhook pod. */
export function createWebhookOnlyApp(opts: WebhookOnlyAppOptions): Hono {
  const receiver = opts.receiver ?? createReceiver(opts);
  const registry = opts.registry ?? new Registry();
  const deliveries = opts.deliveries ?? webhookDeliveriesCounter(registry);
  const { requireRole: _ignored, ...rest } = opts;
  const routes = createWebhooksApp({ ...rest, receiver, deliveries });
  const app = new Hono();
  app.onError(errorHandler(opts.log));
  app.notFound(notFoundHandler);
  // the seed's probe contract, as the API's: no external dependency (a delivery for a source that
  // is gone gets its 404)
  app.route('/', healthApp(registry));
  // only this source: any other name is unknown here
  app.use('/api/webhooks/:source', async (c, next) => {
    if (c.req.param('source') !== opts.sourceName) {
      throw new ApiError('not_found', `webhook source "${c.req.param('source')}" is not served here`);
    }
    return next();
  });
  app.route('/api/webhooks', routes);
  const extra = opts.path?.replace(/\/+$/, '');
  if (extra && extra !== `/api/webhooks/${opts.sourceName}`) {
    app.post(
      extra,
      receiveHandler(
        receiver,
        opts.maxBodyBytes ?? DEFAULT_MAX_WEBHOOK_BODY_BYTES,
        opts.sourceName,
        deliveries,
      ),
    );
  }
  return app;
}

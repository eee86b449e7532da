// POST /api/jobs/submit — public, API key. Creates one InferenceRequest; with an Idempotency-Key
// the name is derived from (caller, key), so a retry finds the request it made the first time.
import { type Context, Hono } from 'hono';
import stringify from 'safe-stable-stringify';
import type { z } from 'zod';
import { inferenceRequestSpec } from '../../api/v1alpha1/index.ts';
import { nameFromKey } from '../../api/v1alpha1/names.ts';
import { presentedKey, sha256Hex, toHex } from '../lib/api-keys.ts';
import { limitBody, requireJson, validate } from '../lib/body.ts';
import { ApiError } from '../lib/errors.ts';
import { isKubeError, type KubeObject } from '../lib/kube.ts';
import { kubeToApiError } from '../lib/kube-errors.ts';
import type { Services } from '../lib/services.ts';
import { checkAttachments } from '../uploads/attachments.ts';
import { ownerOfCaller } from '../uploads/auth.ts';
import { jobLinks, labelProblem, requestLabels } from './shape.ts';

export const submitBody = inferenceRequestSpec
  .pick({
    agent: true,
    model: true,
    prompt: true,
    repository: true,
    attachments: true,
    callback: true,
    timeoutSeconds: true,
    maxRetries: true,
    priority: true,
    labels: true,
  })
  .superRefine((body, ctx) => {
    // refused rather than dropped: a label that never reaches the request cannot be filtered on
    for (const [key, value] of Object.entries(body.labels ?? {})) {
      const problem = labelProblem(key, value);
      if (problem)
        ctx.addIssue({ code: 'custom', path: ['labels', key], message: `label ${key} ${problem}` });
    }
  });
export type SubmitBody = z.infer<typeof submitBody>;

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
export const ANNOTATION_BODY_HASH = 'labrats.work/submit-body-sha256';
export const ANNOTATION_IDEMPOTENCY = 'labrats.work/idempotency-key-sha256';

// Random bytes drawn from a pool refilled 4 KiB at a time: one getRandomValues() call per name
// was a visible share of a submit's CPU.
let randomPool = new Uint8Array(0);
let randomAt = 0;
function randomHex(bytes: number): string {
  if (randomAt + bytes > randomPool.length) {
    randomPool = crypto.getRandomValues(new Uint8Array(4096));
    randomAt = 0;
  }
  randomAt += bytes;
  return toHex(randomPool.subarray(randomAt - bytes, randomAt));
}

/**
 * What an Idempotency-Key replay must match: the body's JSON with its object keys sorted, so that
 * the order a client writes them in does not matter.
 */
export const bodyHashOf = (body: SubmitBody): string => sha256Hex(stringify(body) ?? '');

export function newRequestName(): string {
  return `ir-${Date.now().toString(36)}-${randomHex(5)}`;
}

/** One submission from the per-caller token bucket (SUBMIT_RATE_*), or a 429 with Retry-After. */
export function takeSubmitSlot(s: Services, bucket: string, who: string): void {
  const limited = s.submitLimiter.take(bucket);
  if (!limited.ok) {
    throw new ApiError('rate_limited', `too many submissions for ${who}; slow down`, {
      headers: { 'Retry-After': String(limited.retryAfterSeconds) },
      details: { retryAfterSeconds: limited.retryAfterSeconds },
    });
  }
}

export function submitApp(s: Services): Hono {
  const app = new Hono();
  app.post(
    '/',
    async function authenticate(c, next) {
      const key = presentedKey(c.req.raw.headers);
      if (!key) {
        throw new ApiError('unauthorized', 'an API key is required (Authorization: Bearer or X-API-Key)', {
          headers: { 'WWW-Authenticate': 'Bearer realm="ai-agents"' },
        });
      }
      const caller = await s.apiKeys.verify(key);
      if (!caller) {
        throw new ApiError('unauthorized', 'the API key is not valid', {
          headers: { 'WWW-Authenticate': 'Bearer realm="ai-agents", error="invalid_token"' },
        });
      }
      takeSubmitSlot(s, caller.caller, 'this API key');
      c.set('caller', caller);
      await next();
    },
    limitBody(s.config.maxBodyBytes),
    requireJson,
    validate('json', submitBody),
    (c) => {
      const caller = c.get('caller')!;
      return createRequest(s, c, c.req.valid('json') as SubmitBody, {
        caller: caller.caller,
        owner: ownerOfCaller(caller),
        ...(caller.apiKeyRef ? { apiKeyRef: caller.apiKeyRef } : {}),
        source: 'api',
      });
    },
  );
  return app;
}

/** Who a new request is for: the caller (fair share, limits, labels) and where it came from. */
export interface Submitter {
  caller: string;
  /** Who owns uploads this submitter may attach (functions/uploads/auth.ts). */
  owner: string;
  apiKeyRef?: string;
  source: 'api' | 'ui';
}

/**
 * Creates the request for a validated body; with an Idempotency-Key a retry by the same caller
 * answers 200 with the request it made the first time.
 */
export async function createRequest(s: Services, c: Context, body: SubmitBody, who: Submitter) {
  if (body.attachments?.length) {
    if (!s.uploads) throw new ApiError('bad_request', 'uploads are not configured on this server');
    await checkAttachments(s.uploads, body.attachments, who.owner);
  }
  const idemKey = c.req.header('idempotency-key');
  if (idemKey !== undefined && !IDEMPOTENCY_KEY.test(idemKey)) {
    throw new ApiError('bad_request', 'Idempotency-Key must be 1-255 printable ASCII characters', {
      details: [{ path: 'Idempotency-Key', message: 'invalid header' }],
    });
  }
  const bodyHash = bodyHashOf(body);
  const name = idemKey ? nameFromKey('ir', `${who.caller}\u0000${idemKey}`) : newRequestName();
  const spec = {
    ...body,
    caller: who.caller,
    ...(who.apiKeyRef ? { apiKeyRef: { name: who.apiKeyRef } } : {}),
    source: { kind: who.source },
  };
  const obj: KubeObject = {
    apiVersion: 'labrats.work/v1alpha1',
    kind: 'InferenceRequest',
    metadata: {
      name,
      labels: requestLabels({ spec, caller: who.caller }),
      annotations: {
        [ANNOTATION_BODY_HASH]: bodyHash,
        ...(idemKey ? { [ANNOTATION_IDEMPOTENCY]: sha256Hex(idemKey) } : {}),
      },
    },
    spec,
  };
  const links = jobLinks(name);
  try {
    await s.kube.create('InferenceRequest', obj);
  } catch (err) {
    if (!(idemKey && isKubeError(err, 409))) throw kubeToApiError(err, 'request');
    let existing: KubeObject;
    try {
      existing = await s.kube.get('InferenceRequest', name);
    } catch (getErr) {
      throw kubeToApiError(getErr, 'request');
    }
    if (existing.metadata.labels?.['labrats.work/caller'] !== who.caller) {
      throw new ApiError('conflict', 'Idempotency-Key collides with another request');
    }
    const storedHash = existing.metadata.annotations?.[ANNOTATION_BODY_HASH];
    // requests made before the keys were sorted hashed JSON.stringify's order
    if (storedHash !== bodyHash && storedHash !== sha256Hex(JSON.stringify(body))) {
      throw new ApiError('idempotency_key_reused', 'Idempotency-Key was already used with a different body');
    }
    s.log.info('submit replayed', {
      requestId: c.get('requestId'),
      request: name,
      caller: who.caller,
    });
    const phase = (existing.status as { phase?: string } | undefined)?.phase ?? 'Pending';
    return c.json({ id: name, namespace: s.kube.namespace, status: { phase }, links }, 200);
  }
  s.metrics.submissions.inc({ source: who.source });
  s.log.info('request submitted', {
    requestId: c.get('requestId'),
    request: name,
    caller: who.caller,
  });
  c.header('Location', links.self);
  return c.json({ id: name, namespace: s.kube.namespace, status: { phase: 'Pending' }, links }, 202);
}

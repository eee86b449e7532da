// Signed result callbacks. On a terminal phase the result is POSTed to spec.callback.url with an
// HMAC-SHA256 signature of the body (`X-AI-Agents-Signature-256: sha256=<hex>`, key from
// callback.secretRef, a Secret labelled labrats.work/callback-secret=true). Failures are retried
// with exponential back-off up to CALLBACK_MAX_ATTEMPTS; each attempt is recorded in
// status.callback so a restarted controller carries on where it stopped. Deliveries run beside the
// work queue, never in it, so a slow receiver holds up nothing.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import {
  CALLBACK_SECRET_LABEL,
  type InferenceRequest,
  type InferenceRequestStatus,
} from '../api/v1alpha1/index.ts';
import {
  type CallbackDestinations,
  callbackDestinations,
  DestinationRefused,
} from './callback-destination.ts';
import { COND, setCondition } from './conditions.ts';
import { isNotFound, type KubeClient, RESOURCES } from './kube.ts';
import type { Logger } from './log.ts';
import type { StatusWriter } from './status.ts';

export const SIGNATURE_HEADER = 'x-ai-agents-signature-256';
export const DELIVERY_HEADER = 'x-ai-agents-delivery';
export const EVENT_HEADER = 'x-ai-agents-event';
export const DEFAULT_SECRET_KEY = 'secret';

class CallbackSecretUnusable extends Error {}

export function sign(body: string, key: string | Uint8Array): string {
  return `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;
}

/** For receivers: constant-time check of the signature header against the raw body. */
export function verifySignature(
  body: string,
  header: string | null | undefined,
  key: string | Uint8Array,
): boolean {
  if (!header) return false;
  const expected = Buffer.from(sign(body, key));
  const given = Buffer.from(header);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export function callbackBody(req: InferenceRequest): string {
  const s = req.status ?? {};
  return JSON.stringify({
    apiVersion: req.apiVersion,
    kind: 'InferenceRequestResult',
    name: req.metadata.name,
    namespace: req.metadata.namespace,
    uid: req.metadata.uid,
    phase: s.phase,
    reason: s.reason,
    message: s.message,
    result: s.result,
    usage: s.usage,
    attempts: s.attempts,
    startedAt: s.startedAt,
    completedAt: s.completedAt,
    labels: req.spec.labels,
  });
}

/** `refused`: the destination is not allowed (a submitter's or the policy's matter, not the receiver's). */
export const CALLBACK_OUTCOMES = ['delivered', 'failed', 'gave_up', 'refused'] as const;
export type CallbackOutcome = (typeof CALLBACK_OUTCOMES)[number];

export interface CallbackOptions {
  client: KubeClient;
  status: StatusWriter;
  /** The request as currently cached (status writes must start from the latest). */
  current: (key: string) => InferenceRequest | undefined;
  maxAttempts: number;
  backoffMs: number;
  timeoutMs: number;
  concurrency: number;
  /**
   * How long the first attempt waits for the executor's report (result and usage, which the API
   * folds into status at most once a second) to reach a request that had a run.
   */
  reportWaitMs?: number;
  now: () => Date;
  log: Logger;
  onOutcome?: (outcome: CallbackOutcome) => void;
  /** Where callbacks may go (CALLBACK_ALLOWED_HOSTS); by default anywhere but loopback, link-local and the like. */
  destinations?: CallbackDestinations;
  sleep?: (ms: number) => Promise<void>;
}

export interface CallbackDispatcher {
  /** Starts (once) the delivery for a terminal request that asks for one and still needs it. */
  ensure(req: InferenceRequest): void;
  readonly inFlight: number;
  /** Waits for deliveries in progress (shutdown). */
  drain(): Promise<void>;
}

export function needsCallback(req: InferenceRequest, maxAttempts: number): boolean {
  const c = req.status?.callback;
  return !!req.spec.callback && !c?.deliveredAt && !c?.gaveUp && (c?.attempts ?? 0) < maxAttempts + 1;
}

/** POSTs the body and answers the response's status code; the response body is discarded. */
function post(
  url: URL,
  headers: OutgoingHttpHeaders,
  body: string,
  timeoutMs: number,
  lookup: LookupFunction,
): Promise<number> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
        lookup,
        agent: false,
        signal: AbortSignal.timeout(timeoutMs),
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export function createCallbackDispatcher(opts: CallbackOptions): CallbackDispatcher {
  const destinations = opts.destinations ?? callbackDestinations(undefined);
  const sleep = opts.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  const running = new Map<string, Promise<void>>();
  /** uids whose delivery ended (the cache may not show it yet) */
  const finished = new Set<string>();
  let active = 0;
  const slots: (() => void)[] = [];
  const acquire = async () => {
    if (active < opts.concurrency) {
      active++;
      return;
    }
    await new Promise<void>((r) => slots.push(r));
  };
  const releaseSlot = () => {
    const next = slots.shift();
    if (next) next();
    else active--;
  };

  /**
   * The HMAC key, from a Secret labelled CALLBACK_SECRET_LABEL=true. A Secret that is missing,
   * unlabelled or without the key gets one and the same answer, so a request's status says
   * nothing about the namespace's other Secrets.
   */
  async function signingKey(req: InferenceRequest): Promise<string | undefined> {
    const ref = req.spec.callback?.secretRef;
    if (!ref) return undefined;
    const key = ref.key ?? DEFAULT_SECRET_KEY;
    const unusable = new CallbackSecretUnusable(
      `signing Secret ${ref.name} is not usable: it must exist, be labelled ${CALLBACK_SECRET_LABEL}=true and hold key "${key}"`,
    );
    let secret: { metadata?: { labels?: Record<string, string> }; data?: Record<string, string> };
    try {
      secret = await opts.client.get(RESOURCES.secrets, req.metadata.namespace ?? 'default', ref.name);
    } catch (e) {
      if (isNotFound(e)) throw unusable;
      throw e;
    }
    const b64 = secret.data?.[key];
    if (secret.metadata?.labels?.[CALLBACK_SECRET_LABEL] !== 'true' || !b64) throw unusable;
    return Buffer.from(b64, 'base64').toString('utf8');
  }

  async function attempt(
    req: InferenceRequest,
  ): Promise<{ ok: boolean; status?: number; error?: string; refused?: boolean }> {
    let url: URL;
    try {
      url = new URL(req.spec.callback!.url);
    } catch {
      return { ok: false, error: 'callback URL is not a valid URL', refused: true };
    }
    const refusal = destinations.refusal(url);
    if (refusal) return { ok: false, error: refusal, refused: true };
    let key: string | undefined;
    try {
      key = await signingKey(req);
    } catch (e) {
      return {
        ok: false,
        error:
          e instanceof CallbackSecretUnusable
            ? e.message
            : `signing Secret unreadable: ${String((e as Error).message).slice(0, 200)}`,
      };
    }
    const body = callbackBody(req);
    const headers: OutgoingHttpHeaders = {
      'content-type': 'application/json',
      'user-agent': 'ai-agents-controller',
      [EVENT_HEADER]: 'request.completed',
      [DELIVERY_HEADER]: req.metadata.uid ?? req.metadata.name,
    };
    if (key !== undefined) headers[SIGNATURE_HEADER] = sign(body, key);
    try {
      // redirects are not followed: a receiver could point one anywhere
      const status = await post(url, headers, body, opts.timeoutMs, destinations.lookupFor(url));
      return status >= 200 && status < 300
        ? { ok: true, status }
        : { ok: false, status, error: `HTTP ${status}` };
    } catch (e) {
      if (e instanceof DestinationRefused) return { ok: false, error: e.message, refused: true };
      const err = e as Error & { code?: string; cause?: { name?: string } };
      const error =
        err.name === 'AbortError' && err.cause?.name === 'TimeoutError' ? 'TimeoutError' : err.code;
      return { ok: false, error: (error ?? err.name ?? 'error').slice(0, 200) };
    }
  }

  /** Until the executor's report is in status (its completed event), or reportWaitMs has passed. */
  async function waitForReport(key: string) {
    const until = performance.now() + (opts.reportWaitMs ?? 0);
    for (;;) {
      const s = opts.current(key)?.status;
      const left = until - performance.now();
      if (!s?.jobName || s.lastEvent?.type === 'completed' || left <= 0) return;
      await sleep(Math.min(200, left));
    }
  }

  async function deliver(key: string) {
    let tries = opts.current(key)?.status?.callback?.attempts ?? 0;
    if (tries === 0) await waitForReport(key);
    while (tries < opts.maxAttempts) {
      if (tries > 0) await sleep(Math.min(opts.backoffMs * 2 ** (tries - 1), 3_600_000));
      const req = opts.current(key);
      if (!req || !needsCallback(req, opts.maxAttempts)) return;
      await acquire();
      let outcome: Awaited<ReturnType<typeof attempt>>;
      try {
        outcome = await attempt(req);
      } finally {
        releaseSlot();
      }
      tries++;
      // a refused destination stays refused: no point in trying again
      const gaveUp = !outcome.ok && (outcome.refused === true || tries >= opts.maxAttempts);
      const error = outcome.error ?? 'failed';
      /** How the delivery ended, when it did: metric outcome and condition. */
      const ending: { outcome: CallbackOutcome; reason: string; message: string } | undefined = outcome.ok
        ? { outcome: 'delivered', reason: 'Delivered', message: `delivered after ${tries} attempt(s)` }
        : outcome.refused
          ? { outcome: 'refused', reason: 'Refused', message: `not sent: ${error}` }
          : gaveUp
            ? { outcome: 'gave_up', reason: 'GaveUp', message: `gave up after ${tries} attempt(s): ${error}` }
            : undefined;
      opts.onOutcome?.(ending?.outcome ?? 'failed');
      const now = opts.now();
      const mutate = (s: InferenceRequestStatus): InferenceRequestStatus => ({
        ...s,
        callback: {
          attempts: tries,
          ...(outcome.status !== undefined ? { lastStatus: outcome.status } : {}),
          ...(outcome.ok ? { deliveredAt: now.toISOString() } : { lastError: error }),
          ...(gaveUp ? { gaveUp: true } : {}),
        },
        ...(ending
          ? {
              conditions: setCondition(
                s.conditions,
                {
                  type: COND.callbackDelivered,
                  status: outcome.ok ? 'True' : 'False',
                  reason: ending.reason,
                  message: ending.message,
                },
                now,
              ),
            }
          : {}),
      });
      const latest = opts.current(key) ?? req;
      await opts.status.update(latest, mutate);
      opts.log.info('callback attempt', {
        request: key,
        attempt: tries,
        ok: outcome.ok,
        status: outcome.status,
        error: outcome.error,
      });
      if (outcome.ok || gaveUp) {
        finished.add(req.metadata.uid ?? key);
        return;
      }
    }
  }

  return {
    ensure(req) {
      if (!needsCallback(req, opts.maxAttempts) || finished.has(req.metadata.uid ?? '')) return;
      const key = `${req.metadata.namespace}/${req.metadata.name}`;
      if (running.has(key)) return;
      const p = deliver(key)
        .catch((e) => opts.log.warn('callback delivery interrupted', { request: key, error: String(e) }))
        .finally(() => running.delete(key));
      running.set(key, p);
    },
    get inFlight() {
      return running.size;
    },
    async drain() {
      await Promise.all(running.values());
    },
  };
}

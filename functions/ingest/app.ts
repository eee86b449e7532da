// POST /api/events/ingest — public; `Authorization: Bearer <job token>`, one of two kinds, told
// apart by the JWT header's `alg`:
//   - HS256: a token the controller minted for one request with INGEST_TOKEN_SECRET (the local
//     process runtime);
//   - an asymmetric alg (RS256, ES256, …): the executor pod's projected ServiceAccount token with
//     the audience INGEST_AUDIENCE, checked by a TokenReview and the pod (executor-token.ts).
// Everything is checked before anything is written: token (401; 502/503 when the apiserver cannot
// check it), request match (403), body (400/413), the completed event's payload (400); then the
// batch is appended to the request's log (idempotent on seq; a gap or anything after the end is
// 409) and a summary is queued for the request's status (coalesced by the status writer).
import { Hono } from 'hono';
import { decodeProtectedHeader } from 'jose';
import { completion, type ExecutorEvent, ingestBatch } from '../../api/v1alpha1/events.ts';
import { isTerminal } from '../../api/v1alpha1/index.ts';
import { type IngestClaims, ingestKey, verifyIngestToken } from '../../api/v1alpha1/ingest-token.ts';
import { limitBody, requireJson, validate } from '../lib/body.ts';
import { ApiError, fieldIssues } from '../lib/errors.ts';
import { EventLogError } from '../lib/event-store.ts';
import { isKubeError } from '../lib/kube.ts';
import { kubeToApiError } from '../lib/kube-errors.ts';
import type { Services } from '../lib/services.ts';
import { createExecutorTokenVerifier, ExecutorTokenRejected } from './executor-token.ts';
import type { StatusSummary } from './status-writer.ts';

declare module 'hono' {
  interface ContextVariableMap {
    ingestClaims?: { namespace: string; request: string; uid: string };
  }
}

/** Checks a batch beyond its schema: consecutive seqs, nothing after `completed`, a valid completion. */
export function batchProblems(events: readonly ExecutorEvent[]): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  events.forEach((ev, i) => {
    if (i > 0 && ev.seq !== events[i - 1]!.seq + 1) {
      problems.push({ path: `events.${i}.seq`, message: 'seqs in a batch must be consecutive' });
    }
    if (ev.type === 'completed') {
      if (i !== events.length - 1)
        problems.push({ path: `events.${i}`, message: 'completed must be the last event' });
      const parsed = completion.safeParse(ev.data ?? {});
      if (!parsed.success) {
        for (const issue of fieldIssues(parsed.error)) {
          problems.push({
            path: `events.${i}.data${issue.path ? `.${issue.path}` : ''}`,
            message: issue.message,
          });
        }
      }
    }
  });
  return problems.slice(0, 50);
}

export function summarize(accepted: readonly ExecutorEvent[], lastSeq: number): StatusSummary {
  const last = accepted[accepted.length - 1]!;
  const summary: StatusSummary = {
    eventCount: lastSeq,
    lastEvent: {
      seq: last.seq,
      type: last.type,
      time: last.time,
      ...(last.message ? { message: last.message.slice(0, 1024) } : {}),
    },
  };
  const done = accepted.find((e) => e.type === 'completed');
  if (done) {
    const c = completion.parse(done.data ?? {});
    if (c.result) summary.result = c.result;
    if (c.usage) summary.usage = c.usage;
  }
  return summary;
}

/**
 * How old ingest's knowledge of a request's phase may be before a batch reads it again: a request
 * that ended (cancelled, timed out, failed without its executor) refuses new events within this.
 */
const FACTS_MAX_AGE_MS = 1000;

/** JWS algorithms a Kubernetes ServiceAccount token can be signed with. */
const ASYMMETRIC_ALG = /^(RS|PS|ES)(256|384|512)$|^EdDSA$/;

export function ingestApp(s: Services): Hono {
  const key = ingestKey(s.config.ingestTokenSecret);
  const executorTokens = createExecutorTokenVerifier({ kube: s.kube, now: s.now });
  const invalid = () =>
    new ApiError('unauthorized', 'the job token is not valid', {
      headers: { 'WWW-Authenticate': 'Bearer realm="ai-agents-ingest", error="invalid_token"' },
    });

  async function claimsOf(token: string): Promise<IngestClaims> {
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw invalid();
    }
    if (alg === 'HS256') {
      try {
        return await verifyIngestToken(key, token);
      } catch {
        throw invalid();
      }
    }
    if (typeof alg !== 'string' || !ASYMMETRIC_ALG.test(alg)) throw invalid();
    try {
      return await executorTokens.verify(token);
    } catch (err) {
      if (err instanceof ExecutorTokenRejected) {
        s.log.debug('executor token refused', { reason: err.message });
        throw invalid();
      }
      // the apiserver could not say: never a 401 for what may be a valid token
      const apiErr = kubeToApiError(err, 'token review');
      if (apiErr.status >= 500) throw apiErr;
      throw new ApiError('upstream_error', 'the Kubernetes API could not check the job token', {
        cause: err,
      });
    }
  }

  const app = new Hono();
  app.post(
    '/',
    async function authenticateJobToken(c, next) {
      const m = /^Bearer[ \t]+(\S{1,4096})[ \t]*$/i.exec(c.req.header('authorization') ?? '');
      if (!m) {
        throw new ApiError('unauthorized', 'a job token is required (Authorization: Bearer)', {
          headers: { 'WWW-Authenticate': 'Bearer realm="ai-agents-ingest"' },
        });
      }
      c.set('ingestClaims', await claimsOf(m[1]!));
      await next();
    },
    limitBody(s.config.ingestMaxBodyBytes),
    requireJson,
    validate('json', ingestBatch),
    async (c) => {
      const claims = c.get('ingestClaims')!;
      const batch = c.req.valid('json');
      if (claims.namespace !== s.kube.namespace || claims.request !== batch.request) {
        s.metrics.ingestEvents.inc({ result: 'rejected' }, batch.events.length);
        throw new ApiError('forbidden', 'the job token is for another request');
      }
      const problems = batchProblems(batch.events);
      if (problems.length)
        throw new ApiError('invalid_body', 'event batch is invalid', { details: problems });

      // The request must exist and be the one the token was minted for (not a re-created namesake),
      // and must not have ended: its phase is read again once what is known is a second old.
      let facts = s.requestFacts.get(batch.request);
      if (!facts || facts.uid !== claims.uid || s.now() - facts.seenAt > FACTS_MAX_AGE_MS) {
        try {
          const obj = await s.kube.get('InferenceRequest', batch.request);
          facts = {
            uid: obj.metadata.uid ?? '',
            phase: (obj.status as { phase?: string } | undefined)?.phase,
            seenAt: s.now(),
          };
        } catch (err) {
          if (isKubeError(err, 404)) throw new ApiError('not_found', 'request not found');
          throw kubeToApiError(err, 'request');
        }
        if (facts.uid !== claims.uid) throw new ApiError('forbidden', 'the job token is for another request');
        s.requestFacts.delete(batch.request); // the newest last, for the eviction below
        s.requestFacts.set(batch.request, facts);
        if (s.requestFacts.size > 10_000) s.requestFacts.delete(s.requestFacts.keys().next().value!);
      }
      const stopped = isTerminal(facts.phase);
      const log = { namespace: s.kube.namespace, request: batch.request, uid: claims.uid };

      let res: Awaited<ReturnType<Services['events']['append']>>;
      try {
        if (stopped) {
          // Replays of what the log already has are still fine; anything new is refused.
          const st = await s.events.state(log);
          if (batch.events.some((e) => e.seq > st.lastSeq)) {
            throw new EventLogError(
              'request_ended',
              `the request has ended (${facts.phase})`,
              st.lastSeq + 1,
            );
          }
        }
        res = await s.events.append(log, batch.events);
      } catch (err) {
        if (err instanceof EventLogError) {
          s.metrics.ingestEvents.inc({ result: 'rejected' }, batch.events.length);
          throw new ApiError(err.code, err.message, { details: { expectedSeq: err.expected } });
        }
        throw err;
      }
      if (res.accepted.length) {
        s.statusWriter.update(batch.request, summarize(res.accepted, res.lastSeq));
        s.metrics.ingestEvents.inc({ result: 'accepted' }, res.accepted.length);
      }
      if (res.duplicates) s.metrics.ingestEvents.inc({ result: 'duplicate' }, res.duplicates);
      if (isTerminal(facts.phase) && res.ended) s.requestFacts.delete(batch.request);
      return c.json({ accepted: res.accepted.length, duplicates: res.duplicates, lastSeq: res.lastSeq });
    },
  );
  return app;
}

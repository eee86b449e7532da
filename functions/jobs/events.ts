// GET /api/jobs/:id/events — the request's event log as Server-Sent Events: `id:` is the event's
// seq, `event:` its type, `data:` the event JSON. Resumes after Last-Event-ID (header or
// ?lastEventId=), follows the log while the request runs and closes with `event: end` once the
// completed event is sent or the request is over.
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { isTerminal } from '../../api/v1alpha1/index.ts';
import { ApiError } from '../lib/errors.ts';
import { isKubeError } from '../lib/kube.ts';
import type { Services } from '../lib/services.ts';
import { getRequest } from './read.ts';

export interface EventStreamOptions {
  /** How often the request's phase is re-read while the log is quiet. */
  phaseCheckMs?: number;
  /** Longest wait for news before reading the log again (appends by other replicas). */
  pollMs?: number;
  keepaliveMs?: number;
}

function parseLastEventId(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 0;
  if (!/^\d{1,10}$/.test(raw.trim())) {
    throw new ApiError('bad_request', 'Last-Event-ID must be an event sequence number', {
      details: [{ path: 'Last-Event-ID', message: 'must be a non-negative integer' }],
    });
  }
  return Number(raw.trim());
}

export function eventsApp(s: Services, opts: EventStreamOptions = {}): Hono {
  const phaseCheckMs = opts.phaseCheckMs ?? 2000;
  const pollMs = opts.pollMs ?? 1000;
  const keepaliveMs = opts.keepaliveMs ?? 15_000;
  const app = new Hono();

  app.get('/:id/events', async (c) => {
    const after = parseLastEventId(c.req.header('last-event-id') ?? c.req.query('lastEventId'));
    const req = await getRequest(s, c.req.param('id'));
    const ns = s.kube.namespace;
    const name = req.metadata.name;
    const log = { namespace: ns, request: name, uid: req.metadata.uid ?? '' };
    c.header('X-Accel-Buffering', 'no');
    const res = streamSSE(
      c,
      async (stream) => {
        let wake: (() => void) | undefined;
        const unsubscribe = s.events.subscribe(ns, name, () => wake?.());
        stream.onAbort(() => wake?.());
        let offset = 0;
        let last = after;
        /** the highest seq the log has shown (a client may resume after one it never had) */
        let logLast = 0;
        let phase: string | undefined = req.status?.phase;
        let completed = false;
        let lastCheck = s.now();
        let lastWrite = s.now();
        try {
          await stream.write('retry: 1000\n\n');
          for (;;) {
            const terminalBefore = isTerminal(phase);
            const read = await s.events.readFrom(log, offset);
            offset = read.offset;
            for (const ev of read.events) {
              logLast = Math.max(logLast, ev.seq);
              // the log's end, whether or not the client had it already
              if (ev.type === 'completed') completed = true;
              if (ev.seq <= last) continue;
              await stream.writeSSE({ id: String(ev.seq), event: ev.type, data: JSON.stringify(ev) });
              last = ev.seq;
              lastWrite = s.now();
            }
            // A phase seen as terminal before this read means the log has been read to its end.
            if (completed || terminalBefore || stream.aborted) break;
            if (s.now() - lastCheck >= phaseCheckMs) {
              lastCheck = s.now();
              try {
                const cur = await s.kube.get('InferenceRequest', name);
                phase = (cur.status as { phase?: string } | undefined)?.phase;
              } catch (err) {
                if (!isKubeError(err, 404)) throw err;
                phase = 'Deleted';
                break;
              }
              if (isTerminal(phase)) continue; // one more read, then end
            }
            if (s.now() - lastWrite >= keepaliveMs) {
              await stream.write(': keepalive\n\n');
              lastWrite = s.now();
            }
            await new Promise<void>((resolve) => {
              const t = setTimeout(resolve, pollMs);
              wake = () => {
                clearTimeout(t);
                resolve();
              };
            });
            wake = undefined;
            if (stream.aborted) break;
          }
          if (!stream.aborted) {
            await stream.writeSSE({
              event: 'end',
              data: JSON.stringify({ phase: phase ?? null, lastSeq: logLast }),
            });
          }
        } finally {
          unsubscribe();
        }
      },
      async (err, stream) => {
        s.log.error('event stream failed', {
          requestId: c.get('requestId'),
          request: name,
          error: String(err).slice(0, 300),
        });
        await stream.writeSSE({
          event: 'error',
          data: JSON.stringify({ code: 'internal', message: 'event stream failed' }),
        });
      },
    );
    // after streamSSE, which sets its own `no-cache`: no proxy may transform (compress, buffer) it
    res.headers.set('Cache-Control', 'no-cache, no-transform');
    return res;
  });

  return app;
}

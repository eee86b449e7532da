// A small local ingest for tests: the same wire contract as functions/ingest (bearer token, ingestBatch
// body, idempotent on seq, 409 once the request has ended), strict about order (a gap is a 400), and
// switchable down (connection reset or 503) to simulate an outage.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ExecutorEvent, ingestBatch } from '../../api/v1alpha1/events.ts';

export interface IngestReceiver {
  url: string;
  token: string;
  events: ExecutorEvent[];
  posts: number;
  /** 'up' | 'reset' (drop the connection) | '503' */
  mode: 'up' | 'reset' | '503';
  /** Answer 409 from now on (the request ended). */
  ended: boolean;
  /** Called for every accepted event. */
  onEvent?: (event: ExecutorEvent) => void;
  /** Resolves when an event matching the predicate has been accepted. */
  waitFor(predicate: (event: ExecutorEvent) => boolean): Promise<ExecutorEvent>;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startIngestReceiver(options: {
  request: string;
  token?: string;
}): Promise<IngestReceiver> {
  const token = options.token ?? 'test-ingest-token';
  const waiters: { predicate: (e: ExecutorEvent) => boolean; resolve: (e: ExecutorEvent) => void }[] = [];
  const state: Omit<IngestReceiver, 'url' | 'close' | 'waitFor'> = {
    token,
    events: [],
    posts: 0,
    mode: 'up',
    ended: false,
  };
  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const server: Server = createServer(async (req, res) => {
    const body = await readBody(req);
    state.posts += 1;
    if (state.mode === 'reset') return req.socket.destroy();
    if (state.mode === '503') return send(res, 503, { error: 'unavailable' });
    if (req.method !== 'POST') return send(res, 405, { error: 'method' });
    if (req.headers.authorization !== `Bearer ${token}`) return send(res, 401, { error: 'token' });
    let parsed: ReturnType<typeof ingestBatch.parse>;
    try {
      parsed = ingestBatch.parse(JSON.parse(body));
    } catch (error) {
      return send(res, 400, { error: String(error) });
    }
    if (parsed.request !== options.request) return send(res, 403, { error: 'another request' });
    if (state.ended) return send(res, 409, { error: 'ended' });
    let accepted = 0;
    let duplicates = 0;
    for (const event of parsed.events) {
      const lastSeq = state.events.length;
      if (event.seq <= lastSeq) {
        duplicates += 1;
        continue;
      }
      if (event.seq !== lastSeq + 1)
        return send(res, 400, { error: `gap: expected ${lastSeq + 1}, got ${event.seq}` });
      state.events.push(event);
      accepted += 1;
      state_onEvent(event);
      if (event.type === 'completed') state.ended = true;
    }
    send(res, 200, { accepted, duplicates, lastSeq: state.events.length });
  });
  const receiver = state as IngestReceiver;
  function state_onEvent(event: ExecutorEvent) {
    receiver.onEvent?.(event);
    for (const w of [...waiters]) {
      if (w.predicate(event)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(event);
      }
    }
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  receiver.url = `http://127.0.0.1:${port}/api/events/ingest`;
  receiver.waitFor = (predicate) => {
    const found = receiver.events.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => waiters.push({ predicate, resolve }));
  };
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}

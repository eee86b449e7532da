// Property tests over the public endpoints, shared by the unit run (in-memory Kube) and the
// integration run (real apiserver): arbitrary methods, headers, bodies and sizes never give a 5xx,
// and a refused request never leaves a partial write (no request created, no event appended, no
// status written).
import fc from 'fast-check';
import type { App } from '../app.ts';

export interface PropertyTarget {
  app: App;
  /** A valid API key and a valid job token for `request`, plus another request's token. */
  apiKey: string;
  request: string;
  /** `request`'s uid: its event log's owner */
  uid: string;
  token: string;
  otherToken: string;
  /** An executor pod's ServiceAccount token for `request`, when the target has one. */
  executorToken?: string;
  countRequests(): Promise<number>;
  namespace: string;
}

const printable = fc.string({
  unit: fc.constantFrom(...' !#$%&*+-./0123456789:;=?@ABCXYZ_abcxyz~"{}[],'.split('')),
  maxLength: 40,
});

const b64url = (text: string) =>
  btoa(String.fromCharCode(...new TextEncoder().encode(text)))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replace(/=+$/, '');

/**
 * Tokens shaped like JWTs that nobody issued: any `alg` (the ingest token's HS256, the
 * ServiceAccount tokens' RS256/ES256, none, garbage), a payload that may claim the ingest audience
 * and a future expiry, any signature. Each must be a 401, never a 5xx.
 */
const forgedJwt = fc
  .tuple(
    fc.oneof(fc.constantFrom('RS256', 'ES256', 'PS384', 'EdDSA', 'HS256', 'none', 'RS1'), printable),
    fc.oneof(
      fc.record(
        {
          aud: fc.oneof(fc.constant(['ai-agents-ingest']), fc.constant('ai-agents-ingest'), fc.anything()),
          exp: fc.oneof(fc.constant(Math.floor(Date.now() / 1000) + 3600), fc.integer(), fc.anything()),
          sub: printable,
        },
        { requiredKeys: [] },
      ),
      fc.anything(),
    ),
    fc.oneof(printable, fc.constant('')),
  )
  .map(([alg, payload, sig]) => {
    const json = (v: unknown) => JSON.stringify(v) ?? 'null';
    return `${b64url(json({ alg, typ: 'JWT' }))}.${b64url(json(payload))}.${b64url(sig)}`;
  });

const jsonTypes = fc.constantFrom(
  'application/json',
  'application/json',
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/merge-patch+json',
  '',
);

const nearSubmit = fc.record(
  {
    agent: fc.oneof(fc.constantFrom('developer', 'reviewer', 'Bad Name', '', 'a'.repeat(300)), fc.anything()),
    model: fc.oneof(fc.constantFrom('claude-sonnet', '-x-'), fc.integer()),
    prompt: fc.oneof(fc.string({ maxLength: 200 }), fc.constant(''), fc.integer(), fc.constant(null)),
    repository: fc.oneof(
      fc.record({
        url: fc.constantFrom('https://github.com/a/b.git', 'nope', ''),
        pullRequest: fc.anything(),
      }),
      fc.anything(),
    ),
    attachments: fc.array(fc.string({ maxLength: 20 }), { maxLength: 40 }),
    callback: fc.record({ url: fc.webUrl(), secretRef: fc.anything() }, { requiredKeys: [] }),
    timeoutSeconds: fc.oneof(fc.integer(), fc.double()),
    maxRetries: fc.integer({ min: -5, max: 20 }),
    priority: fc.integer(),
    labels: fc.dictionary(
      fc.string({ maxLength: 70 }),
      fc.oneof(fc.string({ maxLength: 70 }), fc.integer()),
      {
        maxKeys: 5,
      },
    ),
    caller: fc.string(),
    source: fc.anything(),
    cancel: fc.boolean(),
  },
  { requiredKeys: [] },
);

const eventArb = fc.record(
  {
    seq: fc.oneof(fc.integer({ min: -2, max: 6 }), fc.double(), fc.string()),
    type: fc.oneof(
      fc.constantFrom('started', 'message', 'completed', 'log', 'usage', 'bogus'),
      fc.anything(),
    ),
    time: fc.oneof(fc.constant('2026-01-01T00:00:00Z'), fc.string()),
    message: fc.oneof(fc.string({ maxLength: 100 }), fc.integer()),
    data: fc.oneof(
      fc.record(
        {
          outcome: fc.constantFrom('succeeded', 'failed', 'maybe'),
          usage: fc.record({ inputTokens: fc.integer({ min: -1, max: 100 }) }, { requiredKeys: [] }),
          result: fc.record({ summary: fc.string({ maxLength: 50 }) }, { requiredKeys: [] }),
        },
        { requiredKeys: [] },
      ),
      fc.anything(),
    ),
  },
  { requiredKeys: [] },
);

const validSubmit = fc.record(
  {
    agent: fc.constantFrom('developer', 'reviewer', 'docs'),
    prompt: fc.string({ minLength: 1, maxLength: 100 }),
    priority: fc.integer({ min: -1000, max: 1000 }),
    labels: fc.dictionary(fc.constantFrom('team', 'env', 'x/y'), fc.string({ maxLength: 10 }), {
      maxKeys: 2,
    }),
    repository: fc.record({
      url: fc.constant('https://github.com/a/b.git'),
      branch: fc.constantFrom('main', 'feat/x'),
    }),
  },
  { requiredKeys: ['agent', 'prompt'] },
);

/** A well-formed batch placed relative to the log's end when sent: a replay, the next seq, or a gap. */
interface BatchPlan {
  plan: 'batch';
  offset: number;
  n: number;
  complete: boolean;
}
const validBatch: fc.Arbitrary<BatchPlan> = fc.record({
  plan: fc.constant('batch' as const),
  offset: fc.constantFrom(-2, 0, 0, 0, 0, 1),
  n: fc.integer({ min: 1, max: 4 }),
  complete: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
});

function materialise(plan: BatchPlan, request: string, lastSeq: number) {
  const from = Math.max(1, lastSeq + 1 + plan.offset);
  return {
    request,
    events: Array.from({ length: plan.n }, (_, i) => {
      const last = plan.complete && i === plan.n - 1;
      return {
        seq: from + i,
        type: last ? 'completed' : 'message',
        time: '2026-01-01T00:00:00Z',
        ...(last ? { data: { outcome: 'succeeded' } } : { message: `m${from + i}` }),
      };
    }),
  };
}

function bodyArb(
  structured: fc.Arbitrary<unknown>,
  valid?: fc.Arbitrary<unknown>,
): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: valid ? 4 : 0, arbitrary: (valid ?? fc.constant({})).map((v) => JSON.stringify(v)) },
    { weight: 4, arbitrary: structured.map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.json() },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 6 * 1024 * 1024 }).map((n) => 'x'.repeat(n)) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}

async function send(
  app: App,
  path: string,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
): Promise<Response> {
  const h = new Headers();
  for (const [k, v] of Object.entries(headers)) h.set(k, v);
  const init: RequestInit = { method, headers: h };
  if (body !== undefined && method !== 'GET' && method !== 'HEAD') init.body = body;
  return app.request(path, init);
}

/** Status codes seen, so tests can check both accepted and refused inputs were exercised. */
export type Tally = Map<number, number>;
const count = (tally: Tally, status: number) => tally.set(status, (tally.get(status) ?? 0) + 1);

export async function submitProperty(t: PropertyTarget, numRuns: number): Promise<Tally> {
  const tally: Tally = new Map();
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('POST', 'POST', 'POST', 'GET', 'PUT', 'DELETE'),
      fc.record(
        {
          authorization: fc.oneof(
            fc.constant(`Bearer ${t.apiKey}`),
            fc.constant(`Bearer ${t.apiKey}`),
            fc.constant(`Bearer ${t.apiKey}`),
            fc.constant(`bearer   ${t.apiKey}`),
            printable.map((s) => `Bearer ${s}`),
            printable,
          ),
          'x-api-key': fc.oneof(fc.constant(t.apiKey), printable),
          'content-type': jsonTypes,
          'idempotency-key': printable,
          'x-request-id': printable,
        },
        { requiredKeys: ['authorization', 'content-type'] },
      ),
      bodyArb(nearSubmit, validSubmit),
      async (method, headers, body) => {
        const before = await t.countRequests();
        const res = await send(t.app, '/api/jobs/submit', method, headers, body);
        const text = await res.text();
        count(tally, res.status);
        if (res.status >= 500) throw new Error(`5xx ${res.status}: ${text}`);
        const after = await t.countRequests();
        if (res.status === 202 && after !== before + 1) throw new Error(`202 but ${after - before} created`);
        if (res.status !== 202 && after !== before)
          throw new Error(`${res.status} but ${after - before} created`);
        if (res.status >= 400 && !JSON.parse(text).error?.code) throw new Error(`no error envelope: ${text}`);
      },
    ),
    { numRuns },
  );
  return tally;
}

export async function ingestProperty(t: PropertyTarget, numRuns: number): Promise<Tally> {
  const tally: Tally = new Map();
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('POST', 'POST', 'POST', 'GET', 'PUT'),
      fc.record(
        {
          authorization: fc.oneof(
            // weighted so that the accepted (200) and the other request's (403) paths are both
            // reached in every run, not only on average
            fc.constant(`Bearer ${t.token}`),
            fc.constant(`Bearer ${t.token}`),
            fc.constant(`Bearer ${t.token}`),
            fc.constant(`Bearer ${t.otherToken}`),
            fc.constant(`Bearer ${t.otherToken}`),
            fc.constant(`Bearer ${t.otherToken}`),
            fc.constant(`Bearer ${t.token.slice(0, -2)}xx`),
            ...(t.executorToken
              ? [
                  fc.constant(`Bearer ${t.executorToken}`),
                  fc.constant(`Bearer ${t.executorToken.slice(0, -2)}xx`),
                ]
              : []),
            forgedJwt.map((s) => `Bearer ${s}`),
            printable.map((s) => `Bearer ${s}`),
          ),
          'content-type': jsonTypes,
        },
        { requiredKeys: ['authorization', 'content-type'] },
      ),
      fc.oneof(
        { weight: 3, arbitrary: validBatch },
        {
          weight: 5,
          arbitrary: bodyArb(
            fc.record(
              {
                request: fc.oneof(fc.constant(t.request), fc.string({ maxLength: 20 })),
                events: fc.array(eventArb, { maxLength: 5 }),
              },
              { requiredKeys: [] },
            ),
          ),
        },
      ),
      async (method, headers, planned) => {
        const events = t.app.services.events;
        const log = { namespace: t.namespace, request: t.request, uid: t.uid };
        const before = await events.state(log);
        const body =
          typeof planned === 'object' && planned?.plan === 'batch'
            ? JSON.stringify(materialise(planned, t.request, before.lastSeq))
            : (planned as string | undefined);
        await t.app.services.statusWriter.idle();
        const writesBefore = t.app.services.statusWriter.writes;
        const res = await send(t.app, '/api/events/ingest', method, headers, body);
        const text = await res.text();
        count(tally, res.status);
        if (res.status >= 500) throw new Error(`5xx ${res.status}: ${text}`);
        const after = await events.state(log);
        await t.app.services.statusWriter.idle();
        const writes = t.app.services.statusWriter.writes - writesBefore;
        if (res.status !== 200) {
          if (after.lastSeq !== before.lastSeq) throw new Error(`${res.status} but the log moved: ${text}`);
          if (writes !== 0) throw new Error(`${res.status} but ${writes} status writes`);
          if (!JSON.parse(text).error?.code) throw new Error(`no error envelope: ${text}`);
        }
      },
    ),
    { numRuns },
  );
  return tally;
}

export async function probeProperty(t: PropertyTarget, numRuns: number): Promise<Tally> {
  const tally: Tally = new Map();
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('/health', '/ready', '/metrics'),
      fc.constantFrom('GET', 'HEAD', 'POST', 'DELETE'),
      fc.record({ 'content-type': jsonTypes, cookie: printable }, { requiredKeys: [] }),
      bodyArb(fc.anything()),
      async (path, method, headers, body) => {
        const res = await send(t.app, path, method, headers, body);
        await res.arrayBuffer();
        count(tally, res.status);
        if (res.status >= 500) throw new Error(`5xx on ${method} ${path}`);
      },
    ),
    { numRuns },
  );
  return tally;
}

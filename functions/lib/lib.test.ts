// Unit tests for the functions' small services: rate limiter, API keys, event log, status
// writer, route gate and apiserver error mapping.
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { describe, expect, it, vi } from 'vitest';
import type { ExecutorEvent } from '../../api/v1alpha1/events.ts';
import { createStatusWriter } from '../ingest/status-writer.ts';
import { newRequestName } from '../jobs/submit.ts';
import { testRequireRole } from '../testing/auth.ts';
import { createApiKeyStore, presentedKey, sha256, sha256Hex, timingSafeEqual, toHex } from './api-keys.ts';
import { limitBody } from './body.ts';
import { envelope, errorHandler, toApiError } from './errors.ts';
import { createFileEventStore, EventLogError } from './event-store.ts';
import { KubeError, kubeErrorFromStatus } from './kube.ts';
import { kubeToApiError } from './kube-errors.ts';
import { redact, silentLogger } from './log.ts';
import { createMemoryKube } from './memory-kube.ts';
import { createRateLimiter } from './rate-limit.ts';
import { accessFor, ROUTE_ACCESS, routeGate } from './roles.ts';

const ev = (seq: number, type: ExecutorEvent['type'] = 'message'): ExecutorEvent => ({
  seq,
  type,
  time: '2026-01-01T00:00:00Z',
});

describe('rate limiter', () => {
  it('allows the burst, then one per interval, and says how long to wait', () => {
    let now = 0;
    const rl = createRateLimiter({ perMinute: 60, burst: 3, now: () => now });
    expect([rl.take('a'), rl.take('a'), rl.take('a')].every((r) => r.ok)).toBe(true);
    expect(rl.take('a')).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(rl.take('b').ok).toBe(true);
    now += 1000;
    expect(rl.take('a').ok).toBe(true);
    expect(rl.take('a').ok).toBe(false);
  });
});

describe('API keys', () => {
  it('reads Bearer or X-API-Key, compares digests in constant time, accepts every rotated hash', async () => {
    expect(presentedKey(new Headers({ authorization: 'Bearer abc' }))).toBe('abc');
    expect(presentedKey(new Headers({ authorization: 'Basic abc', 'x-api-key': 'k' }))).toBe('k');
    expect(presentedKey(new Headers())).toBeUndefined();
    expect(timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    const kube = createMemoryKube();
    kube.secrets.push({
      name: 'key-ops',
      labels: { 'labrats.work/api-key': 'true' },
      data: {
        caller: 'ops',
        sha256: toHex(await sha256('old-key')),
        'sha256.2026': toHex(await sha256('new-key')),
      },
    });
    kube.secrets.push({ name: 'unlabelled', labels: {}, data: { sha256: toHex(await sha256('stray')) } });
    let now = 0;
    const store = createApiKeyStore({
      staticKeys: [{ caller: 'ci', key: 'static-key' }],
      kube,
      cacheSeconds: 10,
      now: () => now,
    });
    expect(await store.verify('static-key')).toEqual({ caller: 'ci' });
    expect(await store.verify('old-key')).toEqual({ caller: 'ops', apiKeyRef: 'key-ops' });
    expect(await store.verify('new-key')).toEqual({ caller: 'ops', apiKeyRef: 'key-ops' });
    expect(await store.verify('stray')).toBeUndefined();
    // unknown keys re-read the Secrets at most once a second
    const reads = kube.calls.listSecrets;
    for (let i = 0; i < 5; i++) await store.verify(`guess-${i}`);
    expect(kube.calls.listSecrets).toBe(reads);
    now += 1500;
    await store.verify('guess-again');
    expect(kube.calls.listSecrets).toBe(reads! + 1);
  });

  it('caches the key Secrets: one read per TTL for known keys; a revoked key stops working once it passes', async () => {
    const ABC = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'; // SHA-256("abc")
    expect(sha256Hex('abc')).toBe(ABC);
    expect(toHex(await sha256('abc'))).toBe(ABC);
    const kube = createMemoryKube();
    kube.secrets.push({
      name: 'key-team',
      labels: { 'labrats.work/api-key': 'true' },
      data: { caller: 'team', sha256: sha256Hex('team-key-0123456789') },
    });
    let now = 0;
    const store = createApiKeyStore({ staticKeys: [], kube, cacheSeconds: 10, now: () => now });
    const team = { caller: 'team', apiKeyRef: 'key-team' };
    expect(await store.verify('team-key-0123456789')).toEqual(team);
    const reads = kube.calls.listSecrets!;
    for (let i = 0; i < 50; i++) await store.verify('team-key-0123456789');
    expect(kube.calls.listSecrets).toBe(reads);
    // revoked: the Secret is deleted; the cached copy serves until the TTL has passed
    kube.secrets.length = 0;
    now += 9_000;
    expect(await store.verify('team-key-0123456789')).toEqual(team);
    now += 1_001;
    expect(await store.verify('team-key-0123456789')).toBeUndefined();
    expect(kube.calls.listSecrets).toBe(reads + 1);
  });
});

describe('request names', () => {
  it('are valid object names and do not repeat across pool refills', () => {
    const names = Array.from({ length: 3000 }, () => newRequestName());
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n).toMatch(/^ir-[0-9a-z]+-[0-9a-f]{10}$/);
  });
});

describe('body limit', () => {
  const app = new Hono();
  app.post('/', limitBody(100), async (c) => c.json({ got: (await c.req.text()).length }));
  app.onError(errorHandler(silentLogger));
  const stream = (bytes: number) =>
    new ReadableStream<Uint8Array>({
      start(ctrl) {
        for (let i = 0; i < bytes; i += 40) ctrl.enqueue(new Uint8Array(Math.min(40, bytes - i)).fill(120));
        ctrl.close();
      },
    });
  const post = (body: BodyInit, headers: Record<string, string> = {}) =>
    app.request('/', { method: 'POST', body, headers, duplex: 'half' } as RequestInit);

  it('judges a declared length up front and a streamed body while reading; 413 past the limit', async () => {
    expect(await (await post('x'.repeat(100), { 'content-length': '100' })).json()).toEqual({ got: 100 });
    const declared = await post('x'.repeat(101), { 'content-length': '101' });
    expect(declared.status).toBe(413);
    expect(((await declared.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
    expect(await (await post(stream(100))).json()).toEqual({ got: 100 });
    expect((await post(stream(101))).status).toBe(413);
    expect((await post(stream(101), { 'transfer-encoding': 'chunked', 'content-length': '5' })).status).toBe(
      413,
    );
  });
});

const r1 = { namespace: 'ns', request: 'r1', uid: 'uid-1' };
const r2 = { namespace: 'ns', request: 'r2', uid: 'uid-2' };

describe('event log', () => {
  it('a request created again under the same name has a log of its own; the old one is not read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evlog-'));
    const store = createFileEventStore(dir);
    await store.append(r1, [ev(1), ev(2, 'completed')]);
    const again = { ...r1, uid: 'uid-1-again' };
    expect(await store.state(again)).toEqual({ lastSeq: 0, ended: false });
    expect(await store.readFrom(again, 0)).toEqual({ events: [], offset: 0 });
    expect(await store.append(again, [ev(1)])).toMatchObject({
      accepted: [ev(1)],
      duplicates: 0,
      lastSeq: 1,
    });
    const fresh = createFileEventStore(dir); // and so it stays after a restart
    expect((await fresh.readFrom(again, 0)).events).toEqual([ev(1)]);
    expect(await fresh.state(r1)).toEqual({ lastSeq: 0, ended: false });
  });

  it('moves a log kept at <namespace>/<request> by an earlier version to <request>', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evlog-'));
    mkdirSync(join(dir, 'ns', 'r1'), { recursive: true });
    writeFileSync(join(dir, 'ns', 'r1', 'events.jsonl'), `${JSON.stringify(ev(1))}\n`);
    const store = createFileEventStore(dir);
    expect((await store.readFrom(r1, 0)).events).toEqual([ev(1)]);
    expect(await store.append(r1, [ev(1), ev(2)])).toMatchObject({ duplicates: 1, lastSeq: 2 });
    expect(existsSync(join(dir, 'ns', 'r1', 'events.jsonl'))).toBe(false);
    expect(
      readFileSync(join(dir, 'r1', 'events.jsonl'), 'utf8')
        .trim()
        .split('\n'),
    ).toHaveLength(2);
  });

  it('serialises concurrent appends: overlapping retries add nothing twice, gaps are refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evlog-'));
    const store = createFileEventStore(dir);
    const results = await Promise.allSettled([
      store.append(r1, [ev(1), ev(2)]),
      store.append(r1, [ev(1), ev(2)]),
      store.append(r1, [ev(2), ev(3)]),
      store.append(r1, [ev(5)]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
    expect((results[3] as PromiseRejectedResult).reason).toBeInstanceOf(EventLogError);
    const lines = readFileSync(join(dir, 'r1', 'events.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(lines.map((l) => JSON.parse(l).seq)).toEqual([1, 2, 3]);
    await store.append(r1, [ev(4, 'completed')]);
    await expect(store.append(r1, [ev(5)])).rejects.toMatchObject({ code: 'request_ended' });
    expect(await store.append(r1, [ev(4, 'completed')])).toMatchObject({
      accepted: [],
      duplicates: 1,
    });
  });

  it('recovers after a crash mid-write: the unfinished line is cut, the log carries on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evlog-'));
    await createFileEventStore(dir).append(r2, [ev(1), ev(2)]);
    appendFileSync(join(dir, 'r2', 'events.jsonl'), '{"seq":3,"ty');
    const fresh = createFileEventStore(dir);
    expect(await fresh.state(r2)).toEqual({ lastSeq: 2, ended: false });
    await fresh.append(r2, [ev(3)]);
    const { events, offset } = await fresh.readFrom(r2, 0);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3]);
    await fresh.append(r2, [ev(4)]);
    expect((await fresh.readFrom(r2, offset)).events.map((e) => e.seq)).toEqual([4]);
  });

  it('refuses names that are not Kubernetes names (no path tricks)', async () => {
    const store = createFileEventStore(mkdtempSync(join(tmpdir(), 'evlog-')));
    await expect(store.append({ ...r1, request: '../etc' }, [ev(1)])).rejects.toThrow(/invalid/);
  });
});

describe('status writer', () => {
  it('folds updates, writes only ingest fields, retries conflicts and forgets deleted requests', async () => {
    const kube = createMemoryKube();
    await kube.create('InferenceRequest', { metadata: { name: 'r' }, spec: { agent: 'a', prompt: 'p' } });
    await kube.patchStatus('InferenceRequest', 'r', { status: { phase: 'Running' } });
    const w = createStatusWriter({ kube, intervalMs: 60_000, log: silentLogger });
    kube.failNext('patchStatus', new KubeError(409, 'Conflict', 'conflict'));
    w.update('r', { eventCount: 1, lastEvent: { seq: 1, type: 'started' } });
    await w.idle(); // the first summary is written at once (after one conflict retry)
    expect(w.writes).toBe(1);
    const calls = kube.calls.patchStatus;
    w.update('r', { eventCount: 2, lastEvent: { seq: 2, type: 'message' } });
    w.update('r', { eventCount: 3, lastEvent: { seq: 3, type: 'message' } });
    await new Promise((r) => setTimeout(r, 20));
    expect(kube.calls.patchStatus).toBe(calls); // held back by the interval
    await w.flushAll();
    const st = (await kube.get('InferenceRequest', 'r')).status;
    expect(st).toMatchObject({ phase: 'Running', eventCount: 3, lastEvent: { seq: 3 } });
    expect(w.writes).toBe(2); // the two later updates folded into one write
    w.update('gone', { eventCount: 1 });
    await w.flushAll();
    expect(w.writes).toBe(2);
  });
});

describe('status writer interval', () => {
  it('holds the interval after a slow write followed by a fast one (no early forgetting)', async () => {
    vi.useFakeTimers();
    try {
      const started: number[] = [];
      const durations = [80, 5, 5, 5];
      const kube = {
        patchStatus: () => {
          started.push(Date.now());
          const ms = durations[started.length - 1] ?? 5;
          return new Promise((r) => setTimeout(() => r({ metadata: { name: 'r' } }), ms));
        },
      } as unknown as Parameters<typeof createStatusWriter>[0]['kube'];
      const w = createStatusWriter({ kube, intervalMs: 100, log: silentLogger, now: () => Date.now() });
      w.update('r', { eventCount: 1 }); // written at once, for 80 ms
      await vi.advanceTimersByTimeAsync(85);
      w.update('r', { eventCount: 2 }); // waits for the interval: written at 100, for 5 ms
      await vi.advanceTimersByTimeAsync(100); // t = 185: the first write's idle timer has fired
      w.update('r', { eventCount: 3 });
      await vi.advanceTimersByTimeAsync(500);
      expect(started).toHaveLength(3);
      for (let i = 1; i < started.length; i++)
        expect(started[i]! - started[i - 1]!).toBeGreaterThanOrEqual(100);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('route gate', () => {
  it('picks the most specific rule and refuses routes missing from the table', async () => {
    const lookup = accessFor(ROUTE_ACCESS);
    expect(lookup('POST', '/api/jobs/submit')?.access).toBe('public');
    expect(lookup('GET', '/api/resources/agents/x/preview')?.access).toBe('viewer');
    expect(lookup('PATCH', '/api/jobs/x')).toBeUndefined();
    const app = new Hono();
    app.use('/api/*', routeGate(testRequireRole));
    app.get('/api/secret-admin-thing', (c) => c.text('leak'));
    app.onError((err, c) => envelope(c, toApiError(err)));
    const res = await app.request('/api/secret-admin-thing', { headers: { 'x-test-user': 'u:admin' } });
    expect(res.status).toBe(404);
  });

  it('answers a method a known path does not take with 405 and the ones it does (Allow)', async () => {
    const app = new Hono();
    app.use('/api/*', routeGate(testRequireRole));
    app.onError((err, c) => envelope(c, toApiError(err)));
    for (const method of ['PUT', 'PATCH']) {
      const res = await app.request('/api/jobs/ir-1', { method });
      expect(res.status, method).toBe(405);
      expect(res.headers.get('allow')).toBe('DELETE, GET, HEAD');
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('method_not_allowed');
    }
    const submit = await app.request('/api/jobs/submit', { method: 'PUT' });
    expect(submit.status).toBe(405);
    expect(submit.headers.get('allow')).toContain('POST');
  });
});

describe('errors and logs', () => {
  it('maps apiserver errors: 422 causes to field paths, 429/5xx to 503 with Retry-After', () => {
    const invalid = kubeErrorFromStatus(422, {
      kind: 'Status',
      code: 422,
      reason: 'Invalid',
      message: 'x is invalid',
      details: {
        causes: [{ field: 'spec.type', message: 'Unsupported value', reason: 'FieldValueNotSupported' }],
      },
    });
    expect(kubeToApiError(invalid)).toMatchObject({
      status: 400,
      code: 'invalid_body',
      details: [{ path: 'spec.type' }],
    });
    const busy = kubeToApiError(
      kubeErrorFromStatus(429, '{"code":429,"reason":"TooManyRequests","details":{"retryAfterSeconds":2}}'),
    );
    expect(busy).toMatchObject({ status: 503, headers: { 'Retry-After': '2' } });
    expect(kubeToApiError(new Error('ECONNREFUSED')).status).toBe(503);
  });

  it('redacts credential-looking keys at any depth', () => {
    expect(redact({ a: 1, Authorization: 'x', nested: [{ apiKey: 'k', cookie: 'c', ok: 'y' }] })).toEqual({
      a: 1,
      Authorization: '[redacted]',
      nested: [{ apiKey: '[redacted]', cookie: '[redacted]', ok: 'y' }],
    });
  });
});

describe('metrics', () => {
  it('starts every fixed label value at zero, so the first increase is visible to rate()', async () => {
    const { createMetrics } = await import('./metrics.ts');
    const text = await createMetrics().registry.metrics();
    for (const line of [
      'ai_agents_submissions_total{source="ui"} 0',
      'ai_agents_submissions_total{source="webhook"} 0',
      'ai_agents_ingest_events_total{result="rejected"} 0',
      'ai_agents_ingest_status_writes_total{result="gone"} 0',
    ]) {
      expect(text).toContain(line);
    }
  });
});

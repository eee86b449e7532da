// Unit-test fakes for the browser side: a fetch that answers from a route table, and an
// EventSource driven by the test. (The real API and browser are used by the e2e suite.)
import { vi } from 'vitest';
import type { JobEvent, Role } from '../lib/types.ts';
import { authState, me } from '../models/auth.ts';

export type Handler = (req: { method: string; path: string; url: URL; body: unknown }) => unknown;

/** A JSON answer with a status other than 200. */
export class Reply {
  readonly status: number;
  readonly body: unknown;
  constructor(status: number, body?: unknown) {
    this.status = status;
    this.body = body;
  }
}

export const envelope = (status: number, code: string, message: string, details?: unknown) =>
  new Reply(status, { error: { code, message, details, requestId: 'req-1' } });

/** Stubs global fetch: `routes['GET /api/jobs']` answers GET /api/jobs (any query). */
export function fakeApi(routes: Record<string, Handler | object>) {
  const calls: { method: string; path: string; url: URL; body: unknown }[] = [];
  const fetch = vi.fn(async (input: string, init?: RequestInit) => {
    const url = new URL(input, 'http://localhost');
    const method = init?.method ?? 'GET';
    const body = typeof init?.body === 'string' ? JSON.parse(init.body) : undefined;
    const req = { method, path: url.pathname, url, body };
    calls.push(req);
    const route = routes[`${method} ${url.pathname}`];
    let out = typeof route === 'function' ? (route as Handler)(req) : route;
    if (out === undefined) out = envelope(404, 'not_found', `no route for ${method} ${url.pathname}`);
    const reply = out instanceof Reply ? out : new Reply(200, out);
    return new Response(reply.body === undefined ? null : JSON.stringify(reply.body), {
      status: reply.status,
      headers: { 'content-type': 'application/json' },
    });
  });
  vi.stubGlobal('fetch', fetch);
  return { calls, fetch };
}

export function signIn(...roles: Role[]) {
  me.value = { user: { sub: 'u1', name: 'Ada Lovelace', email: 'ada@example.test' }, roles };
  authState.value = 'ready';
}

type Listener = (e: MessageEvent<string>) => void;

export class FakeEventSource {
  static instances: FakeEventSource[] = [];
  static readonly CLOSED = 2;
  readonly url: string;
  readyState = 0;
  onopen: (() => void) | null = null;
  onerror: ((e: Event) => void) | null = null;
  onmessage: Listener | null = null;
  private listeners = new Map<string, Set<Listener>>();
  constructor(url: string) {
    this.url = url;
    FakeEventSource.instances.push(this);
  }
  static get last(): FakeEventSource {
    return FakeEventSource.instances.at(-1)!;
  }
  addEventListener(type: string, fn: Listener) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)!.add(fn);
  }
  close() {
    this.readyState = 2;
  }
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  emit(ev: Partial<JobEvent> & { seq: number; type: string }) {
    const e = new MessageEvent<string>(ev.type, { data: JSON.stringify(ev), lastEventId: String(ev.seq) });
    for (const fn of this.listeners.get(ev.type) ?? []) fn(e);
  }
  end() {
    for (const fn of this.listeners.get('end') ?? []) fn(new MessageEvent<string>('end', { data: '{}' }));
  }
  /** The connection drops; `closed` = the browser gives up instead of reconnecting itself. */
  fail(closed: boolean) {
    this.readyState = closed ? 2 : 0;
    this.onerror?.(new Event('error'));
  }
}

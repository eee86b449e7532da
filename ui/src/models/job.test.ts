// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeEventSource, fakeApi } from '../test/fakes.ts';
import { createJobModel } from './job.ts';

const detail = {
  id: 'r1',
  metadata: { name: 'r1' },
  spec: { agent: 'dev', prompt: 'p' },
  status: { phase: 'Running' },
};

beforeEach(() => {
  FakeEventSource.instances = [];
  fakeApi({
    'GET /api/jobs/r1': detail,
    'GET /api/jobs/r1/prompt': { text: '', hash: 'h', parts: [] },
  });
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

const make = () =>
  createJobModel('r1', {
    EventSource: FakeEventSource as unknown as typeof EventSource,
    backoff: () => 1000,
  });

describe('job event stream', () => {
  it('appends events in order, hides heartbeats and ends on `end`', () => {
    const m = make();
    m.start();
    const es = FakeEventSource.last;
    expect(es.url).toBe('/api/jobs/r1/events');
    expect(m.stream.value).toBe('connecting');
    es.open();
    expect(m.stream.value).toBe('live');
    es.emit({ seq: 1, type: 'started' });
    es.emit({ seq: 2, type: 'heartbeat' });
    es.emit({ seq: 3, type: 'message', message: 'hello' });
    expect(m.events.value.map((e) => [e.seq, e.type])).toEqual([
      [1, 'started'],
      [3, 'message'],
    ]);
    es.end();
    expect(m.stream.value).toBe('ended');
    expect(es.readyState).toBe(2);
    m.stop();
  });

  it('lets the browser resume after a drop, without repeating events', () => {
    const m = make();
    m.start();
    const es = FakeEventSource.last;
    es.open();
    es.emit({ seq: 1, type: 'log', message: 'a' });
    es.fail(false);
    expect(m.stream.value).toBe('reconnecting');
    expect(FakeEventSource.instances).toHaveLength(1);
    es.open();
    es.emit({ seq: 1, type: 'log', message: 'a' });
    es.emit({ seq: 2, type: 'log', message: 'b' });
    expect(m.events.value.map((e) => e.message)).toEqual(['a', 'b']);
    m.stop();
  });

  it('reconnects by hand after lastEventId when the browser gives up, skipping anything repeated', () => {
    vi.useFakeTimers();
    const m = make();
    m.start();
    const first = FakeEventSource.last;
    first.open();
    first.emit({ seq: 1, type: 'message', message: 'one' });
    first.emit({ seq: 2, type: 'message', message: 'two' });
    first.fail(true);
    expect(m.stream.value).toBe('reconnecting');
    vi.advanceTimersByTime(1000);
    expect(FakeEventSource.instances).toHaveLength(2);
    const second = FakeEventSource.last;
    expect(second.url).toBe('/api/jobs/r1/events?lastEventId=2');
    second.open();
    for (const seq of [1, 2, 3]) second.emit({ seq, type: 'message', message: String(seq) });
    expect(m.events.value.map((e) => e.seq)).toEqual([1, 2, 3]);
    m.stop();
    second.fail(true);
    vi.advanceTimersByTime(60_000);
    expect(FakeEventSource.instances).toHaveLength(2);
  });
});

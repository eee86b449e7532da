import { describe, expect, it } from 'vitest';
import { createInformer, type InformerEvent, type ListWatchSource, type WatchEvent } from './informer.ts';
import { KubeError, type KubeObject, type Query } from './kube.ts';
import { silentLogger } from './log.ts';

const obj = (name: string, rv: string): KubeObject => ({
  metadata: { name, namespace: 'ns', resourceVersion: rv, managedFields: [{ big: true }] },
});

/** A scripted API: each list returns the given items; each watch runs the next script. */
function fakeSource(lists: KubeObject[][], watches: ((emit: (e: WatchEvent) => void) => Promise<void>)[]) {
  const calls: { kind: 'list' | 'watch'; query: Query }[] = [];
  let l = 0;
  let w = 0;
  const source: ListWatchSource = {
    async list(query) {
      calls.push({ kind: 'list', query });
      const items = lists[Math.min(l++, lists.length - 1)]!;
      return { items, metadata: { resourceVersion: String(100 + l) } };
    },
    async watch(query, onEvent, signal) {
      calls.push({ kind: 'watch', query });
      const script = watches[w++];
      if (!script) {
        // no more scripts: block until stopped
        await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
        return;
      }
      await script(onEvent);
    },
  };
  return { source, calls };
}

const noSleep = async () => {};

function record(informer: ReturnType<typeof createInformer>) {
  const events: [InformerEvent, string][] = [];
  informer.on((e, o) => events.push([e, o.metadata.name]));
  return events;
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(check()).toBe(true);
};

describe('informer', () => {
  it('lists, then applies watch events from the list resourceVersion; strips managedFields', async () => {
    const { source, calls } = fakeSource(
      [[obj('a', '1')]],
      [
        async (emit) => {
          emit({ type: 'ADDED', object: obj('b', '2') });
          emit({ type: 'MODIFIED', object: obj('a', '3') });
          emit({ type: 'DELETED', object: obj('b', '4') });
          emit({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '9' } } });
        },
      ],
    );
    const inf = createInformer({ name: 't', source, log: silentLogger, sleep: noSleep });
    const events = record(inf);
    inf.start();
    await inf.waitForSync();
    await until(() => calls.filter((c) => c.kind === 'watch').length >= 2);
    expect(events).toEqual([
      ['add', 'a'],
      ['add', 'b'],
      ['update', 'a'],
      ['delete', 'b'],
    ]);
    expect(inf.get('ns/a')?.metadata.managedFields).toBeUndefined();
    expect(calls[1]).toMatchObject({
      kind: 'watch',
      query: { resourceVersion: '101', allowWatchBookmarks: true },
    });
    // a clean close re-watches from the last resourceVersion seen (the bookmark), without a relist
    expect(calls[2]).toMatchObject({ kind: 'watch', query: { resourceVersion: '9' } });
    expect(calls.filter((c) => c.kind === 'list')).toHaveLength(1);
    await inf.stop();
  });

  it('relists on 410 Gone and reports what changed while it was not watching', async () => {
    const { source, calls } = fakeSource(
      [
        [obj('a', '1'), obj('b', '1')],
        [obj('a', '5'), obj('c', '5')],
      ],
      [async (emit) => emit({ type: 'ERROR', object: { code: 410, message: 'too old resource version' } })],
    );
    const inf = createInformer({ name: 't', source, log: silentLogger, sleep: noSleep });
    const events = record(inf);
    inf.start();
    await until(() => calls.filter((c) => c.kind === 'list').length === 2);
    await until(() => events.length === 5);
    expect(events.slice(2)).toEqual([
      ['update', 'a'],
      ['add', 'c'],
      ['delete', 'b'],
    ]);
    expect(inf.stats.relistsOnGone).toBe(1);
    expect([...inf.list()].map((o) => o.metadata.name).sort()).toEqual(['a', 'c']);
    await inf.stop();
  });

  it('keeps going after watch errors, with back-off, and relists after repeated ones', async () => {
    const slept: number[] = [];
    const fail = async () => {
      throw new KubeError(500, 'boom');
    };
    const { source, calls } = fakeSource([[obj('a', '1')]], [fail, fail, fail, async () => {}]);
    const inf = createInformer({
      name: 't',
      source,
      log: silentLogger,
      backoff: { initialMs: 10, maxMs: 25 },
      sleep: async (ms) => void slept.push(ms),
    });
    inf.start();
    await until(() => calls.filter((c) => c.kind === 'watch').length >= 5);
    expect(slept).toEqual([10, 20, 25]);
    expect(inf.stats.errors).toBe(3);
    // after three errors in a row it started over from a list
    expect(calls.filter((c) => c.kind === 'list').length).toBe(2);
    await inf.stop();
  });

  it('recovers when the list itself fails', async () => {
    let failures = 2;
    const { source } = fakeSource([[obj('a', '1')]], []);
    const list = source.list;
    source.list = async (q) => {
      if (failures-- > 0) throw new Error('connection refused');
      return list(q);
    };
    const inf = createInformer({ name: 't', source, log: silentLogger, sleep: noSleep });
    inf.start();
    await inf.waitForSync();
    expect(inf.get('ns/a')).toBeDefined();
    await inf.stop();
  });

  it('a throwing handler does not stop the informer', async () => {
    const { source } = fakeSource([[obj('a', '1'), obj('b', '1')]], []);
    const inf = createInformer({ name: 't', source, log: silentLogger, sleep: noSleep });
    const seen: string[] = [];
    inf.on(() => {
      throw new Error('handler bug');
    });
    inf.on((_e, o) => seen.push(o.metadata.name));
    inf.start();
    await inf.waitForSync();
    expect(seen).toEqual(['a', 'b']);
    await inf.stop();
  });

  it('re-delivers the cache on resync', async () => {
    const { source } = fakeSource([[obj('a', '1')]], []);
    const inf = createInformer({ name: 't', source, log: silentLogger, sleep: noSleep, resyncMs: 10 });
    const events = record(inf);
    inf.start();
    await until(() => events.filter(([e]) => e === 'resync').length >= 2);
    await inf.stop();
  });
});

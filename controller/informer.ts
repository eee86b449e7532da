// A list+watch cache that always recovers. client-node's ListWatch stops for good after an
// error and has known silent-stop bugs; this one re-watches from the last resourceVersion after
// any error (with exponential back-off), relists on 410 Gone (diffing the cache so handlers see
// the adds, updates and deletes they missed), restarts watches that go quiet, and re-delivers
// the whole cache periodically as a safety net.
import {
  collectionPath,
  isGone,
  type KubeClient,
  KubeError,
  type KubeObject,
  keyOf,
  type ObjectList,
  type Query,
  type ResourcePath,
} from './kube.ts';
import type { Logger } from './log.ts';

export type InformerEvent = 'add' | 'update' | 'delete' | 'resync';
export type InformerHandler<T> = (event: InformerEvent, obj: T, old?: T) => void;

export interface WatchEvent {
  type: string;
  object: unknown;
}

/** What an informer needs from the API: paginated lists and a streaming watch. */
export interface ListWatchSource {
  list(query: Query): Promise<ObjectList<KubeObject>>;
  /** Streams events until the watch ends; resolves on a clean close, rejects on an error. */
  watch(query: Query, onEvent: (e: WatchEvent) => void, signal: AbortSignal): Promise<void>;
}

export function kubeSource(client: KubeClient, resource: ResourcePath, namespace?: string): ListWatchSource {
  const path = collectionPath(resource, namespace);
  return {
    list: (query) => client.request<ObjectList<KubeObject>>('GET', path, { query }),
    watch(query, onEvent, signal) {
      // an inactivity timeout: bookmarks arrive about once a minute, the server closes at timeoutSeconds
      const idleMs = (Number(query.timeoutSeconds ?? 300) + 90) * 1000;
      return client.watch(path, query, onEvent, signal, idleMs);
    },
  };
}

export interface InformerOptions<T> {
  name: string;
  source: ListWatchSource;
  labelSelector?: string;
  /**
   * Only objects matching it are cached; one that stops matching arrives as a delete (the
   * apiserver's watch sends DELETED when an object leaves the selection).
   */
  fieldSelector?: string;
  /** Re-deliver every cached object as a `resync` event this often (0 = never). */
  resyncMs?: number;
  /** Ask the server to end each watch after about this long (jittered). */
  watchTimeoutSeconds?: number;
  pageSize?: number;
  backoff?: { initialMs: number; maxMs: number };
  /** Applied to every object before it is cached (default: drop managedFields). */
  transform?: (o: KubeObject) => T;
  log: Logger;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export interface Informer<T extends KubeObject> {
  readonly name: string;
  get(key: string): T | undefined;
  list(): IterableIterator<T>;
  readonly size: number;
  hasSynced(): boolean;
  waitForSync(signal?: AbortSignal): Promise<void>;
  on(handler: InformerHandler<T>): void;
  start(): void;
  stop(): Promise<void>;
  /** Counters for metrics and tests. */
  readonly stats: { lists: number; watches: number; errors: number; relistsOnGone: number };
}

export function stripObject(o: KubeObject): KubeObject {
  const { managedFields: _m, ...metadata } = o.metadata;
  if (metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration']) {
    const { 'kubectl.kubernetes.io/last-applied-configuration': _l, ...rest } = metadata.annotations;
    metadata.annotations = rest;
  }
  return { ...o, metadata };
}

const defaultSleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

export function createInformer<T extends KubeObject>(opts: InformerOptions<T>): Informer<T> {
  const transform = opts.transform ?? (stripObject as (o: KubeObject) => T);
  const sleep = opts.sleep ?? defaultSleep;
  const backoff = opts.backoff ?? { initialMs: 200, maxMs: 30_000 };
  const pageSize = opts.pageSize ?? 500;
  const watchTimeout = opts.watchTimeoutSeconds ?? 300;
  const log = opts.log.child({ informer: opts.name });

  let store = new Map<string, T>();
  const handlers: InformerHandler<T>[] = [];
  let resourceVersion = '';
  let synced = false;
  const syncWaiters: (() => void)[] = [];
  let abort = new AbortController();
  let loop: Promise<void> | undefined;
  let resyncTimer: NodeJS.Timeout | undefined;
  const stats = { lists: 0, watches: 0, errors: 0, relistsOnGone: 0 };

  const emit = (event: InformerEvent, obj: T, old?: T) => {
    for (const h of handlers) {
      try {
        h(event, obj, old);
      } catch (e) {
        log.error('informer handler failed', { error: String(e) });
      }
    }
  };

  async function relist(signal: AbortSignal) {
    const items: KubeObject[] = [];
    let cont: string | undefined;
    let rv = '';
    do {
      const page = await opts.source.list({
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        limit: pageSize,
        continue: cont,
      });
      if (signal.aborted) return;
      items.push(...page.items);
      cont = page.metadata.continue || undefined;
      rv = page.metadata.resourceVersion ?? rv;
    } while (cont);
    stats.lists++;
    const next = new Map<string, T>();
    for (const raw of items) next.set(keyOf(raw), transform(raw));
    const old = store;
    store = next;
    resourceVersion = rv;
    for (const [k, o] of next) {
      const prev = old.get(k);
      if (!prev) emit('add', o);
      else if (prev.metadata.resourceVersion !== o.metadata.resourceVersion) emit('update', o, prev);
    }
    for (const [k, o] of old) if (!next.has(k)) emit('delete', o);
    if (!synced) {
      synced = true;
      for (const w of syncWaiters.splice(0)) w();
    }
  }

  function apply(e: WatchEvent): 'gone' | undefined {
    if (e.type === 'BOOKMARK') {
      const rv = (e.object as KubeObject).metadata?.resourceVersion;
      if (rv) resourceVersion = rv;
      return;
    }
    if (e.type === 'ERROR') {
      const status = e.object as { code?: number; message?: string; reason?: string };
      if (status.code === 410) return 'gone';
      throw new KubeError(status.code ?? 500, `watch error: ${status.message ?? 'unknown'}`, status.reason);
    }
    const obj = transform(e.object as KubeObject);
    const key = keyOf(obj);
    if (obj.metadata.resourceVersion) resourceVersion = obj.metadata.resourceVersion;
    if (e.type === 'DELETED') {
      const prev = store.get(key);
      store.delete(key);
      emit('delete', prev ?? obj);
    } else if (e.type === 'ADDED' || e.type === 'MODIFIED') {
      const prev = store.get(key);
      store.set(key, obj);
      if (prev) emit('update', obj, prev);
      else emit('add', obj);
    }
  }

  async function run(signal: AbortSignal) {
    let needList = true;
    let delay = backoff.initialMs;
    let consecutiveErrors = 0;
    while (!signal.aborted) {
      try {
        if (needList) {
          await relist(signal);
          needList = false;
        }
        if (signal.aborted) return;
        stats.watches++;
        let gone = false;
        const watchAbort = new AbortController();
        const onStop = () => watchAbort.abort();
        signal.addEventListener('abort', onStop, { once: true });
        try {
          await opts.source.watch(
            {
              resourceVersion,
              allowWatchBookmarks: true,
              labelSelector: opts.labelSelector,
              fieldSelector: opts.fieldSelector,
              timeoutSeconds: Math.round(watchTimeout * (0.8 + Math.random() * 0.4)),
            },
            (e) => {
              if (gone) return;
              if (apply(e) === 'gone') {
                gone = true;
                watchAbort.abort();
              }
              consecutiveErrors = 0;
              delay = backoff.initialMs;
            },
            watchAbort.signal,
          );
        } finally {
          signal.removeEventListener('abort', onStop);
        }
        if (gone) {
          stats.relistsOnGone++;
          log.info('watch expired (410 Gone), relisting');
          needList = true;
        }
      } catch (e) {
        if (signal.aborted) return;
        stats.errors++;
        consecutiveErrors++;
        if (isGone(e)) {
          stats.relistsOnGone++;
          needList = true;
        } else if (consecutiveErrors >= 3) {
          // the resourceVersion may be unusable (e.g. etcd restored): start over from a list
          needList = true;
        }
        log.warn('list/watch failed, retrying', { error: String(e), inMs: delay });
        await sleep(delay, signal);
        delay = Math.min(delay * 2, backoff.maxMs);
      }
    }
  }

  return {
    name: opts.name,
    stats,
    get: (key) => store.get(key),
    list: () => store.values(),
    get size() {
      return store.size;
    },
    hasSynced: () => synced,
    waitForSync(signal) {
      if (synced) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        syncWaiters.push(resolve);
        signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
      });
    },
    on: (h) => void handlers.push(h),
    start() {
      if (loop) return;
      abort = new AbortController();
      loop = run(abort.signal);
      if (opts.resyncMs) {
        resyncTimer = setInterval(() => {
          if (!synced) return;
          for (const o of store.values()) emit('resync', o);
        }, opts.resyncMs);
        resyncTimer.unref();
      }
    },
    async stop() {
      abort.abort();
      if (resyncTimer) clearInterval(resyncTimer);
      await loop;
      loop = undefined;
    },
  };
}

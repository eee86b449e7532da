// The per-request event log: WORKSPACE_DIR/<request>/events.jsonl — the request's own folder,
// the one its executor's workspace is (the Job's subPath) and the cleanup CronJob removes — one
// executor event a line, in seq order, gap-free. Appends are idempotent on seq (a retried batch
// adds nothing) and serialised per request; an unfinished last line (a crash mid-write) is cut off
// on first use. A log belongs to one request, by uid (events.owner): a request deleted and created
// again under its name starts a log of its own, and readers of the new one never see the old.
// Logs kept by earlier versions at WORKSPACE_DIR/<namespace>/<request>/ are moved on first use.
// node:fs/promises is available on Node and Deno alike.
import { appendFile, mkdir, open, readFile, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecutorEvent } from '../../api/v1alpha1/events.ts';

const SAFE_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export class EventLogError extends Error {
  readonly code: 'sequence_gap' | 'request_ended';
  readonly expected: number;
  constructor(code: 'sequence_gap' | 'request_ended', message: string, expected: number) {
    super(message);
    this.name = 'EventLogError';
    this.code = code;
    this.expected = expected;
  }
}

export interface AppendResult {
  accepted: ExecutorEvent[];
  duplicates: number;
  lastSeq: number;
  ended: boolean;
}

export interface LogState {
  lastSeq: number;
  ended: boolean;
}

/** Whose log: the request, by name and uid. */
export interface LogOf {
  namespace: string;
  request: string;
  uid: string;
}

export interface EventStore {
  /**
   * Appends the events whose seq is past the log's end; the first append for a uid replaces the
   * log of an earlier request of the same name. Throws EventLogError on a gap or after the end.
   */
  append(log: LogOf, events: readonly ExecutorEvent[]): Promise<AppendResult>;
  state(log: LogOf): Promise<LogState>;
  /** Complete lines from a byte offset on (0 = the start), and the offset to continue from. */
  readFrom(log: LogOf, offset: number): Promise<{ events: ExecutorEvent[]; offset: number }>;
  /** Called after every append to that request's log in this process. */
  subscribe(namespace: string, request: string, listener: () => void): () => void;
}

interface Entry {
  state?: LogState;
  /** the uid the log belongs to, once read ('' for a log without an owner, kept by earlier versions) */
  owner?: string;
  queue: Promise<unknown>;
}

const EMPTY: LogState = { lastSeq: 0, ended: false };

export function createFileEventStore(root: string, opts: { maxTracked?: number } = {}): EventStore {
  const maxTracked = opts.maxTracked ?? 10_000;
  const entries = new Map<string, Entry>();
  const listeners = new Map<string, Set<() => void>>();

  const pathOf = (ns: string, req: string) => {
    if (!SAFE_NAME.test(ns) || !SAFE_NAME.test(req) || req.length > 253 || ns.length > 63) {
      throw new Error('invalid namespace or request name for the event log');
    }
    const dir = join(root, req);
    return {
      dir,
      file: join(dir, 'events.jsonl'),
      ownerFile: join(dir, 'events.owner'),
      legacyFile: join(root, ns, req, 'events.jsonl'),
    };
  };
  type Paths = ReturnType<typeof pathOf>;

  const exists = (file: string) =>
    stat(file).then(
      () => true,
      (err: { code?: string }) => {
        if (err.code === 'ENOENT') return false;
        throw err;
      },
    );

  /** Whose the log is: its owner's uid, '' if it has none (kept by an earlier version, or none yet). */
  const ownerOf = async (e: Entry, p: Paths): Promise<string> => {
    if (e.owner !== undefined) return e.owner;
    const owner = await readFile(p.ownerFile, 'utf8').then(
      (t) => t.trim(),
      () => '',
    );
    if (!owner && !(await exists(p.file)) && (await exists(p.legacyFile))) {
      // an earlier version's log, which has no owner: moved here, and read as this request's
      await mkdir(p.dir, { recursive: true });
      await rename(p.legacyFile, p.file);
    }
    e.owner = owner;
    return owner;
  };

  /** Whether the log there is `uid`'s to read: its own, or one without an owner. */
  const readable = async (key: string, p: Paths, uid: string) => {
    const owner = await ownerOf(entry(key), p);
    return owner === '' || owner === uid;
  };

  const entry = (key: string): Entry => {
    let e = entries.get(key);
    if (!e) {
      e = { queue: Promise.resolve() };
      entries.set(key, e);
      if (entries.size > maxTracked) {
        // Forget the oldest idle entries; their state is re-read from the file when needed.
        for (const [k, v] of entries) {
          if (entries.size <= maxTracked) break;
          if (k !== key && v.state) entries.delete(k);
        }
      }
    } else {
      entries.delete(key);
      entries.set(key, e);
    }
    return e;
  };

  /** Runs fn after every earlier operation on the same request. */
  const serial = <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const e = entry(key);
    const run = e.queue.then(fn, fn);
    e.queue = run.catch(() => {});
    return run;
  };

  const loadState = async (file: string): Promise<LogState> => {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return { lastSeq: 0, ended: false };
      throw err;
    }
    const end = text.lastIndexOf('\n') + 1;
    if (end < text.length) await truncate(file, new TextEncoder().encode(text.slice(0, end)).byteLength);
    let lastSeq = 0;
    let ended = false;
    for (const line of text.slice(0, end).split('\n')) {
      if (!line) continue;
      const ev = JSON.parse(line) as ExecutorEvent;
      lastSeq = ev.seq;
      if (ev.type === 'completed') ended = true;
    }
    return { lastSeq, ended };
  };

  const getState = async (key: string, file: string): Promise<LogState> => {
    const e = entry(key);
    e.state ??= await loadState(file);
    return e.state;
  };

  return {
    async append({ namespace: ns, request: req, uid }, events) {
      const p = pathOf(ns, req);
      const { dir, file } = p;
      const key = `${ns}/${req}`;
      return serial(key, async () => {
        const e = entry(key);
        const owner = await ownerOf(e, p);
        if (owner !== uid) {
          if (owner !== '') {
            // an earlier request of this name: its log goes, this one starts its own
            await rm(file, { force: true });
            e.state = { ...EMPTY };
          }
          await mkdir(dir, { recursive: true });
          await writeFile(p.ownerFile, uid);
          e.owner = uid;
        }
        const state = await getState(key, file);
        const fresh = events.filter((ev) => ev.seq > state.lastSeq);
        const duplicates = events.length - fresh.length;
        if (fresh.length === 0)
          return { accepted: [], duplicates, lastSeq: state.lastSeq, ended: state.ended };
        if (state.ended) {
          throw new EventLogError(
            'request_ended',
            'the request has already sent its completed event',
            state.lastSeq + 1,
          );
        }
        if (fresh[0]!.seq !== state.lastSeq + 1) {
          throw new EventLogError(
            'sequence_gap',
            `events must continue the log: expected seq ${state.lastSeq + 1}, got ${fresh[0]!.seq}`,
            state.lastSeq + 1,
          );
        }
        await mkdir(dir, { recursive: true });
        await appendFile(file, `${fresh.map((ev) => JSON.stringify(ev)).join('\n')}\n`, 'utf8');
        state.lastSeq = fresh[fresh.length - 1]!.seq;
        if (fresh.some((ev) => ev.type === 'completed')) state.ended = true;
        for (const l of listeners.get(key) ?? []) l();
        return { accepted: fresh, duplicates, lastSeq: state.lastSeq, ended: state.ended };
      });
    },
    async state({ namespace: ns, request: req, uid }) {
      const p = pathOf(ns, req);
      const key = `${ns}/${req}`;
      return serial(key, async () =>
        (await readable(key, p, uid)) ? { ...(await getState(key, p.file)) } : { ...EMPTY },
      );
    },
    async readFrom({ namespace: ns, request: req, uid }, offset) {
      const p = pathOf(ns, req);
      const { file } = p;
      const key = `${ns}/${req}`;
      if (!(await serial(key, () => readable(key, p, uid)))) return { events: [], offset };
      let size: number;
      try {
        size = (await stat(file)).size;
      } catch (err) {
        if ((err as { code?: string }).code === 'ENOENT') return { events: [], offset };
        throw err;
      }
      if (size <= offset) return { events: [], offset };
      const fh = await open(file, 'r');
      try {
        const buf = new Uint8Array(size - offset);
        let read = 0;
        while (read < buf.length) {
          const r = await fh.read(buf, read, buf.length - read, offset + read);
          if (r.bytesRead === 0) break;
          read += r.bytesRead;
        }
        const lastNl = buf.subarray(0, read).lastIndexOf(10);
        if (lastNl < 0) return { events: [], offset };
        const text = new TextDecoder().decode(buf.subarray(0, lastNl));
        const events = text
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as ExecutorEvent);
        return { events, offset: offset + lastNl + 1 };
      } finally {
        await fh.close();
      }
    },
    subscribe(ns, req, listener) {
      const key = `${ns}/${req}`;
      let set = listeners.get(key);
      if (!set) {
        set = new Set();
        listeners.set(key, set);
      }
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0) listeners.delete(key);
      };
    },
  };
}

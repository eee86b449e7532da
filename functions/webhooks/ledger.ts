// The delivery ledger: each source keeps its recent deliveries (id, event, action, matched rules or
// why none matched, requests created, outcome) in one bounded ConfigMap, `<source>-deliveries`,
// owned by the WebhookSource (so it goes when the source goes). Entries are `data["e.<key>"]`
// (JSON); the gzip'd body of a delivery is `binaryData["p.<key>"]`, kept for replay while it fits
// the payload budget. Keys start with the receive time, so sorting them sorts by time.
//
// Writes are group-committed: a record joins the batch of its source; one JSON merge patch per
// batch adds the new keys and deletes the ones past the bounds (merge patches of distinct keys
// never conflict, so replicas need no locking). record() resolves once its batch is stored. A write
// follows at most one per `minIntervalMs` (1 s) per source: each patch makes the apiserver rewrite
// the whole ConfigMap (hundreds of KB), so under load one write carries a second's deliveries, and
// only the entries and bodies that fit the bounds are built at all.
import { Buffer } from 'node:buffer';
import { promisify } from 'node:util';
import { gunzip as gunzipCallback, gzip as gzipCallback } from 'node:zlib';
import { API_VERSION, type WebhookSource } from '../../api/v1alpha1/index.ts';
import { childName } from '../../api/v1alpha1/names.ts';
import { isKubeError } from '../lib/kube.ts';
import type { Logger } from '../lib/log.ts';
import type { RuleMiss } from './rules.ts';
import type { ConfigMapObject, WebhookCore } from './store.ts';

export type DeliveryOutcome =
  | 'created'
  | 'duplicate'
  | 'no_match'
  | 'skipped'
  | 'rule_error'
  | 'suspended'
  | 'failed';

export interface LedgerRequest {
  name: string;
  rule: string;
  result: 'created' | 'duplicate' | 'skipped' | 'error';
  detail?: string;
}

export interface LedgerEntry {
  /** Unique per record (a redelivery or a replay is a new record with the same id). */
  key: string;
  /** The delivery id (X-GitHub-Delivery or the source's own header, else the body's hash). */
  id: string;
  receivedAt: string;
  event: string;
  action?: string;
  outcome: DeliveryOutcome;
  matched: string[];
  misses?: RuleMiss[];
  requests: LedgerRequest[];
  replayOf?: string;
  message?: string;
  /** Read side only: the body is still kept, so the delivery can be replayed. */
  replayable?: boolean;
}

export interface LedgerOptions {
  core: WebhookCore;
  log: Logger;
  now?: () => number;
  maxEntries?: number;
  /** Budget for kept bodies (base64 bytes, all entries of a source). */
  maxPayloadBytes?: number;
  /** A body larger than this (gzip'd, base64) is not kept. */
  maxEntryPayloadBytes?: number;
  /** Least time between two writes for one source (group commit window; default 1 s). */
  minIntervalMs?: number;
}

export interface Ledger {
  record(source: WebhookSource, entry: Omit<LedgerEntry, 'key'>, body?: string): Promise<string>;
  list(source: string, limit?: number): Promise<LedgerEntry[]>;
  /** The newest record of a delivery id whose body is still kept, with the body. */
  payload(source: string, id: string): Promise<{ entry: LedgerEntry; body: string } | undefined>;
  /** Waits for every pending write. */
  flush(): Promise<void>;
  /** Records waiting to be written (all sources). */
  readonly pending: number;
}

export const ledgerName = (source: string) => childName(source, 'deliveries');

const ENTRY = 'e.';
const PAYLOAD = 'p.';
const MAX_ENTRY_JSON = 4096;

// node:zlib (Node and Deno): native, off the main thread
const gzipAsync = promisify(gzipCallback);
const gunzipAsync = promisify(gunzipCallback);
const gzipBase64 = async (text: string) => (await gzipAsync(text)).toString('base64');
const gunzipBase64 = async (b64: string) => (await gunzipAsync(Buffer.from(b64, 'base64'))).toString('utf8');

/** Entry JSON bounded: long miss lists and messages are cut. */
function entryJson(e: LedgerEntry): string {
  let json = JSON.stringify(e);
  if (json.length <= MAX_ENTRY_JSON) return json;
  const slim: LedgerEntry = {
    ...e,
    misses: e.misses?.slice(0, 10).map((m) => ({ rule: m.rule, reason: m.reason.slice(0, 120) })),
    requests: e.requests.slice(0, 20),
    ...(e.message ? { message: e.message.slice(0, 500) } : {}),
  };
  json = JSON.stringify(slim);
  return json.length <= MAX_ENTRY_JSON
    ? json
    : JSON.stringify({ ...slim, misses: [], message: 'entry truncated' });
}

interface Pending {
  entry: LedgerEntry;
  body?: string;
  resolve: () => void;
  reject: (e: unknown) => void;
}

interface SourceState {
  source: WebhookSource;
  pending: Pending[];
  running?: Promise<void>;
  known?: ConfigMapObject;
  lastWrite: number;
}

export function createLedger(opts: LedgerOptions): Ledger {
  const now = opts.now ?? Date.now;
  const maxEntries = opts.maxEntries ?? 100;
  const maxPayloadBytes = opts.maxPayloadBytes ?? 400 * 1024;
  const maxEntryPayloadBytes = opts.maxEntryPayloadBytes ?? 100 * 1024;
  const minIntervalMs = opts.minIntervalMs ?? 1000;
  const states = new Map<string, SourceState>();
  let counter = 0;

  const newKey = () => {
    counter = (counter + 1) % 1_679_616; // 36^4
    const rand = Math.floor(Math.random() * 0xffffff)
      .toString(16)
      .padStart(6, '0');
    return `${String(now()).padStart(14, '0')}-${counter.toString(36).padStart(4, '0')}${rand}`;
  };

  /** Deletions that keep `cm` (plus the keys about to be added) within the bounds. */
  function trims(
    cm: ConfigMapObject | undefined,
    adding: { data: string[]; payloads: Record<string, number> },
  ): { data: Record<string, null>; binaryData: Record<string, null> } {
    const out = { data: {} as Record<string, null>, binaryData: {} as Record<string, null> };
    const entries = [...Object.keys(cm?.data ?? {}).filter((k) => k.startsWith(ENTRY)), ...adding.data]
      .map((k) => k.slice(ENTRY.length))
      .sort()
      .reverse();
    const dropped = new Set(entries.slice(maxEntries));
    for (const k of dropped) {
      out.data[ENTRY + k] = null;
      out.binaryData[PAYLOAD + k] = null;
    }
    const sizes: Record<string, number> = { ...adding.payloads };
    for (const [k, v] of Object.entries(cm?.binaryData ?? {})) if (k.startsWith(PAYLOAD)) sizes[k] = v.length;
    let used = 0;
    for (const k of Object.keys(sizes).sort().reverse()) {
      if (dropped.has(k.slice(PAYLOAD.length))) continue;
      used += sizes[k]!;
      if (used > maxPayloadBytes) out.binaryData[k] = null;
    }
    return out;
  }

  const overBounds = (cm: ConfigMapObject) => {
    const t = trims(cm, { data: [], payloads: {} });
    return Object.keys(t.data).length + Object.keys(t.binaryData).length > 0 ? t : undefined;
  };

  async function write(state: SourceState, batch: Pending[]) {
    const name = ledgerName(state.source.metadata.name);
    const data: Record<string, string> = {};
    const binaryData: Record<string, string> = {};
    // Newest first: only the newest maxEntries of a batch can stay, and only the bodies that fit
    // the payload budget (the same rule trims() applies), so older ones are not even built.
    const newest = [...batch].sort((a, b) => (a.entry.key < b.entry.key ? 1 : -1)).slice(0, maxEntries);
    let payloadBytes = 0;
    for (const p of newest) {
      data[ENTRY + p.entry.key] = entryJson(p.entry);
      if (p.body === undefined || payloadBytes > maxPayloadBytes) continue;
      const b64 = await gzipBase64(p.body);
      if (b64.length > maxEntryPayloadBytes) continue;
      payloadBytes += b64.length;
      if (payloadBytes <= maxPayloadBytes) binaryData[PAYLOAD + p.entry.key] = b64;
    }
    const sizes = Object.fromEntries(Object.entries(binaryData).map(([k, v]) => [k, v.length]));
    const t = trims(state.known, { data: Object.keys(data), payloads: sizes });
    // a key added and trimmed in one go: just don't add it
    for (const k of Object.keys(t.data)) delete data[k];
    for (const k of Object.keys(t.binaryData)) delete binaryData[k];
    const patch = { data: { ...t.data, ...data }, binaryData: { ...t.binaryData, ...binaryData } };
    let cm: ConfigMapObject;
    try {
      cm = await opts.core.patchConfigMap(name, patch);
    } catch (e) {
      if (!isKubeError(e, 404)) throw e;
      try {
        const src = state.source;
        cm = await opts.core.createConfigMap({
          metadata: {
            name,
            labels: {
              'app.kubernetes.io/part-of': 'ai-agents',
              'app.kubernetes.io/component': 'webhook-ledger',
              'labrats.work/webhook-source': src.metadata.name.slice(0, 63),
            },
            ...(src.metadata.uid
              ? {
                  ownerReferences: [
                    {
                      apiVersion: API_VERSION,
                      kind: 'WebhookSource',
                      name: src.metadata.name,
                      uid: src.metadata.uid,
                    },
                  ],
                }
              : {}),
          },
          data,
          binaryData,
        });
      } catch (e2) {
        if (!isKubeError(e2, 409)) throw e2;
        cm = await opts.core.patchConfigMap(name, patch);
      }
    }
    const extra = overBounds(cm);
    if (extra) cm = await opts.core.patchConfigMap(name, extra);
    state.known = cm;
  }

  async function drain(state: SourceState) {
    while (state.pending.length) {
      const wait = state.lastWrite + minIntervalMs - now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const batch = state.pending.splice(0);
      state.lastWrite = now();
      try {
        await write(state, batch);
        for (const p of batch) p.resolve();
      } catch (e) {
        opts.log.warn('delivery ledger write failed', {
          source: state.source.metadata.name,
          entries: batch.length,
          error: String(e).slice(0, 300),
        });
        for (const p of batch) p.reject(e);
      }
    }
    state.running = undefined;
  }

  async function read(source: string): Promise<ConfigMapObject | undefined> {
    return opts.core.getConfigMap(ledgerName(source));
  }

  const parse = (cm: ConfigMapObject): LedgerEntry[] =>
    Object.entries(cm.data ?? {})
      .filter(([k]) => k.startsWith(ENTRY))
      .sort(([a], [b]) => (a < b ? 1 : a > b ? -1 : 0))
      .flatMap(([k, v]) => {
        try {
          const e = JSON.parse(v) as LedgerEntry;
          const key = k.slice(ENTRY.length);
          return [{ ...e, key, replayable: Object.hasOwn(cm.binaryData ?? {}, PAYLOAD + key) }];
        } catch {
          return [];
        }
      });

  return {
    record(source, entry, body) {
      const key = newKey();
      let state = states.get(source.metadata.name);
      if (!state) {
        state = { source, pending: [], lastWrite: 0 };
        states.set(source.metadata.name, state);
      }
      state.source = source;
      const s = state;
      return new Promise<string>((resolve, reject) => {
        s.pending.push({
          entry: { ...entry, key },
          ...(body !== undefined ? { body } : {}),
          resolve: () => resolve(key),
          reject,
        });
        s.running ??= drain(s);
      });
    },
    async list(source, limit = 100) {
      const cm = await read(source);
      return cm ? parse(cm).slice(0, limit) : [];
    },
    async payload(source, id) {
      const cm = await read(source);
      if (!cm) return undefined;
      const entry = parse(cm).find((e) => (e.id === id || e.key === id) && e.replayable);
      if (!entry) return undefined;
      const b64 = cm.binaryData?.[PAYLOAD + entry.key];
      if (!b64) return undefined;
      return { entry, body: await gunzipBase64(b64) };
    },
    async flush() {
      while ([...states.values()].some((s) => s.running)) {
        await Promise.all([...states.values()].map((s) => s.running));
      }
    },
    get pending() {
      let n = 0;
      for (const s of states.values()) n += s.pending.length;
      return n;
    },
  };
}

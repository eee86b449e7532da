// API keys for the public submit endpoint: the static SUBMIT_API_KEYS and API-key Secrets.
// A Secret labelled `labrats.work/api-key: "true"` names its caller (`caller`, else the Secret's
// name) and holds one or more SHA-256 hashes of keys (`sha256`, `sha256.<anything>`), several for
// rotation. Keys are compared as digests in constant time, every candidate checked.
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import type { StaticApiKey } from '../config.ts';
import type { Kube } from './kube.ts';

export const API_KEY_SECRET_SELECTOR = 'labrats.work/api-key=true';
const HASH_KEY = /^sha256([._-][A-Za-z0-9._-]+)?$/;
const CALLER = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export interface Caller {
  caller: string;
  /** The API-key Secret that matched (absent for SUBMIT_API_KEYS). */
  apiKeyRef?: string;
}

declare module 'hono' {
  interface ContextVariableMap {
    /** The submitter, once its API key checked out. */
    caller?: Caller;
  }
}

interface Entry extends Caller {
  digest: Uint8Array;
}

// node:crypto (Node and Deno) hashes in place: WebCrypto's digest() is a job and a promise per
// call, about a quarter of a millisecond each — two of those per submit.
export async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(createHash('sha256').update(text).digest());
}

/** Hex SHA-256 of a UTF-8 string. */
export const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

export const toHex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

function fromHex(hex: string): Uint8Array | undefined {
  const h = hex.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(h)) return undefined;
  return Uint8Array.from({ length: 32 }, (_, i) => Number.parseInt(h.slice(i * 2, i * 2 + 2), 16));
}

/** Constant-time equality for equal-length byte strings. */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** The key a request presents: `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
export function presentedKey(headers: { get(name: string): string | null | undefined }): string | undefined {
  const auth = headers.get('authorization');
  if (auth) {
    const m = /^Bearer[ \t]+(\S{1,1024})[ \t]*$/i.exec(auth);
    if (m) return m[1];
  }
  const x = headers.get('x-api-key')?.trim();
  return x && x.length <= 1024 ? x : undefined;
}

export interface ApiKeyStore {
  verify(key: string): Promise<Caller | undefined>;
}

export function createApiKeyStore(opts: {
  staticKeys: readonly StaticApiKey[];
  kube?: Kube;
  cacheSeconds: number;
  now?: () => number;
  onError?: (err: unknown) => void;
}): ApiKeyStore {
  const now = opts.now ?? Date.now;
  const staticEntries: Promise<Entry[]> = Promise.all(
    opts.staticKeys.map(async (k) => ({ caller: k.caller, digest: await sha256(k.key) })),
  );
  let secretEntries: Entry[] = [];
  let loadedAt = Number.NEGATIVE_INFINITY;
  let loading: Promise<void> | undefined;

  const load = () => {
    loading ??= (async () => {
      try {
        const secrets = await opts.kube!.listSecrets(API_KEY_SECRET_SELECTOR);
        const next: Entry[] = [];
        for (const s of secrets) {
          const caller = s.data.caller?.trim() || s.name;
          if (!CALLER.test(caller) || caller.length > 63) continue;
          for (const [k, v] of Object.entries(s.data)) {
            const digest = HASH_KEY.test(k) ? fromHex(v) : undefined;
            if (digest) next.push({ caller, apiKeyRef: s.name, digest });
          }
        }
        secretEntries = next;
        loadedAt = now();
      } catch (err) {
        opts.onError?.(err);
        loadedAt = now(); // keep serving the last good set; try again after the refresh interval
      } finally {
        loading = undefined;
      }
    })();
    return loading;
  };

  const match = (entries: Entry[], digest: Uint8Array): Entry | undefined => {
    let found: Entry | undefined;
    for (const e of entries) if (timingSafeEqual(e.digest, digest) && !found) found = e;
    return found;
  };

  return {
    async verify(key) {
      const digest = await sha256(key);
      const hit = match(await staticEntries, digest);
      if (hit) return { caller: hit.caller };
      if (!opts.kube) return undefined;
      const age = now() - loadedAt;
      if (age > opts.cacheSeconds * 1000) await load();
      let found = match(secretEntries, digest);
      // An unknown key may be a new one: re-read the Secrets, at most once a second.
      if (!found && now() - loadedAt > 1000) {
        await load();
        found = match(secretEntries, digest);
      }
      return found ? { caller: found.caller, apiKeyRef: found.apiKeyRef! } : undefined;
    },
  };
}

// Signature checks, one per source type. Nothing here says anything about the secret: a failure
// is "missing", "invalid" or "stale", and every comparison is constant-time.
//  - github:  X-Hub-Signature-256 = "sha256=" + hex HMAC-SHA256(secret, raw body), checked by
//             @octokit/webhooks-methods (WebCrypto in Deno and browsers, node:crypto in Node).
//  - gitlab:  X-Gitlab-Token equals the secret (compared as SHA-256 digests, constant time).
//  - generic: <signature.header> = <prefix> + hex (or base64) HMAC-SHA256(secret, signed), where
//             signed is the raw body, or "<timestamp>.<raw body>" when signature.timestampHeader is
//             set; the timestamp (Unix seconds) must be within toleranceSeconds of now.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { verify as verifyGithub } from '@octokit/webhooks-methods';
import type { WebhookSourceSpec } from '../../api/v1alpha1/index.ts';

export type SignatureRefusal = 'missing' | 'missing_timestamp' | 'invalid' | 'stale';
export type SignatureResult = { ok: true } | { ok: false; reason: SignatureRefusal };

export interface SignedDelivery {
  headers: Headers;
  /** The raw body, exactly as received. */
  body: Uint8Array;
  /** The body decoded as UTF-8 (BOM kept), for checks defined on text. */
  text: string;
}

const enc = new TextEncoder();
const OK: SignatureResult = { ok: true };
const fail = (reason: SignatureRefusal): SignatureResult => ({ ok: false, reason });

// node:crypto (Node and Deno) rather than WebCrypto: a hash or MAC in place, not a job and a
// promise per call.
const digest = (s: string) => createHash('sha256').update(s).digest();

/** Constant-time equality of two strings of any length (compares their SHA-256 digests). */
export async function safeEqual(a: string, b: string): Promise<boolean> {
  return timingSafeEqual(digest(a), digest(b));
}

function decodeMac(value: string): Uint8Array | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(value)) {
    return Uint8Array.from(value.match(/../g)!, (h) => Number.parseInt(h, 16));
  }
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(value)) {
    try {
      const bin = atob(value.replace(/-/g, '+').replace(/_/g, '/').padEnd(44, '='));
      if (bin.length === 32) return Uint8Array.from(bin, (c) => c.charCodeAt(0));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

async function hmacVerify(secret: string, mac: Uint8Array, data: Uint8Array): Promise<boolean> {
  const expected = createHmac('sha256', secret).update(data).digest();
  return mac.length === expected.length && timingSafeEqual(mac, expected);
}

export const GITHUB_SIGNATURE_HEADER = 'X-Hub-Signature-256';
export const GITLAB_TOKEN_HEADER = 'X-Gitlab-Token';

export async function verifySignature(
  spec: Pick<WebhookSourceSpec, 'type' | 'signature'>,
  secret: string,
  d: SignedDelivery,
  nowMs: number,
): Promise<SignatureResult> {
  if (!secret) return fail('invalid');
  if (spec.type === 'github') {
    const sig = d.headers.get(GITHUB_SIGNATURE_HEADER);
    if (!sig) return fail('missing');
    if (!/^sha256=[0-9a-fA-F]{64}$/.test(sig) || !d.text) return fail('invalid');
    try {
      return (await verifyGithub(secret, d.text, sig)) ? OK : fail('invalid');
    } catch {
      return fail('invalid');
    }
  }
  if (spec.type === 'gitlab') {
    const token = d.headers.get(GITLAB_TOKEN_HEADER);
    if (!token) return fail('missing');
    return (await safeEqual(token, secret)) ? OK : fail('invalid');
  }
  // generic HMAC
  const header = spec.signature?.header ?? 'X-Signature-256';
  const prefix = spec.signature?.prefix ?? 'sha256=';
  const raw = d.headers.get(header);
  if (!raw) return fail('missing');
  if (!raw.startsWith(prefix)) return fail('invalid');
  const mac = decodeMac(raw.slice(prefix.length).trim());
  if (!mac) return fail('invalid');
  let data = d.body;
  const tsHeader = spec.signature?.timestampHeader;
  if (tsHeader) {
    const ts = d.headers.get(tsHeader);
    if (!ts) return fail('missing_timestamp');
    if (!/^\d{1,12}$/.test(ts)) return fail('invalid');
    // Check the MAC first, so a stale answer is only ever given for a genuine (replayed) delivery.
    const prefixBytes = enc.encode(`${ts}.`);
    data = new Uint8Array(prefixBytes.length + d.body.length);
    data.set(prefixBytes, 0);
    data.set(d.body, prefixBytes.length);
    if (!(await hmacVerify(secret, mac, data))) return fail('invalid');
    const tolerance = spec.signature?.toleranceSeconds ?? 300;
    if (Math.abs(nowMs / 1000 - Number(ts)) > tolerance) return fail('stale');
    return OK;
  }
  return (await hmacVerify(secret, mac, data)) ? OK : fail('invalid');
}

/** Signs a body the way a generic source expects (tests, benchmarks, and docs for senders). */
export async function signGeneric(
  secret: string,
  body: string | Uint8Array,
  opts: { prefix?: string; timestamp?: number } = {},
): Promise<string> {
  const key = await crypto.subtle.importKey(
    'raw',
    enc.encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const bytes = typeof body === 'string' ? enc.encode(body) : body;
  const head = opts.timestamp === undefined ? new Uint8Array() : enc.encode(`${opts.timestamp}.`);
  const data = new Uint8Array(head.length + bytes.length);
  data.set(head, 0);
  data.set(bytes, head.length);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, data));
  return `${opts.prefix ?? 'sha256='}${Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

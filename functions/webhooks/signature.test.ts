import { sign } from '@octokit/webhooks-methods';
import { describe, expect, it } from 'vitest';
import { safeEqual, signGeneric, verifySignature } from './signature.ts';

const enc = new TextEncoder();
const delivery = (headers: Record<string, string>, text: string) => ({
  headers: new Headers(headers),
  body: enc.encode(text),
  text,
});
const SECRET = 'topsecret-0123456789';
const body = '{"action":"opened","n":1}';
const NOW = 1_800_000_000_000;

describe('github', () => {
  const spec = { type: 'github' as const };
  it('accepts the signature GitHub computes', async () => {
    const sig = await sign(SECRET, body);
    expect(await verifySignature(spec, SECRET, delivery({ 'x-hub-signature-256': sig }, body), NOW)).toEqual({
      ok: true,
    });
  });
  const cases: [string, () => Promise<Record<string, string>>, string, string][] = [
    ['missing', async () => ({}), body, 'missing'],
    ['wrong secret', async () => ({ 'x-hub-signature-256': await sign('other', body) }), body, 'invalid'],
    [
      'body changed',
      async () => ({ 'x-hub-signature-256': await sign(SECRET, body) }),
      `${body} `,
      'invalid',
    ],
    ['malformed', async () => ({ 'x-hub-signature-256': 'sha256=zz' }), body, 'invalid'],
    [
      'sha1 only',
      async () => ({ 'x-hub-signature-256': 'sha1=0123456789abcdef0123456789abcdef01234567' }),
      body,
      'invalid',
    ],
  ];
  for (const [name, headers, text, reason] of cases) {
    it(`refuses: ${name}`, async () => {
      expect(await verifySignature(spec, SECRET, delivery(await headers(), text), NOW)).toEqual({
        ok: false,
        reason,
      });
    });
  }
});

describe('gitlab', () => {
  const spec = { type: 'gitlab' as const };
  it('accepts the token, refuses others', async () => {
    expect(await verifySignature(spec, SECRET, delivery({ 'x-gitlab-token': SECRET }, body), NOW)).toEqual({
      ok: true,
    });
    expect(
      await verifySignature(spec, SECRET, delivery({ 'x-gitlab-token': `${SECRET}x` }, body), NOW),
    ).toEqual({
      ok: false,
      reason: 'invalid',
    });
    expect(await verifySignature(spec, SECRET, delivery({}, body), NOW)).toEqual({
      ok: false,
      reason: 'missing',
    });
  });
  it('safeEqual compares any lengths', async () => {
    expect(await safeEqual('a', 'a')).toBe(true);
    expect(await safeEqual('a', 'ab')).toBe(false);
    expect(await safeEqual('', '')).toBe(true);
  });
});

describe('generic HMAC', () => {
  const spec = {
    type: 'generic' as const,
    signature: { header: 'X-Sig', prefix: 'v1=', timestampHeader: 'X-Timestamp', toleranceSeconds: 300 },
  };
  const ts = NOW / 1000;
  it('accepts a fresh signature (hex)', async () => {
    const sig = await signGeneric(SECRET, body, { prefix: 'v1=', timestamp: ts });
    const h = { 'x-sig': sig, 'x-timestamp': String(ts) };
    expect(await verifySignature(spec, SECRET, delivery(h, body), NOW)).toEqual({ ok: true });
  });
  it('accepts base64 MACs too', async () => {
    const hex = (await signGeneric(SECRET, body, { prefix: '', timestamp: ts })).trim();
    const b64 = btoa(String.fromCharCode(...hex.match(/../g)!.map((h) => Number.parseInt(h, 16))));
    const h = { 'x-sig': `v1=${b64}`, 'x-timestamp': String(ts) };
    expect(await verifySignature(spec, SECRET, delivery(h, body), NOW)).toEqual({ ok: true });
  });
  it('refuses a stale (replayed) delivery', async () => {
    const old = ts - 301;
    const h = {
      'x-sig': await signGeneric(SECRET, body, { prefix: 'v1=', timestamp: old }),
      'x-timestamp': String(old),
    };
    expect(await verifySignature(spec, SECRET, delivery(h, body), NOW)).toEqual({
      ok: false,
      reason: 'stale',
    });
  });
  it('a timestamp moved forward breaks the MAC (invalid, not stale)', async () => {
    const old = ts - 301;
    const h = {
      'x-sig': await signGeneric(SECRET, body, { prefix: 'v1=', timestamp: old }),
      'x-timestamp': String(ts),
    };
    expect(await verifySignature(spec, SECRET, delivery(h, body), NOW)).toEqual({
      ok: false,
      reason: 'invalid',
    });
  });
  it('refuses missing timestamp, wrong prefix, missing signature', async () => {
    const sig = await signGeneric(SECRET, body, { prefix: 'v1=', timestamp: ts });
    expect(await verifySignature(spec, SECRET, delivery({ 'x-sig': sig }, body), NOW)).toMatchObject({
      reason: 'missing_timestamp',
    });
    expect(
      await verifySignature(
        spec,
        SECRET,
        delivery({ 'x-sig': sig.replace('v1=', 'v2='), 'x-timestamp': String(ts) }, body),
        NOW,
      ),
    ).toMatchObject({ reason: 'invalid' });
    expect(
      await verifySignature(spec, SECRET, delivery({ 'x-timestamp': String(ts) }, body), NOW),
    ).toMatchObject({
      reason: 'missing',
    });
  });
  it('without a timestamp header the raw body is signed', async () => {
    const plain = { type: 'generic' as const };
    const sig = await signGeneric(SECRET, body);
    expect(await verifySignature(plain, SECRET, delivery({ 'x-signature-256': sig }, body), NOW)).toEqual({
      ok: true,
    });
  });
});

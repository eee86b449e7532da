import { SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { ingestKey, mintIngestToken, verifyIngestToken } from './ingest-token.ts';

const key = ingestKey('k'.repeat(32));
const claims = { namespace: 'ns', request: 'req-1', uid: 'u-1' };

describe('ingest tokens', () => {
  it('round-trips the request claims', async () => {
    const t = await mintIngestToken(key, claims, new Date(Date.now() + 60_000));
    expect(await verifyIngestToken(key, t)).toEqual(claims);
  });

  it('refuses expired, foreign-key, unsigned and short-key tokens', async () => {
    const expired = await mintIngestToken(key, claims, new Date(Date.now() - 60_000));
    await expect(verifyIngestToken(key, expired)).rejects.toThrow(/exp/);
    const other = await mintIngestToken(ingestKey('o'.repeat(32)), claims, new Date(Date.now() + 60_000));
    await expect(verifyIngestToken(key, other)).rejects.toThrow(/signature/);
    const none = new UnsecuredJWT({ ns: 'ns', uid: 'u' }).setSubject('req-1').encode();
    await expect(verifyIngestToken(key, none)).rejects.toThrow();
    const noClaims = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('ai-agents-controller')
      .setAudience('ai-agents-ingest')
      .setExpirationTime('1m')
      .sign(key);
    await expect(verifyIngestToken(key, noClaims)).rejects.toThrow(/claims/);
    expect(() => ingestKey('short')).toThrow(/32 bytes/);
  });
});

// Job-scoped ingest tokens: minted by the controller for one request, checked by ingest.
import { jwtVerify, SignJWT } from 'jose';

export const INGEST_AUDIENCE = 'ai-agents-ingest';
export const INGEST_ISSUER = 'ai-agents-controller';
const ALG = 'HS256';

export interface IngestClaims {
  namespace: string;
  request: string;
  uid: string;
}

export function ingestKey(secret: string): Uint8Array {
  if (new TextEncoder().encode(secret).byteLength < 32)
    throw new Error('INGEST_TOKEN_SECRET must be at least 32 bytes');
  return new TextEncoder().encode(secret);
}

export async function mintIngestToken(
  key: Uint8Array,
  claims: IngestClaims,
  expiresAt: Date,
): Promise<string> {
  return new SignJWT({ ns: claims.namespace, uid: claims.uid })
    .setProtectedHeader({ alg: ALG, typ: 'JWT' })
    .setSubject(claims.request)
    .setIssuer(INGEST_ISSUER)
    .setAudience(INGEST_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
    .sign(key);
}

/** Throws (jose errors) unless the token is ours, unexpired and HS256. */
export async function verifyIngestToken(key: Uint8Array, token: string): Promise<IngestClaims> {
  const { payload } = await jwtVerify(token, key, {
    algorithms: [ALG],
    issuer: INGEST_ISSUER,
    audience: INGEST_AUDIENCE,
  });
  if (typeof payload.sub !== 'string' || typeof payload.ns !== 'string' || typeof payload.uid !== 'string') {
    throw new Error('ingest token lacks request claims');
  }
  return { request: payload.sub, namespace: payload.ns, uid: payload.uid };
}

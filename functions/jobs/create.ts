// POST /api/jobs — a logged-in operator submits from the dashboard. Same body and answers as
// /api/jobs/submit, rate limit included (a bucket per user); the caller is derived from the user,
// and the source is `ui`.
import { Hono } from 'hono';
import { labelName } from '../../api/v1alpha1/index.ts';
import { sha256, toHex } from '../lib/api-keys.ts';
import { limitBody, requireJson, validate } from '../lib/body.ts';
import type { Services } from '../lib/services.ts';
import { ownerOfUser } from '../uploads/auth.ts';
import { createRequest, type SubmitBody, submitBody, takeSubmitSlot } from './submit.ts';

/** A stable caller id (an RFC 1123 label) for a user: their subject if it is one, else a hash. */
export async function callerOfUser(sub: string): Promise<string> {
  const plain = sub.toLowerCase();
  if (labelName.safeParse(plain).success) return plain;
  return `user-${toHex(await sha256(sub)).slice(0, 16)}`;
}

export function createApp(s: Services): Hono {
  const app = new Hono();
  app.post(
    '/',
    async function rateLimit(c, next) {
      // the gate (operator) has run, so there is a user; their bucket is apart from API keys'
      takeSubmitSlot(s, `user:${c.get('user')!.sub}`, 'this user');
      await next();
    },
    limitBody(s.config.maxBodyBytes),
    requireJson,
    validate('json', submitBody),
    async (c) => {
      const user = c.get('user')!;
      return createRequest(s, c, c.req.valid('json') as SubmitBody, {
        caller: await callerOfUser(user.sub),
        owner: ownerOfUser(user),
        source: 'ui',
      });
    },
  );
  return app;
}

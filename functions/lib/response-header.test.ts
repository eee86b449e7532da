import { type Context, Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { setResponseHeader } from './response-header.ts';

function appAnswering(answer: (c: Context) => Response) {
  const answered: Response[] = [];
  const app = new Hono();
  app.use('*', async (c, next) => {
    await next();
    setResponseHeader(c, 'X-Content-Type-Options', 'nosniff');
  });
  app.get('/', (c) => {
    const res = answer(c);
    answered.push(res);
    return res;
  });
  return { app, answered };
}

describe('setResponseHeader', () => {
  it('sets the header on the finished response itself, not on a rebuilt copy', async () => {
    const { app, answered } = appAnswering((c) => c.json({ ok: true }, 202));
    const res = await app.request('/');
    expect(res).toBe(answered[0]);
    expect(res.status).toBe(202);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await res.json()).toEqual({ ok: true });
  });

  it('still sets it on a response whose headers are immutable', async () => {
    const { app } = appAnswering(() => Response.redirect('https://example.test/next', 302));
    const res = await app.request('/');
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('https://example.test/next');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });
});

// Headers added once the handler has answered. Hono's c.header() would then rebuild the finished
// response around its body as a stream, and @hono/node-server writes a streamed body chunk by
// chunk instead of in one write: 0.77 ms of the API's CPU per submit, against 0.67 without.
import type { Context } from 'hono';

/** Sets a header on `c.res` in place; a response with immutable headers is rebuilt, as c.header() does. */
export function setResponseHeader(c: Context, name: string, value: string): void {
  try {
    c.res.headers.set(name, value);
  } catch {
    c.header(name, value);
  }
}

// The local platform's one origin: the dashboard's static build, /api/* proxied (streaming, so the
// SSE event stream works) to the functions, and /local-login, which turns the sign-in code printed
// at start into a normal admin session cookie (signed like the OIDC callback's, verified by the
// functions' own auth). No header-trust shortcut: TRUST_FORWARD_AUTH stays off.
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import path from 'node:path';
import { SESSION_COOKIE, signSession } from '../../functions/auth/tokens.ts';

export const LOCAL_ADMIN_GROUP = 'ai-agents-local-admins';
/** Matches the functions' default AUTH_SESSION_IDLE_TIMEOUT. */
const SESSION_SECONDS = 8 * 3600;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

export interface WebOptions {
  /** Where the sign-in code is kept (named on the page /api/auth/login shows). */
  stateFile?: string;
  /** The Vite build (index.html + assets/); undefined or missing: a page explaining the UI is not built. */
  uiDir: string | undefined;
  apiPort: number;
  jwtSecret: string;
  loginCode: string;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function proxy(req: IncomingMessage, res: ServerResponse, apiPort: number) {
  const upstream = httpRequest(
    { host: '127.0.0.1', port: apiPort, method: req.method, path: req.url, headers: req.headers },
    (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    },
  );
  upstream.on('error', (e) => {
    if (res.headersSent) res.destroy();
    else
      res.writeHead(502, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          error: { code: 'bad_gateway', message: `the API is not reachable: ${e.message}` },
        }),
      );
  });
  res.on('close', () => upstream.destroy());
  req.pipe(upstream);
}

async function localLogin(req: IncomingMessage, res: ServerResponse, opts: WebOptions) {
  const url = new URL(req.url ?? '/', 'http://local');
  const code = url.searchParams.get('code') ?? '';
  if (!code || !sameSecret(code, opts.loginCode)) {
    res
      .writeHead(403, { 'content-type': 'text/plain; charset=utf-8' })
      .end('this sign-in link is not valid\n');
    return;
  }
  const now = Math.floor(Date.now() / 1000);
  const token = await signSession(new TextEncoder().encode(opts.jwtSecret), {
    sub: 'local-admin',
    name: 'Local admin',
    groups: [LOCAL_ADMIN_GROUP],
    iat: now,
    exp: now + SESSION_SECONDS,
    auth_time: now,
    jti: randomUUID(),
  });
  res
    .writeHead(302, {
      location: '/',
      'cache-control': 'no-store',
      'set-cookie': `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${SESSION_SECONDS}`,
    })
    .end();
}

/** The dashboard's "Sign in" leads here: the local platform has no OpenID provider, only the printed link. */
function loginHelp(res: ServerResponse, opts: WebOptions) {
  const where = opts.stateFile ? ` (the code is also in ${opts.stateFile}, as loginCode)` : '';
  res
    .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
    .end(
      `<!doctype html><meta charset="utf-8"><title>Sign in — ai-agents (local)</title>` +
        `<p>This local platform has no OpenID provider. Open the <b>Sign in</b> link that <code>npm start</code> ` +
        `printed: <code>/local-login?code=…</code>${where.replace(/[<>&]/g, '')}.</p>\n`,
    );
}

function serveFile(res: ServerResponse, file: string, method: string) {
  const ext = path.extname(file);
  const immutable = file.includes(`${path.sep}assets${path.sep}`);
  res.writeHead(200, {
    'content-type': TYPES[ext] ?? 'application/octet-stream',
    'content-length': statSync(file).size,
    'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    'x-content-type-options': 'nosniff',
  });
  if (method === 'HEAD') res.end();
  else createReadStream(file).pipe(res);
}

function serveStatic(req: IncomingMessage, res: ServerResponse, uiDir: string | undefined) {
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  const index = uiDir ? path.join(uiDir, 'index.html') : undefined;
  if (!uiDir || !index || !existsSync(index)) {
    res
      .writeHead(503, { 'content-type': 'text/plain; charset=utf-8' })
      .end('The dashboard is not built (see the start output). The API is at /api.\n');
    return;
  }
  let rel: string;
  try {
    rel = decodeURIComponent(new URL(req.url ?? '/', 'http://local').pathname);
  } catch {
    res.writeHead(400).end();
    return;
  }
  const file = path.resolve(uiDir, `.${rel}`);
  if (file.startsWith(`${path.resolve(uiDir)}${path.sep}`) && existsSync(file) && statSync(file).isFile()) {
    serveFile(res, file, method);
    return;
  }
  if (rel.startsWith('/assets/')) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
    return;
  }
  serveFile(res, index, method); // the SPA's own routes
}

export function createWebServer(opts: WebOptions): Server {
  return createServer((req, res) => {
    const pathname = (req.url ?? '/').split('?')[0] ?? '/';
    if (pathname === '/api/auth/login' && req.method === 'GET') return loginHelp(res, opts);
    if (pathname === '/api' || pathname.startsWith('/api/')) return proxy(req, res, opts.apiPort);
    if (pathname === '/local-login') {
      localLogin(req, res, opts).catch((e) => res.writeHead(500).end(String(e)));
      return;
    }
    serveStatic(req, res, opts.uiDir);
  });
}

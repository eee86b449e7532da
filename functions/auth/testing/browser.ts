// Just enough of a browser for the login tests: a cookie jar (host, path, expiry), fetch with manual
// redirects followed hop by hop, and form submission from the HTML a page returned.

interface StoredCookie {
  name: string;
  value: string;
  host: string;
  path: string;
  expires: number | undefined;
  httpOnly: boolean;
  secure: boolean;
  sameSite: string | undefined;
}

export interface Page {
  url: URL;
  status: number;
  headers: Headers;
  body: string;
  /** Every URL visited, redirects included. */
  history: URL[];
}

export interface NavigateOptions {
  /** Stop (without requesting it) at the first redirect target this returns true for. */
  stopBefore?: (url: URL) => boolean;
  headers?: Record<string, string>;
}

/** Answers requests for some origins in-process (e.g. `app.request`); undefined: use the network. */
export type Router = (url: URL, init: RequestInit) => Promise<Response> | undefined;

export class Browser {
  readonly cookies: StoredCookie[] = [];
  private readonly route: Router | undefined;

  constructor(route?: Router) {
    this.route = route;
  }

  cookie(name: string, host?: string): StoredCookie | undefined {
    const now = Date.now();
    return this.cookies.find(
      (c) => c.name === name && (host === undefined || c.host === host) && (c.expires ?? now + 1) > now,
    );
  }

  setCookie(cookie: Partial<StoredCookie> & { name: string; value: string; host: string }): void {
    this.store({
      path: '/',
      expires: undefined,
      httpOnly: true,
      secure: false,
      sameSite: 'Lax',
      ...cookie,
    });
  }

  deleteCookie(name: string): void {
    for (let i = this.cookies.length - 1; i >= 0; i--)
      if (this.cookies[i]!.name === name) this.cookies.splice(i, 1);
  }

  private store(c: StoredCookie): void {
    const i = this.cookies.findIndex((x) => x.name === c.name && x.host === c.host && x.path === c.path);
    if (i >= 0) this.cookies.splice(i, 1);
    if (c.expires !== undefined && c.expires <= Date.now()) return;
    this.cookies.push(c);
  }

  private cookieHeader(url: URL): string | undefined {
    const now = Date.now();
    const pairs = this.cookies
      .filter(
        (c) =>
          c.host === url.hostname &&
          (c.expires ?? now + 1) > now &&
          (!c.secure || url.protocol === 'https:') &&
          (url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)),
      )
      .sort((a, b) => b.path.length - a.path.length)
      .map((c) => `${c.name}=${c.value}`);
    return pairs.length ? pairs.join('; ') : undefined;
  }

  private remember(url: URL, res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq < 1) continue;
      const cookie: StoredCookie = {
        name: pair.slice(0, eq).trim(),
        value: pair.slice(eq + 1).trim(),
        host: url.hostname,
        path: url.pathname.replace(/\/[^/]*$/, '') || '/',
        expires: undefined,
        httpOnly: false,
        secure: false,
        sameSite: undefined,
      };
      for (const attr of attrs) {
        const [k = '', v = ''] = attr.split('=').map((s) => s.trim());
        const key = k.toLowerCase();
        if (key === 'path') cookie.path = v || '/';
        else if (key === 'max-age') cookie.expires = Date.now() + Number(v) * 1000;
        else if (key === 'expires' && cookie.expires === undefined) cookie.expires = Date.parse(v);
        else if (key === 'httponly') cookie.httpOnly = true;
        else if (key === 'secure') cookie.secure = true;
        else if (key === 'samesite') cookie.sameSite = v;
      }
      this.store(cookie);
    }
  }

  /** One request, no redirect following; cookies sent and stored. */
  async fetch(input: string | URL, init: RequestInit = {}): Promise<Response> {
    const url = new URL(input);
    const headers = new Headers(init.headers);
    const cookie = this.cookieHeader(url);
    if (cookie) headers.set('Cookie', cookie);
    const req: RequestInit = { ...init, headers, redirect: 'manual' };
    const res = await (this.route?.(url, req) ?? fetch(url, req));
    this.remember(url, res);
    return res;
  }

  /** GET (or the given request) and follow redirects like a browser's top-level navigation. */
  async navigate(input: string | URL, init: RequestInit = {}, opts: NavigateOptions = {}): Promise<Page> {
    let url = new URL(input);
    const history: URL[] = [url];
    let res = await this.fetch(url, {
      ...init,
      headers: { ...opts.headers, ...headersObject(init.headers) },
    });
    for (let hops = 0; hops < 20 && res.status >= 300 && res.status < 400; hops++) {
      const location = res.headers.get('Location');
      if (!location) break;
      await res.body?.cancel();
      const next = new URL(location, url);
      if (opts.stopBefore?.(next)) {
        return { url: next, status: 0, headers: res.headers, body: '', history: [...history, next] };
      }
      url = next;
      history.push(url);
      res = await this.fetch(url, { headers: opts.headers ?? {} });
    }
    return { url, status: res.status, headers: res.headers, body: await res.text(), history };
  }

  /** Fill and submit the page's first form (hidden inputs kept), following redirects. */
  async submit(page: Page, fields: Record<string, string> = {}, opts: NavigateOptions = {}): Promise<Page> {
    const form = /<form\b([^>]*)>([\s\S]*?)<\/form>/i.exec(page.body);
    if (!form) throw new Error(`no form on ${page.url.href}:\n${page.body.slice(0, 500)}`);
    const attrs = form[1] ?? '';
    const action = new URL(attr(attrs, 'action') ?? page.url.href, page.url);
    const method = (attr(attrs, 'method') ?? 'get').toUpperCase();
    const data = new URLSearchParams();
    for (const input of (form[2] ?? '').matchAll(/<input\b([^>]*)>/gi)) {
      const name = attr(input[1] ?? '', 'name');
      if (name && !(name in fields)) data.set(name, attr(input[1] ?? '', 'value') ?? '');
    }
    for (const [k, v] of Object.entries(fields)) data.set(k, v);
    return this.navigate(
      action,
      {
        method,
        body: data.toString(),
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: page.url.origin },
      },
      opts,
    );
  }
}

function attr(attrs: string, name: string): string | undefined {
  const m = new RegExp(`\\b${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(attrs);
  if (!m) return undefined;
  return (m[1] ?? m[2] ?? m[3] ?? '')
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#x2F;/g, '/');
}

function headersObject(h: HeadersInit | undefined): Record<string, string> {
  return Object.fromEntries(new Headers(h).entries());
}

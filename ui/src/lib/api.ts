// The one way the UI talks to /api: JSON in and out, every failure an ApiError built from the
// API's envelope ({error: {code, message, details, requestId}}), and 401 sends the browser to login.

export interface FieldIssue {
  path: string;
  message: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  readonly requestId: string | undefined;
  constructor(status: number, code: string, message: string, details?: unknown, requestId?: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
    this.requestId = requestId;
  }

  /** Validation details as `{path, message}`, whatever exact shape the API used. */
  get issues(): FieldIssue[] {
    const d = this.details as unknown;
    const list = Array.isArray(d)
      ? d
      : d && typeof d === 'object' && Array.isArray((d as { issues?: unknown }).issues)
        ? (d as { issues: unknown[] }).issues
        : [];
    return list.flatMap((i) => {
      if (!i || typeof i !== 'object') return [];
      const { path, field, message } = i as { path?: unknown; field?: unknown; message?: unknown };
      const p = Array.isArray(path) ? path.join('.') : String(path ?? field ?? '');
      return [{ path: p, message: String(message ?? 'is invalid') }];
    });
  }
}

export function loginUrl(returnTo = `${location.pathname}${location.search}`): string {
  return `/api/auth/login?returnTo=${encodeURIComponent(returnTo)}`;
}

/** Leaves for the login page, which comes back to the current page afterwards. */
export function redirectToLogin(): void {
  location.assign(loginUrl());
}

let unauthorized = redirectToLogin;

/** What happens on a 401 (default: go to the login page, coming back here afterwards). */
export function onUnauthorized(fn: () => void): void {
  unauthorized = fn;
}

export async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  signal?: AbortSignal,
): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers:
        body === undefined
          ? { accept: 'application/json' }
          : { accept: 'application/json', 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
      signal: signal ?? null,
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'network', 'The API could not be reached. Check the connection and try again.');
  }
  return read<T>(res);
}

/** The JSON of a response, or the ApiError its envelope describes. */
async function read<T>(res: Response): Promise<T> {
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string; details?: unknown; requestId?: string } })
      ?.error;
    if (res.status === 401) unauthorized();
    throw new ApiError(
      res.status,
      e?.code ?? `http_${res.status}`,
      e?.message ?? `${res.status} ${res.statusText}`.trim(),
      e?.details,
      e?.requestId ?? res.headers.get('x-request-id') ?? undefined,
    );
  }
  return json as T;
}

/** Uploads one file as a raw body (POST /api/uploads, name in X-Upload-Name). */
export async function upload<T>(file: File): Promise<T> {
  let res: Response;
  try {
    res = await fetch('/api/uploads', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { accept: 'application/json', 'X-Upload-Name': encodeURIComponent(file.name) },
      body: file,
    });
  } catch {
    throw new ApiError(0, 'network', 'The API could not be reached. Check the connection and try again.');
  }
  return read<T>(res);
}

export const api = {
  get: <T>(path: string, signal?: AbortSignal) => request<T>('GET', path, undefined, signal),
  post: <T>(path: string, body?: unknown) => request<T>('POST', path, body ?? {}),
  put: <T>(path: string, body: unknown) => request<T>('PUT', path, body),
  del: <T>(path: string) => request<T>('DELETE', path),
};

/** `?a=1&b=2` from the defined, non-empty values (or '' when there are none). */
export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export const enc = encodeURIComponent;

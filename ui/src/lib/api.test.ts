import { afterEach, describe, expect, it, vi } from 'vitest';
import { envelope, fakeApi } from '../test/fakes.ts';
import { ApiError, api, onUnauthorized, query } from './api.ts';

afterEach(() => vi.unstubAllGlobals());

describe('api client', () => {
  it('turns the error envelope into an ApiError with field issues', async () => {
    fakeApi({
      'POST /api/jobs': envelope(400, 'invalid_body', 'request body is invalid', [
        { path: 'repository.url', message: 'must be a git URL', code: 'invalid_format' },
        { path: ['labels', 'team'], message: 'too long' },
      ]),
    });
    const err = await api.post('/api/jobs', { agent: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    const e = err as ApiError;
    expect([e.status, e.code, e.message, e.requestId]).toEqual([
      400,
      'invalid_body',
      'request body is invalid',
      'req-1',
    ]);
    expect(e.issues).toEqual([
      { path: 'repository.url', message: 'must be a git URL' },
      { path: 'labels.team', message: 'too long' },
    ]);
  });

  it('sends JSON and returns the parsed body', async () => {
    const { calls } = fakeApi({ 'POST /api/jobs/a/retry': { id: 'b' } });
    await expect(api.post('/api/jobs/a/retry')).resolves.toEqual({ id: 'b' });
    expect(calls[0]).toMatchObject({ method: 'POST', path: '/api/jobs/a/retry', body: {} });
  });

  it('calls the unauthorized handler on 401 and still rejects', async () => {
    const handler = vi.fn();
    onUnauthorized(handler);
    fakeApi({ 'GET /api/jobs': envelope(401, 'unauthorized', 'authentication required') });
    await expect(api.get('/api/jobs')).rejects.toMatchObject({ status: 401 });
    expect(handler).toHaveBeenCalledOnce();
  });

  it('reports an unreachable API as a network error', async () => {
    vi.stubGlobal('fetch', vi.fn().mockRejectedValue(new TypeError('fetch failed')));
    await expect(api.get('/api/jobs')).rejects.toMatchObject({ status: 0, code: 'network' });
  });

  it('survives a non-JSON error body', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn().mockResolvedValue(new Response('<html>bad gateway</html>', { status: 502 })),
    );
    await expect(api.get('/api/jobs')).rejects.toMatchObject({ status: 502, code: 'http_502' });
  });

  it('query() keeps only set values', () => {
    expect(query({ phase: 'Running', agent: '', limit: 50, continue: undefined })).toBe(
      '?phase=Running&limit=50',
    );
    expect(query({})).toBe('');
  });
});

import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono, type MiddlewareHandler } from 'hono';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  PNG_BYTES,
  pdfBytes,
  tarBytes,
  tgzBytes,
  zipBytes,
} from '../../executor/archive/testing/archives.ts';
import { createApiKeyStore } from '../lib/api-keys.ts';
import { ApiError, errorHandler } from '../lib/errors.ts';
import { createLogger } from '../lib/log.ts';
import { type AuthUser, type RequireRole, ROLES, type Role, roleAtLeast } from '../lib/roles.ts';
import { uploadsApp } from './app.ts';
import { checkAttachments } from './attachments.ts';
import { findUnreferencedUploads, removeUploads } from './cleanup.ts';
import { createUploadStore, diskName, META_FILE, type UploadStore } from './store.ts';

const KEY_CI = 'ci-key-0123456789abcdef';
const KEY_OTHER = 'other-key-0123456789abcdef';

/** Test stand-in for the auth helper's requireRole: `X-Test-User: <sub>:<role>`. */
const fakeRequireRole: RequireRole = (role: Role): MiddlewareHandler => {
  return async (c, next) => {
    const h = c.req.header('x-test-user');
    if (!h) throw new ApiError('unauthorized', 'login required');
    const [sub, top] = h.split(':') as [string, Role];
    const user: AuthUser = { sub, roles: ROLES.slice(0, ROLES.indexOf(top) + 1) as Role[] };
    if (!roleAtLeast(user.roles, role)) throw new ApiError('forbidden', `this needs the ${role} role`);
    c.set('user', user);
    await next();
  };
};

let dir: string;
let store: UploadStore;
let app: Hono;

function makeApp(maxBytes = 1024 * 1024) {
  store = createUploadStore({ dir, maxBytes });
  const a = new Hono();
  a.route(
    '/api/uploads',
    uploadsApp({
      store,
      requireRole: fakeRequireRole,
      apiKeys: createApiKeyStore({
        staticKeys: [
          { caller: 'ci', key: KEY_CI },
          { caller: 'other', key: KEY_OTHER },
        ],
        cacheSeconds: 10,
      }),
    }),
  );
  a.onError(errorHandler(createLogger('error')));
  app = a;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'uploads-test-'));
  makeApp();
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A body that arrives in chunks and has no Content-Length, like a chunked upload. */
function chunked(
  total: number,
  fill: (i: number) => Uint8Array,
  chunk = 64 * 1024,
): ReadableStream<Uint8Array> {
  let sent = 0;
  let i = 0;
  return new ReadableStream({
    pull(ctrl) {
      if (sent >= total) return ctrl.close();
      const c = fill(i++).subarray(0, Math.min(chunk, total - sent));
      sent += c.length;
      ctrl.enqueue(c);
    },
  });
}

function post(
  body: BodyInit | ReadableStream<Uint8Array>,
  headers: Record<string, string>,
  path = '/api/uploads',
) {
  return app.request(
    new Request(`http://test${path}`, { method: 'POST', body, headers, duplex: 'half' } as RequestInit),
  );
}

/** Entries under the uploads dir other than the (empty) temp area. */
async function leftovers(): Promise<string[]> {
  const top = (await readdir(dir)).filter((n) => n !== '.tmp');
  const tmp = await readdir(join(dir, '.tmp')).catch(() => []);
  return [...top, ...tmp.map((n) => `.tmp/${n}`)];
}

function form(
  name: string,
  data: Uint8Array,
  type = 'application/octet-stream',
  extra?: [string, Uint8Array],
) {
  const fd = new FormData();
  fd.append('note', 'ignored');
  fd.append('file', new Blob([data as BlobPart], { type }), name);
  if (extra) fd.append('file2', new Blob([extra[1] as BlobPart]), extra[0]);
  return fd;
}

describe('POST /api/uploads', () => {
  it('stores a raw PDF with metadata and returns id, sha256, size, type and name', async () => {
    const pdf = pdfBytes();
    const res = await post(pdf, {
      'x-test-user': 'alice:operator',
      'content-type': 'application/pdf',
      'x-upload-name': encodeURIComponent('Q3 report.pdf'),
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      sha256: sha(pdf),
      size: pdf.length,
      type: 'application/pdf',
      kind: 'pdf',
      name: 'Q3 report.pdf',
      file: 'Q3_report.pdf',
      owner: 'user:alice',
    });
    expect(body.id).toMatch(/^upl-[0-9a-f]{32}$/);
    expect(body.path).toBe(`/uploads/${body.id}/Q3_report.pdf`);
    expect(res.headers.get('location')).toBe(`/api/uploads/${body.id}`);
    const onDisk = await readFile(join(dir, String(body.id), 'Q3_report.pdf'));
    expect(sha(onDisk)).toBe(sha(pdf));
    const meta = JSON.parse(await readFile(join(dir, String(body.id), META_FILE), 'utf8'));
    expect(meta).toMatchObject({ owner: 'user:alice', sha256: sha(pdf) });
    expect(Date.parse(meta.createdAt)).not.toBeNaN();
    expect(await leftovers()).toEqual([body.id]);
  });

  it('takes multipart/form-data and detects tar.gz, tar, zip and text by content', async () => {
    const cases: [string, Uint8Array, string, string][] = [
      ['ws.tar.gz', tgzBytes([{ name: 'src/a.txt', content: 'a' }]), 'tar.gz', 'ws.tar.gz'],
      ['ws.bin', tarBytes([{ name: 'a.txt', content: 'a' }]), 'tar', 'ws.bin.tar'],
      ['ws.zip', zipBytes([{ name: 'a.txt', content: 'a' }]), 'zip', 'ws.zip'],
      ['notes.md', new TextEncoder().encode('# Notes\n\nünïcödé ✓\n'), 'text', 'notes.md'],
    ];
    for (const [name, data, kind, file] of cases) {
      const res = await post(form(name, data), { 'x-api-key': KEY_CI });
      expect(res.status, name).toBe(201);
      expect(await res.json()).toMatchObject({
        kind,
        file,
        name,
        size: data.length,
        sha256: sha(data),
        owner: 'key:ci',
      });
    }
  });

  it('answers 415 for a disguised type and keeps nothing', async () => {
    const disguised = [
      ['image.pdf', PNG_BYTES, 'application/pdf'],
      ['x.txt', new TextEncoder().encode('MZ\u0090\u0000\u0003binary\u0000\u0000'), 'text/plain'],
      [
        'plain.gz',
        new Uint8Array(
          await new Response(
            new Blob(['not a tar']).stream().pipeThrough(new CompressionStream('gzip')),
          ).arrayBuffer(),
        ),
        'application/gzip',
      ],
    ] as const;
    for (const [name, data, type] of disguised) {
      const raw = await post(data as Uint8Array<ArrayBuffer>, {
        'x-api-key': KEY_CI,
        'content-type': type,
        'x-upload-name': name,
      });
      expect(raw.status, name).toBe(415);
      const err = (await raw.json()) as { error: { code: string } };
      expect(err.error.code).toBe('unsupported_media_type');
      const mp = await post(form(name, data as Uint8Array, type), { 'x-api-key': KEY_CI });
      expect(mp.status, `${name} multipart`).toBe(415);
    }
    expect(await leftovers()).toEqual([]);
  });

  it('answers 400 for an empty upload, raw or multipart, and keeps nothing', async () => {
    const raw = await post(new Uint8Array(0), { 'x-api-key': KEY_CI, 'x-upload-name': 'empty.txt' });
    expect(raw.status).toBe(400);
    expect(await raw.json()).toMatchObject({
      error: { code: 'bad_request', message: 'upload is empty: send the file as the body' },
    });
    const mp = await post(form('empty.txt', new Uint8Array(0)), { 'x-api-key': KEY_CI });
    expect(mp.status).toBe(400);
    expect(await leftovers()).toEqual([]);
  });

  it('answers 400 for multipart/form-data without a boundary, and keeps nothing', async () => {
    const res = await post(new TextEncoder().encode('garbage'), {
      'x-api-key': KEY_CI,
      'content-type': 'multipart/form-data',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'bad_request' } });
    expect(await leftovers()).toEqual([]);
  });

  it('answers 415 when text turns binary after the first 64 KiB, and keeps nothing', async () => {
    const line = new TextEncoder().encode('just some text\n'.repeat(5000));
    const res = await post(
      chunked(300 * 1024, (i) => (i === 3 ? new Uint8Array(64 * 1024) : line)),
      { 'x-api-key': KEY_CI },
    );
    expect(res.status).toBe(415);
    expect(await leftovers()).toEqual([]);
  });

  it('answers 413 over the limit — declared or streamed — and keeps no partial file', async () => {
    makeApp(256 * 1024);
    const text = new TextEncoder().encode('x'.repeat(64 * 1024));
    const streamed = await post(
      chunked(1024 * 1024, () => text),
      { 'x-api-key': KEY_CI },
    );
    expect(streamed.status).toBe(413);
    expect(((await streamed.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
    expect(await leftovers()).toEqual([]);

    const declared = await post(new Uint8Array(300 * 1024).fill(0x78), { 'x-api-key': KEY_CI });
    expect(declared.status).toBe(413);
    const multipart = await post(form('big.txt', new Uint8Array(300 * 1024).fill(0x78)), {
      'x-api-key': KEY_CI,
    });
    expect(multipart.status).toBe(413);
    expect(await leftovers()).toEqual([]);

    const exact = await post(
      chunked(256 * 1024, () => text),
      { 'x-api-key': KEY_CI },
    );
    expect(exact.status).toBe(201);
  });

  it('refuses a multipart body with two files or none', async () => {
    const two = await post(
      form('a.txt', new TextEncoder().encode('a'), 'text/plain', ['b.txt', new TextEncoder().encode('b')]),
      {
        'x-api-key': KEY_CI,
      },
    );
    expect(two.status).toBe(400);
    const fd = new FormData();
    fd.append('note', 'no file');
    const none = await post(fd, { 'x-api-key': KEY_CI });
    expect(none.status).toBe(400);
    const broken = await post('--xyz\r\nnonsense', {
      'x-api-key': KEY_CI,
      'content-type': 'multipart/form-data; boundary=xyz',
    });
    expect(broken.status).toBe(400);
    expect(await leftovers()).toEqual([]);
  });

  it('needs an operator session or a valid API key', async () => {
    const data = new TextEncoder().encode('hi');
    expect((await post(data, {})).status).toBe(401);
    expect((await post(data, { 'x-test-user': 'vic:viewer' })).status).toBe(403);
    const bad = await post(data, { authorization: 'Bearer not-a-valid-key-at-all' });
    expect(bad.status).toBe(401);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toBe(
      'the API key is not valid',
    );
    expect((await post(data, { authorization: `Bearer ${KEY_CI}` })).status).toBe(201);
  });
});

describe('GET and DELETE /api/uploads/:id', () => {
  async function upload(headers: Record<string, string>): Promise<string> {
    const res = await post(pdfBytes(), headers);
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  }
  const req = (method: string, id: string, headers: Record<string, string>) =>
    app.request(`/api/uploads/${id}`, { method, headers });

  it('shows metadata to users and to the owning key only', async () => {
    const id = await upload({ 'x-api-key': KEY_CI });
    expect((await req('GET', id, { 'x-api-key': KEY_CI })).status).toBe(200);
    expect((await req('GET', id, { 'x-test-user': 'vic:viewer' })).status).toBe(200);
    expect((await req('GET', id, { 'x-api-key': KEY_OTHER })).status).toBe(404);
    expect((await req('GET', 'upl-00000000000000000000000000000000', { 'x-api-key': KEY_CI })).status).toBe(
      404,
    );
    expect((await req('GET', '..%2f..%2fetc', { 'x-api-key': KEY_CI })).status).toBe(404);
    expect((await req('GET', id, {})).status).toBe(401);
  });

  it('lets the owner or an admin delete, nobody else', async () => {
    const a = await upload({ 'x-test-user': 'alice:operator' });
    expect((await req('DELETE', a, { 'x-test-user': 'bob:operator' })).status).toBe(403);
    expect((await req('DELETE', a, { 'x-api-key': KEY_CI })).status).toBe(404);
    expect((await req('DELETE', a, { 'x-test-user': 'vic:viewer' })).status).toBe(403);
    expect((await req('DELETE', a, { 'x-test-user': 'alice:operator' })).status).toBe(204);
    expect((await req('GET', a, { 'x-test-user': 'alice:operator' })).status).toBe(404);
    const b = await upload({ 'x-api-key': KEY_CI });
    expect((await req('DELETE', b, { 'x-test-user': 'root:admin' })).status).toBe(204);
    const c = await upload({ 'x-api-key': KEY_CI });
    expect((await req('DELETE', c, { 'x-api-key': KEY_CI })).status).toBe(204);
    expect(await leftovers()).toEqual([]);
  });
});

describe('checkAttachments (submit hook)', () => {
  it('accepts own uploads and refuses unknown, foreign and repeated ids with field paths', async () => {
    const mine = await store.put(new Blob([pdfBytes()]).stream(), { name: 'a.pdf', owner: 'key:ci' });
    const theirs = await store.put(new Blob([pdfBytes()]).stream(), { name: 'b.pdf', owner: 'key:other' });
    expect((await checkAttachments(store, [mine.id], 'key:ci')).map((m) => m.id)).toEqual([mine.id]);
    expect(await checkAttachments(store, undefined, 'key:ci')).toEqual([]);
    const err = await checkAttachments(store, [mine.id, theirs.id, 'upl-nope', mine.id], 'key:ci').catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(400);
    expect(err.details.map((d: { path: string }) => d.path)).toEqual([
      'attachments.1',
      'attachments.2',
      'attachments.3',
    ]);
  });
});

describe('findUnreferencedUploads', () => {
  it('finds old unreferenced uploads, broken directories and abandoned temps; keeps referenced ones', async () => {
    let t = Date.parse('2026-01-01T00:00:00Z');
    const s = createUploadStore({ dir, maxBytes: 1 << 20, now: () => t });
    const old = await s.put(new Blob(['old']).stream(), { owner: 'key:ci' });
    const used = await s.put(new Blob(['used']).stream(), { owner: 'key:ci' });
    t = Date.parse('2026-01-10T00:00:00Z');
    const fresh = await s.put(new Blob(['fresh']).stream(), { owner: 'key:ci' });
    await rm(join(dir, fresh.id, META_FILE));
    await import('node:fs/promises').then((fs) =>
      fs.mkdir(join(dir, '.tmp', 'upl-abandoned'), { recursive: true }),
    );
    const longAgo = new Date('2025-12-01T00:00:00Z');
    await utimes(join(dir, '.tmp', 'upl-abandoned'), longAgo, longAgo);

    const requests = [{ metadata: { name: 'ir-1' }, spec: { attachments: [used.id] } }, { spec: {} }];
    const stale = await findUnreferencedUploads({
      uploadsDir: dir,
      requests,
      olderThan: new Date('2026-01-05T00:00:00Z'),
      now: new Date('2026-01-10T00:00:00Z'),
    });
    expect(stale.map((x) => `${x.reason} ${x.id}`).sort()).toEqual(
      [`unreferenced ${old.id}`, 'abandoned-temp upl-abandoned'].sort(),
    );
    // a fresh directory without metadata is younger than the cutoff: kept
    const removed = await removeUploads(dir, stale, new Set());
    expect(removed.sort()).toEqual([old.id, join('.tmp', 'upl-abandoned')].sort());
    expect((await readdir(dir)).sort()).toEqual(['.tmp', fresh.id, used.id].sort());
  });
});

describe('diskName', () => {
  it('keeps names safe and honest about their type', () => {
    expect(diskName('../../etc/passwd', 'text')).toBe('passwd');
    expect(diskName('..', 'text')).toBe('upload');
    expect(diskName('.upload.json', 'text')).toBe('upload.json');
    expect(diskName('C:\\x\\evil.exe', 'pdf')).toBe('evil.exe.pdf');
    expect(diskName('ws.tgz', 'tar.gz')).toBe('ws.tgz');
    expect(diskName(undefined, 'zip')).toBe('upload.zip');
    expect(diskName('a b;rm -rf $(x).txt', 'text')).toBe('a_b_rm_-rf___x_.txt');
  });
});

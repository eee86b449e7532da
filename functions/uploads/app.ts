// /api/uploads — PDFs, text and workspace archives into the uploads volume.
//
//   POST   /api/uploads       operator session or submit API key; multipart/form-data (field
//                             `file`) or a raw body (name in X-Upload-Name or ?name=)
//                             → 201 {id, sha256, size, type, kind, name, file, path, owner, createdAt}
//   GET    /api/uploads/:id   metadata (viewer session: any upload; API key: its own)
//   DELETE /api/uploads/:id   the owner, or an admin → 204
//
// The body is streamed to disk (store.ts), never buffered: 400 when it is empty, 413 over
// UPLOADS_MAX_BYTES, 415 when the content is not PDF, UTF-8 text, tar, tar.gz or zip — and in every
// case nothing is kept.
// These routes authenticate themselves (uploadAuth), so the route gate lists them as public.
import { Hono } from 'hono';
import { ApiError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { type UploadAuthDeps, uploadAuth } from './auth.ts';
import { firstFilePart, isMultipart } from './multipart.ts';
import { tooLarge, UPLOAD_ID, type UploadMeta, type UploadStore } from './store.ts';

/** Room for multipart boundaries and part headers on top of the file itself. */
const MULTIPART_OVERHEAD = 64 * 1024;

export interface UploadsDeps extends UploadAuthDeps {
  store: UploadStore;
  log?: Pick<Logger, 'info'>;
  /** Where executors see UPLOADS_DIR (default /uploads). */
  mountPath?: string;
}

export type UploadView = UploadMeta & { path: string };

export function uploadsApp(deps: UploadsDeps): Hono {
  const { store } = deps;
  const mount = deps.mountPath ?? '/uploads';
  const view = (m: UploadMeta): UploadView => ({ ...m, path: `${mount}/${m.id}/${m.file}` });
  const app = new Hono();

  app.post('/', uploadAuth(deps, 'operator'), async (c) => {
    const owner = c.get('uploader')!.owner;
    const contentType = c.req.header('content-type');
    const multipart = isMultipart(contentType);
    const declared = Number(c.req.header('content-length'));
    if (Number.isFinite(declared) && declared > store.maxBytes + (multipart ? MULTIPART_OVERHEAD : 0)) {
      throw tooLarge(store.maxBytes);
    }
    const body = c.req.raw.body;
    if (!body) throw new ApiError('bad_request', 'the upload has no body');

    let meta: UploadMeta;
    if (multipart) {
      const part = await firstFilePart(body, contentType!);
      try {
        meta = await store.put(part.stream, { name: part.name, owner });
      } catch (err) {
        part.abort();
        throw err;
      }
      const { extraFiles } = await part.done.catch(async (err) => {
        await store.delete(meta.id);
        throw err;
      });
      if (extraFiles) {
        await store.delete(meta.id);
        throw new ApiError('bad_request', 'send one file per upload');
      }
    } else {
      meta = await store.put(body, {
        name: rawName(c.req.header('x-upload-name'), c.req.query('name')),
        owner,
      });
    }
    deps.log?.info('upload stored', {
      requestId: c.get('requestId'),
      upload: meta.id,
      kind: meta.kind,
      size: meta.size,
      owner: meta.owner,
    });
    c.header('Location', `/api/uploads/${meta.id}`);
    return c.json(view(meta), 201);
  });

  app.get('/:id', uploadAuth(deps, 'viewer'), async (c) => {
    const p = c.get('uploader')!;
    const meta = await findVisible(c.req.param('id'));
    // An API key sees only its own uploads; every dashboard user may read metadata (as jobs).
    if (p.owner.startsWith('key:') && meta.owner !== p.owner) throw notFound();
    return c.json(view(meta));
  });

  app.delete('/:id', uploadAuth(deps, 'operator'), async (c) => {
    const p = c.get('uploader')!;
    const meta = await findVisible(c.req.param('id'));
    if (!p.admin && meta.owner !== p.owner) {
      if (p.owner.startsWith('key:')) throw notFound();
      throw new ApiError('forbidden', 'only the owner or an admin may delete an upload');
    }
    await store.delete(meta.id);
    deps.log?.info('upload deleted', { requestId: c.get('requestId'), upload: meta.id, by: p.owner });
    return c.body(null, 204);
  });

  async function findVisible(id: string): Promise<UploadMeta> {
    const meta = UPLOAD_ID.test(id) ? await store.get(id) : undefined;
    if (!meta) throw notFound();
    return meta;
  }

  return app;
}

const notFound = () => new ApiError('not_found', 'upload not found');

/** The name of a raw upload: X-Upload-Name (percent-encoding allowed) or ?name=. */
function rawName(header: string | undefined, query: string | undefined): string | undefined {
  if (header) {
    try {
      return decodeURIComponent(header);
    } catch {
      return header;
    }
  }
  return query || undefined;
}

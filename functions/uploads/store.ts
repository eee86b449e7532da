// The uploads volume. Layout under UPLOADS_DIR (the executor sees the same tree at /uploads):
//
//   <id>/<file>          the content, e.g. upl-3f…/report.pdf (read-only in executor Jobs)
//   <id>/.upload.json    metadata: name, size, sha256, kind, owner, createdAt
//   .tmp/<id>/           an upload in progress; renamed to <id>/ in one step when complete
//
// A body is streamed chunk by chunk: hashed, counted, type-checked and written as it arrives,
// never held whole. Over the size limit (413) or not an allowed type (415) the stream is
// cancelled and the temporary directory removed, so no partial upload is ever visible.
// Only node:fs/promises, node:path and node:crypto are used; Deno provides all three.
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiError } from '../lib/errors.ts';
import { DETECT_BYTES, detectKind, KIND_MIME, TextValidator, type UploadKind } from './detect.ts';

export const META_FILE = '.upload.json';
export const TMP_DIR = '.tmp';
export const UPLOAD_ID = /^upl-[0-9a-f]{32}$/;

export interface UploadMeta {
  id: string;
  /** The name the client gave (display only; control characters removed). */
  name: string;
  /** The content's file name inside `<id>/` (a safe version of `name`). */
  file: string;
  size: number;
  sha256: string;
  kind: UploadKind;
  /** MIME type of `kind`. */
  type: string;
  /** Who uploaded it: `user:<sub>` (dashboard session) or `key:<caller>` (API key). */
  owner: string;
  createdAt: string;
}

export interface UploadStore {
  readonly dir: string;
  readonly maxBytes: number;
  put(
    body: ReadableStream<Uint8Array>,
    opts: { name?: string | undefined; owner: string },
  ): Promise<UploadMeta>;
  get(id: string): Promise<UploadMeta | undefined>;
  delete(id: string): Promise<boolean>;
  list(): Promise<UploadMeta[]>;
}

export function newUploadId(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return `upl-${Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')}`;
}

/** The display name: no control characters, at most 255 characters, never empty. */
export function displayName(name: string | undefined): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
  const clean = (name ?? '').replace(/[\u0000-\u001f\u007f-\u009f]/g, '').trim();
  return clean.slice(0, 255) || 'upload';
}

const KIND_EXT: Record<UploadKind, readonly string[]> = {
  pdf: ['.pdf'],
  text: [],
  tar: ['.tar'],
  'tar.gz': ['.tar.gz', '.tgz'],
  zip: ['.zip'],
};

/**
 * A file name that is safe on any filesystem and in a shell: the last path segment of `name`,
 * characters outside [A-Za-z0-9._+-] replaced, no leading dot (so never `.`, `..` or the
 * metadata file), at most 128 characters, and ending in the extension of what it really is.
 */
export function diskName(name: string | undefined, kind: UploadKind): string {
  const base = (name ?? '').split(/[/\\]/).pop() ?? '';
  let safe = base
    .replace(/[^A-Za-z0-9._+-]/g, '_')
    .replace(/^[.]+/, '')
    .slice(-128);
  if (!safe || /^[._]*$/.test(safe)) safe = 'upload';
  const exts = KIND_EXT[kind];
  if (exts.length > 0 && !exts.some((e) => safe.toLowerCase().endsWith(e)))
    safe = `${safe.slice(0, 120)}${exts[0]}`;
  return safe;
}

async function writeAll(fh: Awaited<ReturnType<typeof open>>, chunk: Uint8Array): Promise<void> {
  let off = 0;
  while (off < chunk.byteLength) {
    const { bytesWritten } = await fh.write(chunk, off, chunk.byteLength - off);
    off += bytesWritten;
  }
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}

export function tooLarge(maxBytes: number): ApiError {
  return new ApiError('payload_too_large', `upload is larger than the limit of ${maxBytes} bytes`, {
    details: { maxBytes },
  });
}

function unsupported(detected: string): ApiError {
  return new ApiError(
    'unsupported_media_type',
    `upload content is ${detected}; allowed are PDF, UTF-8 text, tar, tar.gz and zip (checked by content)`,
    { details: { detected, allowed: ['pdf', 'text', 'tar', 'tar.gz', 'zip'] } },
  );
}

/** The kind of an upload from its first bytes; a text validator primed with them for text. */
async function decide(sample: Uint8Array): Promise<{ kind: UploadKind; text: TextValidator | undefined }> {
  const d = await detectKind(sample);
  if (d.kind === undefined) throw unsupported(d.detected);
  if (d.kind !== 'text') return { kind: d.kind, text: undefined };
  const text = new TextValidator();
  if (!text.push(sample)) throw unsupported('binary data');
  return { kind: 'text', text };
}

export function createUploadStore(opts: { dir: string; maxBytes: number; now?: () => number }): UploadStore {
  const { dir, maxBytes } = opts;
  const now = opts.now ?? Date.now;

  async function readMeta(id: string): Promise<UploadMeta | undefined> {
    if (!UPLOAD_ID.test(id)) return undefined;
    try {
      const meta = JSON.parse(await readFile(join(dir, id, META_FILE), 'utf8')) as UploadMeta;
      return meta.id === id ? meta : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || err instanceof SyntaxError) return undefined;
      throw err;
    }
  }

  return {
    dir,
    maxBytes,

    async put(body, { name, owner }) {
      const id = newUploadId();
      const tmp = join(dir, TMP_DIR, id);
      await mkdir(tmp, { recursive: true, mode: 0o755 });
      const partial = join(tmp, '.partial');
      const reader = body.getReader();
      let fh: Awaited<ReturnType<typeof open>> | undefined;
      try {
        fh = await open(partial, 'wx', 0o644);
        const hash = createHash('sha256');
        let size = 0;
        let kind: UploadKind | undefined;
        let text: TextValidator | undefined;
        let head: Uint8Array[] = [];
        let headBytes = 0;
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          if (value.byteLength === 0) continue;
          size += value.byteLength;
          if (size > maxBytes) throw tooLarge(maxBytes);
          hash.update(value);
          if (kind === undefined) {
            head.push(value.slice());
            headBytes += value.byteLength;
            if (headBytes >= DETECT_BYTES) {
              ({ kind, text } = await decide(concat(head, headBytes)));
              head = [];
            }
          } else if (text && !text.push(value)) {
            throw unsupported('binary data');
          }
          await writeAll(fh, value);
        }
        if (size === 0) throw new ApiError('bad_request', 'upload is empty: send the file as the body');
        if (kind === undefined) ({ kind, text } = await decide(concat(head, headBytes)));
        if (text && !text.end()) throw unsupported('truncated UTF-8 text');
        await fh.sync();
        await fh.close();
        fh = undefined;
        const meta: UploadMeta = {
          id,
          name: displayName(name),
          file: diskName(name, kind),
          size,
          sha256: hash.digest('hex'),
          kind,
          type: KIND_MIME[kind],
          owner,
          createdAt: new Date(now()).toISOString(),
        };
        await rename(partial, join(tmp, meta.file));
        await writeFile(join(tmp, META_FILE), `${JSON.stringify(meta)}\n`, { mode: 0o644 });
        // The commit point: the upload appears whole or not at all.
        await rename(tmp, join(dir, id));
        return meta;
      } catch (err) {
        await reader.cancel(err).catch(() => {});
        await fh?.close().catch(() => {});
        await rm(tmp, { recursive: true, force: true }).catch(() => {});
        throw err;
      } finally {
        reader.releaseLock();
      }
    },

    get: readMeta,

    async delete(id) {
      if (!(await readMeta(id))) return false;
      // Move it out of sight in one step, then remove it.
      const trash = join(dir, TMP_DIR, `del-${id}-${Date.now().toString(36)}`);
      await mkdir(join(dir, TMP_DIR), { recursive: true });
      try {
        await rename(join(dir, id), trash);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw err;
      }
      await rm(trash, { recursive: true, force: true });
      return true;
    },

    async list() {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw err;
      }
      const metas = await Promise.all(names.filter((n) => UPLOAD_ID.test(n)).map(readMeta));
      return metas.filter((m): m is UploadMeta => m !== undefined);
    },
  };
}

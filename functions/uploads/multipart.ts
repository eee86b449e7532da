// The file part of a multipart/form-data body, as a web stream that is read while the request
// is still arriving (never buffered). @fastify/busboy does the parsing: a maintained, streaming
// multipart parser with backpressure (a file part is only read as fast as it is consumed) and
// limits on parts and headers. It is written on node:stream, which Deno provides as well.
import { pipeline, Readable } from 'node:stream';
import { Busboy } from '@fastify/busboy';
import { ApiError } from '../lib/errors.ts';

export interface FilePart {
  /** The part's filename (display only). */
  name: string | undefined;
  stream: ReadableStream<Uint8Array>;
  /** Settles when the whole body has been parsed; true when it held more than one file part. */
  done: Promise<{ extraFiles: boolean }>;
  /** Stop reading the body (after a 413/415). */
  abort(): void;
}

const badMultipart = (why: string) => new ApiError('bad_request', `malformed multipart body: ${why}`);

export function isMultipart(contentType: string | undefined): boolean {
  // with or without parameters: one without a boundary is refused as malformed, not stored raw
  return /^multipart\/form-data\s*(;|$)/i.test(contentType ?? '');
}

/** Resolves with the first file part (field name `file`, else the first part with a filename). */
export function firstFilePart(body: ReadableStream<Uint8Array>, contentType: string): Promise<FilePart> {
  return new Promise((resolve, reject) => {
    let bb: ReturnType<typeof Busboy>;
    try {
      bb = Busboy({
        headers: { 'content-type': contentType },
        limits: { files: 1, fields: 32, fieldSize: 16 * 1024, parts: 64, headerPairs: 32 },
      });
    } catch (err) {
      reject(badMultipart((err as Error).message));
      return;
    }
    const source = Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>);
    let found: Readable | undefined;
    let extraFiles = false;
    let settleDone: (v: { extraFiles: boolean }) => void = () => {};
    let failDone: (e: unknown) => void = () => {};
    const done = new Promise<{ extraFiles: boolean }>((res, rej) => {
      settleDone = res;
      failDone = rej;
    });
    done.catch(() => {}); // observed by the caller only after a file part was found
    const abort = () => {
      source.destroy();
      bb.destroy();
      found?.destroy();
    };

    bb.on('file', (_field, stream, filename) => {
      if (found) {
        extraFiles = true;
        stream.resume();
        return;
      }
      found = stream;
      resolve({
        name: filename || undefined,
        stream: Readable.toWeb(stream) as unknown as ReadableStream<Uint8Array>,
        done,
        abort,
      });
    });
    bb.on('filesLimit', () => {
      extraFiles = true;
    });
    bb.on('field', () => {}); // small text fields are ignored
    pipeline(source, bb, (err) => {
      if (err) {
        const apiErr = badMultipart(err.message);
        found?.destroy(apiErr);
        failDone(apiErr);
        reject(apiErr);
        return;
      }
      if (!found) reject(new ApiError('bad_request', 'multipart body has no file part'));
      settleDone({ extraFiles });
    });
  });
}

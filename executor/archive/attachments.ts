// The executor's side of uploads: attachments that are workspace archives (tar, tar.gz, zip, as
// the uploads API classified them by content) unpacked into a directory of the workspace with
// extractArchive's checks. The upload layout is functions/uploads/store.ts's:
//   <uploadsDir>/<id>/<file> and <uploadsDir>/<id>/.upload.json ({ kind, file, ... })
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type ExtractOptions, type ExtractResult, extractArchive, UnsafeArchiveError } from './extract.ts';

const UPLOAD_ID = /^upl-[0-9a-f]{32}$/;
const ARCHIVE_KINDS = new Set(['tar', 'tar.gz', 'zip']);

export interface UnpackedAttachment extends ExtractResult {
  id: string;
  file: string;
}

/**
 * Unpacks every archive among `ids` into `target` (in the order given); other attachments are
 * left alone. Throws UnsafeArchiveError for a hostile archive (nothing of it written) or an
 * attachment whose metadata is missing or malformed.
 */
export async function unpackArchiveAttachments(
  uploadsDir: string,
  ids: readonly string[],
  target: string,
  opts: ExtractOptions = {},
): Promise<UnpackedAttachment[]> {
  const out: UnpackedAttachment[] = [];
  for (const id of ids) {
    if (!UPLOAD_ID.test(id)) continue; // not an uploads-API id (e.g. a plain path): nothing to unpack
    let meta: { kind?: unknown; file?: unknown };
    try {
      meta = JSON.parse(await readFile(path.join(uploadsDir, id, '.upload.json'), 'utf8'));
    } catch {
      throw new UnsafeArchiveError('attachment has no readable upload metadata', id);
    }
    if (typeof meta.kind !== 'string' || !ARCHIVE_KINDS.has(meta.kind)) continue;
    const file = meta.file;
    if (typeof file !== 'string' || !/^[A-Za-z0-9+_-][A-Za-z0-9._+-]*$/.test(file)) {
      throw new UnsafeArchiveError('attachment metadata names a bad file', id);
    }
    const res = await extractArchive(path.join(uploadsDir, id, file), target, opts);
    out.push({ id, file, ...res });
  }
  return out;
}

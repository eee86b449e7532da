// Uploads housekeeping for the cleanup CronJob: uploads that no InferenceRequest references and
// that are older than the retention (AiConfig.spec.retention.uploadsSeconds), plus leftovers —
// upload directories without readable metadata and abandoned temporary files — by their mtime.
// findUnreferencedUploads only looks; removeUploads deletes what it found.
import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createUploadStore, TMP_DIR, UPLOAD_ID } from './store.ts';

/** A temporary entry is only removed after this long, whatever the retention (uploads in progress). */
export const TMP_MIN_AGE_MS = 24 * 3600 * 1000;

export interface RequestLike {
  metadata?: { name?: string };
  spec?: { attachments?: readonly string[] } | Record<string, unknown>;
}

export interface StaleUpload {
  id: string;
  /** Relative to uploadsDir. */
  path: string;
  reason: 'unreferenced' | 'no-metadata' | 'abandoned-temp';
  createdAt: string;
  size?: number;
  owner?: string;
}

/** Every upload id the requests reference (all requests that still exist, in any phase). */
export function referencedUploads(requests: Iterable<RequestLike>): Set<string> {
  const ids = new Set<string>();
  for (const r of requests) {
    const att = (r.spec as { attachments?: unknown } | undefined)?.attachments;
    if (Array.isArray(att)) for (const id of att) if (typeof id === 'string') ids.add(id);
  }
  return ids;
}

export async function findUnreferencedUploads(opts: {
  uploadsDir: string;
  requests: Iterable<RequestLike>;
  /** Uploads created before this are candidates. */
  olderThan: Date;
  now?: Date;
}): Promise<StaleUpload[]> {
  const { uploadsDir } = opts;
  const cutoff = opts.olderThan.getTime();
  const now = (opts.now ?? new Date()).getTime();
  const referenced = referencedUploads(opts.requests);
  const store = createUploadStore({ dir: uploadsDir, maxBytes: 1 });
  const out: StaleUpload[] = [];

  let names: string[];
  try {
    names = await readdir(uploadsDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  for (const name of names) {
    if (!UPLOAD_ID.test(name) || referenced.has(name)) continue;
    const meta = await store.get(name);
    if (meta) {
      if (Date.parse(meta.createdAt) < cutoff) {
        out.push({
          id: name,
          path: name,
          reason: 'unreferenced',
          createdAt: meta.createdAt,
          size: meta.size,
          owner: meta.owner,
        });
      }
      continue;
    }
    const st = await lstat(join(uploadsDir, name)).catch(() => undefined);
    if (st && st.mtimeMs < cutoff) {
      out.push({ id: name, path: name, reason: 'no-metadata', createdAt: st.mtime.toISOString() });
    }
  }

  const tmpCutoff = Math.min(cutoff, now - TMP_MIN_AGE_MS);
  const tmpNames = await readdir(join(uploadsDir, TMP_DIR)).catch(() => [] as string[]);
  for (const name of tmpNames) {
    const st = await lstat(join(uploadsDir, TMP_DIR, name)).catch(() => undefined);
    if (st && st.mtimeMs < tmpCutoff) {
      out.push({
        id: name,
        path: join(TMP_DIR, name),
        reason: 'abandoned-temp',
        createdAt: st.mtime.toISOString(),
      });
    }
  }
  return out;
}

/**
 * Deletes what findUnreferencedUploads found. An upload that was attached since is kept:
 * pass the requests listed again just before deleting as `stillReferenced`.
 */
export async function removeUploads(
  uploadsDir: string,
  stale: readonly StaleUpload[],
  stillReferenced: ReadonlySet<string> = new Set(),
): Promise<string[]> {
  const removed: string[] = [];
  for (const s of stale) {
    if (s.reason !== 'abandoned-temp' && stillReferenced.has(s.id)) continue;
    // Paths come from our own listing; re-check their shape before removing anything.
    const ok =
      s.reason === 'abandoned-temp'
        ? s.path === join(TMP_DIR, s.id) && !s.id.includes('/') && s.id !== '..' && s.id !== '.'
        : UPLOAD_ID.test(s.id) && s.path === s.id;
    if (!ok) continue;
    await rm(join(uploadsDir, s.path), { recursive: true, force: true });
    removed.push(s.path);
  }
  return removed;
}

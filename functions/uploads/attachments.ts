// Submit's check of spec.attachments: every id names an upload that exists and belongs to the
// submitter, or the request is refused with 400 and field paths (the validation envelope).
// The same message for "no such upload" and "someone else's", so ids cannot be probed.
import { ApiError, type FieldIssue } from '../lib/errors.ts';
import type { UploadMeta, UploadStore } from './store.ts';

/**
 * @param owner the submitter as uploads name it: ownerOfCaller(caller) for an API key,
 *   ownerOfUser(user) for a dashboard session (functions/uploads/auth.ts)
 * @returns the uploads' metadata, in the order given
 */
export async function checkAttachments(
  store: Pick<UploadStore, 'get'>,
  ids: readonly string[] | undefined,
  owner: string,
): Promise<UploadMeta[]> {
  if (!ids || ids.length === 0) return [];
  const metas = await Promise.all(ids.map((id) => store.get(id)));
  const issues: FieldIssue[] = [];
  const seen = new Set<string>();
  metas.forEach((m, i) => {
    if (!m || m.owner !== owner) {
      issues.push({
        path: `attachments.${i}`,
        message: `no upload "${ids[i]}" owned by the caller`,
        code: 'unknown_upload',
      });
    } else if (seen.has(m.id)) {
      issues.push({
        path: `attachments.${i}`,
        message: `upload "${m.id}" is listed twice`,
        code: 'duplicate',
      });
    } else seen.add(m.id);
  });
  if (issues.length > 0) throw new ApiError('invalid_body', 'request body is invalid', { details: issues });
  return metas as UploadMeta[];
}

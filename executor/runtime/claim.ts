// A request's workspace and run state are found by its name (the Job's workspace subPath), but
// belong to one request: deleted and created again under the same name, a request has a new uid
// and must not find the earlier one's checkout, spooled events or "finished" mark. The run state
// records the uid it belongs to; another uid there means an earlier namesake's, which is cleared.
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { REQUEST_FILE } from '../../api/v1alpha1/executor-contract.ts';
import type { ExecutorPaths } from './config.ts';

export const OWNER_FILE = 'request-uid';

/** The uid in request.json, or undefined when it cannot be read (the run reports that itself). */
export async function requestUidOf(configDir: string): Promise<string | undefined> {
  try {
    const uid = (JSON.parse(await readFile(path.join(configDir, REQUEST_FILE), 'utf8')) as { uid?: unknown })
      .uid;
    return typeof uid === 'string' && uid !== '' ? uid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Claims the workspace and run state for request `uid`: what an earlier request of the same name
 * left there is removed first. State without an owner (written before owners were recorded) is
 * taken to be this request's. Returns the earlier owner's uid when it cleared anything.
 */
export async function claimForRequest(
  paths: Pick<ExecutorPaths, 'workspace' | 'stateDir'>,
  uid: string,
): Promise<string | undefined> {
  const marker = path.join(paths.stateDir, OWNER_FILE);
  const owner = await readFile(marker, 'utf8').then(
    (text) => text.trim(),
    () => undefined,
  );
  if (owner === uid) return undefined;
  if (owner !== undefined) {
    for (const dir of [paths.workspace, paths.stateDir]) {
      const entries = await readdir(dir).catch(() => [] as string[]);
      for (const entry of entries) await rm(path.join(dir, entry), { recursive: true, force: true });
    }
  }
  await mkdir(paths.stateDir, { recursive: true });
  await writeFile(marker, uid);
  return owner;
}

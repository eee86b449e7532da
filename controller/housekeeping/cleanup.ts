// cronjob-cleanup: removes per-request workspace folders (WORKSPACE_DIR/<request>) that no
// InferenceRequest owns any more, or whose request finished longer ago than the retention; with
// --uploads also the uploads no InferenceRequest references (spec.attachments) that are older
// than --uploads-retention-seconds (plus upload leftovers: no metadata, abandoned temp files).
//   node controller/housekeeping/cleanup.ts --workspace /workspace/jobs --retention-seconds 604800 \
//     [--uploads /workspace/uploads --uploads-retention-seconds 604800] [--dry-run]
import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  findUnreferencedUploads,
  type RequestLike,
  referencedUploads,
  removeUploads,
} from '../../functions/uploads/cleanup.ts';
import { jsonLog, type Kube, kubeFromEnvironment, type Log, listAll, parseFlags } from './common.ts';

const TERMINAL = new Set(['Succeeded', 'Failed', 'Cancelled', 'TimedOut']);

export interface CleanupOptions {
  workspaceDir: string;
  /** Folders of finished requests older than this are removed even though the request exists. */
  retentionSeconds: number;
  /** Orphans younger than this are kept: a request may be created just before its folder. */
  orphanGraceSeconds: number;
  dryRun: boolean;
  /** Request name → phase ('' while it has none yet). */
  listRequests: () => Promise<Map<string, string>>;
  now?: () => number;
  log?: Log;
}

export interface CleanupResult {
  removed: { name: string; reason: 'orphan' | 'retention'; ageSeconds: number }[];
  kept: { name: string; reason: string }[];
  dryRun: boolean;
}

/** The newest modification time of a folder and its direct entries (appends touch files, not the folder). */
async function lastActivityMs(dir: string): Promise<number> {
  let newest = (await lstat(dir)).mtimeMs;
  for (const entry of await readdir(dir)) {
    const s = await lstat(join(dir, entry)).catch(() => undefined);
    if (s && s.mtimeMs > newest) newest = s.mtimeMs;
  }
  return newest;
}

export async function cleanup(opts: CleanupOptions): Promise<CleanupResult> {
  const now = opts.now ?? Date.now;
  const log = opts.log ?? (() => {});
  const result: CleanupResult = { removed: [], kept: [], dryRun: opts.dryRun };
  // read the folders before the requests: a folder seen here whose request exists is in the list
  const entries = await readdir(opts.workspaceDir, { withFileTypes: true });
  const requests = await opts.listRequests();
  for (const entry of entries) {
    const name = entry.name;
    if (name.startsWith('.')) {
      result.kept.push({ name, reason: 'hidden' });
      continue;
    }
    if (!entry.isDirectory()) {
      // symlinks and files are never followed nor removed
      result.kept.push({ name, reason: entry.isSymbolicLink() ? 'symlink' : 'not a folder' });
      continue;
    }
    const path = join(opts.workspaceDir, name);
    const ageSeconds = Math.floor((now() - (await lastActivityMs(path))) / 1000);
    const phase = requests.get(name);
    let reason: 'orphan' | 'retention' | undefined;
    if (phase === undefined) {
      if (ageSeconds >= opts.orphanGraceSeconds) reason = 'orphan';
      else result.kept.push({ name, reason: 'orphan within grace period' });
    } else if (TERMINAL.has(phase) && ageSeconds >= opts.retentionSeconds) {
      reason = 'retention';
    } else {
      result.kept.push({ name, reason: phase ? `request ${phase}` : 'request pending' });
    }
    if (!reason) continue;
    if (!opts.dryRun) await rm(path, { recursive: true, force: true });
    result.removed.push({ name, reason, ageSeconds });
    log('info', opts.dryRun ? 'would remove workspace folder' : 'removed workspace folder', {
      path,
      reason,
      ageSeconds,
      phase: phase ?? null,
      dryRun: opts.dryRun,
    });
  }
  log('info', 'cleanup finished', {
    removed: result.removed.length,
    kept: result.kept.length,
    dryRun: opts.dryRun,
  });
  return result;
}

export async function requestPhases(kube: Kube): Promise<Map<string, string>> {
  const items = await listAll<{ metadata: { name: string }; status?: { phase?: string } }>(
    kube,
    'inferencerequests',
  );
  return new Map(items.map((i) => [i.metadata.name, i.status?.phase ?? '']));
}

/** Default upload retention when --uploads-retention-seconds is not given (7 days). */
export const DEFAULT_UPLOADS_RETENTION_SECONDS = 7 * 24 * 3600;

export interface UploadsCleanupOptions {
  uploadsDir: string;
  /** Unreferenced uploads created longer ago than this are removed. */
  retentionSeconds: number;
  dryRun: boolean;
  /** Every InferenceRequest (any phase); its spec.attachments keep uploads. */
  listRequests: () => Promise<RequestLike[]>;
  now?: () => number;
  log?: Log;
}

export interface UploadsCleanupResult {
  removed: { id: string; path: string; reason: string; createdAt: string; size?: number }[];
  dryRun: boolean;
}

export async function cleanupUploads(opts: UploadsCleanupOptions): Promise<UploadsCleanupResult> {
  const now = opts.now ?? Date.now;
  const log = opts.log ?? (() => {});
  const stale = await findUnreferencedUploads({
    uploadsDir: opts.uploadsDir,
    requests: await opts.listRequests(),
    olderThan: new Date(now() - opts.retentionSeconds * 1000),
    now: new Date(now()),
  });
  let removedPaths: Set<string>;
  if (opts.dryRun) removedPaths = new Set(stale.map((s) => s.path));
  else {
    // list the requests again just before deleting: an upload attached since is kept
    const still = referencedUploads(await opts.listRequests());
    removedPaths = new Set(await removeUploads(opts.uploadsDir, stale, still));
  }
  const result: UploadsCleanupResult = { removed: [], dryRun: opts.dryRun };
  for (const s of stale) {
    if (!removedPaths.has(s.path)) continue;
    const entry = {
      id: s.id,
      path: s.path,
      reason: s.reason,
      createdAt: s.createdAt,
      ...(s.size === undefined ? {} : { size: s.size }),
    };
    result.removed.push(entry);
    log('info', opts.dryRun ? 'would remove upload' : 'removed upload', {
      ...entry,
      path: join(opts.uploadsDir, s.path),
      ...(s.owner ? { owner: s.owner } : {}),
      dryRun: opts.dryRun,
    });
  }
  log('info', 'uploads cleanup finished', {
    removed: result.removed.length,
    retentionSeconds: opts.retentionSeconds,
    dryRun: opts.dryRun,
  });
  return result;
}

export function listRequestObjects(kube: Kube): Promise<RequestLike[]> {
  return listAll<RequestLike>(kube, 'inferencerequests');
}

async function main(): Promise<void> {
  const log = jsonLog('cleanup');
  const flags = parseFlags(process.argv.slice(2), {
    workspace: 'string',
    'retention-seconds': 'number',
    'orphan-grace-seconds': 'number',
    'dry-run': 'boolean',
    uploads: 'string',
    'uploads-retention-seconds': 'number',
  });
  const kube = kubeFromEnvironment();
  await cleanup({
    workspaceDir: String(flags.workspace ?? process.env.WORKSPACE_DIR ?? '/workspace/jobs'),
    retentionSeconds: Number(flags['retention-seconds'] ?? 7 * 24 * 3600),
    orphanGraceSeconds: Number(flags['orphan-grace-seconds'] ?? 600),
    dryRun: flags['dry-run'] === true,
    listRequests: () => requestPhases(kube),
    log,
  });
  if (flags.uploads !== undefined) {
    await cleanupUploads({
      uploadsDir: String(flags.uploads),
      retentionSeconds: Number(flags['uploads-retention-seconds'] ?? DEFAULT_UPLOADS_RETENTION_SECONDS),
      dryRun: flags['dry-run'] === true,
      listRequests: () => listRequestObjects(kube),
      log,
    });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    jsonLog('cleanup')('error', 'cleanup failed', { error: e instanceof Error ? e.message : String(e) });
    process.exit(1);
  });
}

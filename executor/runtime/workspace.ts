// Workspace preparation: the repository checkout and the attachments copied from read-only /uploads.
// An attachment that resolves (through `..` or symlinks) outside /uploads is a bad request.
import { copyFile, lstat, mkdir, readdir, realpath, rm } from 'node:fs/promises';
import path from 'node:path';
import type { ExecutorRequest } from '../../api/v1alpha1/executor-contract.ts';
import { unpackArchiveAttachments } from '../archive/attachments.ts';
import { UnsafeArchiveError } from '../archive/extract.ts';
import { cloneRepository } from '../git/git.ts';
import { githubSession, hasGitHubCredentials, repoCoordinates } from '../git/github.ts';
import type { ExecutorPaths } from './config.ts';
import { BadRequestError } from './errors.ts';
import type { EventSink } from './events.ts';

type Env = Record<string, string | undefined>;

export interface PreparedWorkspace {
  /** The agent's working directory. */
  cwd: string;
  repository?: { dir: string; branch: string; baseCommit: string; token?: string };
  attachments: string[];
}

function inside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Resolves an attachment name to its real path under `uploadsDir`, refusing anything that leaves it. */
export async function resolveAttachment(
  uploadsDir: string,
  name: string,
): Promise<{ source: string; rel: string }> {
  const root = await realpath(uploadsDir).catch(() => {
    throw new BadRequestError(`uploads directory ${uploadsDir} is not mounted`);
  });
  if (name.includes('\0'))
    throw new BadRequestError(`attachment ${JSON.stringify(name)} is not a valid path`);
  // "/uploads/x" and "x" both mean uploads/x
  const stripped =
    path.isAbsolute(name) && inside(uploadsDir, path.resolve(name)) ? path.relative(uploadsDir, name) : name;
  if (path.isAbsolute(stripped)) throw new BadRequestError(`attachment ${name} is outside the uploads`);
  const lexical = path.resolve(root, stripped);
  if (!inside(root, lexical) || lexical === root)
    throw new BadRequestError(`attachment ${name} leaves the uploads`);
  let real: string;
  try {
    real = await realpath(lexical);
  } catch {
    throw new BadRequestError(`attachment ${name} does not exist`);
  }
  if (!inside(root, real)) throw new BadRequestError(`attachment ${name} leaves the uploads`);
  return { source: real, rel: path.relative(root, lexical) };
}

async function copyTree(root: string, source: string, target: string, copied: string[]): Promise<void> {
  const stat = await lstat(source);
  if (stat.isSymbolicLink()) {
    const real = await realpath(source).catch(() => undefined);
    if (!real || !inside(root, real))
      throw new BadRequestError(`attachment link ${source} leaves the uploads`);
    return copyTree(root, real, target, copied);
  }
  if (stat.isDirectory()) {
    await mkdir(target, { recursive: true });
    for (const entry of await readdir(source)) {
      await copyTree(root, path.join(source, entry), path.join(target, entry), copied);
    }
    return;
  }
  if (!stat.isFile()) return; // sockets, fifos, devices: skipped
  await mkdir(path.dirname(target), { recursive: true });
  await copyFile(source, target);
  copied.push(target);
}

/** Copies the request's attachments into <workspace>/attachments, keeping their relative paths. */
export async function copyAttachments(names: string[], paths: ExecutorPaths): Promise<string[]> {
  if (names.length === 0) return [];
  const root = await realpath(paths.uploadsDir).catch(() => paths.uploadsDir);
  const resolved = [];
  for (const name of names) resolved.push(await resolveAttachment(paths.uploadsDir, name)); // all checked first
  const copied: string[] = [];
  for (const { source, rel } of resolved) {
    await copyTree(root, source, path.join(paths.workspace, 'attachments', rel), copied);
  }
  return copied;
}

export function defaultBranch(request: ExecutorRequest): string {
  return request.repository?.branch ?? `ai-agents/${request.name}`;
}

export async function prepareWorkspace(
  request: ExecutorRequest,
  paths: ExecutorPaths,
  env: Env,
  events: EventSink,
): Promise<PreparedWorkspace> {
  await mkdir(paths.workspace, { recursive: true });
  const attachments = await copyAttachments(request.attachments ?? [], paths);
  for (const file of attachments) {
    events.emit('log', `attachment ${path.relative(paths.workspace, file)}`, { attachment: file });
  }
  if (!request.repository) {
    await unpackArchives(request.attachments ?? [], paths, paths.workspace, events);
    return { cwd: paths.workspace, attachments };
  }
  const { url, ref } = request.repository;
  let token: string | undefined;
  if (/^https?:/.test(url) && hasGitHubCredentials(env)) {
    const session = await githubSession(env, repoCoordinates(url), request.agent.repositoryAccess);
    token = session.token;
  }
  const dir = path.join(paths.workspace, 'repo');
  await rm(dir, { recursive: true, force: true }); // a checkout left by an earlier attempt
  const branch = defaultBranch(request);
  events.emit('log', `cloning ${url}${ref ? `@${ref}` : ''}`, { repository: url, ref: ref ?? null });
  const checkout = await cloneRepository(url, dir, { ref, branch, token, env });
  events.emit('log', `checked out ${checkout.baseCommit.slice(0, 12)} on branch ${branch}`, {
    commit: checkout.baseCommit,
    branch,
  });
  await unpackArchives(
    request.attachments ?? [],
    paths,
    path.join(paths.workspace, 'attachments', 'unpacked'),
    events,
  );
  return { cwd: dir, attachments, repository: { ...checkout, token } };
}

/**
 * Workspace archives among the attachments (uploads-API ids whose metadata says tar, tar.gz or zip) are
 * unpacked: into the workspace itself when there is no repository, beside the checkout otherwise.
 * A hostile archive is a bad request.
 */
async function unpackArchives(
  names: string[],
  paths: ExecutorPaths,
  target: string,
  events: EventSink,
): Promise<void> {
  if (names.length === 0) return;
  try {
    const unpacked = await unpackArchiveAttachments(paths.uploadsDir, names, target);
    for (const u of unpacked) {
      events.emit('log', `unpacked ${u.file} into ${path.relative(paths.workspace, target) || '.'}`, {
        attachment: u.id,
        file: u.file,
        target,
      });
    }
  } catch (error) {
    if (error instanceof UnsafeArchiveError)
      throw new BadRequestError(`attachment refused: ${error.message}`);
    throw error;
  }
}

// Safe unpacking of a workspace archive (tar, tar.gz, zip) into the workspace.
//
// Two passes. The first reads every entry and refuses the whole archive — before anything is
// written — when one of them would escape the workspace: an absolute path, a `..` segment, a
// backslash or NUL, a symbolic link whose target resolves outside (or is absolute), a hard link
// to a path outside, a path that goes through a link from the same archive, a device or FIFO,
// or more entries/bytes than allowed. The second pass extracts with the libraries' own
// protections on (node-tar: no absolute paths, no `..`, no extraction through symlinks; yauzl:
// file-name validation) and the same checks again on every entry.
//
// Libraries: `tar` (node-tar, npm's own tar implementation) for tar and tar.gz, and `yauzl`
// (the standard streaming zip reader, validates names and entry sizes) for zip.
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { lstat, mkdir, open, realpath, symlink, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import yauzl from 'yauzl';

export type ArchiveKind = 'tar' | 'tar.gz' | 'zip';

export class UnsafeArchiveError extends Error {
  readonly entry: string | undefined;
  constructor(message: string, entry?: string) {
    super(entry === undefined ? message : `${message}: ${JSON.stringify(entry.slice(0, 300))}`);
    this.name = 'UnsafeArchiveError';
    this.entry = entry;
  }
}

export interface ExtractOptions {
  /** Largest total of file bytes to write (default 8 GiB). */
  maxBytes?: number;
  /** Most entries (default 100,000). */
  maxEntries?: number;
  /** Deepest path, in segments (default 64). */
  maxDepth?: number;
}

export interface ExtractResult {
  kind: ArchiveKind;
  entries: number;
  files: number;
  bytes: number;
}

type EntryType = 'file' | 'dir' | 'symlink' | 'hardlink';

/** The kind of an archive file by its first bytes. */
export async function archiveKind(file: string): Promise<ArchiveKind | undefined> {
  const fh = await open(file, 'r');
  try {
    const head = new Uint8Array(512);
    const { bytesRead } = await fh.read(head, 0, 512, 0);
    if (bytesRead >= 4 && head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5))
      return 'zip';
    if (bytesRead >= 3 && head[0] === 0x1f && head[1] === 0x8b && head[2] === 8) return 'tar.gz';
    if (bytesRead >= 262 && new TextDecoder().decode(head.subarray(257, 262)) === 'ustar') return 'tar';
    return undefined;
  } finally {
    await fh.close();
  }
}

/** The per-entry rules, shared by both passes and both formats. */
class EntryChecker {
  private readonly links = new Set<string>();
  private readonly regular = new Set<string>();
  entries = 0;
  bytes = 0;
  files = 0;
  private readonly root: string;
  private readonly opts: Required<ExtractOptions>;
  constructor(root: string, opts: Required<ExtractOptions>) {
    this.root = root;
    this.opts = opts;
  }

  /** The entry's path relative to the workspace, or an UnsafeArchiveError. */
  check(name: string, type: EntryType | string, size: number, linkTarget?: string): string {
    if (++this.entries > this.opts.maxEntries)
      throw new UnsafeArchiveError(`more than ${this.opts.maxEntries} entries`);
    const rel = this.relative(name);
    if (type === 'file') {
      this.regular.add(rel);
      this.files++;
      this.bytes += size;
      if (this.bytes > this.opts.maxBytes)
        throw new UnsafeArchiveError(`more than ${this.opts.maxBytes} bytes`, name);
    } else if (type === 'symlink') {
      if (linkTarget === undefined || linkTarget === '')
        throw new UnsafeArchiveError('symbolic link without target', name);
      if (linkTarget.includes('\0') || linkTarget.includes('\\'))
        throw new UnsafeArchiveError('bad link target', name);
      if (path.posix.isAbsolute(linkTarget))
        throw new UnsafeArchiveError('symbolic link to an absolute path', name);
      const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(rel), linkTarget));
      if (resolved === '..' || resolved.startsWith('../')) {
        throw new UnsafeArchiveError('symbolic link pointing out of the workspace', name);
      }
      this.links.add(rel);
    } else if (type === 'hardlink') {
      if (linkTarget === undefined) throw new UnsafeArchiveError('hard link without target', name);
      const target = this.relative(linkTarget);
      if (!this.regular.has(target))
        throw new UnsafeArchiveError('hard link to a file not in the archive', name);
      this.links.add(rel);
    } else if (type !== 'dir') {
      throw new UnsafeArchiveError(`entry type ${type} is not allowed`, name);
    }
    return rel;
  }

  private relative(name: string): string {
    if (!name || name.includes('\0')) throw new UnsafeArchiveError('empty or NUL in entry name', name);
    if (name.includes('\\')) throw new UnsafeArchiveError('backslash in entry name', name);
    if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) throw new UnsafeArchiveError('absolute path', name);
    const segs = name.split('/').filter((s) => s !== '' && s !== '.');
    if (segs.includes('..')) throw new UnsafeArchiveError('path traversal (..)', name);
    if (segs.length === 0) return '.';
    if (segs.length > this.opts.maxDepth) throw new UnsafeArchiveError('path too deep', name);
    const rel = segs.join('/');
    // Nothing may be written through a link the archive itself created.
    for (let i = 1; i < segs.length; i++) {
      if (this.links.has(segs.slice(0, i).join('/')))
        throw new UnsafeArchiveError('path through a link', name);
    }
    const abs = path.resolve(this.root, rel);
    if (abs !== this.root && !abs.startsWith(this.root + path.sep))
      throw new UnsafeArchiveError('path escapes', name);
    return rel;
  }
}

const TAR_TYPES: Record<string, EntryType> = {
  File: 'file',
  OldFile: 'file',
  ContiguousFile: 'file',
  Directory: 'dir',
  SymbolicLink: 'symlink',
  Link: 'hardlink',
};

/**
 * Unpacks `archive` into `workspace` (which must exist). Throws UnsafeArchiveError, having
 * written nothing, when an entry would land outside the workspace.
 */
export async function extractArchive(
  archive: string,
  workspace: string,
  options: ExtractOptions = {},
): Promise<ExtractResult> {
  const opts: Required<ExtractOptions> = {
    maxBytes: options.maxBytes ?? 8 * 1024 ** 3,
    maxEntries: options.maxEntries ?? 100_000,
    maxDepth: options.maxDepth ?? 64,
  };
  const root = await realpath(workspace);
  if (!(await lstat(root)).isDirectory()) throw new Error(`workspace ${workspace} is not a directory`);
  const kind = await archiveKind(archive);
  if (!kind) throw new UnsafeArchiveError('not a tar, tar.gz or zip archive');

  const planned = new EntryChecker(root, opts);
  if (kind === 'zip') await zipEntries(archive, (e) => planned.check(e.name, e.type, e.size, e.target));
  else await tarPlan(archive, planned);

  const done = new EntryChecker(root, opts);
  if (kind === 'zip') await zipExtract(archive, root, done);
  else await tarExtract(archive, root, done);
  return { kind, entries: done.entries, files: done.files, bytes: done.bytes };
}

async function tarPlan(archive: string, checker: EntryChecker): Promise<void> {
  let failure: unknown;
  await tar.t({
    file: archive,
    strict: true,
    onReadEntry(entry) {
      if (failure) return;
      try {
        checker.check(entry.path, TAR_TYPES[entry.type] ?? entry.type, entry.size ?? 0, entry.linkpath);
      } catch (err) {
        failure = err;
      }
    },
  });
  if (failure) throw failure;
}

async function tarExtract(archive: string, root: string, checker: EntryChecker): Promise<void> {
  let failure: unknown;
  await tar.x({
    file: archive,
    cwd: root,
    strict: true,
    preservePaths: false,
    preserveOwner: false,
    unlink: true,
    maxDepth: 64,
    filter(p, entry) {
      if (failure) return false;
      const e = entry as tar.ReadEntry;
      try {
        checker.check(p, TAR_TYPES[e.type] ?? e.type, e.size ?? 0, e.linkpath);
        // Regular permissions only: no setuid/setgid/sticky bits from an archive.
        if (typeof e.mode === 'number') e.mode &= 0o777;
        return true;
      } catch (err) {
        failure = err;
        return false;
      }
    },
  });
  if (failure) throw failure;
}

interface ZipEntryInfo {
  name: string;
  type: EntryType | 'other';
  size: number;
  target?: string;
  entry: yauzl.Entry;
  zip: yauzl.ZipFile;
}

function zipType(e: yauzl.Entry): EntryType | 'other' {
  if (e.fileName.endsWith('/')) return 'dir';
  const madeBy = e.versionMadeBy >> 8;
  const mode = (e.externalFileAttributes >>> 16) & 0o170000;
  if (madeBy === 3 && mode === 0o120000) return 'symlink';
  if (madeBy === 3 && mode !== 0 && mode !== 0o100000 && mode !== 0o040000) return 'other';
  return 'file';
}

const openZip = (file: string) =>
  new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.open(
      file,
      {
        lazyEntries: true,
        decodeStrings: true,
        validateEntrySizes: true,
        strictFileNames: true,
        autoClose: true,
      },
      (err, zip) => (err ? reject(asUnsafe(err)) : resolve(zip)),
    ),
  );

const readStream = (zip: yauzl.ZipFile, entry: yauzl.Entry) =>
  new Promise<Readable>((resolve, reject) =>
    zip.openReadStream(entry, (err, s) => (err ? reject(asUnsafe(err)) : resolve(s))),
  );

/** yauzl's refusals of bad names and sizes are archive problems, not crashes. */
function asUnsafe(err: unknown): Error {
  if (err instanceof UnsafeArchiveError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new UnsafeArchiveError(`zip refused: ${msg}`);
}

async function readSmall(s: Readable, max: number): Promise<string> {
  let out = '';
  for await (const chunk of s) {
    out += String(chunk);
    if (out.length > max) {
      s.destroy();
      throw new UnsafeArchiveError('symbolic link target too long');
    }
  }
  return out;
}

/** Calls `each` for every zip entry in order (symlink targets read from the entry's data). */
async function zipEntries(
  file: string,
  each: (e: ZipEntryInfo) => unknown | Promise<unknown>,
): Promise<void> {
  const zip = await openZip(file);
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on('error', (err) => reject(asUnsafe(err)));
      zip.on('end', () => resolve());
      zip.on('entry', (entry: yauzl.Entry) => {
        void (async () => {
          if (entry.isEncrypted()) throw new UnsafeArchiveError('encrypted entry', entry.fileName);
          const type = zipType(entry);
          const info: ZipEntryInfo = {
            name: type === 'dir' ? entry.fileName.replace(/\/+$/, '') || '.' : entry.fileName,
            type,
            size: entry.uncompressedSize,
            entry,
            zip,
          };
          if (type === 'symlink') info.target = await readSmall(await readStream(zip, entry), 4096);
          await each(info);
          zip.readEntry();
        })().catch((err) => {
          zip.close();
          reject(asUnsafe(err));
        });
      });
      zip.readEntry();
    });
  } finally {
    if (zip.isOpen) zip.close();
  }
}

async function zipExtract(file: string, root: string, checker: EntryChecker): Promise<void> {
  await zipEntries(file, async (e) => {
    const rel = checker.check(e.name, e.type, e.size, e.target);
    if (rel === '.') return;
    const dest = path.join(root, rel);
    await ensureDirInside(root, path.dirname(dest));
    if (e.type === 'dir') {
      await mkdir(dest, { recursive: true });
      await ensureDirInside(root, dest);
      return;
    }
    await removeIfPresent(dest);
    if (e.type === 'symlink') {
      await symlink(e.target!, dest);
      return;
    }
    // 'wx': create, never follow or reuse whatever is there.
    const out = createWriteStream(dest, { flags: 'wx', mode: 0o644 });
    await once(out, 'open');
    // yauzl checks (validateEntrySizes) that the data is exactly the declared size, and the
    // declared sizes are within maxBytes.
    await pipeline(await readStream(e.zip, e.entry), out);
  });
}

/** `dir` exists (made if needed) and, with every link resolved, is inside `root`. */
async function ensureDirInside(root: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const real = await realpath(dir);
  if (real !== root && !real.startsWith(root + path.sep)) {
    throw new UnsafeArchiveError('extraction would pass through a link out of the workspace', dir);
  }
}

async function removeIfPresent(p: string): Promise<void> {
  const st = await lstat(p).catch(() => undefined);
  if (!st) return;
  if (st.isDirectory()) throw new UnsafeArchiveError('a file would replace a directory', p);
  await unlink(p);
}

// Model cache init: downloads modelUrl into the models dir only when the file is absent, checks a sha256
// when given, writes a temporary file and renames it into place (no partial file is ever visible under the
// final name), and logs progress.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BadRequestError } from '../runtime/errors.ts';

export { MODEL_INIT_ENV } from '../../api/v1alpha1/executor-contract.ts';

export interface ModelInitOptions {
  url: string;
  modelsDir: string;
  file?: string;
  sha256?: string;
  authToken?: string;
  log?: (line: string) => void;
  /** Minimum time between progress lines. */
  progressEveryMs?: number;
}

export interface ModelInitResult {
  status: 'present' | 'downloaded';
  path: string;
  bytes: number;
  sha256?: string;
}

const MiB = 1024 * 1024;
const fmt = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

export function modelFileName(url: string, file?: string): string {
  const name = file || decodeURIComponent(new URL(url).pathname.split('/').filter(Boolean).at(-1) ?? '');
  if (
    !name ||
    name.includes('/') ||
    name.includes('\\') ||
    name === '.' ||
    name === '..' ||
    name.startsWith('.')
  ) {
    throw new BadRequestError(`cannot use ${JSON.stringify(name)} as the model file name`);
  }
  return name;
}

async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

export async function initModel(options: ModelInitOptions): Promise<ModelInitResult> {
  const log = options.log ?? ((line: string) => console.log(`[model-init] ${line}`));
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new BadRequestError(`model URL ${JSON.stringify(options.url)} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new BadRequestError('the model URL must be http(s)');
  const wanted = options.sha256?.toLowerCase();
  if (wanted !== undefined && !/^[a-f0-9]{64}$/.test(wanted))
    throw new BadRequestError('sha256 must be 64 hex digits');
  const name = modelFileName(options.url, options.file);
  await mkdir(options.modelsDir, { recursive: true });
  const target = path.join(options.modelsDir, name);
  const marker = `${target}.sha256`;

  const existing = await stat(target).catch(() => undefined);
  if (existing?.isFile()) {
    if (!wanted) {
      log(`${name} is present (${fmt(existing.size)}); nothing to download`);
      return { status: 'present', path: target, bytes: existing.size };
    }
    const recorded = (await readFile(marker, 'utf8').catch(() => '')).trim();
    const actual = recorded === wanted ? recorded : await hashFile(target);
    if (actual === wanted) {
      if (recorded !== wanted) await writeFile(marker, `${actual}\n`);
      log(`${name} is present (${fmt(existing.size)}, sha256 ok); nothing to download`);
      return { status: 'present', path: target, bytes: existing.size, sha256: actual };
    }
    log(`${name} is present but its sha256 is ${actual}, not ${wanted}: downloading it again`);
  }

  // Leftovers of an interrupted earlier download of this file.
  for (const entry of await readdir(options.modelsDir)) {
    if (entry.startsWith(`.${name}.part-`)) await rm(path.join(options.modelsDir, entry), { force: true });
  }
  const temp = path.join(options.modelsDir, `.${name}.part-${randomBytes(6).toString('hex')}`);
  log(`downloading ${url.origin}${url.pathname} to ${target}`);
  try {
    const response = await fetch(url, {
      headers: options.authToken ? { authorization: `Bearer ${options.authToken}` } : {},
      redirect: 'follow',
    });
    if (!response.ok || !response.body) {
      const message = `download failed: HTTP ${response.status} from ${url.host}`;
      // missing, forbidden or gone: retrying will not help
      if ([400, 401, 403, 404, 410].includes(response.status)) throw new BadRequestError(message);
      throw new Error(message);
    }
    const total = Number(response.headers.get('content-length') || 0);
    const hash = createHash('sha256');
    let done = 0;
    let lastLog = Date.now();
    const every = options.progressEveryMs ?? 5000;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, callback) {
        hash.update(chunk);
        done += chunk.length;
        if (Date.now() - lastLog >= every) {
          lastLog = Date.now();
          log(
            total ? `${fmt(done)} of ${fmt(total)} (${Math.floor((done / total) * 100)}%)` : `${fmt(done)}`,
          );
        }
        callback(null, chunk);
      },
    });
    await pipeline(
      Readable.fromWeb(response.body as import('node:stream/web').ReadableStream),
      meter,
      createWriteStream(temp, { mode: 0o644 }),
    );
    if (total && done !== total) throw new Error(`download ended after ${done} of ${total} bytes`);
    const actual = hash.digest('hex');
    if (wanted && actual !== wanted) {
      throw new BadRequestError(`sha256 mismatch for ${name}: expected ${wanted}, got ${actual}`);
    }
    await rename(temp, target);
    if (wanted) await writeFile(marker, `${actual}\n`);
    log(`downloaded ${name}: ${fmt(done)}, sha256 ${actual}`);
    return { status: 'downloaded', path: target, bytes: done, sha256: actual };
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

// Model init against a local HTTP server: downloads, skips when present, refuses a bad checksum, leaves no
// partial file. The init-container program itself runs as a child process for the exit codes.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { initModel } from './init.ts';

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const content = randomBytes(3 * 1024 * 1024 + 123);
const sha = createHash('sha256').update(content).digest('hex');
let server: Server;
let base: string;
let hits: string[] = [];
let dir: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(req.url!);
    if (req.url === '/models/tiny.gguf') {
      res.writeHead(200, { 'content-length': content.length });
      // in slices, so the download takes several chunks
      let offset = 0;
      const next = () => {
        if (offset >= content.length) return res.end();
        res.write(content.subarray(offset, offset + 256 * 1024), next);
        offset += 256 * 1024;
      };
      next();
    } else if (req.url === '/models/broken.gguf') {
      res.writeHead(200, { 'content-length': content.length });
      res.write(content.subarray(0, 1024 * 1024), () => res.destroy());
    } else if (req.url === '/redirect/tiny.gguf') {
      res.writeHead(302, { location: '/models/tiny.gguf' }).end();
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(async () => {
  hits = [];
  dir = await mkdtemp(path.join(tmpdir(), 'ai-agents-models-'));
  return () => rm(dir, { recursive: true, force: true });
});

async function runMain(env: Record<string, string>) {
  try {
    const { stdout, stderr } = await run(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH, ...env },
    });
    return { code: 0, out: stdout + stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

describe('model init', () => {
  it('downloads the model with progress, checks the sha256 and leaves only the final file', async () => {
    const lines: string[] = [];
    const result = await initModel({
      url: `${base}/models/tiny.gguf`,
      modelsDir: dir,
      sha256: sha,
      log: (l) => lines.push(l),
      progressEveryMs: 0,
    });
    expect(result).toMatchObject({ status: 'downloaded', bytes: content.length, sha256: sha });
    expect((await readFile(path.join(dir, 'tiny.gguf'))).equals(content)).toBe(true);
    expect((await readdir(dir)).sort()).toEqual(['tiny.gguf', 'tiny.gguf.sha256']);
    expect(lines.some((l) => /MiB of 3\.0 MiB \(\d+%\)/.test(l))).toBe(true);
    expect(lines.at(-1)).toContain(`sha256 ${sha}`);
  });

  it('skips the download when the file is present', async () => {
    await initModel({ url: `${base}/models/tiny.gguf`, modelsDir: dir, sha256: sha, log: () => {} });
    expect(hits).toHaveLength(1);
    const again = await runMain({
      AI_AGENTS_MODEL_URL: `${base}/models/tiny.gguf`,
      AI_AGENTS_MODELS_DIR: dir,
      AI_AGENTS_MODEL_SHA256: sha,
    });
    expect(again.code).toBe(0);
    expect(again.out).toContain('nothing to download');
    expect(hits).toHaveLength(1);
    // without a checksum too, and under an explicit file name
    await writeFile(path.join(dir, 'other.gguf'), 'already here');
    const named = await initModel({
      url: `${base}/models/tiny.gguf`,
      modelsDir: dir,
      file: 'other.gguf',
      log: () => {},
    });
    expect(named.status).toBe('present');
    expect(hits).toHaveLength(1);
  });

  it('follows redirects', async () => {
    const result = await initModel({
      url: `${base}/redirect/tiny.gguf`,
      modelsDir: dir,
      sha256: sha,
      log: () => {},
    });
    expect(result.status).toBe('downloaded');
  });

  it('refuses a bad checksum (non-retriable exit) and leaves no file', async () => {
    const wrong = 'a'.repeat(64);
    const r = await runMain({
      AI_AGENTS_MODEL_URL: `${base}/models/tiny.gguf`,
      AI_AGENTS_MODELS_DIR: dir,
      AI_AGENTS_MODEL_SHA256: wrong,
    });
    expect(r.code).toBe(42);
    expect(r.out).toContain(`sha256 mismatch for tiny.gguf: expected ${wrong}, got ${sha}`);
    expect(await readdir(dir)).toEqual([]);
  });

  it('a download cut off midway fails as retriable and leaves no partial file', async () => {
    const r = await runMain({ AI_AGENTS_MODEL_URL: `${base}/models/broken.gguf`, AI_AGENTS_MODELS_DIR: dir });
    expect(r.code).toBe(1);
    expect(await readdir(dir)).toEqual([]);
  });

  it('a missing model (404) is a bad request', async () => {
    const r = await runMain({ AI_AGENTS_MODEL_URL: `${base}/models/nope.gguf`, AI_AGENTS_MODELS_DIR: dir });
    expect(r.code).toBe(42);
    expect(r.out).toContain('HTTP 404');
    expect(await readdir(dir)).toEqual([]);
  });

  it('replaces a present file whose checksum is wrong', async () => {
    await writeFile(path.join(dir, 'tiny.gguf'), 'stale');
    const result = await initModel({
      url: `${base}/models/tiny.gguf`,
      modelsDir: dir,
      sha256: sha,
      log: () => {},
    });
    expect(result.status).toBe('downloaded');
    expect((await readFile(path.join(dir, 'tiny.gguf'))).equals(content)).toBe(true);
  });
});

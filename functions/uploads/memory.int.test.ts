// A 1 GiB upload through a real node-server streams with flat memory: the server process's
// peak RSS (getrusage maxRSS, so no sampling can miss a spike) grows by less than 100 MB while
// 1 GiB passes through it, and the stored file has the sha256 of what was sent. The body is
// generated on the fly; nothing of that size is kept in memory or in the repository, and the
// stored file is removed afterwards.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, expect, it } from 'vitest';

const KEY = 'rss-test-key-0123456789';
const GIB = 1024 ** 3;
const MB = 1024 * 1024;
let dir: string;
let child: ChildProcess;
let base: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'uploads-rss-'));
  child = spawn(process.execPath, [join(import.meta.dirname, 'testing/rss-server.ts')], {
    env: { ...process.env, UPLOADS_DIR: dir, UPLOADS_MAX_BYTES: String(2 * GIB), TEST_API_KEY: KEY },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`rss-server exited with ${code} before listening`);
  });
  const [line] = (await Promise.race([once(createInterface({ input: child.stdout! }), 'line'), exited])) as [
    string,
  ];
  base = `http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`;
});

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
  await rm(dir, { recursive: true, force: true });
});

/** `total` bytes of text, produced chunk by chunk and hashed as they go out. */
function textStream(total: number, hash: ReturnType<typeof createHash>): ReadableStream<Uint8Array> {
  const line = 'the quick brown fox jumps over the lazy dog 0123456789\n';
  const chunk = new TextEncoder().encode(line.repeat(Math.ceil((256 * 1024) / line.length)));
  let sent = 0;
  return new ReadableStream({
    pull(ctrl) {
      if (sent >= total) return ctrl.close();
      const c = chunk.subarray(0, Math.min(chunk.length, total - sent));
      sent += c.length;
      hash.update(c);
      ctrl.enqueue(c);
    },
  });
}

async function upload(
  total: number,
): Promise<{ status: number; body: Record<string, unknown>; sha: string }> {
  const hash = createHash('sha256');
  const res = await fetch(`${base}/api/uploads?name=big.txt`, {
    method: 'POST',
    headers: { 'x-api-key': KEY, 'content-type': 'application/octet-stream' },
    body: textStream(total, hash),
    duplex: 'half',
  } as RequestInit);
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, sha: hash.digest('hex') };
}

const rss = async () => (await (await fetch(`${base}/rss`)).json()) as { rss: number; maxRss: number };

it('streams a 1 GiB upload with flat memory and stores it intact', async () => {
  const start = await rss();
  // Warm up the code paths (JIT, first allocations) before taking the baseline.
  for (let i = 0; i < 3; i++) {
    const w = await upload(32 * MB);
    expect(w.status).toBe(201);
  }
  const before = await rss();
  const big = await upload(GIB);
  const after = await rss();
  expect(big.status).toBe(201);
  expect(big.body).toMatchObject({ size: GIB, sha256: big.sha, kind: 'text' });
  expect((await stat(join(dir, String(big.body.id), String(big.body.file)))).size).toBe(GIB);
  const growth = after.maxRss - before.maxRss;
  console.log(
    `uploads RSS: at start ${(start.rss / MB).toFixed(1)} MB, baseline peak ${(before.maxRss / MB).toFixed(1)} MB, peak after 1 GiB ${(after.maxRss / MB).toFixed(1)} MB, growth ${(growth / MB).toFixed(1)} MB, current ${(after.rss / MB).toFixed(1)} MB`,
  );
  expect(growth).toBeLessThan(100 * MB);
  await rm(join(dir, String(big.body.id)), { recursive: true });
});

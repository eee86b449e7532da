import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { extractArchive, UnsafeArchiveError } from './extract.ts';
import { type ArchiveEntry, tarBytes, tgzBytes, zipBytes } from './testing/archives.ts';

let base: string; // <base>/ws is the workspace; <base>/outside stands for everything else
let ws: string;
let outside: string;
let archives: string;

beforeEach(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'archive-test-'));
  ws = path.join(base, 'ws');
  outside = path.join(base, 'outside');
  archives = await mkdtemp(path.join(tmpdir(), 'archive-src-'));
  await mkdir(ws);
  await mkdir(outside);
  await writeFile(path.join(outside, 'secret'), 'secret');
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
  await rm(archives, { recursive: true, force: true });
});

async function archive(name: string, bytes: Uint8Array): Promise<string> {
  const p = path.join(archives, name);
  await writeFile(p, bytes);
  return p;
}

/** Every path under dir, relative, sorted (links not followed). */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    out.push(path.relative(dir, path.join(e.parentPath, e.name)));
  }
  return out.sort();
}

const GOOD: ArchiveEntry[] = [
  { name: 'repo/', type: 'dir' },
  { name: 'repo/README.md', content: '# hello\n' },
  { name: './repo/src/main.ts', content: 'console.log(1);\n' },
  { name: 'repo/docs', type: 'symlink', target: 'src' },
  { name: 'repo/readme-link', type: 'hardlink', target: 'repo/README.md' },
  { name: 'repo/run.sh', content: '#!/bin/sh\n', mode: 0o4755 },
];

describe('extractArchive', () => {
  it('unpacks tar.gz and tar, keeping links that stay inside and dropping setuid bits', async () => {
    for (const [name, bytes] of [
      ['ws.tar.gz', tgzBytes(GOOD)],
      ['ws.tar', tarBytes(GOOD)],
    ] as const) {
      await rm(ws, { recursive: true });
      await mkdir(ws);
      const res = await extractArchive(await archive(name, bytes), ws);
      expect(res).toMatchObject({ kind: name === 'ws.tar' ? 'tar' : 'tar.gz', files: 3 });
      expect(await readFile(path.join(ws, 'repo/src/main.ts'), 'utf8')).toBe('console.log(1);\n');
      expect(await readlink(path.join(ws, 'repo/docs'))).toBe('src');
      expect(await readFile(path.join(ws, 'repo/readme-link'), 'utf8')).toBe('# hello\n');
      expect((await lstat(path.join(ws, 'repo/run.sh'))).mode & 0o7000).toBe(0);
      expect(await tree(outside)).toEqual(['secret']);
    }
  });

  it('unpacks zip with directories and inside links', async () => {
    const entries: ArchiveEntry[] = [
      { name: 'repo/', type: 'dir' },
      { name: 'repo/a.txt', content: 'a' },
      { name: 'repo/sub/b.txt', content: 'b' },
      { name: 'repo/b-link', type: 'symlink', target: 'sub/b.txt' },
    ];
    const res = await extractArchive(await archive('ws.zip', zipBytes(entries)), ws);
    expect(res).toMatchObject({ kind: 'zip', files: 2, bytes: 2 });
    expect(await tree(ws)).toEqual(['repo', 'repo/a.txt', 'repo/b-link', 'repo/sub', 'repo/sub/b.txt']);
    expect(await readFile(path.join(ws, 'repo/b-link'), 'utf8')).toBe('b');
  });

  const hostile: [string, ArchiveEntry[]][] = [
    [
      'path traversal',
      [
        { name: 'ok.txt', content: 'ok' },
        { name: '../outside/evil.txt', content: 'x' },
      ],
    ],
    ['nested traversal', [{ name: 'a/../../outside/evil.txt', content: 'x' }]],
    [
      'absolute path',
      [
        { name: 'ok.txt', content: 'ok' },
        { name: `${'/tmp'}/abs-evil.txt`, content: 'x' },
      ],
    ],
    [
      'symlink out',
      [
        { name: 'ok.txt', content: 'ok' },
        { name: 'out', type: 'symlink', target: '../outside' },
      ],
    ],
    ['symlink out, deep', [{ name: 'a/b/out', type: 'symlink', target: '../../../outside/secret' }]],
    ['absolute symlink', [{ name: 'etc', type: 'symlink', target: '/etc' }]],
    [
      'write through an inside link',
      [
        { name: 'dir/', type: 'dir' },
        { name: 'l', type: 'symlink', target: 'dir' },
        { name: 'l/x.txt', content: 'x' },
      ],
    ],
    ['hard link out', [{ name: 'h', type: 'hardlink', target: '../outside/secret' }]],
    ['absolute hard link', [{ name: 'h', type: 'hardlink', target: '/etc/hostname' }]],
    ['hard link to a file not in the archive', [{ name: 'h', type: 'hardlink', target: 'nothing/here' }]],
    ['fifo', [{ name: 'pipe', type: 'fifo' }]],
    ['backslash traversal', [{ name: '..\\outside\\evil.txt', content: 'x' }]],
  ];

  for (const [what, entries] of hostile) {
    it(`refuses a tar.gz with ${what} and writes nothing`, async () => {
      const err = await extractArchive(await archive('bad.tgz', tgzBytes(entries)), ws).catch((e) => e);
      expect(err).toBeInstanceOf(UnsafeArchiveError);
      expect(await tree(ws)).toEqual([]);
      expect(await tree(outside)).toEqual(['secret']);
      expect(await readFile(path.join(outside, 'secret'), 'utf8')).toBe('secret');
      await expect(lstat('/tmp/abs-evil.txt')).rejects.toThrow();
    });
  }

  for (const [what, entries] of hostile.filter(([w]) => !/hard link|fifo/.test(w))) {
    it(`refuses a zip with ${what} and writes nothing`, async () => {
      const err = await extractArchive(await archive('bad.zip', zipBytes(entries)), ws).catch((e) => e);
      expect(err).toBeInstanceOf(UnsafeArchiveError);
      expect(await tree(ws)).toEqual([]);
      expect(await tree(outside)).toEqual(['secret']);
    });
  }

  it('never writes through a link already in the workspace (refused, or the link replaced)', async () => {
    const entries: ArchiveEntry[] = [
      { name: 'out/evil.txt', content: 'x' },
      { name: 'secret-link', content: 'overwritten?' },
    ];
    for (const [name, bytes] of [
      ['x.tgz', tgzBytes(entries)],
      ['x.zip', zipBytes(entries)],
    ] as const) {
      await rm(ws, { recursive: true });
      await mkdir(ws);
      await symlink(outside, path.join(ws, 'out'));
      await symlink(path.join(outside, 'secret'), path.join(ws, 'secret-link'));
      const outcome = await extractArchive(await archive(name, bytes), ws).then(
        () => 'extracted',
        (e: Error) => e.name,
      );
      expect(['extracted', 'UnsafeArchiveError', 'SymlinkError']).toContain(outcome);
      expect(await tree(outside)).toEqual(['secret']);
      expect(await readFile(path.join(outside, 'secret'), 'utf8')).toBe('secret');
    }
  });

  it('refuses archives over the byte or entry limit before writing', async () => {
    const big = [{ name: 'a.txt', content: 'x'.repeat(2000) }];
    await expect(
      extractArchive(await archive('b.tgz', tgzBytes(big)), ws, { maxBytes: 1000 }),
    ).rejects.toThrow(UnsafeArchiveError);
    await expect(
      extractArchive(await archive('b.zip', zipBytes(big)), ws, { maxBytes: 1000 }),
    ).rejects.toThrow(UnsafeArchiveError);
    const many = Array.from({ length: 20 }, (_, i) => ({ name: `f${i}`, content: '' }));
    await expect(
      extractArchive(await archive('m.tgz', tgzBytes(many)), ws, { maxEntries: 10 }),
    ).rejects.toThrow(UnsafeArchiveError);
    expect(await tree(ws)).toEqual([]);
  });

  it('refuses what is not an archive', async () => {
    await expect(
      extractArchive(await archive('x.pdf', new TextEncoder().encode('%PDF-1.4')), ws),
    ).rejects.toThrow(UnsafeArchiveError);
  });
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveIngest } from './config.ts';
import { BadRequestError } from './errors.ts';

const base = { AI_AGENTS_INGEST_URL: 'http://127.0.0.1:9/api/events/ingest', AI_AGENTS_REQUEST: 'req-1' };

describe('resolveIngest', () => {
  it('uses AI_AGENTS_INGEST_TOKEN as it is', () => {
    const ingest = resolveIngest({ ...base, AI_AGENTS_INGEST_TOKEN: 'fixed' });
    expect(ingest.token()).toBe('fixed');
  });

  it('re-reads AI_AGENTS_INGEST_TOKEN_FILE before every use and keeps the last token when it cannot', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ingest-token-'));
    const file = path.join(dir, 'ingest-token');
    writeFileSync(file, 'first\n');
    const ingest = resolveIngest({ ...base, AI_AGENTS_INGEST_TOKEN_FILE: file });
    expect(ingest.token()).toBe('first');
    writeFileSync(file, 'rotated'); // the kubelet's rotation
    expect(ingest.token()).toBe('rotated');
    rmSync(file);
    expect(ingest.token()).toBe('rotated');
    rmSync(dir, { recursive: true });
  });

  it('refuses a token file it cannot read, or no token at all, as a bad request', () => {
    expect(() => resolveIngest({ ...base, AI_AGENTS_INGEST_TOKEN_FILE: '/nonexistent/token' })).toThrow(
      BadRequestError,
    );
    expect(() => resolveIngest(base)).toThrow(/AI_AGENTS_INGEST_TOKEN or AI_AGENTS_INGEST_TOKEN_FILE/);
  });
});

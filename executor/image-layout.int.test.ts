// The executor images' file layout, run for real without a container runtime: /app/api/v1alpha1 and
// /app/executor sources, /app/executor/node_modules from the executor's own npm project, and
// /app/node_modules → executor/node_modules, all outside the repository so nothing resolves from the root
// project's node_modules. The entry point (ENTRYPOINT node /app/executor/main.ts) runs a llama request on
// a generated GGUF end to end.
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completion } from '../api/v1alpha1/events.ts';
import { baseRequest, createFixture } from './testing/fixture.ts';
import { writeTinyLlamaGguf } from './testing/gguf.ts';
import { startIngestReceiver } from './testing/ingest-receiver.ts';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.dirname(here);
let app: string;

beforeAll(async () => {
  app = path.join(await mkdtemp(path.join(tmpdir(), 'ai-agents-image-')), 'app');
  await mkdir(app, { recursive: true });
  await cp(path.join(repo, 'api', 'v1alpha1'), path.join(app, 'api', 'v1alpha1'), {
    recursive: true,
    filter: (src) => !src.endsWith('.test.ts'),
  });
  await cp(here, path.join(app, 'executor'), {
    recursive: true,
    filter: (src) => {
      const rel = path.relative(here, src);
      return !rel.startsWith('node_modules') && !rel.startsWith('.tmp') && !src.endsWith('.test.ts');
    },
  });
  await symlink(path.join(here, 'node_modules'), path.join(app, 'executor', 'node_modules'));
  await symlink('executor/node_modules', path.join(app, 'node_modules'));
});
afterAll(async () => {
  if (app) await rm(path.dirname(app), { recursive: true, force: true });
});

describe('executor image layout', () => {
  it('node /app/executor/main.ts runs a llama request with only the executor project installed', async () => {
    const ingest = await startIngestReceiver({ request: 'req-1' });
    const fx = await createFixture({
      request: baseRequest({
        model: {
          name: 'tiny',
          provider: 'llamacpp',
          model: 'tiny',
          modelFile: 'tiny.gguf',
          maxTokens: 8,
          temperature: 0,
        },
      }),
      ingestUrl: ingest.url,
      ingestToken: ingest.token,
      env: { AI_AGENTS_EXECUTOR: 'llama', AI_AGENTS_LLAMA_THREADS: '2', AI_AGENTS_LLAMA_GPU: 'cpu' },
    });
    try {
      await writeTinyLlamaGguf(path.join(fx.modelsDir, 'tiny.gguf'));
      const { stderr } = await run(process.execPath, [path.join(app, 'executor', 'main.ts')], {
        env: fx.env as NodeJS.ProcessEnv,
        cwd: fx.workspace,
        timeout: 90_000,
      });
      expect(stderr).toContain('completed');
      const done = completion.parse(ingest.events.at(-1)!.data);
      expect(done.outcome).toBe('succeeded');
      expect(done.usage!.outputTokens).toBe(8);
    } finally {
      await ingest.close();
      await fx.cleanup();
    }
  });
});

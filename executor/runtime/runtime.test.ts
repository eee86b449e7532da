import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { completion, type ExecutorEvent } from '../../api/v1alpha1/events.ts';
import { EXIT_BAD_REQUEST, EXIT_INTERRUPTED, EXIT_TIMED_OUT } from '../../api/v1alpha1/executor-contract.ts';
import { tgzBytes } from '../archive/testing/archives.ts';
import type { Backend, BackendContext } from '../backends/types.ts';
import { baseRequest, createFixture } from '../testing/fixture.ts';
import { startIngestReceiver } from '../testing/ingest-receiver.ts';
import { runExecutor } from './run.ts';

// A scripted backend: the runtime is what is under test here (the real backends have their own tests).
function scripted(script: (ctx: BackendContext) => Promise<string>): Backend {
  return {
    name: 'scripted',
    async run(ctx) {
      const output = await script(ctx);
      return { output, usage: { inputTokens: 10, outputTokens: 20 } };
    },
  };
}

/** A scripted backend that counts its runs: `script` is given the run's number (from 1). */
function counted(script: (ctx: BackendContext, run: number) => Promise<string>) {
  let runs = 0;
  return {
    loadBackend: async () => scripted((ctx) => script(ctx, ++runs)),
    runs: () => runs,
  };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(request: unknown = baseRequest(), env: Record<string, string> = {}) {
  const ingest = await startIngestReceiver({ request: 'req-1' });
  const fx = await createFixture({ request, ingestUrl: ingest.url, ingestToken: ingest.token, env });
  cleanups.push(
    () => ingest.close(),
    () => fx.cleanup(),
  );
  return { ingest, fx };
}

function checkOrder(events: ExecutorEvent[]) {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  expect(events[0]!.type).toBe('started');
  expect(events.at(-1)!.type).toBe('completed');
  expect(events.filter((e) => e.type === 'completed')).toHaveLength(1);
}

/** Resolves once `signal` aborts. */
const aborted = (signal: AbortSignal) =>
  new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));

/**
 * Runs a backend that says "working" and waits: SIGTERM (the executor's interrupt) comes once ingest
 * has that message, and the backend then does `onStop`. Resolves with the exit code.
 */
function runStoppedWhileWorking(
  { ingest, fx }: Awaited<ReturnType<typeof setup>>,
  onStop: (ctx: BackendContext) => Promise<string>,
): Promise<number> {
  const interrupt = new AbortController();
  ingest.onEvent = (e) => {
    if (e.message === 'working') interrupt.abort();
  };
  return runExecutor({
    env: fx.env,
    interrupt: interrupt.signal,
    loadBackend: async () =>
      scripted(async (ctx) => {
        ctx.events.emit('message', 'working');
        await aborted(ctx.signal);
        return onStop(ctx);
      }),
  });
}

const messages = (events: ExecutorEvent[]) =>
  events.filter((e) => e.type === 'message').map((e) => e.message);

describe('executor runtime', () => {
  it('reports started, the backend events, usage and a final completion, in order, and exits 0', async () => {
    const { ingest, fx } = await setup(
      baseRequest({
        model: {
          ...baseRequest().model,
          pricing: { inputPerMillionTokensUsd: 3, outputPerMillionTokensUsd: 15 },
        },
      }),
    );
    const code = await runExecutor({
      env: fx.env,
      loadBackend: async () =>
        scripted(async (ctx) => {
          expect(ctx.instructions).toBe('You are a test agent.');
          ctx.events.emit('message', 'hello');
          ctx.events.emit('tool_call', 'Bash', { id: 't1', name: 'Bash', input: { command: 'ls' } });
          ctx.events.emit('tool_result', 'ok', { id: 't1', isError: false });
          return 'hello world\n\nmore';
        }),
    });
    expect(code).toBe(0);
    checkOrder(ingest.events);
    expect(ingest.events.map((e) => e.type)).toEqual([
      'started',
      'log',
      'message',
      'tool_call',
      'tool_result',
      'usage',
      'completed',
    ]);
    const done = completion.parse(ingest.events.at(-1)!.data);
    expect(done.outcome).toBe('succeeded');
    expect(done.result).toMatchObject({ summary: 'hello world', output: 'hello world\n\nmore' });
    expect(done.usage).toMatchObject({
      inputTokens: 10,
      outputTokens: 20,
      costUsd: (10 * 3 + 20 * 15) / 1e6,
    });
    expect(done.usage!.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('bounds the final output and flags the truncation', async () => {
    const { ingest, fx } = await setup();
    const big = 'x'.repeat(70_000);
    const code = await runExecutor({ env: fx.env, loadBackend: async () => scripted(async () => big) });
    expect(code).toBe(0);
    const done = completion.parse(ingest.events.at(-1)!.data);
    expect(done.result!.outputTruncated).toBe(true);
    expect(done.result!.output!.length).toBe(65_536);
  });

  it('a malformed request.json is reported and exits with the non-retriable code', async () => {
    const { ingest, fx } = await setup({ apiVersion: 'labrats.work/v1alpha1', name: 'req-1', prompt: '' });
    const code = await runExecutor({ env: fx.env, loadBackend: async () => scripted(async () => 'never') });
    expect(code).toBe(EXIT_BAD_REQUEST);
    checkOrder(ingest.events);
    const error = ingest.events.find((e) => e.type === 'error')!;
    expect(error.message).toMatch(/request\.json is invalid: .*prompt/);
    expect(error.data).toMatchObject({ exitCode: 42, retriable: false });
    expect(completion.parse(ingest.events.at(-1)!.data).outcome).toBe('failed');
  });

  it('a backend failure is retriable (exit 1) and reported', async () => {
    const { ingest, fx } = await setup();
    const code = await runExecutor({
      env: fx.env,
      loadBackend: async () =>
        scripted(async () => {
          throw new Error('model API answered 500');
        }),
    });
    expect(code).toBe(1);
    expect(ingest.events.find((e) => e.type === 'error')!.data).toMatchObject({ retriable: true });
  });

  it('ingest down for a while: every event arrives once, in order', async () => {
    const { ingest, fx } = await setup();
    ingest.mode = 'reset';
    const code = await runExecutor({
      env: fx.env,
      log: () => {},
      loadBackend: async () =>
        scripted(async (ctx) => {
          for (let i = 0; i < 120; i++) ctx.events.emit('message', `m${i}`);
          // several failed attempts while down: connection resets, then 503s
          while (ingest.posts < 4) await new Promise((r) => setTimeout(r, 10));
          ingest.mode = '503';
          while (ingest.posts < 7) await new Promise((r) => setTimeout(r, 10));
          for (let i = 120; i < 240; i++) ctx.events.emit('message', `m${i}`);
          ingest.mode = 'up';
          for (let i = 240; i < 800; i++) ctx.events.emit('message', `m${i}`);
          return 'done';
        }),
    });
    expect(code).toBe(0);
    checkOrder(ingest.events);
    expect(messages(ingest.events)).toEqual(Array.from({ length: 800 }, (_, i) => `m${i}`));
    expect(ingest.events.filter((e) => e.type === 'message')).toHaveLength(800);
  });

  it('SIGTERM mid-run: the backend is stopped, events so far and a failed completion are flushed, exit 143', async () => {
    // this backend never ends: the report goes out once the stop grace is over
    const run = await setup(baseRequest(), { AI_AGENTS_STOP_GRACE_MS: '200' });
    const { ingest } = run;
    let backendSawAbort = false;
    const code = await runStoppedWhileWorking(run, async (ctx) => {
      backendSawAbort = true;
      ctx.events.emit('log', 'backend stopping');
      await new Promise(() => {}); // never returns by itself
      return '';
    });
    expect(code).toBe(EXIT_INTERRUPTED);
    expect(backendSawAbort).toBe(true);
    checkOrder(ingest.events);
    expect(ingest.events.find((e) => e.type === 'error')!.message).toMatch(/SIGTERM/);
    expect(ingest.events.some((e) => e.message === 'backend stopping')).toBe(true);
    expect(completion.parse(ingest.events.at(-1)!.data).outcome).toBe('failed');
  });

  it('SIGTERM mid-run: the report waits for the backend to end, so nothing of the run outlives it', async () => {
    const run = await setup();
    const { ingest, fx } = run;
    let backendEnded = false;
    const code = await runStoppedWhileWorking(run, async (ctx) => {
      // an agent CLI taking a moment to exit after SIGTERM, writing as it goes
      await new Promise((r) => setTimeout(r, 300));
      await writeFile(path.join(fx.env.AI_AGENTS_WORKSPACE!, 'written-while-stopping'), 'x');
      ctx.events.emit('log', 'backend ended');
      backendEnded = true;
      return '';
    });
    expect(code).toBe(EXIT_INTERRUPTED);
    expect(backendEnded).toBe(true);
    checkOrder(ingest.events);
    const types = ingest.events.map((e) => (e.message === 'backend ended' ? 'ended' : e.type));
    expect(types.indexOf('ended')).toBeGreaterThan(0);
    expect(types.indexOf('ended')).toBeLessThan(types.indexOf('completed'));
  });

  it('ingest answering 409 (request ended) stops the run', async () => {
    const { ingest, fx } = await setup();
    const code = await runExecutor({
      env: fx.env,
      log: () => {},
      loadBackend: async () =>
        scripted(async (ctx) => {
          await ingest.waitFor((e) => e.type === 'started');
          ingest.ended = true;
          ctx.events.emit('message', 'after the end');
          await aborted(ctx.signal);
          return 'x';
        }),
    });
    expect(code).toBe(EXIT_INTERRUPTED);
    expect(ingest.events.some((e) => e.message === 'after the end')).toBe(false);
  });

  it('events that could not be delivered stay spooled; the next attempt delivers them and ends the same way', async () => {
    const { ingest, fx } = await setup(baseRequest(), { AI_AGENTS_FLUSH_TIMEOUT_MS: '300' });
    ingest.mode = '503';
    const { loadBackend, runs } = counted(async (ctx) => {
      ctx.events.emit('message', 'only once');
      return 'finished';
    });
    expect(await runExecutor({ env: fx.env, loadBackend, log: () => {} })).toBe(1);
    expect(ingest.events).toHaveLength(0);
    ingest.mode = 'up';
    expect(await runExecutor({ env: fx.env, loadBackend, log: () => {} })).toBe(0);
    expect(runs()).toBe(1);
    checkOrder(ingest.events);
    expect(messages(ingest.events)).toEqual(['only once']);
    expect(completion.parse(ingest.events.at(-1)!.data).outcome).toBe('succeeded');
  });

  it('a request created again under the same name runs afresh: nothing of the earlier one is kept', async () => {
    const { ingest, fx } = await setup(baseRequest(), { AI_AGENTS_FLUSH_TIMEOUT_MS: '300' });
    ingest.mode = '503';
    const { loadBackend, runs } = counted(async (ctx, run) => {
      ctx.events.emit('message', `run ${run}`);
      return 'finished';
    });
    // the earlier request: finished, its events still spooled, a file left in its workspace
    expect(await runExecutor({ env: fx.env, loadBackend, log: () => {} })).toBe(1);
    await writeFile(path.join(fx.workspace, 'left-behind.txt'), 'old');
    // deleted and created again: same name, same workspace, another uid
    await fx.writeRequest(baseRequest({ uid: '00000000-0000-4000-8000-000000000002' }));
    ingest.mode = 'up';
    const lines: string[] = [];
    expect(await runExecutor({ env: fx.env, loadBackend, log: (l) => lines.push(l) })).toBe(0);
    expect(runs()).toBe(2);
    checkOrder(ingest.events);
    expect(messages(ingest.events)).toEqual(['run 2']);
    await expect(readFile(path.join(fx.workspace, 'left-behind.txt'))).rejects.toThrow(/ENOENT/);
    expect(lines.join('\n')).toContain('uid 00000000-0000-4000-8000-000000000001');
  });

  it('with retries left, a failed attempt is not the end: the next one runs again and completes', async () => {
    const { ingest, fx } = await setup(baseRequest({ maxRetries: 1 }));
    const { loadBackend, runs } = counted(async (ctx, run) => {
      ctx.events.emit('message', `attempt ${run}`);
      if (run === 1) throw new Error('the model API is down');
      return 'done';
    });
    expect(await runExecutor({ env: fx.env, loadBackend, log: () => {} })).toBe(1);
    expect(ingest.events.map((e) => e.type)).not.toContain('completed');
    expect(ingest.events.at(-1)).toMatchObject({ type: 'error', data: { retriable: true } });
    expect(await runExecutor({ env: fx.env, loadBackend, log: () => {} })).toBe(0);
    expect(runs()).toBe(2);
    checkOrder(ingest.events);
    expect(messages(ingest.events)).toEqual(['attempt 1', 'attempt 2']);
    expect(completion.parse(ingest.events.at(-1)!.data).outcome).toBe('succeeded');
    // the last attempt's failure is the request's end
    const last = await setup(baseRequest({ maxRetries: 1 }));
    const failing = async () =>
      scripted(async () => {
        throw new Error('still down');
      });
    expect(await runExecutor({ env: last.fx.env, loadBackend: failing, log: () => {} })).toBe(1);
    expect(await runExecutor({ env: last.fx.env, loadBackend: failing, log: () => {} })).toBe(1);
    checkOrder(last.ingest.events);
    expect(completion.parse(last.ingest.events.at(-1)!.data).outcome).toBe('failed');
  });

  it('continues after the sequence numbers an earlier attempt used when its spool is gone', async () => {
    const { ingest, fx } = await setup();
    const earlier = new Date().toISOString();
    for (let seq = 1; seq <= 5; seq++)
      ingest.events.push({ seq, type: 'log', time: earlier, message: `old ${seq}` });
    const code = await runExecutor({
      env: fx.env,
      log: () => {},
      loadBackend: async () =>
        scripted(async (ctx) => {
          ctx.events.emit('message', 'new attempt');
          return 'ok';
        }),
    });
    expect(code).toBe(0);
    expect(ingest.events.map((e) => e.seq)).toEqual(ingest.events.map((_, i) => i + 1));
    expect(ingest.events[5]!.type).toBe('started');
    expect(messages(ingest.events)).toEqual(['new attempt']);
  });

  it('copies attachments from uploads and refuses paths that leave it', async () => {
    const { ingest, fx } = await setup(baseRequest({ attachments: ['docs/spec.md', '/uploads/notes.txt'] }), {
      AI_AGENTS_UPLOADS_DIR: '',
    });
    // the fixture's uploads dir doubles as "/uploads" for the absolute form via a symlinked root
    await mkdir(path.join(fx.uploadsDir, 'docs'), { recursive: true });
    await writeFile(path.join(fx.uploadsDir, 'docs', 'spec.md'), '# spec');
    await writeFile(path.join(fx.uploadsDir, 'notes.txt'), 'notes');
    fx.env.AI_AGENTS_UPLOADS_DIR = fx.uploadsDir;
    await fx.writeRequest(baseRequest({ attachments: ['docs/spec.md', `${fx.uploadsDir}/notes.txt`] }));
    let prompt = '';
    const code = await runExecutor({
      env: fx.env,
      loadBackend: async () =>
        scripted(async (ctx) => {
          prompt = ctx.prompt;
          return 'ok';
        }),
    });
    expect(code).toBe(0);
    expect(await readFile(path.join(fx.workspace, 'attachments', 'docs', 'spec.md'), 'utf8')).toBe('# spec');
    expect(await readFile(path.join(fx.workspace, 'attachments', 'notes.txt'), 'utf8')).toBe('notes');
    expect(prompt).toContain(path.join(fx.workspace, 'attachments', 'docs', 'spec.md'));
    expect(ingest.events.filter((e) => e.type === 'log' && e.message?.startsWith('attachment'))).toHaveLength(
      2,
    );
  });

  it.each([
    ['a relative path with ..', () => '../secret.txt'],
    ['an absolute path elsewhere', () => '/etc/passwd'],
    ['a symlink out of uploads', () => 'link.txt'],
    ['a missing file', () => 'nope.txt'],
  ])('refuses %s as a bad request', async (_, name) => {
    const { ingest, fx } = await setup();
    await writeFile(path.join(fx.root, 'secret.txt'), 'secret');
    await symlink(path.join(fx.root, 'secret.txt'), path.join(fx.uploadsDir, 'link.txt'));
    await fx.writeRequest(baseRequest({ attachments: [name()] }));
    const code = await runExecutor({
      env: fx.env,
      log: () => {},
      loadBackend: async () => scripted(async () => 'x'),
    });
    expect(code).toBe(EXIT_BAD_REQUEST);
    expect(ingest.events.find((e) => e.type === 'error')!.message).toMatch(/attachment/);
    await expect(readFile(path.join(fx.workspace, 'attachments', 'secret.txt'))).rejects.toThrow();
    await expect(readFile(path.join(fx.workspace, 'attachments', 'link.txt'))).rejects.toThrow();
  });

  it('unpacks an uploaded workspace archive into the workspace; a hostile one is a bad request', async () => {
    const id = `upl-${'a'.repeat(32)}`;
    const { ingest, fx } = await setup(baseRequest({ attachments: [id] }));
    await mkdir(path.join(fx.uploadsDir, id), { recursive: true });
    await writeFile(
      path.join(fx.uploadsDir, id, 'src.tar.gz'),
      tgzBytes([{ name: 'src/main.txt', content: 'main' }]),
    );
    await writeFile(
      path.join(fx.uploadsDir, id, '.upload.json'),
      JSON.stringify({ kind: 'tar.gz', file: 'src.tar.gz' }),
    );
    let seen = '';
    const code = await runExecutor({
      env: fx.env,
      log: () => {},
      loadBackend: async () =>
        scripted(async (ctx) => {
          seen = await readFile(path.join(ctx.cwd, 'src', 'main.txt'), 'utf8');
          return 'ok';
        }),
    });
    expect(code).toBe(0);
    expect(seen).toBe('main');
    expect(ingest.events.some((e) => e.message === 'unpacked src.tar.gz into .')).toBe(true);

    const bad = await setup(baseRequest({ attachments: [id] }));
    await mkdir(path.join(bad.fx.uploadsDir, id), { recursive: true });
    await writeFile(
      path.join(bad.fx.uploadsDir, id, 'src.tar.gz'),
      tgzBytes([{ name: '../escape.txt', content: 'x' }]),
    );
    await writeFile(
      path.join(bad.fx.uploadsDir, id, '.upload.json'),
      JSON.stringify({ kind: 'tar.gz', file: 'src.tar.gz' }),
    );
    const badCode = await runExecutor({
      env: bad.fx.env,
      log: () => {},
      loadBackend: async () => scripted(async () => 'x'),
    });
    expect(badCode).toBe(EXIT_BAD_REQUEST);
    expect(bad.ingest.events.find((e) => e.type === 'error')!.message).toMatch(/attachment refused/);
  });

  it("stops at the request's own timeout and reports it", async () => {
    const { ingest, fx } = await setup(baseRequest({ timeoutSeconds: 1 }));
    const code = await runExecutor({
      env: fx.env,
      log: () => {},
      loadBackend: async () =>
        scripted(async (ctx) => {
          await aborted(ctx.signal);
          return 'never';
        }),
    });
    expect(code).toBe(EXIT_TIMED_OUT);
    const error = ingest.events.find((e) => e.type === 'error')!;
    expect(error.message).toMatch(/deadline reached/);
    expect(error.data).toMatchObject({ exitCode: EXIT_TIMED_OUT, retriable: false });
    expect(completion.parse(ingest.events.at(-1)!.data).outcome).toBe('failed');
  });

  it('sends heartbeats while the backend works', async () => {
    const { ingest, fx } = await setup(baseRequest(), { AI_AGENTS_HEARTBEAT_MS: '50' });
    const code = await runExecutor({
      env: fx.env,
      log: () => {},
      loadBackend: async () =>
        scripted(async () => {
          await ingest.waitFor((e) => e.type === 'heartbeat');
          return 'ok';
        }),
    });
    expect(code).toBe(0);
    expect(ingest.events.find((e) => e.type === 'heartbeat')!.data).toHaveProperty('uptimeMs');
  });

  it('an ingest that refuses the token makes the run fail visibly instead of exiting 0', async () => {
    const { ingest, fx } = await setup();
    fx.env.AI_AGENTS_INGEST_TOKEN = 'wrong-token';
    const lines: string[] = [];
    const code = await runExecutor({
      env: fx.env,
      log: (l) => lines.push(l),
      loadBackend: async () => scripted(async () => 'ok'),
    });
    expect(code).toBe(1);
    expect(ingest.events).toHaveLength(0);
    expect(lines.some((l) => l.includes('ingest refused events with 401'))).toBe(true);
    expect(lines.join('\n')).not.toContain('wrong-token');
  });
});

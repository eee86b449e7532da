// The local platform as a newcomer uses it: `npm start` with a fresh data folder and a model URL
// (a tiny generated GGUF served from loopback), the printed API key to submit through the public
// API, the printed sign-in link for an admin session to watch the request run on the process
// runtime (real executor, real llama.cpp) to Succeeded with its events, then Ctrl-C (SIGINT to
// the process group, as a terminal sends it) and no process left behind.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyLlamaGguf } from '../../executor/testing/gguf.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const MAX_TOKENS = 16;

/** pid → parent pid for every process now. */
function processTable(): Map<number, number> {
  const table = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.set(Number(entry), Number(fields[1]));
    } catch {
      // exited meanwhile
    }
  }
  return table;
}

function descendants(root: number): number[] {
  const table = processTable();
  const out = [root];
  for (let i = 0; i < out.length; i++) for (const [pid, ppid] of table) if (ppid === out[i]) out.push(pid);
  return out;
}

/** Alive and not a zombie (a zombie has exited; only its parent's bookkeeping is left). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Processes whose command line or environment mention `text` (every platform process has the data folder in one). */
function mentioning(text: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid || !running(Number(entry))) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const env = readFileSync(`/proc/${entry}/environ`, 'utf8');
      if (cmd.includes(text) || env.includes(text))
        found.push(`${entry}: ${cmd.replaceAll('\0', ' ').slice(0, 200)}`);
    } catch {
      // exited meanwhile, or not ours to read
    }
  }
  return found;
}

let modelServer: Server;
let modelUrl: string;
let dataDir: string;
let platform: ChildProcess | undefined;
let stdout = '';
let stderr = '';

beforeAll(async () => {
  // the composed instructions of a shipped agent are ~9k characters: a context that holds them
  const gguf = tinyLlamaGguf({ contextLength: 16_384 });
  modelServer = createServer((req, res) => {
    if (req.url === '/models/tiny-llama.gguf')
      res.writeHead(200, { 'content-length': gguf.length }).end(gguf);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => modelServer.listen(0, '127.0.0.1', r));
  const addr = modelServer.address();
  modelUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/models/tiny-llama.gguf`;
  dataDir = mkdtempSync(path.join(tmpdir(), 'ai-agents-platform-e2e-'));
});

afterAll(async () => {
  if (platform?.pid && platform.exitCode === null && platform.signalCode === null) {
    // the test failed before its own Ctrl-C: do not leave the platform running
    try {
      process.kill(-platform.pid, 'SIGINT');
    } catch {}
    const proc = platform;
    await Promise.race([new Promise((r) => proc.once('exit', r)), new Promise((r) => setTimeout(r, 20_000))]);
    try {
      process.kill(-platform.pid, 'SIGKILL');
    } catch {}
  }
  await new Promise((r) => modelServer.close(r));
  rmSync(dataDir, { recursive: true, force: true });
});

describe('npm start (local platform)', () => {
  it('runs a submitted request on the process runtime to Succeeded with events, and Ctrl-C leaves no process behind', async () => {
    platform = spawn('npm', ['start'], {
      cwd: REPO,
      detached: true, // its own process group, like a shell job; SIGINT to the group is Ctrl-C
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        AI_AGENTS_DATA_DIR: dataDir,
        AI_AGENTS_MODEL_URL: modelUrl,
        AI_AGENTS_MODEL_CONTEXT_SIZE: '16384',
        AI_AGENTS_MODEL_MAX_TOKENS: String(MAX_TOKENS),
        AI_AGENTS_LLAMA_THREADS: '2',
        AI_AGENTS_LLAMA_GPU: 'cpu',
      },
    });
    const proc = platform;
    // 'close': npm has exited and every process holding its output pipes too (sh, the platform)
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
      proc.once('close', (code, signal) => r({ code, signal })),
    );
    proc.stdout!.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
    });
    proc.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });

    // 1. wait for the banner
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (stdout.includes('Press Ctrl-C to stop.')) resolve();
      };
      proc.stdout!.on('data', check);
      proc.once('exit', (code) =>
        reject(new Error(`npm start exited (${code}) before it was ready:\n${stderr}`)),
      );
      check();
    });
    const field = (label: string) => {
      const m = new RegExp(`^\\s+${label}:\\s+(\\S+)`, 'm').exec(stdout);
      if (!m) throw new Error(`no "${label}" line in:\n${stdout}`);
      return m[1]!;
    };
    const url = field('Dashboard');
    const loginUrl = field('Sign in');
    const apiKey = field('API key');
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(stdout).toContain(`curl -sS -X POST ${url}/api/jobs/submit`);
    expect(stdout).toContain(`local-llama ← ${modelUrl}`);
    expect(stderr).toMatch(/model: downloaded tiny-llama\.gguf/);
    expect(readFileSync(path.join(dataDir, 'models', 'tiny-llama.gguf')).length).toBeGreaterThan(0);
    // the dashboard is served from the same origin as the API
    const index = await fetch(url);
    expect(index.status).toBe(200);
    expect(await index.text()).toContain('<div id="app"');

    // 2. submit with the printed API key, through the public API
    const submitted = await fetch(`${url}/api/jobs/submit`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ agent: 'developer', prompt: 'Say hello in one sentence.' }),
    });
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as { id: string };
    expect(id).toMatch(/^ir-/);

    // 3. an admin session from the printed sign-in link (the protected routes need one)
    expect((await fetch(`${url}/api/jobs/${id}`)).status).toBe(401);
    const login = await fetch(loginUrl, { redirect: 'manual' });
    expect(login.status).toBe(302);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    expect(cookie).toMatch(/^auth_token=/);
    expect((await fetch(`${url}/local-login?code=wrong`, { redirect: 'manual' })).status).toBe(403);
    const headers = { cookie };

    // 4. watch it run on the process runtime to a terminal phase (the vitest timeout bounds the wait)
    const seen = new Set<number>();
    let detail: {
      status?: {
        phase?: string;
        jobName?: string;
        executor?: string;
        resolvedModel?: string;
        usage?: { outputTokens?: number };
        message?: string;
        eventCount?: number;
      };
    } = {};
    const phases: string[] = [];
    for (;;) {
      for (const pid of descendants(proc.pid!)) seen.add(pid);
      const res = await fetch(`${url}/api/jobs/${id}`, { headers });
      expect(res.status).toBe(200);
      detail = (await res.json()) as typeof detail;
      const phase = detail.status?.phase ?? 'Pending';
      if (phases.at(-1) !== phase) phases.push(phase);
      // ingest folds usage into status at most once a second: it may land just after the phase
      if (['Failed', 'Cancelled', 'TimedOut'].includes(phase)) break;
      if (phase === 'Succeeded' && detail.status?.usage) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(detail.status, JSON.stringify(detail.status)).toMatchObject({
      phase: 'Succeeded',
      executor: 'llama',
      resolvedModel: 'local-llama',
      jobName: `${id}-run`,
      usage: { outputTokens: MAX_TOKENS },
    });
    expect(phases).toContain('Running');
    // it ran as a local process: the process runtime's record of the run
    const run = JSON.parse(
      readFileSync(path.join(dataDir, 'runs', 'ai-agents', `${id}-run`, 'state.json'), 'utf8'),
    );
    expect(run).toMatchObject({ state: 'succeeded', attempts: 1, exitCode: 0, request: id });
    expect(existsSync(path.join(dataDir, 'runs', 'ai-agents', `${id}-run`, 'token'))).toBe(false);

    // 5. its events, as the dashboard streams them
    const stream = await fetch(`${url}/api/jobs/${id}/events`, { headers });
    expect(stream.status).toBe(200);
    const text = await stream.text();
    const blocks = text.split('\n\n').map((block) => ({
      event: /^event: (.*)$/m.exec(block)?.[1],
      data: /^data: (.*)$/m.exec(block)?.[1],
    }));
    const endEvent = blocks.find((b) => b.event === 'end');
    const events = blocks
      .filter((b) => b.data !== undefined && b.event !== 'end')
      .map((b) => JSON.parse(b.data!) as { seq: number; type: string; message?: string });
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('started');
    expect(types.at(-1)).toBe('completed');
    expect(types).toContain('message');
    expect(types).toContain('usage');
    expect(events.some((e) => e.type === 'log' && e.message?.startsWith('model loaded: llama'))).toBe(true);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(JSON.parse(endEvent?.data ?? '{}')).toEqual({ phase: 'Succeeded', lastSeq: events.length });

    // 6. Ctrl-C: SIGINT to the process group; everything it started must be gone
    for (const pid of descendants(proc.pid!)) seen.add(pid);
    expect(seen.size).toBeGreaterThanOrEqual(6); // npm, sh, platform, etcd, apiserver, functions, controller…
    process.kill(-proc.pid!, 'SIGINT');
    const end = await closed;
    // npm re-raises the SIGINT it got once its script has exited; the platform itself exits 0
    expect(end.code === 0 || end.signal === 'SIGINT', JSON.stringify(end)).toBe(true);
    expect(stderr).toMatch(/\[platform\] stopping \(SIGINT\)…\n\[platform\] stopped\n/);
    const left = [...seen].filter(running);
    expect(left, `still running: ${left.join(', ')}`).toEqual([]);
    expect(mentioning(dataDir)).toEqual([]);
  });
});

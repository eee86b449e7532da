// The local platform as a newcomer uses it: `npm start` with a fresh data folder and a model URL
// (a tiny generated GGUF served from loopback), the printed API key to submit through the public
// API, the printed sign-in link for an admin session to watch the request run on the process
// runtime (real executor, real llama.cpp) to Succeeded with its events, then Ctrl-C (SIGINT to
// the process group, as a terminal sends it) and no process left behind.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { tinyLlamaGguf } from '../../executor/testing/gguf.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const MAX_TOKENS = 16;
/** Bodies of the callbacks the platform POSTed to the loopback server. */
const callbacks: string[] = [];

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
const started: Started[] = [];
const dirs: string[] = [];

interface Started {
  proc: ChildProcess;
  /** npm has exited and every process holding its output pipes too (sh, the platform). */
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  out: { stdout: string; stderr: string };
  url: string;
  loginUrl: string;
  apiKey: string;
}

/** `npm start [-- args]` in its own process group (a shell job); resolves once the banner is printed. */
async function npmStart(env: Record<string, string>, args: string[] = []): Promise<Started> {
  const proc = spawn('npm', ['start', ...(args.length ? ['--', ...args] : [])], {
    cwd: REPO,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, AI_AGENTS_LLAMA_THREADS: '2', AI_AGENTS_LLAMA_GPU: 'cpu', ...env },
  });
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    proc.once('close', (code, signal) => r({ code, signal })),
  );
  const out = { stdout: '', stderr: '' };
  const s: Started = { proc, closed, out, url: '', loginUrl: '', apiKey: '' };
  started.push(s);
  proc.stdout!.on('data', (c: Buffer) => {
    out.stdout += c.toString('utf8');
  });
  proc.stderr!.on('data', (c: Buffer) => {
    out.stderr += c.toString('utf8');
  });
  await new Promise<void>((resolve, reject) => {
    const check = () => {
      if (out.stdout.includes('Press Ctrl-C to stop.')) resolve();
    };
    proc.stdout!.on('data', check);
    proc.once('exit', (code) =>
      reject(new Error(`npm start exited (${code}) before it was ready:\n${out.stderr}`)),
    );
    check();
  });
  const field = (label: string) => {
    const m = new RegExp(`^\\s+${label}:\\s+(\\S+)`, 'm').exec(out.stdout);
    if (!m) throw new Error(`no "${label}" line in:\n${out.stdout}`);
    return m[1]!;
  };
  s.url = field('Dashboard');
  s.loginUrl = field('Sign in');
  s.apiKey = field('API key');
  return s;
}

/** Ctrl-C: SIGINT to the process group, as a terminal sends it. */
async function ctrlC(s: Started) {
  process.kill(-s.proc.pid!, 'SIGINT');
  const end = await s.closed;
  // npm re-raises the SIGINT it got once its script has exited; the platform itself exits 0
  expect(end.code === 0 || end.signal === 'SIGINT', JSON.stringify(end)).toBe(true);
  expect(s.out.stderr).toMatch(/\[platform\] stopping \(SIGINT\)…\n\[platform\] stopped\n/);
}

async function submit(s: Started, body: object): Promise<string> {
  const res = await fetch(`${s.url}/api/jobs/submit`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(202);
  const { id } = (await res.json()) as { id: string };
  expect(id).toMatch(/^ir-/);
  return id;
}

/** An admin session from the printed sign-in link: the cookie header for protected routes. */
async function signIn(s: Started): Promise<{ cookie: string }> {
  const login = await fetch(s.loginUrl, { redirect: 'manual' });
  expect(login.status).toBe(302);
  const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
  expect(cookie).toMatch(/^auth_token=/);
  return { cookie };
}

interface Detail {
  status?: {
    phase?: string;
    reason?: string;
    message?: string;
    jobName?: string;
    executor?: string;
    resolvedModel?: string;
    usage?: { outputTokens?: number };
  };
}

/** Polls the request through the API until it is over (the vitest timeout bounds the wait). */
async function untilDone(s: Started, id: string, headers: { cookie: string }, seen: Set<number>) {
  const phases: string[] = [];
  for (;;) {
    for (const pid of descendants(s.proc.pid!)) seen.add(pid);
    const res = await fetch(`${s.url}/api/jobs/${id}`, { headers });
    expect(res.status).toBe(200);
    const detail = (await res.json()) as Detail;
    const phase = detail.status?.phase ?? 'Pending';
    if (phases.at(-1) !== phase) phases.push(phase);
    // ingest folds usage into status at most once a second: it may land just after the phase
    if (['Failed', 'Cancelled', 'TimedOut'].includes(phase)) return { detail, phases };
    if (phase === 'Succeeded' && detail.status?.usage) return { detail, phases };
    await new Promise((r) => setTimeout(r, 250));
  }
}

function expectNothingLeft(seen: Set<number>, dataDir: string) {
  const left = [...seen].filter(running);
  expect(left, `still running: ${left.join(', ')}`).toEqual([]);
  expect(mentioning(dataDir)).toEqual([]);
}

beforeAll(async () => {
  // the composed instructions of a shipped agent are ~9k characters: a context that holds them
  const gguf = tinyLlamaGguf({ contextLength: 16_384 });
  modelServer = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/callback') {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        callbacks.push(body);
        res.writeHead(204).end();
      });
    } else if (req.url === '/models/tiny-llama.gguf')
      res.writeHead(200, { 'content-length': gguf.length }).end(gguf);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => modelServer.listen(0, '127.0.0.1', r));
  const addr = modelServer.address();
  modelUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/models/tiny-llama.gguf`;
});

afterAll(async () => {
  for (const s of started) {
    const { proc } = s;
    if (!proc.pid || proc.exitCode !== null || proc.signalCode !== null) continue;
    // a test failed before its own Ctrl-C: do not leave the platform running
    try {
      process.kill(-proc.pid, 'SIGINT');
    } catch {}
    await Promise.race([s.closed, new Promise((r) => setTimeout(r, 20_000))]);
    try {
      process.kill(-proc.pid, 'SIGKILL');
    } catch {}
  }
  await new Promise((r) => modelServer.close(r));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const freshDataDir = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'ai-agents-platform-e2e-'));
  dirs.push(d);
  return d;
};

describe('npm start (local platform)', () => {
  it('runs a submitted request on the process runtime to Succeeded with events; Ctrl-C leaves no process behind; a second start reuses the data', async () => {
    const dataDir = freshDataDir();
    const env = {
      AI_AGENTS_DATA_DIR: dataDir,
      AI_AGENTS_MODEL_URL: modelUrl,
      AI_AGENTS_MODEL_CONTEXT_SIZE: '16384',
      AI_AGENTS_MODEL_MAX_TOKENS: String(MAX_TOKENS),
      // passed through to the controller: callbacks may reach this machine
      CALLBACK_ALLOWED_HOSTS: '127.0.0.1',
    };
    const p = await npmStart(env);
    const { url } = p;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(p.out.stdout).toContain(`curl -sS -X POST ${url}/api/jobs/submit`);
    expect(p.out.stdout).toContain(`local-llama ← ${modelUrl}`);
    expect(p.out.stderr).toMatch(/model: downloaded tiny-llama\.gguf/);
    expect(readFileSync(path.join(dataDir, 'models', 'tiny-llama.gguf')).length).toBeGreaterThan(0);
    // the dashboard is served from the same origin as the API
    const index = await fetch(url);
    expect(index.status).toBe(200);
    expect(await index.text()).toContain('<div id="app"');

    // submit with the printed API key, through the public API
    const callbackUrl = new URL('/callback', modelUrl).href;
    const id = await submit(p, {
      agent: 'developer',
      prompt: 'Say hello in one sentence.',
      callback: { url: callbackUrl },
    });

    // the protected routes need a session: the printed sign-in link gives an admin one
    expect((await fetch(`${url}/api/jobs/${id}`)).status).toBe(401);
    expect((await fetch(`${url}/local-login?code=wrong`, { redirect: 'manual' })).status).toBe(403);
    const headers = await signIn(p);

    // watch it run on the process runtime
    const seen = new Set<number>();
    const { detail, phases } = await untilDone(p, id, headers, seen);
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

    // its events, as the dashboard streams them
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

    // the result was POSTed to the callback on loopback
    for (let i = 0; i < 100 && callbacks.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(callbacks.map((b) => JSON.parse(b))).toMatchObject([{ name: id, phase: 'Succeeded' }]);

    // Ctrl-C: everything it started must be gone
    for (const pid of descendants(p.proc.pid!)) seen.add(pid);
    expect(seen.size).toBeGreaterThanOrEqual(7); // npm, sh, platform, etcd, apiserver, functions, controller, executor…
    await ctrlC(p);
    expectNothingLeft(seen, dataDir);

    // a second start (no model flag this time) reuses the data: key, model, requests
    const again = await npmStart({ AI_AGENTS_DATA_DIR: dataDir });
    expect(again.apiKey).toBe(p.apiKey);
    expect(again.out.stdout).toContain(`local-llama ← ${modelUrl}`);
    expect(again.out.stderr).toMatch(/model: tiny-llama\.gguf is present/);
    const before = await fetch(`${again.url}/api/jobs/${id}`, { headers: await signIn(again) });
    expect(((await before.json()) as Detail).status?.phase).toBe('Succeeded');
    const seenAgain = new Set(descendants(again.proc.pid!));
    await ctrlC(again);
    expectNothingLeft(seenAgain, dataDir);
  });

  it('a start after the platform was killed (no Ctrl-C) stops what it left running, then works', async () => {
    const dataDir = freshDataDir();
    const first = await npmStart({ AI_AGENTS_DATA_DIR: dataDir, AI_AGENTS_MODEL_URL: '' });
    const seen = new Set(descendants(first.proc.pid!));
    const main = [...seen].find((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('scripts/platform/main.ts');
      } catch {
        return false;
      }
    });
    expect(main).toBeDefined();
    process.kill(main!, 'SIGKILL'); // no chance to clean up: its services keep running
    await first.closed;
    expect(mentioning(dataDir).length).toBeGreaterThan(0);

    const second = await npmStart({ AI_AGENTS_DATA_DIR: dataDir });
    expect(second.out.stderr).toMatch(
      /stopped \d+ processes that an earlier start which did not stop cleanly left running/,
    );
    expect(second.apiKey).toBe(first.apiKey);
    const res = await fetch(`${second.url}/api/jobs`, { headers: await signIn(second) });
    expect(res.status).toBe(200);
    for (const pid of descendants(second.proc.pid!)) seen.add(pid);
    await ctrlC(second);
    expectNothingLeft(seen, dataDir);
  });

  it('uses the cluster of --kubeconfig/--context instead of starting one; with no model configured or an unreachable one it says so and requests fail with that reason', async () => {
    const dataDir = freshDataDir();
    const kubeconfig = inject('kubeconfig');
    const namespace = `platform-e2e-${Date.now().toString(36)}`;
    const p = await npmStart({ AI_AGENTS_DATA_DIR: dataDir, AI_AGENTS_MODEL_URL: '' }, [
      '--kubeconfig',
      kubeconfig,
      '--context',
      'local',
      '--namespace',
      namespace,
    ]);
    expect(p.out.stdout).toContain('cluster from kubeconfig');
    expect(p.out.stdout).toMatch(/Model: +NONE CONFIGURED: start with AI_AGENTS_MODEL_URL=/);
    expect(p.out.stderr).toContain('using the cluster of context local');
    expect(p.out.stderr).not.toContain('starting the local Kubernetes control plane');
    expect(existsSync(path.join(dataDir, 'controlplane'))).toBe(false);

    // the default set landed in that cluster
    const kubectl = (...args: string[]) =>
      execFileSync(
        path.join(inject('kubeBinDir'), 'kubectl'),
        [`--kubeconfig=${kubeconfig}`, '-n', namespace, ...args],
        {
          encoding: 'utf8',
        },
      );
    expect(kubectl('get', 'aiagents', '-o', 'name').trim().split('\n')).toHaveLength(10);
    expect(kubectl('get', 'aiinstructions', '-o', 'name').trim().split('\n')).toHaveLength(14);
    expect(kubectl('get', 'aimodel', 'local-llama', '-o', 'jsonpath={.spec.executor}')).toBe('llama');

    const id = await submit(p, { agent: 'triage', prompt: 'Classify: the login page is blank.' });
    const seen = new Set<number>();
    const { detail } = await untilDone(p, id, await signIn(p), seen);
    expect(detail.status).toMatchObject({ phase: 'Failed', reason: 'ModelNotConfigured' });
    expect(detail.status?.message).toContain('AI_AGENTS_MODEL_URL');
    // the request is in the cluster, not in a local control plane
    expect(kubectl('get', 'inferencerequest', id, '-o', 'jsonpath={.status.phase}')).toBe('Failed');

    for (const pid of descendants(p.proc.pid!)) seen.add(pid);
    await ctrlC(p);
    expectNothingLeft(seen, dataDir);
    // the cluster is not ours to stop
    expect(kubectl('get', 'aimodel', 'local-llama', '-o', 'name').trim()).toBe(
      'aimodel.labrats.work/local-llama',
    );

    // an unreachable model URL: the platform still starts, says why, and requests fail with the reason
    const missingUrl = modelUrl.replace('tiny-llama.gguf', 'missing.gguf');
    const q = await npmStart({ AI_AGENTS_DATA_DIR: dataDir, AI_AGENTS_MODEL_URL: missingUrl }, [
      '--kubeconfig',
      kubeconfig,
      '--context',
      'local',
      '--namespace',
      namespace,
    ]);
    expect(q.out.stdout).toContain(
      `Model:      NOT AVAILABLE: ${missingUrl} could not be fetched (download failed: HTTP 404`,
    );
    const failing = await submit(q, { agent: 'triage', prompt: 'Classify: the login page is blank.' });
    const seenQ = new Set<number>();
    const failed = await untilDone(q, failing, await signIn(q), seenQ);
    expect(failed.detail.status).toMatchObject({ phase: 'Failed', reason: 'ModelDownloadFailed' });
    expect(failed.detail.status?.message).toContain(`the model could not be fetched from ${missingUrl}`);
    for (const pid of descendants(q.proc.pid!)) seenQ.add(pid);
    await ctrlC(q);
    expectNothingLeft(seenQ, dataDir);
  });
});

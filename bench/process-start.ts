// Starting a server process and timing it to its first answers, for the functions benchmarks.
// Node builtins only: bench/start-launcher.ts loads this into a small process of its own.
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { freePort } from '../scripts/controlplane/index.ts';

const ROOT = join(import.meta.dirname, '..');
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

export function httpCall(
  port: number,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent, headers }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        data += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
    });
    req.on('error', reject);
    if (body) req.end(body);
    else req.end();
  });
}

/** A request whose answer needs the apiserver: its answer means the Kubernetes client has loaded. */
export interface FirstCall {
  path: string;
  headers: Record<string, string>;
}

export interface Proc {
  port: number;
  /** ms from spawn to the first 200 on /ready */
  readyMs: number;
  /** ms from spawn to the first call's answer (the Kubernetes client loaded); readyMs if none */
  firstAnswerMs: number;
  stop(): Promise<void>;
}

/** Starts `node ...args`, waits for /ready, then sends `firstCall` (which must be answered 401). */
export async function startProcess(
  args: string[],
  env: Record<string, string>,
  port: number,
  firstCall: FirstCall | null,
  baseEnv: NodeJS.ProcessEnv = process.env,
): Promise<Proc> {
  const t0 = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...baseEnv, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (c) => {
    stderr += c;
  });
  for (;;) {
    if (child.exitCode !== null) throw new Error(`process exited: ${stderr}`);
    const ok = await new Promise<boolean>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/ready', agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
      req.end();
    });
    if (ok) break;
    if (performance.now() - t0 > 20_000) throw new Error(`not ready after 20 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 1));
  }
  const readyMs = performance.now() - t0;
  if (firstCall) {
    const answer = await httpCall(port, 'POST', firstCall.path, '{}', firstCall.headers);
    if (answer.status !== 401) throw new Error(`first call: ${answer.status} ${answer.body}`);
  }
  const firstAnswerMs = performance.now() - t0;
  return {
    port,
    readyMs,
    firstAnswerMs,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export interface StartVariant {
  args: string[];
  env: Record<string, string>;
  /** null: answers only /ready */
  firstCall: FirstCall | null;
  /** starts and exits (`node -e 0`): timed to its exit */
  exits: boolean;
}

export interface StartTimes {
  /** ms from spawn to /ready answering (to the exit, for a variant that exits) */
  ready: number[];
  /** ms from spawn to the first call's answer */
  firstAnswer: number[];
}

/** `rounds` starts of each variant, in turn, from this process. */
export async function timeStarts(
  variants: Record<string, StartVariant>,
  rounds: number,
  baseEnv: NodeJS.ProcessEnv,
): Promise<Record<string, StartTimes>> {
  const times: Record<string, StartTimes> = {};
  for (const name of Object.keys(variants)) times[name] = { ready: [], firstAnswer: [] };
  for (let i = 0; i < rounds; i++) {
    for (const [name, v] of Object.entries(variants)) {
      if (v.exits) {
        const t0 = performance.now();
        await new Promise((resolve, reject) =>
          spawn(process.execPath, v.args, { stdio: 'ignore' }).once('exit', resolve).once('error', reject),
        );
        times[name]!.ready.push(performance.now() - t0);
        continue;
      }
      const p = await startProcess(v.args, v.env, await freePort(), v.firstCall, baseEnv);
      times[name]!.ready.push(p.readyMs);
      times[name]!.firstAnswer.push(p.firstAnswerMs);
      await p.stop();
    }
  }
  return times;
}

/**
 * timeStarts run by bench/start-launcher.ts, a process of its own. By the time the functions
 * benchmark runs, the bench process has held the controller benchmark's caches (over 1 GB
 * resident), and every process it spawns pays for copying that mapping — about 20 ms a start on
 * these machines, none of it the started process's own. The launcher is a bare Node process.
 */
export async function timeStartsInLauncher(
  variants: Record<string, StartVariant>,
  rounds: number,
  baseEnv: NodeJS.ProcessEnv,
): Promise<Record<string, StartTimes>> {
  const launcher = spawn(process.execPath, [join(import.meta.dirname, 'start-launcher.ts')], {
    cwd: ROOT,
    env: baseEnv,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  launcher.stdout!.setEncoding('utf8').on('data', (c) => {
    out += c;
  });
  launcher.stdin!.end(JSON.stringify({ variants, rounds, baseEnv }));
  const code = await new Promise<number | null>((resolve, reject) =>
    launcher.once('exit', resolve).once('error', reject),
  );
  if (code !== 0) throw new Error(`start launcher exited ${code}`);
  return JSON.parse(out) as Record<string, StartTimes>;
}

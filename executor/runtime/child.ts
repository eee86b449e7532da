// Runs an agent CLI: JSON lines from stdout go to a callback, stderr is kept (bounded) for error messages,
// the abort signal terminates the process group politely (SIGTERM, then SIGKILL).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { InterruptedError } from './errors.ts';

export interface ChildOptions {
  cwd: string;
  env: Record<string, string | undefined>;
  signal: AbortSignal;
  onLine: (line: string) => void;
  onStderr?: (line: string) => void;
  killGraceMs?: number;
  /** Written to the child's stdin (then closed); stdin is /dev/null otherwise. */
  input?: string;
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderrTail: string;
}

export function runChild(command: string, args: string[], options: ChildOptions): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    if (options.signal.aborted) return reject(new InterruptedError('interrupted before start'));
    const env = Object.fromEntries(Object.entries(options.env).filter(([, v]) => v !== undefined)) as Record<
      string,
      string
    >;
    const child = spawn(command, args, {
      cwd: options.cwd,
      env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      detached: true,
    });
    if (options.input !== undefined && child.stdin) {
      child.stdin.on('error', () => {}); // a child that exits without reading: reported by its exit
      child.stdin.end(options.input);
    }
    let stderrTail = '';
    let killTimer: NodeJS.Timeout | undefined;
    const kill = (sig: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, sig);
      } catch {
        child.kill(sig);
      }
    };
    const onAbort = () => {
      kill('SIGTERM');
      killTimer = setTimeout(() => kill('SIGKILL'), options.killGraceMs ?? 5000);
      killTimer.unref();
    };
    options.signal.addEventListener('abort', onAbort, { once: true });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.trim() !== '') options.onLine(line);
    });
    createInterface({ input: child.stderr! }).on('line', (line) => {
      stderrTail = `${stderrTail + line}\n`.slice(-8192);
      options.onStderr?.(line);
    });
    child.on('error', (error) => {
      options.signal.removeEventListener('abort', onAbort);
      reject(error);
    });
    child.on('close', (code, signal) => {
      options.signal.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      resolve({ code, signal, stderrTail });
    });
  });
}

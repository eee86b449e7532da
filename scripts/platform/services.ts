// Long-running children of the local platform (controller, functions): each in its own process
// group with its output in a log file; stopped with SIGTERM to the group, SIGKILL after a grace
// period. A child that dies on its own is reported so the platform can stop instead of limping on.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

export interface Service {
  name: string;
  pid: number;
  logFile: string;
  child: ChildProcess;
  /** SIGTERM the group, SIGKILL after graceMs; resolves when the child has exited. */
  stop(graceMs?: number): Promise<void>;
}

export function logTail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals) {
  try {
    process.kill(-pid, signal);
  } catch {
    // gone already
  }
}

/** Every live service, so an unexpected exit of the platform still takes them down. */
const live = new Set<Service>();
process.once('exit', () => {
  for (const s of live) signalGroup(s.pid, 'SIGKILL');
});

export function startService(opts: {
  name: string;
  argv: readonly string[];
  env: Record<string, string>;
  cwd: string;
  logFile: string;
  onUnexpectedExit: (service: Service, code: number | null, signal: NodeJS.Signals | null) => void;
}): Service {
  const fd = openSync(opts.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(opts.argv[0]!, opts.argv.slice(1), {
      cwd: opts.cwd,
      env: opts.env,
      detached: true, // own process group: terminal Ctrl-C reaches the platform, which stops us in order
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  if (!child.pid) throw new Error(`cannot start ${opts.name} (${opts.argv[0]})`);
  let stopping = false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const service: Service = {
    name: opts.name,
    pid: child.pid,
    logFile: opts.logFile,
    child,
    async stop(graceMs = 15_000) {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) {
        signalGroup(child.pid!, 'SIGTERM');
        const force = setTimeout(() => signalGroup(child.pid!, 'SIGKILL'), graceMs);
        await exited;
        clearTimeout(force);
      }
      signalGroup(child.pid!, 'SIGKILL'); // anything it left in its group
      live.delete(service);
    },
  };
  live.add(service);
  child.once('exit', (code, signal) => {
    if (!stopping) {
      live.delete(service);
      signalGroup(child.pid!, 'SIGKILL');
      opts.onUnexpectedExit(service, code, signal);
    }
  });
  return service;
}

// If the platform itself is killed (SIGKILL, a crash), its services outlive it: they run in their
// own process groups. It records what it started in <data>/pids.json; the next start stops those
// processes first (only a process with the same pid AND the same command line, so a recycled pid
// is left alone), then the process runtime cleans up its own executors from its run records.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

interface Entry {
  pid: number;
  command: string;
}

/** pid → (parent pid, command line) of every process, from `ps` (Linux and macOS). */
function processes(): Map<number, { ppid: number; command: string }> {
  const out = execFileSync('ps', ['-A', '-o', 'pid=,ppid=,command='], { encoding: 'utf8' });
  const table = new Map<number, { ppid: number; command: string }>();
  for (const line of out.split('\n')) {
    const m = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line);
    if (m) table.set(Number(m[1]), { ppid: Number(m[2]), command: m[3]!.trim() });
  }
  return table;
}

const file = (dataDir: string) => path.join(dataDir, 'pids.json');

/** Records every descendant of this process (call once the platform is up). */
export function recordChildren(dataDir: string): void {
  const table = processes();
  const entries: Entry[] = [];
  const queue = [process.pid];
  while (queue.length) {
    const parent = queue.shift()!;
    for (const [pid, p] of table) {
      if (p.ppid !== parent) continue;
      if (!p.command.startsWith('ps ')) entries.push({ pid, command: p.command });
      queue.push(pid);
    }
  }
  writeFileSync(file(dataDir), `${JSON.stringify(entries, null, 2)}\n`);
}

export function forgetChildren(dataDir: string): void {
  rmSync(file(dataDir), { force: true });
}

/** Stops what a previous platform on this data folder left running; returns how many. */
export function stopLeftovers(dataDir: string): number {
  if (!existsSync(file(dataDir))) return 0;
  let entries: Entry[];
  try {
    entries = JSON.parse(readFileSync(file(dataDir), 'utf8')) as Entry[];
  } catch {
    entries = [];
  }
  const table = processes();
  let stopped = 0;
  for (const e of entries) {
    if (table.get(e.pid)?.command !== e.command) continue; // gone, or the pid now belongs to something else
    for (const target of [-e.pid, e.pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // not a group leader / already gone
      }
    }
    stopped += 1;
  }
  forgetChildren(dataDir);
  return stopped;
}

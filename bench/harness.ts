// Shared types and helpers for `npm run bench`. A benchmark file is `**/*.bench.ts` exporting
// `default async function (ctx: BenchContext): Promise<BenchRow[]>`; bench/run.ts runs them all.
import { readdirSync, readFileSync } from 'node:fs';
import type { ControlPlane } from '../scripts/controlplane/index.ts';

export interface BenchRow {
  /** What was measured, e.g. "submit → InferenceRequest created". */
  measure: string;
  value: number;
  unit: string;
  /** The same-run baseline it is compared with (omit for absolute measures). */
  baseline?: number;
  baselineName?: string;
  /** value / baseline, or baseline / value when lower is better. */
  ratio?: number;
  /** e.g. ">= 0.80" or "<= 150 ms"; pass is judged by the harness. */
  target?: string;
  pass?: boolean;
}

export interface BenchContext {
  /** A basic control plane (etcd + apiserver, CRDs installed), shared by all benchmarks. */
  controlPlane(): Promise<ControlPlane>;
  /** A full control plane (adds controller-manager, scheduler, kwok). Started on first use. */
  fullControlPlane(): Promise<ControlPlane>;
  /** Raw create rates measured first, for others to compare against. */
  baselines: Map<string, number>;
  log(line: string): void;
}

export function ratioRow(
  measure: string,
  value: number,
  unit: string,
  baselineName: string,
  baseline: number,
  minRatio: number,
): BenchRow {
  const ratio = value / baseline;
  return {
    measure,
    value,
    unit,
    baseline,
    baselineName,
    ratio,
    target: `>= ${minRatio}`,
    pass: ratio >= minRatio,
  };
}

/** The median of `xs` (any order): the middle value, or the mean of the two middle ones. */
export function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` in flight; returns items/s. */
export async function rate(count: number, concurrency: number, task: (i: number) => Promise<unknown>) {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await task(next++);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { perSecond: count / seconds, seconds };
}

export interface SideBySide {
  /** Overall rates: all items of a side over all its time. */
  perSecond: { subject: number; raw: number };
  /** subject/raw rate of each round, in order. */
  roundRatios: number[];
  /** The median of the round ratios: robust against a round that a shared machine disturbed. */
  ratio: number;
}

/**
 * Runs `a` and `b` of one round of a side-by-side measure: `a` first in even rounds, `b` first in
 * odd ones, so that a steady drift of a shared machine favours neither.
 */
export async function inTurn<A, B>(round: number, a: () => Promise<A>, b: () => Promise<B>): Promise<[A, B]> {
  if (round % 2 === 0) {
    const first = await a();
    return [first, await b()];
  }
  const first = await b();
  return [await a(), first];
}

/**
 * Rounds of a side-by-side measure: many short ones. The apiserver's create rate here swings by
 * ±40 % with a period of about 0.6 s, and drifts further over seconds. Measured raw against raw (the
 * same creates on both sides, true ratio 1), rounds of 100 to 1,200 items (15 × 200, 30 × 100,
 * 6 × 500, 7 × 1,200, 9 × 800) gave medians from 0.77 to 1.16 and single rounds from 0.45 to 2.3;
 * 100 rounds of 32 or 50 of 64 gave 0.98 to 1.01 (three tries each), and 60 of 64 inside full
 * benchmark runs 0.93 to 1.03. Four items per worker keep each round's ramp-down (the last workers
 * finishing alone) a small part of it.
 */
export const SIDE_BY_SIDE = { rounds: 60, per: 64 } as const;

/**
 * Measures `subject(i)` against `raw(i)` in alternating rounds of `per` items each, so that the
 * drift of a shared machine falls on both alike (raw first in even rounds: inTurn). Item indexes run from 0 to rounds × per - 1 on each
 * side.
 */
export async function sideBySide(
  rounds: number,
  per: number,
  concurrency: number,
  raw: (i: number) => Promise<unknown>,
  subject: (i: number) => Promise<unknown>,
): Promise<SideBySide> {
  let rawSeconds = 0;
  let subjectSeconds = 0;
  const roundRatios: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const [r, s] = await inTurn(
      round,
      () => rate(per, concurrency, (i) => raw(round * per + i)),
      () => rate(per, concurrency, (i) => subject(round * per + i)),
    );
    rawSeconds += r.seconds;
    subjectSeconds += s.seconds;
    roundRatios.push(s.perSecond / r.perSecond);
  }
  const ratio = median(roundRatios);
  const total = rounds * per;
  return { perSecond: { subject: total / subjectSeconds, raw: total / rawSeconds }, roundRatios, ratio };
}

/** Pids of the control plane's own processes (kube-apiserver, etcd): their cmdline names its data dir. */
export function controlPlanePids(dataDir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.includes(dataDir) && /(kube-apiserver|etcd)\0/.test(cmd)) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

/** CPU time (user + system, ms) the processes used so far; Linux /proc, 100 ticks a second. */
function cpuMs(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone
    }
  }
  return ticks * 10;
}

/** CPU time (ms, all CPUs) the hypervisor has given to other guests so far ("steal", /proc/stat). */
function stolenMs(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/);
  return Number(fields[8] ?? 0) * 10;
}

/** A meter from now: how many ms of CPU the processes (or this one, `'self'`) have used since. */
export function cpuSince(pids: number[] | 'self'): () => number {
  if (pids === 'self') {
    const start = process.cpuUsage();
    return () => {
      const used = process.cpuUsage(start);
      return (used.user + used.system) / 1000;
    };
  }
  const start = cpuMs(pids);
  return () => cpuMs(pids) - start;
}

/**
 * Meters from now for a log line: how many cores each side kept busy (1.0 = one core the whole
 * time), and how many the host gave to other guests — a measure taken while that is high says more
 * about the neighbours than about the code.
 */
export function coresBusy(sides: Record<string, number[] | 'self'>): () => string {
  const began = performance.now();
  const meters = Object.entries(sides).map(([name, pids]) => [name, cpuSince(pids)] as const);
  const stolenAtStart = stolenMs();
  return () => {
    const wallMs = performance.now() - began;
    const cores = (ms: number) => (ms / wallMs).toFixed(2);
    const busy = meters.map(([name, used]) => `${name} ${cores(used())}`).join(', ');
    return `cores busy: ${busy}; stolen by the host ${cores(stolenMs() - stolenAtStart)}`;
  };
}

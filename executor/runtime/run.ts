// One executor run, start to exit code: config → started → workspace → backend → repository → usage →
// completed, with heartbeats throughout and every event spooled then sent. SIGTERM (deadline or cancel)
// or a 409 from ingest (the request ended) stops the backend; the events so far and a failed completion
// are still flushed before the process exits.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import type { Completion } from '../../api/v1alpha1/events.ts';
import {
  EXIT_BAD_REQUEST,
  EXIT_SUCCESS,
  EXIT_TIMED_OUT,
  type ExecutorRequest,
} from '../../api/v1alpha1/executor-contract.ts';
import { MAX_OUTPUT_CHARS } from '../../api/v1alpha1/inferencerequest.ts';
import type { Backend, BackendResult, BackendUsage } from '../backends/types.ts';
import { claimForRequest, requestUidOf } from './claim.ts';
import { loadConfig, resolveIngest, resolvePaths, resolveTimings } from './config.ts';
import {
  BadRequestError,
  EXIT_RETRIABLE,
  errorMessage,
  exitCodeFor,
  InterruptedError,
  TimedOutError,
} from './errors.ts';
import { EventStream, truncate } from './events.ts';
import { finishRepository } from './repository.ts';
import { IngestSender } from './sender.ts';
import { EventSpool } from './spool.ts';
import { prepareWorkspace } from './workspace.ts';

type Env = Record<string, string | undefined>;

export interface RunOptions {
  env?: Env;
  /** Loads the backend for an executor kind (main.ts imports lazily, so an image only needs its own). */
  loadBackend: (kind: ExecutorRequest['executor']) => Promise<Backend>;
  /** Aborting it acts like SIGTERM (tests); main.ts wires the real signals. */
  interrupt?: AbortSignal;
  log?: (line: string) => void;
}

const FINISHED_FILE = 'finished.json';
/** How many attempts this state has seen start (with a workspace that outlives pods: all of them). */
const ATTEMPTS_FILE = 'attempts';
const DEADLINE_MARGIN_MS = 10_000;

export function computeUsage(
  usage: BackendUsage,
  pricing: ExecutorRequest['model']['pricing'],
  durationMs: number,
): NonNullable<Completion['usage']> {
  const costUsd = pricing
    ? (usage.inputTokens * pricing.inputPerMillionTokensUsd +
        usage.outputTokens * pricing.outputPerMillionTokensUsd) /
      1_000_000
    : usage.costUsd;
  const out: NonNullable<Completion['usage']> = {
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    durationMs: Math.round(durationMs),
  };
  if (costUsd !== undefined) out.costUsd = Math.round(costUsd * 1e8) / 1e8;
  return out;
}

export function summarize(result: BackendResult): string {
  const text = (result.summary ?? result.output).trim();
  const paragraph = text.split(/\n\s*\n/)[0] ?? '';
  return truncate(paragraph, 500);
}

function composePrompt(prompt: string, attachments: string[], workspace: string): string {
  if (attachments.length === 0) return prompt;
  const list = attachments.map((a) => `- ${a}`).join('\n');
  return `${prompt}\n\nAttached files (copied into ${path.join(workspace, 'attachments')}):\n${list}`;
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** Resolves when `promise` settles or after `ms`, whichever comes first. */
function settledWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.then(
      () => {},
      () => {},
    ),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Runs the executor and returns the process exit code. */
export async function runExecutor(options: RunOptions): Promise<number> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => process.stderr.write(`[executor] ${line}\n`));
  let paths: ReturnType<typeof resolvePaths>;
  let ingest: ReturnType<typeof resolveIngest>;
  let timings: ReturnType<typeof resolveTimings>;
  try {
    paths = resolvePaths(env);
    ingest = resolveIngest(env);
    timings = resolveTimings(env);
  } catch (error) {
    log(`cannot start: ${errorMessage(error)}`);
    return exitCodeFor(error);
  }

  const uid = await requestUidOf(paths.configDir);
  if (uid !== undefined) {
    try {
      const earlier = await claimForRequest(paths, uid);
      if (earlier)
        log(`cleared the workspace and run state of an earlier request of this name (uid ${earlier})`);
    } catch (error) {
      log(`cannot claim the workspace: ${errorMessage(error)}`);
      return EXIT_RETRIABLE;
    }
  }

  const spool = new EventSpool(path.join(paths.stateDir, 'spool'));
  const attemptsPath = path.join(paths.stateDir, ATTEMPTS_FILE);
  const attempt = (existsSync(attemptsPath) ? Number(readFileSync(attemptsPath, 'utf8')) || 0 : 0) + 1;
  writeFileSync(attemptsPath, String(attempt));
  const sender = new IngestSender(spool, ingest, { ...timings, log });
  const finishedPath = path.join(paths.stateDir, FINISHED_FILE);
  sender.start();

  if (existsSync(finishedPath)) {
    // An earlier attempt finished but may not have delivered everything: deliver, and end the same way.
    const { exitCode } = JSON.parse(readFileSync(finishedPath, 'utf8')) as { exitCode: number };
    log(
      `this request already ran to the end (exit ${exitCode}); delivering ${spool.pending.length} spooled events`,
    );
    const flushed = await sender.flush(timings.flushTimeoutMs);
    await sender.stop();
    spool.close();
    return flushed ? exitCode : EXIT_RETRIABLE;
  }

  const events = new EventStream(spool, () => sender.notify(), log);
  const abort = new AbortController();
  sender.onEnded = () => abort.abort(new InterruptedError('the request has ended (ingest answered 409)'));
  const onInterrupt = () => abort.abort(new InterruptedError('interrupted by SIGTERM (deadline or cancel)'));
  options.interrupt?.addEventListener('abort', onInterrupt, { once: true });
  if (options.interrupt?.aborted) onInterrupt();

  const started = performance.now();
  const resumedAfterSeq = spool.lastIndex > 0 ? spool.base + spool.lastIndex : null;
  events.emit('started', `executor started on ${hostname()}`, {
    executor: env.AI_AGENTS_EXECUTOR ?? null,
    request: ingest.request,
    host: hostname(),
    resumedAfterSeq,
  });
  const heartbeat = setInterval(() => {
    events.emit('heartbeat', undefined, { uptimeMs: Math.round(performance.now() - started) });
  }, timings.heartbeatMs);
  heartbeat.unref();

  let deadline: NodeJS.Timeout | undefined;
  let backendRun: Promise<unknown> | undefined;
  let exitCode: number;
  let completion: Completion;
  let summary: string;
  let maxRetries = 0;
  try {
    const config = await abortable(loadConfig(env), abort.signal);
    const { request } = config;
    maxRetries = request.maxRetries ?? 0;
    // Stop a little before the Job's activeDeadlineSeconds so the report still gets out.
    // (a fifth of a short timeout, so that the agent keeps most of it)
    const marginMs = Math.min(DEADLINE_MARGIN_MS, request.timeoutSeconds * 200);
    const budgetMs = Math.max(1000, request.timeoutSeconds * 1000 - marginMs);
    deadline = setTimeout(
      () =>
        abort.abort(new TimedOutError(`deadline reached: the request's ${request.timeoutSeconds}s timeout`)),
      budgetMs,
    );
    deadline.unref();
    const backend = await abortable(options.loadBackend(request.executor), abort.signal);
    events.emit(
      'log',
      `request ${request.namespace}/${request.name}: agent ${request.agent.name}, model ${request.model.name} (${request.model.model}), backend ${backend.name}`,
      {
        agent: request.agent.name,
        model: request.model.name,
        executor: request.executor,
        promptHash: request.promptHash,
      },
    );
    const workspace = await abortable(prepareWorkspace(request, paths, env, events), abort.signal);
    const running = backend.run({
      request,
      instructions: config.instructions,
      prompt: composePrompt(request.prompt, workspace.attachments, paths.workspace),
      cwd: workspace.cwd,
      paths,
      env,
      events,
      signal: abort.signal,
      log,
    });
    backendRun = running;
    const result = await abortable(running, abort.signal);
    summary = summarize(result);
    const repo = await abortable(finishRepository(request, workspace, env, events, summary), abort.signal);
    const usage = computeUsage(result.usage, request.model.pricing, performance.now() - started);
    events.emit('usage', `${usage.inputTokens} input + ${usage.outputTokens} output tokens`, usage);
    const output = result.output;
    const resultData: NonNullable<Completion['result']> = {
      summary,
      output: truncate(output, MAX_OUTPUT_CHARS),
    };
    if (output.length > MAX_OUTPUT_CHARS) resultData.outputTruncated = true;
    if (repo.pullRequestUrl) resultData.pullRequestUrl = repo.pullRequestUrl;
    if (result.artifacts?.length) resultData.artifacts = result.artifacts.slice(0, 100);
    completion = { outcome: 'succeeded', result: resultData, usage };
    exitCode = EXIT_SUCCESS;
  } catch (caught) {
    const error = abort.signal.aborted ? abort.signal.reason : caught;
    exitCode = exitCodeFor(error);
    summary = truncate(errorMessage(error), 4096);
    events.emit('error', summary, {
      name: error instanceof Error ? error.name : 'Error',
      exitCode,
      // the pod failure policy retries neither a bad request nor a timeout
      retriable: exitCode !== EXIT_BAD_REQUEST && exitCode !== EXIT_TIMED_OUT,
    });
    completion = {
      outcome: 'failed',
      error: summary,
      usage: { durationMs: Math.round(performance.now() - started) },
    };
  } finally {
    clearInterval(heartbeat);
    clearTimeout(deadline);
    options.interrupt?.removeEventListener('abort', onInterrupt);
  }
  // a stopped run: its backend ends first (up to stopGraceMs), so that nothing of the run outlives
  // the executor, writing into the workspace after the report
  if (backendRun && abort.signal.aborted) await settledWithin(backendRun, timings.stopGraceMs);

  // a retriable failure with attempts to come is this attempt's end, not the request's: the next
  // attempt runs again and continues the events; only the last one says `completed`
  const anotherAttempt = exitCode === EXIT_RETRIABLE && attempt <= maxRetries;
  if (anotherAttempt) {
    log(`attempt ${attempt} failed; ${maxRetries + 1 - attempt} more to come`);
  } else {
    writeFileSync(finishedPath, JSON.stringify({ exitCode }));
    events.emit('completed', completion.outcome === 'succeeded' ? summary : `failed: ${summary}`, completion);
  }
  events.close();
  spool.sync();
  const flushed = await sender.flush(timings.flushTimeoutMs);
  await sender.stop();
  spool.close();
  if (sender.rejection) {
    // The outcome never reached the platform: do not let the Job look successful.
    log(sender.rejection);
    return exitCode === EXIT_SUCCESS ? EXIT_RETRIABLE : exitCode;
  }
  if (!flushed) {
    log(`${sender.backlog} events not delivered; they stay spooled in ${spool.dir} for the next attempt`);
    return exitCode === EXIT_SUCCESS ? EXIT_RETRIABLE : exitCode;
  }
  return exitCode;
}

export { BadRequestError };

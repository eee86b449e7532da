// llama backend: llama.cpp through node-llama-cpp on a GGUF under /models, the model's own chat template,
// tokens streamed as message events, exact token usage from llama.cpp's token meter. CPU by default
// detection ('auto': a GPU when one is usable), threads from AI_AGENTS_LLAMA_THREADS.
import { fork } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BadRequestError, InterruptedError } from '../runtime/errors.ts';
import type { LlamaJob, WorkerMessage } from './llama-protocol.ts';
import type { Backend, BackendContext, BackendResult } from './types.ts';

export const LLAMA_ENV = {
  threads: 'AI_AGENTS_LLAMA_THREADS',
  gpu: 'AI_AGENTS_LLAMA_GPU', // auto (default) | cpu | false | cuda | vulkan | metal
  seed: 'AI_AGENTS_LLAMA_SEED',
} as const;

export interface LlamaPreset {
  name: string;
  modelFile?: string;
  contextSize?: number;
  maxTokens: number;
  temperature: number;
  topK?: number;
  topP?: number;
}

export const GENERIC_LLAMA: LlamaPreset = { name: 'llama', maxTokens: 1024, temperature: 0.7 };

const WORKER = fileURLToPath(new URL('./llama-worker.ts', import.meta.url));
const STREAM_FLUSH_MS = 100;
const STREAM_FLUSH_CHARS = 512;

function gpuSetting(value: string | undefined): LlamaJob['gpu'] {
  switch (value ?? 'auto') {
    case 'auto':
    case '':
      return 'auto';
    case 'cpu':
    case 'false':
    case 'none':
      return false;
    case 'cuda':
    case 'vulkan':
    case 'metal':
      return value as 'cuda' | 'vulkan' | 'metal';
    default:
      throw new BadRequestError(`${LLAMA_ENV.gpu} must be auto, cpu, cuda, vulkan or metal`);
  }
}

/** The model file under the models dir; refuses names that leave it. */
export async function resolveModelFile(modelsDir: string, name: string | undefined): Promise<string> {
  if (!name) throw new BadRequestError('the model names no GGUF file (model.modelFile)');
  const file = path.resolve(modelsDir, name);
  const rel = path.relative(modelsDir, file);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new BadRequestError(`model file ${name} is outside ${modelsDir}`);
  }
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile())
    throw new BadRequestError(`model file ${file} does not exist (was the model cache initialised?)`);
  return file;
}

export class LlamaBackend implements Backend {
  readonly name: string;
  readonly preset: LlamaPreset;

  constructor(preset: LlamaPreset = GENERIC_LLAMA) {
    this.preset = preset;
    this.name = preset.name;
  }

  async run(ctx: BackendContext): Promise<BackendResult> {
    const { request, env } = ctx;
    const model = request.model;
    const fileName =
      model.modelFile ?? (model.model.endsWith('.gguf') ? model.model : undefined) ?? this.preset.modelFile;
    const modelPath = await resolveModelFile(ctx.paths.modelsDir, fileName);
    const threads = Number(env[LLAMA_ENV.threads] || availableParallelism());
    if (!Number.isInteger(threads) || threads < 1)
      throw new BadRequestError(`${LLAMA_ENV.threads} must be a positive integer`);
    const job: LlamaJob = {
      modelPath,
      systemPrompt: ctx.instructions.trim() || 'You are a helpful assistant.',
      prompt: ctx.prompt,
      contextSize: model.contextSize ?? this.preset.contextSize,
      maxTokens: model.maxTokens ?? this.preset.maxTokens,
      temperature: model.temperature ?? this.preset.temperature,
      topK: this.preset.topK,
      topP: this.preset.topP,
      seed: env[LLAMA_ENV.seed] ? Number(env[LLAMA_ENV.seed]) : undefined,
      threads,
      gpu: gpuSetting(env[LLAMA_ENV.gpu]),
    };
    ctx.events.emit(
      'log',
      `loading ${path.basename(modelPath)} with llama.cpp (${threads} threads, gpu ${job.gpu})`,
      {
        modelFile: modelPath,
        threads,
        gpu: job.gpu,
      },
    );
    return runWorker(job, ctx);
  }
}

function runWorker(job: LlamaJob, ctx: BackendContext): Promise<BackendResult> {
  return new Promise((resolve, reject) => {
    const child = fork(WORKER, [], {
      execArgv: [],
      env: {
        ...Object.fromEntries(Object.entries(ctx.env).filter(([, v]) => v !== undefined)),
        NODE_LLAMA_CPP_SKIP_DOWNLOAD: 'true',
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let stderr = '';
    const keep = (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-4096);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    let loaded = false;
    let settled = false;
    let pending = '';
    let pendingTokens = 0;
    let streamed = 0;
    let lastFlush = Date.now();
    const flush = () => {
      if (pending === '' && pendingTokens === 0) return;
      ctx.events.emit('message', pending, { role: 'assistant', delta: true, tokens: pendingTokens });
      pending = '';
      pendingTokens = 0;
      lastFlush = Date.now();
    };
    const timer = setInterval(() => {
      if (Date.now() - lastFlush >= STREAM_FLUSH_MS) flush();
    }, STREAM_FLUSH_MS);
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearInterval(timer);
      ctx.signal.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => {
      child.kill('SIGKILL');
      finish(() => reject(ctx.signal.reason ?? new InterruptedError('interrupted')));
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    child.on('message', (message: WorkerMessage) => {
      switch (message.type) {
        case 'loaded':
          loaded = true;
          ctx.events.emit(
            'log',
            `model loaded: ${message.info.architecture} ${message.info.name}, context ${message.info.contextSize}`,
            {
              ...message.info,
            },
          );
          break;
        case 'text':
          pending += message.text;
          if (pending.length >= STREAM_FLUSH_CHARS) flush();
          break;
        case 'tokens':
          pendingTokens += message.count;
          streamed += message.count;
          break;
        case 'done':
          flush();
          finish(() =>
            resolve({
              output: message.output,
              usage: message.usage,
              artifacts: [],
              summary: undefined,
            }),
          );
          ctx.log(`llama: ${streamed} tokens streamed, chat wrapper ${message.chatWrapper}`);
          break;
        case 'error':
          flush();
          finish(() =>
            reject(
              message.stage === 'load'
                ? new BadRequestError(`the model file cannot be loaded: ${message.message}`)
                : new Error(`llama.cpp failed while generating: ${message.message}`),
            ),
          );
          break;
      }
    });
    child.on('error', (error) => finish(() => reject(error)));
    child.send({ type: 'run', ...job });
    child.on('exit', (code, signal) => {
      flush();
      const tail = stderr.trim().split('\n').slice(-3).join(' | ');
      finish(() =>
        reject(
          loaded
            ? new Error(`llama.cpp worker died while generating (${signal ?? `exit ${code}`}): ${tail}`)
            : new BadRequestError(
                `the model file cannot be loaded: llama.cpp aborted (${signal ?? `exit ${code}`}): ${tail}`,
              ),
        ),
      );
    });
  });
}

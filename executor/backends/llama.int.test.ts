// Real llama.cpp (node-llama-cpp) on a tiny random-weight GGUF the test writes.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { completion, type ExecutorEvent } from '../../api/v1alpha1/events.ts';
import { EXIT_BAD_REQUEST } from '../../api/v1alpha1/executor-contract.ts';
import { runExecutor } from '../runtime/run.ts';
import { baseRequest, createFixture } from '../testing/fixture.ts';
import { tinyLlamaGguf, writeTinyLlamaGguf } from '../testing/gguf.ts';
import { startIngestReceiver } from '../testing/ingest-receiver.ts';
import { loadBackend } from './index.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const SYSTEM = 'Be brief.';
const PROMPT = 'Count to three.';
const MAX_TOKENS = 24;

async function runLlama(write: (file: string) => Promise<unknown>, executor: 'llama' | 'bonsai' = 'llama') {
  const ingest = await startIngestReceiver({ request: 'req-1' });
  const request = baseRequest({
    executor,
    prompt: PROMPT,
    model: {
      name: 'tiny',
      provider: 'llamacpp',
      model: 'tiny',
      modelFile: 'tiny.gguf',
      maxTokens: MAX_TOKENS,
      temperature: 0,
    },
  });
  const fx = await createFixture({
    request,
    instructions: SYSTEM,
    ingestUrl: ingest.url,
    ingestToken: ingest.token,
    env: { AI_AGENTS_LLAMA_THREADS: '2', AI_AGENTS_LLAMA_GPU: 'cpu' },
  });
  cleanups.push(
    () => ingest.close(),
    () => fx.cleanup(),
  );
  const file = path.join(fx.modelsDir, 'tiny.gguf');
  await write(file);
  const code = await runExecutor({ env: fx.env, loadBackend, log: () => {} });
  return { code, events: ingest.events, file };
}

const deltas = (events: ExecutorEvent[]) =>
  events.filter((e) => e.type === 'message' && e.data?.delta === true);

describe('llama backend (real llama.cpp)', () => {
  it('loads a generated GGUF, streams tokens as message events and reports exact usage', async () => {
    const first = await runLlama((f) => writeTinyLlamaGguf(f));
    expect(first.code).toBe(0);
    const events = first.events;
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.find((e) => e.message?.startsWith('model loaded'))?.data).toMatchObject({
      architecture: 'llama',
      gpu: false,
    });
    const streamed = deltas(events);
    expect(streamed.length).toBeGreaterThan(0);
    const streamedTokens = streamed.reduce((n, e) => n + (e.data!.tokens as number), 0);
    const done = completion.parse(events.at(-1)!.data);
    expect(done.outcome).toBe('succeeded');
    // the zeroed end-of-generation rows make greedy decoding run to maxTokens exactly
    expect(done.usage!.outputTokens).toBe(MAX_TOKENS);
    expect(streamedTokens).toBe(MAX_TOKENS);
    expect(streamed.map((e) => e.message).join('')).toBe(done.result!.output);
    expect(done.result!.output!.length).toBeGreaterThan(0);

    // input tokens: exactly the ChatML rendering of system + user message, tokenized by the same model
    const { getLlama } = await import('node-llama-cpp');
    const llama = await getLlama({ gpu: false, build: 'never', maxThreads: 2 });
    const model = await llama.loadModel({ modelPath: first.file });
    const rendered = `<|im_start|>system\n${SYSTEM}<|im_end|>\n<|im_start|>user\n${PROMPT}<|im_end|>\n<|im_start|>assistant\n`;
    const expectedInput = model.tokenize(rendered, true).length;
    await model.dispose();
    await llama.dispose();
    expect(done.usage!.inputTokens).toBe(expectedInput);
    const usageEvent = events.find((e) => e.type === 'usage')!;
    expect(usageEvent.data).toMatchObject({ inputTokens: expectedInput, outputTokens: MAX_TOKENS });

    // greedy decoding is deterministic: a second run gives the same text and counts
    const second = await runLlama((f) => writeTinyLlamaGguf(f));
    const again = completion.parse(second.events.at(-1)!.data);
    expect(again.result!.output).toBe(done.result!.output);
    expect(again.usage).toMatchObject({ inputTokens: expectedInput, outputTokens: MAX_TOKENS });
  });

  it('the bonsai executor is the llama backend with its preset (request settings win)', async () => {
    const run = await runLlama((f) => writeTinyLlamaGguf(f), 'bonsai');
    expect(run.code).toBe(0);
    expect(completion.parse(run.events.at(-1)!.data).usage!.outputTokens).toBe(MAX_TOKENS);
    expect(run.events.find((e) => e.type === 'log' && e.message?.includes('backend bonsai'))).toBeDefined();
  });

  const corrupt: [string, (file: string) => Promise<unknown>, RegExp][] = [
    ['an empty file', (f) => writeFile(f, ''), /cannot be loaded: Invalid GGUF magic/],
    [
      'a file with a bad magic',
      (f) => writeFile(f, Buffer.concat([Buffer.from('GGUX'), tinyLlamaGguf().subarray(4)])),
      /cannot be loaded: Invalid GGUF magic.*GGUX/,
    ],
    [
      'random bytes',
      (f) => writeFile(f, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251))),
      /cannot be loaded: Invalid GGUF magic/,
    ],
    [
      'a truncated file',
      (f) => writeFile(f, tinyLlamaGguf().subarray(0, 200_000)),
      /cannot be loaded: .*not within the file bounds/,
    ],
    [
      'a file without llama.feed_forward_length (llama.cpp aborts)',
      (f) => writeTinyLlamaGguf(f, { omit: ['llama.feed_forward_length'] }),
      /cannot be loaded: llama.cpp aborted \(SIGABRT\).*GGML_ASSERT/,
    ],
  ];
  it.each(corrupt)('%s gives a clear non-retriable error', async (_, write, pattern) => {
    const run = await runLlama(write);
    expect(run.code).toBe(EXIT_BAD_REQUEST);
    const error = run.events.find((e) => e.type === 'error')!;
    expect(error.message).toMatch(pattern);
    expect(error.data).toMatchObject({ retriable: false, exitCode: 42 });
    expect(completion.parse(run.events.at(-1)!.data).outcome).toBe('failed');
  });

  it('a missing model file is a bad request', async () => {
    const run = await runLlama(async () => {});
    expect(run.code).toBe(EXIT_BAD_REQUEST);
    expect(run.events.find((e) => e.type === 'error')!.message).toMatch(/does not exist/);
  });
});

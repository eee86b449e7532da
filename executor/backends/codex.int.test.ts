// The real Codex CLI against a local fake OpenAI Responses API: a function call that really runs in the
// workspace, normalized into events that arrive at an ingest.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { completion } from '../../api/v1alpha1/events.ts';
import { runExecutor } from '../runtime/run.ts';
import {
  afterFunctionOutput,
  type FakeResponse,
  type ResponsesBody,
  startFakeOpenAI,
} from '../testing/fake-openai.ts';
import { baseRequest, createFixture } from '../testing/fixture.ts';
import { startIngestReceiver } from '../testing/ingest-receiver.ts';
import { loadBackend } from './index.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const INSTRUCTIONS = 'You are the ai-agents codex developer. Marker: CODEX-INSTR-91c2.';
const COMMAND = 'echo hello from codex > hello.txt && cat hello.txt';

function script(body: ResponsesBody): FakeResponse {
  if (afterFunctionOutput(body)) {
    return {
      output: [{ type: 'message', text: 'Wrote hello.txt.' }],
      inputTokens: 1200,
      outputTokens: 8,
      cachedTokens: 1000,
    };
  }
  return {
    output: [{ type: 'function_call', name: 'exec_command', arguments: { cmd: COMMAND } }],
    inputTokens: 1000,
    outputTokens: 30,
  };
}

describe('codex backend (real Codex CLI, fake Responses API)', () => {
  it('runs a function call that really executes; events, usage and the final report arrive at ingest', async () => {
    const api = await startFakeOpenAI(script);
    const ingest = await startIngestReceiver({ request: 'req-1' });
    const fx = await createFixture({
      request: baseRequest({
        executor: 'codex',
        prompt: 'Create hello.txt with a greeting.',
        agent: {
          name: 'codex-developer',
          role: 'codex-developer',
          repositoryAccess: 'read',
          sandbox: 'workspace-write',
        },
        model: { name: 'gpt', provider: 'openai', model: 'gpt-5.5', baseUrl: api.url },
      }),
      instructions: INSTRUCTIONS,
      ingestUrl: ingest.url,
      ingestToken: ingest.token,
      env: { AI_AGENTS_EXECUTOR: 'codex', OPENAI_API_KEY: 'sk-test-openai' },
    });
    cleanups.push(
      () => api.close(),
      () => ingest.close(),
      () => fx.cleanup(),
    );

    const code = await runExecutor({ env: fx.env, loadBackend, log: () => {} });
    const events = ingest.events;
    expect(
      code,
      JSON.stringify(events.filter((e) => e.type === 'error' || e.type === 'log').map((e) => e.message)),
    ).toBe(0);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));

    expect(api.requests).toHaveLength(2);
    expect(api.requests[0]!.body.model).toBe('gpt-5.5');
    expect(api.requests[0]!.headers.authorization).toBe('Bearer sk-test-openai');
    expect(JSON.stringify(api.requests[0]!.body.input)).toContain('CODEX-INSTR-91c2');

    expect(readFileSync(path.join(fx.workspace, 'hello.txt'), 'utf8')).toBe('hello from codex\n');
    const call = events.find((e) => e.type === 'tool_call')!;
    expect(String((call.data!.input as { command: string }).command)).toContain('echo hello from codex');
    const result = events.find((e) => e.type === 'tool_result')!;
    expect(result.data).toMatchObject({ id: call.data!.id, exitCode: 0, isError: false });
    expect(result.message).toContain('hello from codex');
    expect(events.filter((e) => e.type === 'message').map((e) => e.message)).toEqual(['Wrote hello.txt.']);

    const done = completion.parse(events.at(-1)!.data);
    expect(done.outcome).toBe('succeeded');
    expect(done.result!.output).toBe('Wrote hello.txt.');
    expect(done.usage).toMatchObject({ inputTokens: 2200, outputTokens: 38 });
  });

  it('a prompt too long for one argument reaches the model through stdin', async () => {
    const api = await startFakeOpenAI(() => ({
      output: [{ type: 'message', text: 'Read it all.' }],
      inputTokens: 40_000,
      outputTokens: 3,
    }));
    const ingest = await startIngestReceiver({ request: 'req-1' });
    const long = `${'lorem ipsum '.repeat(12_000)}END-OF-LONG-PROMPT-7a2b`;
    const fx = await createFixture({
      request: baseRequest({
        executor: 'codex',
        prompt: long,
        agent: { name: 'codex-developer', role: 'codex-developer', repositoryAccess: 'read' },
        model: { name: 'gpt', provider: 'openai', model: 'gpt-5.5', baseUrl: api.url },
      }),
      ingestUrl: ingest.url,
      ingestToken: ingest.token,
      env: { AI_AGENTS_EXECUTOR: 'codex', OPENAI_API_KEY: 'sk-test-openai' },
    });
    cleanups.push(
      () => api.close(),
      () => ingest.close(),
      () => fx.cleanup(),
    );
    const code = await runExecutor({ env: fx.env, loadBackend, log: () => {} });
    expect(code).toBe(0);
    expect(JSON.stringify(api.requests[0]!.body.input)).toContain('END-OF-LONG-PROMPT-7a2b');
    expect(completion.parse(ingest.events.at(-1)!.data).result!.output).toBe('Read it all.');
  });
});

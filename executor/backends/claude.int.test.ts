// The real Claude Code CLI against a local fake Anthropic Messages API: a scripted turn with a tool use
// that really runs, normalized into events that arrive at an ingest.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { completion } from '../../api/v1alpha1/events.ts';
import { runExecutor } from '../runtime/run.ts';
import { afterToolResult, type FakeTurn, startFakeAnthropic, systemText } from '../testing/fake-anthropic.ts';
import { baseRequest, createFixture } from '../testing/fixture.ts';
import { startIngestReceiver } from '../testing/ingest-receiver.ts';
import { loadBackend } from './index.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const INSTRUCTIONS = 'You are the ai-agents test developer. Marker: INSTRUCTIONS-7f3a.';
const COMMAND = 'echo hello from the tool > hello.txt && cat hello.txt';

function toolTurn(body: Parameters<typeof afterToolResult>[0]): FakeTurn {
  if (afterToolResult(body))
    return {
      blocks: [{ type: 'text', text: 'Created hello.txt; it says hello.' }],
      inputTokens: 150,
      outputTokens: 12,
    };
  return {
    blocks: [
      { type: 'text', text: 'I will create the file.' },
      { type: 'tool_use', name: 'Bash', input: { command: COMMAND, description: 'Create hello.txt' } },
    ],
    inputTokens: 100,
    outputTokens: 20,
  };
}

async function setup(script: (body: Parameters<typeof afterToolResult>[0], n: number) => FakeTurn) {
  const api = await startFakeAnthropic(script);
  const ingest = await startIngestReceiver({ request: 'req-1' });
  const fx = await createFixture({
    request: baseRequest({
      executor: 'claude',
      prompt: 'Create hello.txt containing a greeting.',
      agent: {
        name: 'developer',
        role: 'developer',
        repositoryAccess: 'read',
        maxTurns: 5,
        allowedTools: ['Bash'],
      },
      model: {
        name: 'sonnet',
        provider: 'anthropic',
        model: 'claude-sonnet-4-5',
        pricing: { inputPerMillionTokensUsd: 3, outputPerMillionTokensUsd: 15 },
      },
    }),
    instructions: INSTRUCTIONS,
    ingestUrl: ingest.url,
    ingestToken: ingest.token,
    env: {
      AI_AGENTS_EXECUTOR: 'claude',
      ANTHROPIC_BASE_URL: api.url,
      ANTHROPIC_API_KEY: 'sk-ant-test-key',
      CLAUDE_CODE_MAX_RETRIES: '0',
    },
  });
  cleanups.push(
    () => api.close(),
    () => ingest.close(),
    () => fx.cleanup(),
  );
  return { api, ingest, fx };
}

describe('claude backend (real Claude Code CLI, fake Messages API)', () => {
  it('runs a scripted turn with a tool use; events, usage and the final report arrive at ingest', async () => {
    const { api, ingest, fx } = await setup(toolTurn);
    const code = await runExecutor({ env: fx.env, loadBackend, log: () => {} });
    const events = ingest.events;
    expect(code, JSON.stringify(events.filter((e) => e.type === 'error'))).toBe(0);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));

    // the CLI called the fake with our instructions in the system prompt and the model we asked for
    const turns = api.requests.filter(
      (r) => r.body.messages.length > 0 && r.body.tools?.some((t) => t.name === 'Bash'),
    );
    expect(turns).toHaveLength(2);
    expect(systemText(turns[0]!.body)).toContain('INSTRUCTIONS-7f3a');
    expect(turns[0]!.body.model).toBe('claude-sonnet-4-5');
    expect(turns[0]!.headers['x-api-key']).toBe('sk-ant-test-key');

    // the tool really ran in the workspace
    expect(readFileSync(path.join(fx.workspace, 'hello.txt'), 'utf8')).toBe('hello from the tool\n');

    const call = events.find((e) => e.type === 'tool_call')!;
    expect(call.data).toMatchObject({ name: 'Bash', input: { command: COMMAND } });
    const result = events.find((e) => e.type === 'tool_result')!;
    expect(result.data).toMatchObject({ id: call.data!.id, name: 'Bash', isError: false });
    expect(result.message).toContain('hello from the tool');
    const texts = events.filter((e) => e.type === 'message').map((e) => e.message);
    expect(texts).toEqual(['I will create the file.', 'Created hello.txt; it says hello.']);
    expect(events.findIndex((e) => e.type === 'tool_call')).toBeLessThan(
      events.findIndex((e) => e.type === 'tool_result'),
    );

    const done = completion.parse(events.at(-1)!.data);
    expect(done.outcome).toBe('succeeded');
    expect(done.result!.output).toBe('Created hello.txt; it says hello.');
    expect(done.usage).toMatchObject({
      inputTokens: 250,
      outputTokens: 32,
      costUsd: (250 * 3 + 32 * 15) / 1e6,
    });
    expect(events.find((e) => e.type === 'usage')!.data).toMatchObject({
      inputTokens: 250,
      outputTokens: 32,
    });
    expect(existsSync(path.join(fx.stateDir, 'claude-home'))).toBe(true);
  });

  it('an unreachable model API fails the run as retriable, with the CLI error reported', async () => {
    const { api, ingest, fx } = await setup(toolTurn);
    await api.close();
    const code = await runExecutor({ env: fx.env, loadBackend, log: () => {} });
    expect(code).toBe(1);
    const error = ingest.events.find((e) => e.type === 'error')!;
    // the CLI reports this error with subtype "success": the message must not say so
    expect(error.message).toMatch(/^claude failed: API Error: Connection refused/);
    expect(error.data).toMatchObject({ retriable: true });
  });

  it('a prompt too long for one argument reaches the model through stdin', async () => {
    const { api, fx } = await setup(() => ({
      blocks: [{ type: 'text', text: 'Read it all.' }],
      inputTokens: 40_000,
      outputTokens: 3,
    }));
    const long = `${'lorem ipsum '.repeat(12_000)}END-OF-LONG-PROMPT-5d1e`;
    await fx.writeRequest(
      baseRequest({
        executor: 'claude',
        prompt: long,
        agent: { name: 'developer', role: 'developer', repositoryAccess: 'read' },
        model: { name: 'sonnet', provider: 'anthropic', model: 'claude-sonnet-4-5' },
      }),
    );
    const code = await runExecutor({ env: fx.env, loadBackend, log: () => {} });
    expect(code).toBe(0);
    const user = JSON.stringify(api.requests.at(-1)!.body.messages);
    expect(user).toContain('END-OF-LONG-PROMPT-5d1e');
    expect(user).toContain('lorem ipsum lorem ipsum');
  });
});

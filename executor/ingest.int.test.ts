// The executor against the real ingest (functions/ingest over HTTP, backed by the real apiserver):
// the real Claude Code CLI on a fake Messages API, an ingest outage in the middle of the run, and a
// SIGTERM to the executor process while the model API hangs.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completion, type ExecutorEvent } from '../api/v1alpha1/events.ts';
import { EXIT_INTERRUPTED } from '../api/v1alpha1/executor-contract.ts';
import { ingestKey, mintIngestToken } from '../api/v1alpha1/ingest-token.ts';
import { type Served, serveFunctions } from '../functions/testing/serve.ts';
import { functionsKubeConfig } from '../functions/testing/service-account.ts';
import { createTestNamespace, eventually, type TestNamespace } from '../test/kube.ts';
import { loadBackend } from './backends/index.ts';
import { runExecutor } from './runtime/run.ts';
import { afterToolResult, type FakeAnthropic, startFakeAnthropic } from './testing/fake-anthropic.ts';
import { baseRequest, createFixture } from './testing/fixture.ts';
import { startToggleProxy } from './testing/toggle-proxy.ts';

const SECRET = 'executor-int-ingest-secret-0123456789abcdef';
const GROUP = { group: 'labrats.work', version: 'v1alpha1', plural: 'inferencerequests' };
const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

let ns: TestNamespace;
let fn: Served;

beforeAll(async () => {
  ns = await createTestNamespace('exec');
  await eventually('InferenceRequest storage ready', async () => {
    try {
      await ns.custom.listNamespacedCustomObject({ ...GROUP, namespace: ns.name });
      return true;
    } catch {
      return undefined;
    }
  });
  fn = await serveFunctions(await functionsKubeConfig(ns), ns.name, {
    INGEST_TOKEN_SECRET: SECRET,
    SUBMIT_API_KEYS: 'ci:ci-key-0123456789abcdef',
    STATUS_FLUSH_INTERVAL_MS: '200',
  });
});
afterAll(async () => {
  await fn?.close();
  await ns?.cleanup();
});

async function createRequest(name: string) {
  const obj = (await ns.custom.createNamespacedCustomObject({
    ...GROUP,
    namespace: ns.name,
    body: {
      apiVersion: 'labrats.work/v1alpha1',
      kind: 'InferenceRequest',
      metadata: { name },
      spec: { agent: 'developer', prompt: 'Create hello.txt containing a greeting.' },
    },
  })) as { metadata: { uid: string } };
  const token = await mintIngestToken(
    ingestKey(SECRET),
    { namespace: ns.name, request: name, uid: obj.metadata.uid },
    new Date(Date.now() + 3600_000),
  );
  return { uid: obj.metadata.uid, token };
}

function ingestLog(name: string): ExecutorEvent[] {
  const text = readFileSync(path.join(fn.workspace, name, 'events.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ExecutorEvent);
}

function spooled(stateDir: string) {
  return readFileSync(path.join(stateDir, 'spool', 'events.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { index: number; type: string; message?: string });
}

async function claudeFixture(name: string, ingestUrl: string, token: string, api: FakeAnthropic) {
  return createFixture({
    request: baseRequest({
      name,
      namespace: ns.name,
      executor: 'claude',
      prompt: 'Create hello.txt containing a greeting.',
      agent: {
        name: 'developer',
        role: 'developer',
        repositoryAccess: 'read',
        maxTurns: 5,
        allowedTools: ['Bash'],
      },
      model: { name: 'sonnet', provider: 'anthropic', model: 'claude-sonnet-4-5' },
    }),
    requestName: name,
    instructions: 'You are a test developer.',
    ingestUrl,
    ingestToken: token,
    env: {
      AI_AGENTS_NAMESPACE: ns.name,
      AI_AGENTS_EXECUTOR: 'claude',
      ANTHROPIC_BASE_URL: api.url,
      ANTHROPIC_API_KEY: 'sk-ant-test',
      CLAUDE_CODE_MAX_RETRIES: '0',
    },
  });
}

describe('executor → real ingest', () => {
  it('claude run with ingest down in the middle: every event arrives once, in order, and folds into status', async () => {
    const name = 'exec-outage';
    const { token } = await createRequest(name);
    const proxy = await startToggleProxy(fn.url);
    let refusedWhileDown = 0;
    const api = await startFakeAnthropic((body) => {
      if (afterToolResult(body)) {
        return { blocks: [{ type: 'text', text: 'Created hello.txt.' }], inputTokens: 150, outputTokens: 12 };
      }
      proxy.down = true; // ingest goes away while the tool call and its result happen
      const watch = setInterval(() => {
        if (proxy.refused < 3) return; // several deliveries failed: bring ingest back
        clearInterval(watch);
        refusedWhileDown = proxy.refused;
        proxy.down = false;
      }, 20);
      return {
        blocks: [
          { type: 'text', text: 'I will create the file.' },
          { type: 'tool_use', name: 'Bash', input: { command: 'echo hi > hello.txt && cat hello.txt' } },
        ],
        inputTokens: 100,
        outputTokens: 20,
      };
    });
    const fx = await claudeFixture(name, `${proxy.url}/api/events/ingest`, token, api);
    try {
      const code = await runExecutor({ env: fx.env, loadBackend, log: () => {} });
      expect(code).toBe(0);
      expect(refusedWhileDown).toBeGreaterThanOrEqual(3);
      const log = ingestLog(name);
      const mine = spooled(fx.stateDir);
      // exactly what the executor emitted, each once, in order, gap-free
      expect(log.map((e) => e.seq)).toEqual(mine.map((_, i) => i + 1));
      expect(log.map((e) => [e.type, e.message])).toEqual(mine.map((e) => [e.type, e.message]));
      expect(log.map((e) => e.type)).toEqual(
        expect.arrayContaining(['started', 'tool_call', 'tool_result', 'usage', 'completed']),
      );
      const done = completion.parse(log.at(-1)!.data);
      expect(done.result!.output).toBe('Created hello.txt.');
      // the ingest folded the final report into the request's status
      const status = await eventually('status folded', async () => {
        const ir = (await ns.custom.getNamespacedCustomObject({ ...GROUP, namespace: ns.name, name })) as {
          status?: {
            result?: { output?: string };
            usage?: { inputTokens?: number; outputTokens?: number };
            eventCount?: number;
          };
        };
        return ir.status?.result?.output ? ir.status : undefined;
      });
      expect(status.result!.output).toBe('Created hello.txt.');
      expect(status.usage).toMatchObject({ inputTokens: 250, outputTokens: 32 });
      expect(status.eventCount).toBe(log.length);
    } finally {
      await api.close();
      await proxy.close();
      await fx.cleanup();
    }
  });

  it('SIGTERM to the executor process mid-run: the events so far and a failed completion are flushed, exit 143', async () => {
    const name = 'exec-sigterm';
    const { token } = await createRequest(name);
    const api = await startFakeAnthropic((body) => {
      if (afterToolResult(body)) return { blocks: [], inputTokens: 0, outputTokens: 0, hang: true };
      return {
        blocks: [{ type: 'tool_use', name: 'Bash', input: { command: 'echo step one' } }],
        inputTokens: 100,
        outputTokens: 20,
      };
    });
    const fx = await claudeFixture(name, `${fn.url}/api/events/ingest`, token, api);
    try {
      const child = spawn(process.execPath, [MAIN], {
        env: fx.env as NodeJS.ProcessEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      // the model API now hangs on the turn after the tool result: the run is in the middle
      await eventually('tool result ingested', () => {
        try {
          return ingestLog(name).some((e) => e.type === 'tool_result') ? true : undefined;
        } catch {
          return undefined;
        }
      });
      await eventually('second model turn requested', () =>
        api.requests.some((r) => afterToolResult(r.body)) ? true : undefined,
      );
      child.kill('SIGTERM');
      expect(await exited, stderr).toBe(EXIT_INTERRUPTED);
      const log = ingestLog(name);
      expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i + 1));
      expect(log.map((e) => e.type)).toEqual(spooled(fx.stateDir).map((e) => e.type));
      expect(log.find((e) => e.type === 'error')!.message).toMatch(/SIGTERM/);
      const done = completion.parse(log.at(-1)!.data);
      expect(done.outcome).toBe('failed');
      expect(done.error).toMatch(/SIGTERM/);
    } finally {
      await api.close();
      await fx.cleanup();
    }
  });
});

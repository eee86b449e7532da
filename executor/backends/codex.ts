// codex backend: the Codex CLI in non-interactive JSON mode (`codex exec --json`), model and sandbox mode
// from the agent, a private CODEX_HOME whose config.toml points at the provider (baseUrl from the model or
// OPENAI_BASE_URL, which the CLI itself ignores) and turns off analytics and plugins (no outside calls),
// and whose AGENTS.md carries the composed instructions.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runChild } from '../runtime/child.ts';
import { agentEnv, cliPath, promptOnStdin } from './cli.ts';
import type { Backend, BackendContext, BackendResult } from './types.ts';

export const CODEX_ENV = { bin: 'AI_AGENTS_CODEX_BIN' } as const;

interface CodexItem {
  id: string;
  type: string;
  text?: string;
  command?: string;
  aggregated_output?: string;
  exit_code?: number | null;
  status?: string;
  changes?: { path: string; kind: string }[];
  message?: string;
}

interface CodexLine {
  type: string;
  thread_id?: string;
  item?: CodexItem;
  usage?: {
    input_tokens?: number;
    cached_input_tokens?: number;
    output_tokens?: number;
    reasoning_output_tokens?: number;
  };
  error?: { message?: string };
  message?: string;
}

const toml = (s: string) => JSON.stringify(s); // TOML basic strings share JSON's escapes for our values

export function codexConfig(baseUrl: string | undefined): string {
  const lines = [];
  if (baseUrl) {
    lines.push(
      'model_provider = "aiagents"',
      '',
      '[model_providers.aiagents]',
      'name = "ai-agents"',
      `base_url = ${toml(baseUrl)}`,
      'env_key = "OPENAI_API_KEY"',
      'wire_api = "responses"',
      '',
    );
  }
  lines.push('[analytics]', 'enabled = false', '', '[features]', 'plugins = false', '');
  return lines.join('\n');
}

export function codexArgs(ctx: Pick<BackendContext, 'request' | 'prompt' | 'cwd'>): string[] {
  const args = ['exec', '--json', '--skip-git-repo-check', '-C', ctx.cwd, '-m', ctx.request.model.model];
  const sandbox = ctx.request.agent.sandbox ?? 'workspace-write';
  if (sandbox === 'danger-full-access') args.push('--dangerously-bypass-approvals-and-sandbox');
  else args.push('-s', sandbox);
  args.push(promptOnStdin(ctx.prompt) ? '-' : ctx.prompt); // `-`: the prompt is read from stdin
  return args;
}

export class CodexBackend implements Backend {
  readonly name = 'codex';

  async run(ctx: BackendContext): Promise<BackendResult> {
    const home = path.join(ctx.paths.stateDir, 'codex-home');
    await mkdir(home, { recursive: true });
    const baseUrl = ctx.request.model.baseUrl ?? ctx.env.OPENAI_BASE_URL;
    await writeFile(path.join(home, 'config.toml'), codexConfig(baseUrl));
    await writeFile(path.join(home, 'AGENTS.md'), ctx.instructions);
    const env = agentEnv(ctx.env, { HOME: home, CODEX_HOME: home });
    const usage = { inputTokens: 0, outputTokens: 0 };
    let output = '';
    let failure: string | undefined;
    const started = new Set<string>();
    const child = await runChild(cliPath('codex', ctx.env[CODEX_ENV.bin]), codexArgs(ctx), {
      cwd: ctx.cwd,
      env,
      signal: ctx.signal,
      input: promptOnStdin(ctx.prompt) ? ctx.prompt : undefined,
      onStderr: (line) => ctx.log(`codex: ${line}`),
      onLine: (text) => {
        let line: CodexLine;
        try {
          line = JSON.parse(text) as CodexLine;
        } catch {
          ctx.events.emit('log', text.slice(0, 2000), { stream: 'stdout' });
          return;
        }
        const { events } = ctx;
        switch (line.type) {
          case 'thread.started':
            events.emit('log', `codex thread ${line.thread_id}`, { threadId: line.thread_id });
            break;
          case 'item.started':
          case 'item.completed': {
            const item = line.item;
            if (!item) break;
            if (item.type === 'command_execution') {
              if (!started.has(item.id)) {
                started.add(item.id);
                events.emit('tool_call', 'shell', {
                  id: item.id,
                  name: 'shell',
                  input: { command: item.command },
                });
              }
              if (line.type === 'item.completed') {
                const out = item.aggregated_output ?? '';
                events.emit('tool_result', out.slice(0, 4000), {
                  id: item.id,
                  name: 'shell',
                  exitCode: item.exit_code ?? null,
                  isError: item.exit_code !== 0,
                  output: out,
                });
              }
            } else if (item.type === 'file_change' && line.type === 'item.completed') {
              events.emit(
                'tool_result',
                `files changed: ${(item.changes ?? []).map((c) => c.path).join(', ')}`,
                {
                  id: item.id,
                  name: 'apply_patch',
                  isError: item.status === 'failed',
                  changes: item.changes,
                },
              );
            } else if (item.type === 'agent_message' && line.type === 'item.completed' && item.text) {
              output = item.text;
              events.emit('message', item.text, { role: 'assistant' });
            } else if (item.type === 'reasoning' && line.type === 'item.completed' && item.text) {
              events.emit('log', item.text.slice(0, 4000), { kind: 'reasoning' });
            } else if (item.type === 'error' && line.type === 'item.completed') {
              events.emit('log', `codex: ${item.message ?? ''}`, { kind: 'error' });
            }
            break;
          }
          case 'turn.completed':
            usage.inputTokens += line.usage?.input_tokens ?? 0;
            usage.outputTokens += line.usage?.output_tokens ?? 0;
            events.emit('log', 'codex turn completed', { kind: 'provider_usage', ...line.usage });
            break;
          case 'turn.failed':
            failure = line.error?.message ?? 'turn failed';
            break;
          case 'error':
            failure = line.message ?? 'error';
            events.emit('log', `codex: ${failure}`, { kind: 'error' });
            break;
        }
      },
    });
    if (failure) throw new Error(`codex failed: ${failure.slice(0, 2000)}`);
    if (child.code !== 0) {
      throw new Error(
        `codex exited (${child.signal ?? `code ${child.code}`}): ${child.stderrTail.trim().slice(-1000)}`,
      );
    }
    return { output, usage };
  }
}

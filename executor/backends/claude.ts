// claude backend: the Claude Code CLI headless (`claude -p … --output-format stream-json --verbose`), with
// the composed instructions in the system prompt, model, max turns, allowed/disallowed tools and permission
// mode from the agent. Each stdout line becomes normalized events; the final `result` line gives output,
// usage and cost.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { runChild } from '../runtime/child.ts';
import { errorMessage } from '../runtime/errors.ts';
import { agentEnv, cliPath, contentText, promptOnStdin } from './cli.ts';
import { installCredentials, refreshedCredentials, writeBackCredentials } from './credentials.ts';
import type { Backend, BackendContext, BackendResult } from './types.ts';

export const CLAUDE_ENV = {
  bin: 'AI_AGENTS_CLAUDE_BIN',
  /** append (default: Claude Code's own prompt plus the instructions) | replace */
  systemPromptMode: 'AI_AGENTS_CLAUDE_SYSTEM_PROMPT_MODE',
} as const;

interface ClaudeLine {
  type: string;
  subtype?: string;
  session_id?: string;
  model?: string;
  tools?: string[];
  message?: { content?: unknown; usage?: Record<string, number> };
  is_error?: boolean;
  result?: string;
  num_turns?: number;
  total_cost_usd?: number;
  duration_ms?: number;
  usage?: Record<string, number>;
  permission_denials?: unknown[];
  attempt?: number;
  error?: unknown;
  tool_use_result?: unknown;
}

export function claudeArgs(
  ctx: Pick<BackendContext, 'request' | 'instructions' | 'prompt' | 'env'>,
): string[] {
  const { agent, model } = ctx.request;
  // a long prompt goes on stdin (`claude -p` reads it from there when no prompt argument is given)
  const args = promptOnStdin(ctx.prompt) ? ['-p'] : ['-p', ctx.prompt];
  args.push('--output-format', 'stream-json', '--verbose', '--model', model.model);
  if (ctx.instructions.trim()) {
    const mode =
      ctx.env[CLAUDE_ENV.systemPromptMode] === 'replace' ? '--system-prompt' : '--append-system-prompt';
    args.push(mode, ctx.instructions);
  }
  if (agent.maxTurns) args.push('--max-turns', String(agent.maxTurns));
  if (agent.allowedTools?.length) args.push('--allowedTools', agent.allowedTools.join(','));
  if (agent.disallowedTools?.length) args.push('--disallowedTools', agent.disallowedTools.join(','));
  if (agent.permissionMode) args.push('--permission-mode', agent.permissionMode);
  return args;
}

export class ClaudeBackend implements Backend {
  readonly name = 'claude';

  async run(ctx: BackendContext): Promise<BackendResult> {
    const home = path.join(ctx.paths.stateDir, 'claude-home');
    await mkdir(home, { recursive: true });
    const originalCredentials = await installCredentials(ctx.env, home);
    const env = agentEnv(ctx.env, {
      HOME: home,
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_TELEMETRY: '1',
      DISABLE_AUTOUPDATER: '1',
      DISABLE_ERROR_REPORTING: '1',
      ...(ctx.request.model.baseUrl && !ctx.env.ANTHROPIC_BASE_URL
        ? { ANTHROPIC_BASE_URL: ctx.request.model.baseUrl }
        : {}),
      ...(ctx.request.agent.permissionMode === 'bypassPermissions' ? { IS_SANDBOX: '1' } : {}),
    });
    let final: ClaudeLine | undefined;
    const tools = new Map<string, string>();
    const child = await runChild(cliPath('claude', ctx.env[CLAUDE_ENV.bin]), claudeArgs(ctx), {
      cwd: ctx.cwd,
      env,
      signal: ctx.signal,
      input: promptOnStdin(ctx.prompt) ? ctx.prompt : undefined,
      onStderr: (line) => ctx.log(`claude: ${line}`),
      onLine: (line) => {
        let parsed: ClaudeLine;
        try {
          parsed = JSON.parse(line) as ClaudeLine;
        } catch {
          ctx.events.emit('log', line.slice(0, 2000), { stream: 'stdout' });
          return;
        }
        if (parsed.type === 'result') final = parsed;
        this.#translate(parsed, ctx, tools);
      },
    });
    try {
      const refreshed = await refreshedCredentials(home, originalCredentials);
      if (refreshed) {
        await writeBackCredentials(ctx.env, refreshed);
        ctx.events.emit('log', 'refreshed OAuth credentials written back to their Secret');
      }
    } catch (error) {
      ctx.events.emit('log', `could not write refreshed credentials back: ${errorMessage(error)}`);
    }
    if (!final) {
      throw new Error(
        `claude exited (${child.signal ?? `code ${child.code}`}) without a result: ${child.stderrTail.trim().slice(-1000)}`,
      );
    }
    if (final.is_error || final.subtype !== 'success') {
      // an error result can carry subtype "success" (a refused login, say): say it failed
      const why = final.subtype && final.subtype !== 'success' ? ` (${final.subtype})` : '';
      throw new Error(`claude failed${why}: ${(final.result ?? 'no message').slice(0, 2000)}`);
    }
    const u = final.usage ?? {};
    return {
      output: final.result ?? '',
      usage: {
        inputTokens:
          (u.input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0) + (u.cache_read_input_tokens ?? 0),
        outputTokens: u.output_tokens ?? 0,
        costUsd: final.total_cost_usd,
      },
    };
  }

  #translate(line: ClaudeLine, ctx: BackendContext, tools: Map<string, string>): void {
    const { events } = ctx;
    if (line.type === 'system') {
      if (line.subtype === 'init') {
        events.emit('log', `claude session ${line.session_id ?? ''} (model ${line.model ?? '?'})`, {
          sessionId: line.session_id,
          model: line.model,
          tools: line.tools,
        });
      } else if (line.subtype === 'api_retry') {
        events.emit('log', `claude: model API retry ${line.attempt ?? ''}`, {
          subtype: line.subtype,
          error: line.error,
        });
      }
      return;
    }
    if (line.type === 'assistant' && Array.isArray(line.message?.content)) {
      for (const block of line.message.content as { type: string; [k: string]: unknown }[]) {
        if (block.type === 'text' && typeof block.text === 'string' && block.text.trim() !== '') {
          events.emit('message', block.text, { role: 'assistant' });
        } else if (block.type === 'tool_use') {
          tools.set(String(block.id), String(block.name));
          events.emit('tool_call', String(block.name), {
            id: block.id,
            name: block.name,
            input: block.input,
          });
        } else if (block.type === 'thinking' && typeof block.thinking === 'string') {
          events.emit('log', block.thinking.slice(0, 4000), { kind: 'thinking' });
        }
      }
      return;
    }
    if (line.type === 'user' && Array.isArray(line.message?.content)) {
      for (const block of line.message.content as { type: string; [k: string]: unknown }[]) {
        if (block.type !== 'tool_result') continue;
        const id = String(block.tool_use_id);
        const text = contentText(block.content);
        events.emit('tool_result', text.slice(0, 4000), {
          id,
          name: tools.get(id),
          isError: block.is_error === true,
          output: text,
        });
      }
      return;
    }
    if (line.type === 'result') {
      const u = line.usage ?? {};
      events.emit('log', `claude: ${line.num_turns ?? '?'} turns, ${line.subtype}`, {
        kind: 'provider_usage',
        inputTokens: u.input_tokens ?? 0,
        cacheCreationInputTokens: u.cache_creation_input_tokens ?? 0,
        cacheReadInputTokens: u.cache_read_input_tokens ?? 0,
        outputTokens: u.output_tokens ?? 0,
        costUsd: line.total_cost_usd,
        turns: line.num_turns,
        permissionDenials: line.permission_denials?.length ?? 0,
      });
    }
  }
}

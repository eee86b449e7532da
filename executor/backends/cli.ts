// Shared bits of the CLI backends: where the binary is, a clean child environment, text of content.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Env } from './types.ts';

/** The CLI from executor/node_modules/.bin, else from PATH; `override` (an env value) wins. */
export function cliPath(name: string, override: string | undefined): string {
  if (override) return override;
  const local = fileURLToPath(new URL(`../node_modules/.bin/${name}`, import.meta.url));
  return existsSync(local) ? local : name;
}

const DROPPED = [
  /^AI_AGENTS_INGEST_TOKEN$/,
  /^GITHUB_APP_PRIVATE_KEY/,
  /^GITHUB_TOKEN$/,
  /^AI_AGENTS_CREDENTIALS/,
];

/** The executor's environment minus what the agent must never see (ingest token, GitHub App key). */
export function agentEnv(env: Env, extra: Env): Env {
  const out: Env = {};
  for (const [k, v] of Object.entries(env)) if (!DROPPED.some((re) => re.test(k))) out[k] = v;
  return { ...out, ...extra };
}

export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((c) => (c && typeof c === 'object' && 'text' in c ? String((c as { text: unknown }).text) : ''))
      .join('');
  }
  return content === undefined || content === null ? '' : JSON.stringify(content);
}

/** Prompts longer than this go to the CLI on stdin (one argv string is limited to 128 KiB on Linux). */
export const ARGV_PROMPT_LIMIT_BYTES = 100_000;

export function promptOnStdin(prompt: string): boolean {
  return Buffer.byteLength(prompt) > ARGV_PROMPT_LIMIT_BYTES;
}

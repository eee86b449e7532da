// Plain git over HTTPS (or any URL git understands). The token never lands on disk or in a URL: it goes
// in an Authorization header through GIT_CONFIG_* environment variables for the one git command.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface GitOptions {
  /** Installation or personal token for HTTPS remotes. */
  token?: string;
  env?: Record<string, string | undefined>;
}

export const BOT_IDENTITY = { name: 'ai-agents[bot]', email: 'ai-agents@users.noreply.github.com' };

function gitEnv(options: GitOptions): Record<string, string> {
  const base = Object.fromEntries(
    Object.entries(options.env ?? process.env).filter(([, v]) => v !== undefined),
  ) as Record<string, string>;
  const env: Record<string, string> = {
    ...base,
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: base.GIT_AUTHOR_NAME ?? BOT_IDENTITY.name,
    GIT_AUTHOR_EMAIL: base.GIT_AUTHOR_EMAIL ?? BOT_IDENTITY.email,
    GIT_COMMITTER_NAME: base.GIT_COMMITTER_NAME ?? BOT_IDENTITY.name,
    GIT_COMMITTER_EMAIL: base.GIT_COMMITTER_EMAIL ?? BOT_IDENTITY.email,
  };
  if (options.token) {
    const basic = Buffer.from(`x-access-token:${options.token}`).toString('base64');
    env.GIT_CONFIG_COUNT = '1';
    env.GIT_CONFIG_KEY_0 = 'http.extraHeader';
    env.GIT_CONFIG_VALUE_0 = `Authorization: Basic ${basic}`;
  }
  return env;
}

/** Removes a token from text (git echoes URLs and headers in some errors). */
export function redact(text: string, token?: string): string {
  if (!token) return text;
  const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
  return text.split(token).join('***').split(basic).join('***');
}

export async function git(args: string[], cwd: string, options: GitOptions = {}): Promise<string> {
  try {
    const { stdout } = await exec('git', args, { cwd, env: gitEnv(options), maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(redact(`git ${args[0]} failed: ${(e.stderr || e.message).trim()}`, options.token));
  }
}

export interface CheckoutResult {
  dir: string;
  branch: string;
  baseCommit: string;
}

/**
 * Clones `url` into `dir` at `ref` (branch, tag or commit; default branch when absent) and switches to
 * `branch`. When `branch` already exists on the remote (an earlier attempt pushed it) work continues on it.
 */
export async function cloneRepository(
  url: string,
  dir: string,
  options: GitOptions & { ref?: string; branch: string },
): Promise<CheckoutResult> {
  await git(['clone', '--quiet', '--no-checkout', url, dir], process.cwd(), options);
  let base = 'origin/HEAD';
  if (options.ref) {
    const remoteBranch = `origin/${options.ref}`;
    if (await refExists(dir, `refs/remotes/${remoteBranch}`)) base = remoteBranch;
    else if (await refExists(dir, `refs/tags/${options.ref}`)) base = `refs/tags/${options.ref}`;
    else {
      await git(['fetch', '--quiet', 'origin', options.ref], dir, options);
      base = 'FETCH_HEAD';
    }
  }
  const existing = `origin/${options.branch}`;
  const start = (await refExists(dir, `refs/remotes/${existing}`)) ? existing : base;
  await git(['checkout', '--quiet', '-B', options.branch, start], dir, options);
  const baseCommit = (await git(['rev-parse', 'HEAD'], dir, options)).trim();
  return { dir, branch: options.branch, baseCommit };
}

async function refExists(dir: string, ref: string): Promise<boolean> {
  try {
    await git(['rev-parse', '--verify', '--quiet', ref], dir);
    return true;
  } catch {
    return false;
  }
}

/** Stages everything and commits; returns the new commit, or undefined when nothing changed. */
export async function commitAll(
  dir: string,
  message: string,
  options: GitOptions = {},
): Promise<string | undefined> {
  await git(['add', '--all'], dir, options);
  const status = await git(['status', '--porcelain'], dir, options);
  if (status.trim() === '') return undefined;
  await git(['commit', '--quiet', '--no-verify', '-m', message], dir, options);
  return (await git(['rev-parse', 'HEAD'], dir, options)).trim();
}

export async function changedFiles(dir: string, since: string): Promise<string[]> {
  const out = await git(['diff', '--name-only', since, 'HEAD'], dir);
  return out.split('\n').filter((l) => l !== '');
}

export async function pushBranch(dir: string, branch: string, options: GitOptions = {}): Promise<void> {
  await git(['push', '--quiet', 'origin', `HEAD:refs/heads/${branch}`], dir, options);
}

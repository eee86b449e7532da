// GitHub: an installation token minted from the App credentials (github-app-credentials), scoped to the
// one repository and to what the agent's repositoryAccess allows; then open or update the pull request.
import { readFile } from 'node:fs/promises';
import { createAppAuth } from '@octokit/auth-app';
import { Octokit } from '@octokit/rest';
import type { ExecutorRequest } from '../../api/v1alpha1/executor-contract.ts';

type Env = Record<string, string | undefined>;
type Access = ExecutorRequest['agent']['repositoryAccess'];

/** Variables the executor reads for GitHub (mounted from the github-app-credentials Secret). */
export const GITHUB_ENV = {
  apiUrl: 'GITHUB_API_URL', // default https://api.github.com
  appId: 'GITHUB_APP_ID',
  privateKey: 'GITHUB_APP_PRIVATE_KEY',
  privateKeyFile: 'GITHUB_APP_PRIVATE_KEY_FILE',
  installationId: 'GITHUB_APP_INSTALLATION_ID', // optional: looked up from the repository otherwise
  token: 'GITHUB_TOKEN', // a ready token instead of an App (tests, personal setups)
} as const;

export interface RepoCoordinates {
  owner: string;
  repo: string;
}

/** owner/repo from https://github.com/owner/repo(.git), git@github.com:owner/repo.git or a path ending so. */
export function repoCoordinates(url: string): RepoCoordinates {
  const cleaned = url.replace(/\.git\/?$/, '').replace(/\/+$/, '');
  const parts = cleaned.split(/[/:]/).filter((p) => p !== '');
  const repo = parts.at(-1);
  const owner = parts.at(-2);
  if (!owner || !repo) throw new Error(`cannot tell owner/repo from ${url}`);
  return { owner, repo };
}

export function permissionsFor(access: Access): Record<string, 'read' | 'write'> {
  if (access === 'pr') return { contents: 'write', pull_requests: 'write', metadata: 'read' };
  if (access === 'write') return { contents: 'write', metadata: 'read' };
  return { contents: 'read', metadata: 'read' };
}

async function privateKey(env: Env): Promise<string | undefined> {
  if (env[GITHUB_ENV.privateKey]) return env[GITHUB_ENV.privateKey]!.replace(/\\n/g, '\n');
  if (env[GITHUB_ENV.privateKeyFile]) return readFile(env[GITHUB_ENV.privateKeyFile]!, 'utf8');
  return undefined;
}

export function hasGitHubCredentials(env: Env): boolean {
  return Boolean(
    env[GITHUB_ENV.token] ||
      (env[GITHUB_ENV.appId] && (env[GITHUB_ENV.privateKey] || env[GITHUB_ENV.privateKeyFile])),
  );
}

export interface GitHubSession {
  token: string;
  octokit: Octokit;
  expiresAt?: string;
}

/**
 * A token for one repository: GITHUB_TOKEN as is, or an App installation token minted with
 * @octokit/auth-app (installation found from the repository unless GITHUB_APP_INSTALLATION_ID is set).
 */
export async function githubSession(
  env: Env,
  coords: RepoCoordinates,
  access: Access,
): Promise<GitHubSession> {
  const baseUrl = env[GITHUB_ENV.apiUrl] || 'https://api.github.com';
  if (env[GITHUB_ENV.token]) {
    const token = env[GITHUB_ENV.token]!;
    return { token, octokit: new Octokit({ auth: token, baseUrl }) };
  }
  const appId = env[GITHUB_ENV.appId];
  const key = await privateKey(env);
  if (!appId || !key)
    throw new Error('no GitHub credentials (GITHUB_APP_ID + GITHUB_APP_PRIVATE_KEY or GITHUB_TOKEN)');
  const app = new Octokit({ authStrategy: createAppAuth, auth: { appId, privateKey: key }, baseUrl });
  let installationId = Number(env[GITHUB_ENV.installationId] || 0);
  if (!installationId) {
    const { data } = await app.rest.apps.getRepoInstallation({ owner: coords.owner, repo: coords.repo });
    installationId = data.id;
  }
  const auth = (await app.auth({
    type: 'installation',
    installationId,
    repositoryNames: [coords.repo],
    permissions: permissionsFor(access),
  })) as { token: string; expiresAt?: string };
  return {
    token: auth.token,
    expiresAt: auth.expiresAt,
    octokit: new Octokit({ auth: auth.token, baseUrl }),
  };
}

export interface PullRequestInput extends RepoCoordinates {
  head: string;
  base?: string;
  title: string;
  body: string;
}

/** Opens the pull request for `head`, or updates the open one; returns its URL and number. */
export async function openOrUpdatePullRequest(
  octokit: Octokit,
  input: PullRequestInput,
): Promise<{ url: string; number: number; created: boolean }> {
  const { owner, repo, head } = input;
  const base = input.base ?? (await octokit.rest.repos.get({ owner, repo })).data.default_branch;
  const open = await octokit.rest.pulls.list({
    owner,
    repo,
    head: `${owner}:${head}`,
    state: 'open',
    per_page: 1,
  });
  const existing = open.data[0];
  if (existing) {
    const { data } = await octokit.rest.pulls.update({
      owner,
      repo,
      pull_number: existing.number,
      title: input.title,
      body: input.body,
    });
    return { url: data.html_url, number: data.number, created: false };
  }
  const { data } = await octokit.rest.pulls.create({
    owner,
    repo,
    head,
    base,
    title: input.title,
    body: input.body,
  });
  return { url: data.html_url, number: data.number, created: true };
}

// After the backend: commit what the agent changed, push the branch and open or update the pull request,
// as far as the agent's repositoryAccess allows (read: nothing leaves the pod; write: push; pr: push + PR).
import type { ExecutorRequest } from '../../api/v1alpha1/executor-contract.ts';
import { changedFiles, commitAll, pushBranch } from '../git/git.ts';
import {
  githubSession,
  hasGitHubCredentials,
  openOrUpdatePullRequest,
  repoCoordinates,
} from '../git/github.ts';
import type { EventSink } from './events.ts';
import { truncate } from './events.ts';
import type { PreparedWorkspace } from './workspace.ts';

type Env = Record<string, string | undefined>;

export interface RepositoryOutcome {
  commit?: string;
  changed: string[];
  pushed: boolean;
  pullRequestUrl?: string;
}

export async function finishRepository(
  request: ExecutorRequest,
  workspace: PreparedWorkspace,
  env: Env,
  events: EventSink,
  summary: string,
): Promise<RepositoryOutcome> {
  const repo = workspace.repository;
  if (!repo || !request.repository) return { changed: [], pushed: false };
  const access = request.agent.repositoryAccess;
  const title = truncate(`ai-agents: ${firstLine(summary) || request.name}`, 200);
  const commit = await commitAll(
    repo.dir,
    `${title}\n\nInferenceRequest ${request.namespace}/${request.name}`,
    {
      env,
    },
  );
  const changed = commit ? await changedFiles(repo.dir, repo.baseCommit) : [];
  if (!commit) {
    events.emit('log', 'the agent changed no files');
    return { changed, pushed: false };
  }
  events.emit('artifact', `commit ${commit.slice(0, 12)} (${changed.length} files)`, {
    kind: 'commit',
    commit,
    branch: repo.branch,
    files: changed.slice(0, 200),
  });
  if (access === 'read') {
    events.emit('log', 'repositoryAccess is read: changes stay in the workspace, nothing is pushed');
    return { commit, changed, pushed: false };
  }
  await pushBranch(repo.dir, repo.branch, { token: repo.token, env });
  events.emit('artifact', `pushed branch ${repo.branch}`, { kind: 'branch', branch: repo.branch, commit });
  if (!request.repository.pullRequest) return { commit, changed, pushed: true };
  if (access !== 'pr') {
    events.emit('log', `a pull request was asked for, but repositoryAccess is ${access}: branch pushed only`);
    return { commit, changed, pushed: true };
  }
  if (!hasGitHubCredentials(env)) throw new Error('a pull request needs GitHub credentials');
  const coords = repoCoordinates(request.repository.url);
  const session = await githubSession(env, coords, access);
  const base =
    request.repository.ref && !/^[0-9a-f]{40}$/.test(request.repository.ref)
      ? request.repository.ref
      : undefined;
  const pr = await openOrUpdatePullRequest(session.octokit, {
    ...coords,
    head: repo.branch,
    base,
    title,
    body: `${truncate(summary, 60_000)}\n\n---\nInferenceRequest \`${request.namespace}/${request.name}\` (agent \`${request.agent.name}\`, model \`${request.model.name}\`).`,
  });
  events.emit('artifact', `${pr.created ? 'opened' : 'updated'} pull request ${pr.url}`, {
    kind: 'pull_request',
    url: pr.url,
    number: pr.number,
  });
  return { commit, changed, pushed: true, pullRequestUrl: pr.url };
}

function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .find((l) => l.trim() !== '')
      ?.trim() ?? ''
  );
}

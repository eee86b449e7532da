// git and GitHub end to end: real git over smart HTTP (git http-backend) against a local bare repository,
// an installation token minted with a generated App key by a fake GitHub REST server, the branch pushed
// with that token, and the pull request opened (then updated) through @octokit/rest.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { completion } from '../../api/v1alpha1/events.ts';
import type { ExecutorRequest } from '../../api/v1alpha1/executor-contract.ts';
import { loadBackend } from '../backends/index.ts';
import type { Backend } from '../backends/types.ts';
import { runExecutor } from '../runtime/run.ts';
import { afterToolResult, startFakeAnthropic } from '../testing/fake-anthropic.ts';
import { type FakeGitHub, startFakeGitHub } from '../testing/fake-github.ts';
import { baseRequest, createFixture } from '../testing/fixture.ts';
import { type GitServer, startGitServer } from '../testing/git-server.ts';
import { startIngestReceiver } from '../testing/ingest-receiver.ts';

const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

let root: string;
let bare: string;
let server: GitServer;
let github: FakeGitHub;
let privateKey: string;
let repoUrl: string;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'ai-agents-git-'));
  bare = path.join(root, 'srv', 'acme', 'widgets.git');
  await mkdir(bare, { recursive: true });
  git(bare, 'init', '--quiet', '--bare', '-b', 'main');
  const seed = path.join(root, 'seed');
  git(root, 'clone', '--quiet', bare, seed);
  await writeFile(path.join(seed, 'README.md'), '# widgets\n');
  git(seed, 'add', '.');
  git(
    seed,
    '-c',
    'user.name=seed',
    '-c',
    'user.email=seed@example.com',
    'commit',
    '--quiet',
    '-m',
    'initial',
  );
  git(seed, 'push', '--quiet', 'origin', 'main');
  const keys = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  privateKey = keys.privateKey;
  github = await startFakeGitHub({
    appId: '12345',
    publicKeyPem: keys.publicKey,
    owner: 'acme',
    repo: 'widgets',
  });
  server = await startGitServer(path.join(root, 'srv'), (token) =>
    github.minted.some((m) => m.token === token),
  );
  repoUrl = `${server.url}/acme/widgets.git`;
});
afterAll(async () => {
  await server?.close();
  await github?.close();
  await rm(root, { recursive: true, force: true });
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

// The agent's part is scripted here: what is under test is the repository handling around it.
function editing(file: string, text: string): Backend {
  return {
    name: 'scripted',
    async run(ctx) {
      await writeFile(path.join(ctx.cwd, file), text);
      return { output: `Add ${file}\n\nDetails of the change.`, usage: { inputTokens: 1, outputTokens: 1 } };
    },
  };
}

async function runWith(
  access: ExecutorRequest['agent']['repositoryAccess'],
  backend: Backend,
  pullRequest = true,
) {
  const ingest = await startIngestReceiver({ request: 'req-1' });
  const fx = await createFixture({
    request: baseRequest({
      agent: { name: 'developer', role: 'developer', repositoryAccess: access },
      repository: { url: repoUrl, ref: 'main', pullRequest },
    }),
    ingestUrl: ingest.url,
    ingestToken: ingest.token,
    env: { GITHUB_API_URL: github.url, GITHUB_APP_ID: github.appId, GITHUB_APP_PRIVATE_KEY: privateKey },
  });
  cleanups.push(
    () => ingest.close(),
    () => fx.cleanup(),
  );
  const code = await runExecutor({ env: fx.env, loadBackend: async () => backend, log: () => {} });
  return { code, events: ingest.events, fx };
}

describe('git and GitHub', () => {
  it('pr access: clones with an installation token, commits on a branch, pushes and opens the pull request', async () => {
    const minted = github.minted.length;
    const { code, events, fx } = await runWith('pr', editing('feature.txt', 'a feature\n'));
    expect(code, JSON.stringify(events.filter((e) => e.type === 'error'))).toBe(0);

    // the token: minted from a JWT signed with the App key, scoped to the repository and to pr access
    expect(github.calls).toContain('GET /repos/acme/widgets/installation');
    const tokens = github.minted.slice(minted);
    expect(tokens.length).toBeGreaterThanOrEqual(1);
    expect(tokens[0]).toMatchObject({
      repositories: ['widgets'],
      permissions: { contents: 'write', pull_requests: 'write', metadata: 'read' },
    });
    // git used it over HTTP, and it is nowhere in the clone's config
    expect(server.seenUsers).toContain(`x-access-token:${tokens[0]!.token}`);
    const config = git(path.join(fx.workspace, 'repo'), 'config', '--list');
    for (const t of tokens) expect(config).not.toContain(t.token);

    // the bare repository has the branch, one commit on top of main, by the bot
    const main = git(bare, 'rev-parse', 'main');
    expect(git(bare, 'rev-parse', 'ai-agents/req-1^')).toBe(main);
    expect(git(bare, 'show', 'ai-agents/req-1:feature.txt')).toBe('a feature');
    expect(git(bare, 'log', '-1', '--format=%an <%ae>|%s', 'ai-agents/req-1')).toBe(
      'ai-agents[bot] <ai-agents@users.noreply.github.com>|ai-agents: Add feature.txt',
    );

    // the pull request
    expect(github.pulls).toHaveLength(1);
    expect(github.pulls[0]).toMatchObject({
      head: 'ai-agents/req-1',
      base: 'main',
      title: 'ai-agents: Add feature.txt',
      state: 'open',
    });
    expect(github.pulls[0]!.body).toContain('default/req-1');
    const done = completion.parse(events.at(-1)!.data);
    expect(done.result!.pullRequestUrl).toBe(github.pulls[0]!.html_url);
    const artifacts = events.filter((e) => e.type === 'artifact').map((e) => e.data!.kind);
    expect(artifacts).toEqual(['commit', 'branch', 'pull_request']);
  });

  it('a second run continues the branch and updates the same pull request', async () => {
    const before = git(bare, 'rev-parse', 'ai-agents/req-1');
    const { code, events } = await runWith('pr', editing('more.txt', 'more\n'));
    expect(code).toBe(0);
    expect(git(bare, 'rev-parse', 'ai-agents/req-1^')).toBe(before);
    expect(git(bare, 'show', 'ai-agents/req-1:feature.txt')).toBe('a feature');
    expect(github.pulls).toHaveLength(1);
    expect(github.pulls[0]!.title).toBe('ai-agents: Add more.txt');
    expect(events.find((e) => e.data?.kind === 'pull_request')!.message).toMatch(/^updated pull request/);
  });

  it('read access: the token asks for read only and nothing is pushed', async () => {
    const heads = git(bare, 'for-each-ref', '--format=%(refname) %(objectname)');
    const minted = github.minted.length;
    const { code, events } = await runWith('read', editing('nope.txt', 'x\n'));
    expect(code).toBe(0);
    expect(github.minted[minted]!.permissions).toEqual({ contents: 'read', metadata: 'read' });
    expect(git(bare, 'for-each-ref', '--format=%(refname) %(objectname)')).toBe(heads);
    expect(events.some((e) => e.message?.includes('nothing is pushed'))).toBe(true);
    expect(completion.parse(events.at(-1)!.data).result!.pullRequestUrl).toBeUndefined();
  });

  it('write access: the branch is pushed, no pull request is opened', async () => {
    const pulls = github.pulls.length;
    const { code, events } = await runWith('write', editing('w.txt', 'w\n'));
    expect(code).toBe(0);
    expect(git(bare, 'show', 'ai-agents/req-1:w.txt')).toBe('w');
    expect(github.pulls).toHaveLength(pulls);
    expect(events.some((e) => e.message?.includes('repositoryAccess is write: branch pushed only'))).toBe(
      true,
    );
  });

  it('a repository that cannot be cloned fails the run with the git error, without the token', async () => {
    const ingest = await startIngestReceiver({ request: 'req-1' });
    const fx = await createFixture({
      request: baseRequest({ repository: { url: `${server.url}/acme/missing.git`, pullRequest: false } }),
      ingestUrl: ingest.url,
      ingestToken: ingest.token,
      env: { GITHUB_TOKEN: 'ghp_secret_value_123' },
    });
    cleanups.push(
      () => ingest.close(),
      () => fx.cleanup(),
    );
    const code = await runExecutor({
      env: fx.env,
      loadBackend: async () => editing('x', 'x'),
      log: () => {},
    });
    expect(code).toBe(1);
    const error = ingest.events.find((e) => e.type === 'error')!;
    expect(error.message).toMatch(/git clone failed/);
    expect(JSON.stringify(ingest.events)).not.toContain('ghp_secret_value_123');
  });

  it('end to end with the real Claude Code CLI: it edits the checkout, the executor pushes and updates the PR', async () => {
    const api = await startFakeAnthropic((body) =>
      afterToolResult(body)
        ? { blocks: [{ type: 'text', text: 'Added CHANGELOG.md.' }], inputTokens: 50, outputTokens: 5 }
        : {
            blocks: [
              { type: 'tool_use', name: 'Bash', input: { command: 'echo "- first entry" > CHANGELOG.md' } },
            ],
            inputTokens: 40,
            outputTokens: 10,
          },
    );
    const ingest = await startIngestReceiver({ request: 'req-1' });
    const fx = await createFixture({
      request: baseRequest({
        executor: 'claude',
        prompt: 'Add a changelog.',
        agent: {
          name: 'developer',
          role: 'developer',
          repositoryAccess: 'pr',
          allowedTools: ['Bash'],
          maxTurns: 4,
        },
        model: { name: 'sonnet', provider: 'anthropic', model: 'claude-sonnet-4-5' },
        repository: { url: repoUrl, ref: 'main', pullRequest: true },
      }),
      ingestUrl: ingest.url,
      ingestToken: ingest.token,
      env: {
        AI_AGENTS_EXECUTOR: 'claude',
        ANTHROPIC_BASE_URL: api.url,
        ANTHROPIC_API_KEY: 'sk-ant-test',
        CLAUDE_CODE_MAX_RETRIES: '0',
        GITHUB_API_URL: github.url,
        GITHUB_APP_ID: github.appId,
        GITHUB_APP_PRIVATE_KEY: privateKey,
        GITHUB_APP_INSTALLATION_ID: String(github.installationId),
      },
    });
    cleanups.push(
      () => api.close(),
      () => ingest.close(),
      () => fx.cleanup(),
    );
    const code = await runExecutor({ env: fx.env, loadBackend, log: () => {} });
    expect(code, JSON.stringify(ingest.events.filter((e) => e.type === 'error'))).toBe(0);
    expect(git(bare, 'show', 'ai-agents/req-1:CHANGELOG.md')).toBe('- first entry');
    const done = completion.parse(ingest.events.at(-1)!.data);
    expect(done.result!.pullRequestUrl).toBe(github.pulls[0]!.html_url);
    expect(github.pulls[0]!.title).toBe('ai-agents: Added CHANGELOG.md.');
    // the agent never saw the App key or the ingest token
    const bash = api.requests.map((r) => JSON.stringify(r.body)).join('\n');
    expect(bash).not.toContain('BEGIN RSA PRIVATE KEY');
  });
});

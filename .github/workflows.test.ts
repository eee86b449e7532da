// The workflows: actionlint (with shellcheck when installed) on every file, the triggers the
// deployment guide names, and the shell steps that carry logic run for real in scratch git
// repositories (version bump, branch/title/label checks, the secret scan).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { kubeBinDir, repoRoot } from '../charts/render.ts';

const dir = join(repoRoot, '.github/workflows');

interface Step {
  name?: string;
  id?: string;
  run?: string;
  uses?: string;
  env?: Record<string, string>;
}
interface Workflow {
  on: Record<string, unknown>;
  jobs: Record<
    string,
    { 'runs-on': string; steps: Step[]; strategy?: { matrix: { include: Record<string, string>[] } } }
  >;
}

const workflow = (name: string) => parse(readFileSync(join(dir, name), 'utf8')) as Workflow;
const step = (wf: string, job: string, name: string) => {
  const s = workflow(wf).jobs[job]!.steps.find((x) => x.name === name);
  if (!s?.run) throw new Error(`${wf}: no run step "${name}" in job ${job}`);
  return s.run;
};

/** Runs a workflow step's script with bash -e as Actions does, in cwd with the given env. */
function runStep(script: string, env: Record<string, string>, cwd: string) {
  const temp = mkdtempSync(join(tmpdir(), 'runner-'));
  const output = join(temp, 'output');
  const summary = join(temp, 'summary');
  writeFileSync(output, '');
  writeFileSync(summary, '');
  const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], {
    cwd,
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      RUNNER_TEMP: temp,
      GITHUB_OUTPUT: output,
      GITHUB_STEP_SUMMARY: summary,
      ...env,
    },
  });
  return {
    status: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
    outputs: Object.fromEntries(
      readFileSync(output, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('=', 2) as [string, string]),
    ),
  };
}

function scratchRepo(): { dir: string; git: (...args: string[]) => string; commit: (msg: string) => string } {
  const d = mkdtempSync(join(tmpdir(), 'wf-repo-'));
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], {
      cwd: d,
      encoding: 'utf8',
    }).trim();
  git('init', '-q', '-b', 'main');
  let n = 0;
  const commit = (msg: string) => {
    writeFileSync(join(d, `f${n++}.txt`), msg);
    git('add', '.');
    git('commit', '-q', '-m', msg);
    return git('rev-parse', 'HEAD');
  };
  return { dir: d, git, commit };
}

describe('actionlint', () => {
  it('passes on every workflow', () => {
    const r = spawnSync(join(kubeBinDir(), 'actionlint'), ['-no-color'], { cwd: repoRoot, encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`).toBe('');
    expect(r.status).toBe(0);
  });

  it('fails on a broken workflow (the check is real)', () => {
    const d = mkdtempSync(join(tmpdir(), 'actionlint-'));
    const file = join(d, 'bad.yml');
    writeFileSync(
      file,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: an Actions expression, not a JS template
      'on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n',
    );
    const r = spawnSync(join(kubeBinDir(), 'actionlint'), ['-no-color', file], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/property "nope" is not defined/);
  });
});

describe('the workflows of the deployment guide', () => {
  it('has all eight', () => {
    expect(readdirSync(dir).sort()).toEqual(
      expect.arrayContaining([
        'build.yml',
        'docs-update.yml',
        'gemma-inference.yml',
        'image.yml',
        'llama-cpp-builder.yml',
        'pr-checks.yml',
        'pr-no-secrets.yml',
        'qwen-inference.yml',
      ]),
    );
  });

  it('every job runs on the k8s-hetzner-arc runners', () => {
    for (const f of readdirSync(dir)) {
      for (const [name, job] of Object.entries(workflow(f).jobs)) {
        expect(job['runs-on'], `${f}/${name}`).toBe('k8s-hetzner-arc');
      }
    }
  });

  it('has the triggers the guide lists', () => {
    expect(Object.keys(workflow('image.yml').on).sort()).toEqual([
      'pull_request',
      'push',
      'workflow_dispatch',
    ]);
    expect(workflow('build.yml').on).toMatchObject({
      push: { branches: ['main'] },
      pull_request: { branches: ['main'] },
    });
    expect(Object.keys(workflow('pr-checks.yml').on)).toEqual(['pull_request']);
    expect(Object.keys(workflow('pr-no-secrets.yml').on)).toEqual(['pull_request']);
    expect(workflow('docs-update.yml').on).toMatchObject({ schedule: [{ cron: '15 3 * * *' }] });
    expect(workflow('docs-update.yml').on).toHaveProperty('workflow_dispatch');
    expect(Object.keys(workflow('gemma-inference.yml').on)).toEqual(['workflow_dispatch']);
    expect(Object.keys(workflow('qwen-inference.yml').on)).toEqual(['workflow_dispatch']);
    expect(workflow('llama-cpp-builder.yml').on).toMatchObject({ schedule: [{ cron: '0 2 * * 1' }] });
    expect(workflow('llama-cpp-builder.yml').on).toHaveProperty('workflow_dispatch');
  });

  it('build.yml uses Node 24', () => {
    const setup = workflow('build.yml').jobs.build!.steps.find((s) =>
      s.uses?.startsWith('actions/setup-node'),
    );
    expect((setup as { with: { 'node-version': number } }).with['node-version']).toBe(24);
  });

  it('image.yml builds the 8 images into ghcr.io/labrats-work/', () => {
    const wf = workflow('image.yml');
    const matrix = wf.jobs.images!.strategy!.matrix.include;
    expect(matrix.map((m) => m.name)).toEqual([
      'API',
      'Webhook',
      'Processor',
      'App',
      'Executor-Claude',
      'Executor-Codex',
      'Executor-Bonsai-8B',
      'Executor-Llama',
    ]);
    expect(readFileSync(join(dir, 'image.yml'), 'utf8')).toContain('IMAGE_PREFIX: ghcr.io/labrats-work/');
  });
});

describe('image.yml: the next semver release, without a v prefix', () => {
  const script = step('image.yml', 'release', 'Compute the next semver (no "v" prefix)');
  const next = (repo: ReturnType<typeof scratchRepo>, bump = 'auto') => {
    const r = runStep(script, { REQUESTED_BUMP: bump }, repo.dir);
    expect(r.status, r.stderr).toBe(0);
    return r.outputs.version;
  };

  it('starts at 0.0.1 and bumps by conventional commits', () => {
    const repo = scratchRepo();
    repo.commit('fix: first');
    expect(next(repo)).toBe('0.0.1');
    repo.git('tag', '0.0.1');
    repo.commit('fix(api): a bug');
    expect(next(repo)).toBe('0.0.2');
    repo.commit('feat(ui): a feature');
    expect(next(repo)).toBe('0.1.0');
    repo.commit('feat(api)!: breaking');
    expect(next(repo)).toBe('1.0.0');
    expect(next(repo, 'patch')).toBe('0.0.2');
    repo.git('tag', 'v9.9.9'); // v-prefixed tags are not ours
    expect(next(repo, 'minor')).toBe('0.1.0');
  });
});

describe('pr-checks.yml', () => {
  const branch = step('pr-checks.yml', 'branch-name', 'Branch is type/description');
  const title = step('pr-checks.yml', 'pr-title', 'Title is a Conventional Commit');
  const labels = step('pr-checks.yml', 'labels', 'Required labels');
  const cwd = tmpdir();
  it.each([
    ['feat/add-health-check', 0],
    ['fix/callback-retry.2', 0],
    ['feature/thing', 1],
    ['fix/Upper', 1],
    ['main', 1],
  ])('branch %s → exit %i', (b, code) => {
    expect(runStep(branch, { BRANCH: b }, cwd).status).toBe(code);
  });
  it.each([
    ['feat(api): add the health check', 0],
    ['fix!: drop the legacy path', 0],
    ['Add health check', 1],
    ['feat: ', 1],
    ['feat(API): shouting scope', 1],
  ])('title %s → exit %i', (t, code) => {
    expect(runStep(title, { TITLE: t }, cwd).status).toBe(code);
  });
  it.each([
    ['type:feature,area:api', 0],
    ['area:deploy,type:bug,other', 0],
    ['type:feature', 1],
    ['area:ui', 1],
    ['', 1],
  ])('labels "%s" → exit %i', (l, code) => {
    const r = runStep(labels, { PR_LABELS: l }, cwd);
    expect(r.status).toBe(code);
    if (code) expect(r.stdout).toMatch(/::error::PR needs/);
  });
});

describe('pr-no-secrets.yml', () => {
  const scan = step('pr-no-secrets.yml', 'scan', 'Scan changed files for secrets');
  const scanWith = (content: string) => {
    const repo = scratchRepo();
    const base = repo.commit('chore: base');
    writeFileSync(join(repo.dir, 'config.ts'), content);
    repo.git('add', '.');
    repo.git('commit', '-q', '-m', 'feat: change');
    return runStep(scan, { BASE_SHA: base, HEAD_SHA: repo.git('rev-parse', 'HEAD') }, repo.dir);
  };
  it.each([
    ['an Anthropic key', `const key = 'sk-ant-api03-${'a'.repeat(40)}';\n`],
    ['a GitHub token', `token: ghp_${'b'.repeat(36)}\n`],
    ['an AWS key id', 'AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n'],
    ['a private key', '-----BEGIN RSA PRIVATE KEY-----\nMIIE\n'],
    ['a quoted password', `password: "${'c'.repeat(24)}"\n`],
  ])('fails on %s and names the file and line', (_what, content) => {
    const r = scanWith(`// ok\n${content}`);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/::error file=config\.ts,line=2::possible secret/);
  });
  it('passes clean changes', () => {
    const r = scanWith("const key = process.env.ANTHROPIC_API_KEY;\nconst password = readSecret('db');\n");
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
